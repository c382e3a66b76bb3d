"""A logged-in agent's session: who they are, their CTI link, their queues and their services.

Built by the app factory at login (`console.factory.ConsoleContext.session_for`) and handed to
the screens. It holds the agent's identity, the `CtiLink` (never one client), the shared
`ServiceContext` and the desk's options; the services come from the context. What it does
itself is the agent's side of the PBX: joining their queues, going ready or not ready,
dialling a callback from their phone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from console.cti.link import CtiLink
from console.cti.monitor import MonitorFeed
from console.cti.protocol import (
    COACH_DOORBELL,
    AgentStateChanged,
    CallEnded,
    CtiEvent,
    LinkState,
    LinkStateChanged,
)
from console.db import Database
from console.models.enums import Presence
from console.services.context import ServiceContext
from console.services.crm.agents import MISSED, AgentIdentity
from console.services.desk.agent_figures import AgentFigures
from console.services.desk.agent_state import AgentState
from console.services.desk.call_control import CallControl
from console.services.desk.desk import AgentDesk
from console.services.desk.interactions import InteractionLog, InteractionRecord
from console.services.desk.recovery import recover_unfinished
from console.services.desk.rehearsal import rehearse_call
from console.services.desk.screenpop import ScreenPopService
from console.services.quality.call_recording import CallRecordingService
from console.services.quality.listening import SupervisorListening
from console.services.quality.monitoring import MonitoringService, phone_of
from console.services.routing.auto_followups import AutoFollowUps
from console.services.routing.callback_offers import CallbackOffers
from console.services.routing.callbacks import CallbackDialer, PlacedCall, Settled, dial_outcome
from console.services.routing.followups import FollowUpService
from console.services.routing.presence import AgentPresence
from console.services.routing.router import Router
from console.services.routing.sla import SlaEngine
from console.services.routing.upkeep import UPKEEP_SECONDS, RoutingUpkeep, UpkeepTurns
from console.services.routing.worklist import WorkItem, Worklist
from console.services.supervision.coaching import FALLBACK_SECONDS, CoachService
from console.services.training.recording import NullRecorder, SessionRecorder

if TYPE_CHECKING:
    from console.services.crm.customers import CustomerService
    from console.services.crm.tickets import TicketService
    from console.services.outbound.optout import OptOutService
    from console.services.outbound.preview import PreviewDial
    from console.services.supervision.live import LiveViews
    from console.services.training.training import TraineeJoin, TrainingService


LOGGED_IN = "logged in"  # the pause reason of an agent who joined but is not ready yet


@dataclass
class DeskOptions:
    """How this seat's desk behaves (from the settings)."""

    wrap_limit_seconds: float = 120.0
    start_ready: bool = False  # the demo agent is available as soon as they are in the queues
    missed_call_not_ready: bool = True  # a call that rings out makes the agent not ready
    ring_bell: bool = True  # the terminal bell rings with a call the agent cannot see ringing
    atxfer_threeway: str = "*3"  # the PBX's three-way feature code (PlayDTMF Receive)
    training_dir: Path | None = None  # the trainer's own scenarios (with the shipped ones)
    export_dir: Path | None = None  # score cards and scenarios written by the console
    trainee_join: TraineeJoin | None = None  # shown to a trainer while no trainee is online
    # Heartbeat and SLA pass period: well inside the presence freshness window (FRESH_FOR).
    upkeep_seconds: float = UPKEEP_SECONDS
    record_calls: bool = False  # MixMonitor on each answered call (console/services/quality)
    recording_pause_seconds: float = 120.0  # an agent's pause resumes by itself after this
    show_supervisor_listening: bool = False  # the agent is told when a supervisor listens
    monitor_phone: str = ""  # the phone a supervisor's listening calls ring ("": their own)
    # How often the coach inbox reads with no doorbell (console/services/supervision/coaching)
    coach_fallback_seconds: float = FALLBACK_SECONDS


@dataclass
class AgentSession:
    """Everything a logged-in agent's screens need: the agent, the CTI link, the services."""

    ctx: ServiceContext
    cti: CtiLink
    agent_id: int
    interface: str  # the queue member interface, e.g. PJSIP/1001 or Local/1001@from-queue/n
    member_name: str
    queues: Sequence[str]
    state_interface: str = ""  # the phone device, where it differs from ``interface``
    agent: AgentIdentity | None = None
    options: DeskOptions = field(default_factory=DeskOptions)
    live: LiveViews | None = None  # supervisors: the wallboard's and agent grid's board
    # Callbacks this console is dialling: Originate ActionID -> follow-up id.
    dialling: dict[str, int] = field(default_factory=dict)
    state: AgentState = field(default_factory=AgentState)  # over all the agent's queues
    # The agent's state when the CTI link was lost: (ready, pause reason), restored after it.
    before_outage: tuple[bool, str] | None = None
    joined_once: bool = False  # joined their queues in this session: join again after outages
    offers: CallbackOffers = field(default_factory=CallbackOffers)  # due callbacks offered
    # Spy and recording events from this session's link (its on_frame feeds it).
    monitor_feed: MonitorFeed = field(default_factory=MonitorFeed)

    # Shared things, from the context -------------------------------------------------------
    @property
    def db(self) -> Database:
        return self.ctx.db

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.ctx.clock

    @property
    def recorder(self) -> SessionRecorder | NullRecorder:
        return self.ctx.recorder

    @property
    def tz(self) -> tzinfo | None:
        """The agent's zone (None: this machine's)."""
        return self.ctx.tz

    @cached_property
    def recordings(self) -> CallRecordingService:
        """The PBX's recording of this agent's calls (pause key, auto-resume)."""
        return CallRecordingService(
            self.db,
            self.cti,
            actor_id=self.agent_id,
            feed=self.monitor_feed,
            clock=self.clock,
            auto_resume_seconds=self.options.recording_pause_seconds,
        )

    @cached_property
    def listening(self) -> SupervisorListening:
        """Whether a supervisor listens to this agent's call (shown only if the site says)."""
        phone = phone_of(self.agent) if self.agent is not None else self.interface
        return SupervisorListening(
            self.monitor_feed, phone, shown=self.options.show_supervisor_listening
        )

    @cached_property
    def coach(self) -> CoachService:
        """Coach messages. One sent from this console rings the agent's console over the PBX
        link (`ring_coach_doorbell`); the agent's own console reads its inbox with it."""
        return CoachService(self.db, doorbell=self.ring_coach_doorbell)

    async def ring_coach_doorbell(self, interface: str) -> None:
        """Tell the console of the agent at ``interface`` that a coach message waits: an AMI
        ``UserEvent`` every session taking that interface's events gets (no text in it)."""
        result = await self.cti.send_action(
            "UserEvent", UserEvent=COACH_DOORBELL, Interface=interface
        )
        if not result.ok:
            raise RuntimeError(f"the PBX refused UserEvent: {result.message}")

    @cached_property
    def monitoring(self) -> MonitoringService | None:
        """Supervisors' and trainers' listening (None for agents, who may not)."""
        agent = self.agent
        if agent is None or not (agent.is_supervisor or agent.is_trainer):
            return None
        device = self.options.monitor_phone or phone_of(agent)
        return MonitoringService(
            self.db, self.cti, self.monitor_feed, actor=agent, device=device, clock=self.clock
        )

    @cached_property
    def screenpop(self) -> ScreenPopService:
        return self.ctx.screenpop()

    @cached_property
    def interactions(self) -> InteractionLog:
        return self.ctx.interactions()

    @property
    def customers(self) -> CustomerService:
        return self.ctx.customers

    @property
    def tickets(self) -> TicketService:
        return self.ctx.tickets

    @property
    def followups(self) -> FollowUpService:
        return self.ctx.followups

    @property
    def opt_outs(self) -> OptOutService:
        return self.ctx.opt_outs

    @property
    def worklist(self) -> Worklist:
        return self.ctx.worklist

    @property
    def router(self) -> Router:
        return self.ctx.router

    @property
    def sla(self) -> SlaEngine:
        return self.ctx.sla

    @property
    def callbacks(self) -> CallbackDialer:
        return self.ctx.callbacks

    @property
    def auto_followups(self) -> AutoFollowUps:
        return self.ctx.auto_followups(self.screenpop, seat=self.interface)

    @property
    def figures(self) -> AgentFigures:
        return self.ctx.figures

    @property
    def presence(self) -> AgentPresence:
        return self.ctx.presence

    @property
    def training(self) -> TrainingService:
        from console.paths import data_dir

        # The trainer's own scenarios: where `x` in a replay and export-scenario put them.
        return self.ctx.training(self.options.training_dir or data_dir() / "scenarios")

    # The agent ------------------------------------------------------------------------------
    @property
    def takes_calls(self) -> bool:
        """Whether logging in joins the agent's queues: agents do; supervisors and trainers
        (who mostly watch) join only when they ask to (F6)."""
        return self.agent is None or not (self.agent.is_supervisor or self.agent.is_trainer)

    @property
    def agent_names(self) -> tuple[str, ...]:
        """Every name the PBX knows this agent by: the configured ones, and what the CTI
        link learnt from the PBX's member frames (a Local member's interface and device)."""
        names = [self.interface, self.member_name]
        if self.state_interface:
            names.append(self.state_interface)
        tracker = self.cti.tracker
        if tracker is not None:
            names += sorted(tracker.lines.interfaces | tracker.lines.names)
        return tuple(dict.fromkeys(n for n in names if n))

    @property
    def calls(self) -> CallControl:
        """The agent's call-control keys on this link."""
        return CallControl(self.cti, self.interface, threeway_code=self.options.atxfer_threeway)

    def desk(self) -> AgentDesk:
        return AgentDesk(
            agent_id=self.agent_id,
            screenpop=self.screenpop,
            interactions=self.interactions,
            region=self.ctx.region,
            clock=self.ctx.clock,
        )

    # The agent's side of the PBX -------------------------------------------------------------
    async def call_back(self, followup_id: int) -> PlacedCall:
        """Claim and dial a callback from this agent's phone (answered for them on the
        simulator, whose desk phone the console drives; a real phone is picked up by hand)."""
        # From the phone itself: a Local member interface would run the queue's dial plan.
        phone = self.state_interface or self.interface
        placed = await self.callbacks.place(self.cti, self.agent_id, phone, followup_id)
        self.dialling[placed.action_id] = placed.followup_id
        self.recorder.record_action("callback_dialled", **dataclasses.asdict(placed))
        if self.cti.capabilities.sim_phone:
            await self.cti.sim_phone(self.interface, "answer")
        return placed

    async def preview_campaigns(self) -> list[str]:
        """The running preview campaigns on this agent's queues."""
        return await self.ctx.previews.campaigns_for(self.queues)

    async def preview_dial(self, lead_id: int) -> PreviewDial:
        """Dial a previewed lead this agent holds from their phone (agent-first: answered for
        them on the simulator, as a callback is)."""
        phone = self.state_interface or self.interface
        placed = await self.ctx.previews.dial(self.cti, self.agent_id, phone, lead_id)
        self.recorder.record_action("preview_dialled", **dataclasses.asdict(placed))
        if self.cti.capabilities.sim_phone:
            await self.cti.sim_phone(self.interface, "answer")
        return placed

    def follow(self, event: CtiEvent) -> None:
        """Take each CTI event as it arrives, in order (before any screen draws it): the
        agent's member events fold into their state, the link's into what a reconnect
        restores."""
        if isinstance(event, AgentStateChanged) and event.interface in self.agent_names:
            self.state.apply(event)
        elif isinstance(event, LinkStateChanged):
            self.link_changed(event)

    def link_changed(self, event: LinkStateChanged) -> None:
        """Follow the CTI link: when it is lost, remember whether the agent was ready (and
        why not), so a PBX that restarted and forgot its members gets them back as they were."""
        if event.state is LinkState.CONNECTED or self.before_outage is not None:
            return
        if self.state.status.in_queues:
            self.before_outage = (self.state.ready, self.state.pause_reason)

    async def rejoin(self) -> list[str] | None:
        """After a (re)connect: join the agent's queues this PBX has (a restarted PBX forgot
        its members); an agent who was ready before the link was lost is ready again at once,
        one who was not keeps their reason. The queues joined; None for a supervisor or
        trainer who has not asked to take calls (they join no queue until F6)."""
        before, self.before_outage = self.before_outage, None
        if not (self.takes_calls or self.joined_once):
            return None
        ready, reason = before if before is not None else (False, "")
        joined = await self.log_in_to_queues(reason=reason or LOGGED_IN)
        if ready and joined:
            await self.set_ready(True)
        return joined

    async def log_in_to_queues(self, *, reason: str = "") -> list[str]:
        """QueueAdd the agent to its queues that this PBX has, paused (with ``reason``,
        default "logged in") until they are ready.

        Returns the queues the agent is a member of afterwards.
        """
        tracker = self.cti.tracker
        known = set(tracker.queues()) if tracker else set(self.queues)
        members = {
            m.queue
            for m in (tracker.members() if tracker else [])
            if m.logged_in and m.interface == self.interface
        }
        self.joined_once = True
        joined = []
        for queue in self.queues:
            if queue not in known:
                continue  # a CRM queue this PBX does not have
            joined.append(queue)
            if queue in members:
                continue  # still a member (the link dropped, the PBX did not)
            fields = {
                "Queue": queue,
                "Interface": self.interface,
                "MemberName": self.member_name,
                "Paused": "true",
                "Reason": reason or LOGGED_IN,
            }
            if self.state_interface:
                fields["StateInterface"] = self.state_interface
            await self.cti.send_action("QueueAdd", **fields)
        return joined

    async def begin_after_call_work(self) -> None:
        """The call ended into its wrap-up: a ready agent is paused (``acw``) meanwhile."""
        reason = self.state.after_call_work_pause()
        if reason is not None:
            await self.set_ready(False, reason=reason)

    async def end_after_call_work(self) -> None:
        """The wrap-up is saved: an agent paused for it is ready again."""
        if self.state.after_call_work_done():
            await self.set_ready(True)

    async def missed_call(self) -> bool:
        """A call rang out on this agent's phone: as app_queue's autopause does, a ready
        agent is made not ready (reason Missed) so the next caller is not offered to an
        empty desk. True when they were; False when the seat's settings or their state say
        no (a trainer's run, an agent already not ready)."""
        if not self.options.missed_call_not_ready or not self.state.ready:
            return False
        await self.set_ready(False, reason=MISSED.code)
        return True

    async def settle_callback(self, action_id: str, ended: CallEnded | None) -> Settled | None:
        """A callback this console dialled is over (``ended`` None: the Originate failed):
        reschedule, escalate or close it by how the dial went. None when ``action_id`` is not
        a callback of this console's."""
        followup_id = self.dialling.pop(action_id, None) if action_id else None
        if followup_id is None:
            return None
        outcome = dial_outcome(ended)
        return await self.callbacks.settle(self.agent_id, followup_id, outcome)

    async def due_callback(self) -> WorkItem | None:
        """The callback to offer this agent now (due, for them, held by nobody, not put
        off in the last minutes), or None."""
        now = self.clock()
        return self.offers.next_offer(await self.worklist.mine(self.agent_id, limit=50), now)

    async def recover(self) -> InteractionRecord | None:
        """After a crash or kill: close the calls that ended meanwhile; the unfinished
        wrap-up to offer back, if any."""
        tracker = self.cti.tracker
        live = {c.uniqueid for c in tracker.active_calls()} if tracker else set()
        return await recover_unfinished(self.interactions, self.agent_id, live, self.clock())

    async def warm_up(self) -> None:
        """At login, before the first call: the pop's reads run once
        (`ScreenPopService.warm_up`), and on PostgreSQL a whole call is rehearsed and rolled
        back (`rehearse_call`): the shift's first call compiles nothing. Reads and rolled-back
        writes only."""
        await self.screenpop.warm_up()
        if self.takes_calls:
            await rehearse_call(
                self.db,
                agent_id=self.agent_id,
                queue=self.queues[0] if self.queues else None,
                clock=self.clock,
                rules=self.ctx.rules,
                catalog=self.ctx.dispositions,
                region=self.ctx.region,
            )

    def routing_upkeep(self) -> RoutingUpkeep:
        """This console's share of keeping follow-up routing alive."""
        return RoutingUpkeep(
            self.agent_id,
            self.presence,
            self.worklist,
            self.sla,
            interval=self.options.upkeep_seconds,
            turns=UpkeepTurns(self.db, self.clock),
        )

    async def set_ready(self, ready: bool, *, reason: str = "") -> None:
        """Available (unpause) or not ready with a reason code, in all the agent's queues."""
        await self.cti.queue_pause(self.interface, not ready, reason="" if ready else reason)
        self.recorder.record_action("ready" if ready else "not_ready", reason=reason)
        await self.presence.set(self.agent_id, Presence.READY if ready else Presence.NOT_READY)
