"""One place that builds the console: the CLI, the tests and the snapshots all use it.

`ConsoleContext` is what the console knows before anyone logs in (database, PBX address,
settings); `ConsoleRuntime` is a logged-in agent's: their identity, CTI link and services.
`LiveRuntime` is what the supervisor's live views (wallboard, agent grid) need; a supervisor's
runtime carries one, and `callconsole wallboard` builds one with no login at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from callkit.metrics import MetricDefinitions
from console.cti.ami import AmiClient, AmiTimings
from console.cti.tracker import CallTracker
from console.db import Database
from console.models.enums import Presence, SessionKind
from console.services.crm.agents import AgentDirectory, AgentIdentity
from console.services.crm.customers import CustomerService
from console.services.crm.queues import QueueDirectory
from console.services.crm.tickets import TicketService
from console.services.desk.agent_figures import AgentFigures
from console.services.desk.desk import AgentDesk
from console.services.desk.dispositions import DEFAULT_CATALOG, DispositionCatalog
from console.services.desk.interactions import InteractionLog
from console.services.desk.screenpop import ScreenPopService
from console.services.routing.auto_followups import AutoFollowUps
from console.services.routing.callbacks import CallbackDialer, PlacedCall
from console.services.routing.followups import FollowUpService
from console.services.routing.presence import AgentPresence
from console.services.routing.router import Router
from console.services.routing.routing_rules import RuleSet
from console.services.routing.rules_file import load_rules
from console.services.routing.sla import SlaEngine
from console.services.routing.worklist import Worklist
from console.services.supervision.alerts import AlertChange, AlertLog
from console.services.supervision.live_board import LiveBoard
from console.services.supervision.live_feed import LiveFeed, SupervisorActions
from console.services.supervision.queue_targets import TargetBook, load_targets
from console.services.supervision.reports import ReportService
from console.services.training.recording import NullRecorder, SessionRecorder

if TYPE_CHECKING:
    from console.services.training.training import TraineeJoin, TrainingService


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PbxAddress:
    """Where the AMI server is and how to log in to it (the secret is never shown: a plain
    string given here is wrapped in a `SecretStr`)."""

    host: str
    port: int
    user: str
    secret: SecretStr | str

    def __post_init__(self) -> None:
        if not isinstance(self.secret, SecretStr):
            object.__setattr__(self, "secret", SecretStr(self.secret))


@dataclass
class LiveRuntime:
    """The supervisor's live views: the board fed by the CTI link, its feed, the targets."""

    board: LiveBoard
    feed: LiveFeed
    actions: SupervisorActions
    cti: AmiClient
    targets: TargetBook
    definitions: MetricDefinitions
    clock: Callable[[], float]  # epoch seconds: the screens' "now"
    alerts: AlertLog = field(default_factory=AlertLog)  # evaluated every second by the app
    reports: ReportService | None = None  # the report screen's source (needs the queue_log)

    def check_alerts(self) -> list[AlertChange]:
        """Evaluate the alert thresholds against the board now; the alerts raised/cleared."""
        return self.alerts.evaluate(self.board.snapshot(), self.targets)


def build_live(
    pbx: PbxAddress,
    *,
    definitions: MetricDefinitions | None = None,
    targets: TargetBook | None = None,
    timings: AmiTimings | None = None,
    clock: Callable[[], datetime] = _utcnow,
    tracker: CallTracker | None = None,
    tz: tzinfo | None = None,
    reports: ReportService | None = None,
) -> LiveRuntime:
    """A CTI client whose every event frame feeds a `LiveBoard`, and what reads the board.

    ``tracker``: a supervisor's own call tracker (their console is an agent's too); None for
    the wall TV, which follows no phone. ``tz``: where "today" starts (None: the system's zone).
    """
    definitions = definitions or MetricDefinitions()

    def epoch() -> float:
        return clock().timestamp()

    board = LiveBoard(definitions, clock=epoch, tz=tz)
    cti = AmiClient(
        pbx.host,
        pbx.port,
        pbx.user,
        pbx.secret,
        tracker=tracker,
        timings=timings,
        on_frame=board.feed,
    )
    return LiveRuntime(
        board=board,
        feed=LiveFeed(board, cti),
        actions=SupervisorActions(cti),
        cti=cti,
        targets=targets if targets is not None else load_targets(None),
        definitions=definitions,
        clock=epoch,
        reports=reports,
    )


@dataclass
class ConsoleContext:
    """Everything needed before login: the database, the PBX, the settings."""

    db: Database
    pbx: PbxAddress
    region: str = "US"
    wrap_limit_seconds: float = 120.0
    timings: AmiTimings | None = None
    clock: Callable[[], datetime] = field(default=_utcnow)
    dispositions: DispositionCatalog = DEFAULT_CATALOG
    rules: RuleSet = field(default_factory=load_rules)
    # Callbacks this console is dialling: Originate ActionID -> follow-up id.
    dialling: dict[str, int] = field(default_factory=dict)
    definitions: MetricDefinitions = field(default_factory=MetricDefinitions)
    targets: TargetBook | None = None  # per-queue targets (None: the shipped ones)
    queue_log: Path | None = None  # the PBX's queue_log, for the supervisor's report screen
    # What the sessions started here are recorded as (a trainer's console: training + run).
    session_kind: SessionKind = SessionKind.LIVE
    training_run_id: int | None = None
    # A trainer's own scenarios (e.g. made from recorded calls) and where exports are written.
    training_dir: Path | None = None
    export_dir: Path | None = None
    trainee_join: TraineeJoin | None = None  # how a trainee joins this PBX (the demo's command)
    # This seat's member interface and phone device, over the agent record's ("" = theirs).
    agent_interface: str = ""
    agent_state_interface: str = ""
    missed_call_not_ready: bool = True  # a call that rings out makes the agent not ready
    ring_bell: bool = True  # the terminal bell with a ring on another screen
    atxfer_threeway: str = "*3"  # features.conf atxferthreeway: a consult becomes a conference

    @property
    def agents(self) -> AgentDirectory:
        return AgentDirectory(self.db)

    async def runtime_for(self, agent: AgentIdentity) -> ConsoleRuntime:
        """The logged-in agent's runtime: CTI client following their phone, their queues;
        for a supervisor, the client also feeds the live board."""
        if self.agent_interface or self.agent_state_interface:
            agent = dataclasses.replace(
                agent,
                interface=self.agent_interface or agent.interface,
                state_interface=self.agent_state_interface or agent.state_interface,
            )
        phones = (agent.state_interface,) if agent.state_interface else ()
        tracker = CallTracker(agent.interface, state_interfaces=phones, clock=self.clock)
        live: LiveRuntime | None = None
        if agent.is_supervisor:
            live = build_live(
                self.pbx,
                definitions=self.definitions,
                targets=self.targets,
                timings=self.timings,
                clock=self.clock,
                tracker=tracker,
                reports=ReportService(self.db, self.queue_log, self.definitions),
            )
            cti = live.cti
        else:
            cti = AmiClient(
                self.pbx.host,
                self.pbx.port,
                self.pbx.user,
                self.pbx.secret,
                tracker=tracker,
                timings=self.timings,
            )
        queues = await QueueDirectory(self.db).queues_for(agent)
        recorder = SessionRecorder(
            self.db,
            agent_id=agent.id,
            kind=self.session_kind,
            training_run_id=self.training_run_id,
            clock=self.clock,
            details={"login": agent.login, "interface": agent.interface, "queues": queues},
        )
        return ConsoleRuntime(
            db=self.db,
            cti=cti,
            screenpop=ScreenPopService(self.db, region=self.region, clock=self.clock),
            interactions=InteractionLog(self.db, clock=self.clock, catalog=self.dispositions),
            agent_id=agent.id,
            interface=agent.interface,
            member_name=agent.member_name,
            state_interface=agent.state_interface,
            queues=queues,
            agent=agent,
            region=self.region,
            wrap_limit_seconds=self.wrap_limit_seconds,
            clock=self.clock,
            rules=self.rules,
            live=live,
            recorder=recorder,
            training_dir=self.training_dir,
            export_dir=self.export_dir,
            trainee_join=self.trainee_join,
            # A trainer's run goes on by itself: a missed scripted call is scored, not paused.
            missed_call_not_ready=self.missed_call_not_ready
            and self.session_kind is SessionKind.LIVE,
            ring_bell=self.ring_bell,
            atxfer_threeway=self.atxfer_threeway,
        )


@dataclass
class ConsoleRuntime:
    """Everything a logged-in agent's screens need: the agent, the CTI link, the services."""

    db: Database
    cti: AmiClient
    screenpop: ScreenPopService
    interactions: InteractionLog
    agent_id: int
    interface: str  # e.g. PJSIP/1001
    member_name: str
    queues: Sequence[str]
    state_interface: str = ""  # the phone device, where it differs from ``interface``
    agent: AgentIdentity | None = None
    region: str = "US"
    wrap_limit_seconds: float = 120.0
    clock: Callable[[], datetime] = field(default=_utcnow)
    start_ready: bool = False  # the demo agent is available as soon as they are in the queues
    rules: RuleSet = field(default_factory=load_rules)
    # Callbacks this console is dialling: Originate ActionID -> follow-up id.
    dialling: dict[str, int] = field(default_factory=dict)
    live: LiveRuntime | None = None  # supervisors: the wallboard's and agent grid's board
    # The session's recording (CTI events, agent actions); started and stopped by the app.
    recorder: SessionRecorder | NullRecorder = field(default_factory=NullRecorder)
    training_dir: Path | None = None  # the trainer's own scenarios (with the shipped ones)
    export_dir: Path | None = None  # score cards and scenarios written by the console
    trainee_join: TraineeJoin | None = None  # shown to a trainer while no trainee is online
    missed_call_not_ready: bool = True  # a call that rings out makes the agent not ready
    ring_bell: bool = True  # the terminal bell rings with a call the agent cannot see ringing
    atxfer_threeway: str = "*3"  # the PBX's three-way feature code (PlayDTMF Receive)
    tz: tzinfo | None = None  # where the agent's "today" starts (None: the system's zone)

    @property
    def training(self) -> TrainingService:
        from console.paths import data_dir
        from console.services.training.training import ScenarioLibrary, TrainingService

        # The trainer's own scenarios: where `x` in a replay and export-scenario put them.
        library = ScenarioLibrary(self.training_dir or data_dir() / "scenarios")
        return TrainingService(self.db, library, clock=self.clock, region=self.region)

    @property
    def customers(self) -> CustomerService:
        return CustomerService(self.db, self.region, clock=self.clock, recorder=self.recorder)

    @property
    def tickets(self) -> TicketService:
        return TicketService(self.db, clock=self.clock, recorder=self.recorder)

    @property
    def followups(self) -> FollowUpService:
        return FollowUpService(self.db, clock=self.clock, recorder=self.recorder)

    @property
    def worklist(self) -> Worklist:
        return Worklist(self.db, clock=self.clock, recorder=self.recorder)

    @property
    def router(self) -> Router:
        return Router(self.db, self.rules, clock=self.clock)

    @property
    def sla(self) -> SlaEngine:
        return SlaEngine(self.db, self.router, clock=self.clock)

    @property
    def auto_followups(self) -> AutoFollowUps:
        return AutoFollowUps(self.router, self.screenpop)

    @property
    def callbacks(self) -> CallbackDialer:
        return CallbackDialer(
            self.db, self.worklist, self.router, region=self.region, clock=self.clock
        )

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

    @property
    def figures(self) -> AgentFigures:
        """The agent's own figures for today (calls, AHT, missed rings)."""
        return AgentFigures(self.db, clock=self.clock, tz=self.tz)

    @property
    def presence(self) -> AgentPresence:
        return AgentPresence(self.db, clock=self.clock)

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

    def desk(self) -> AgentDesk:
        return AgentDesk(
            agent_id=self.agent_id,
            screenpop=self.screenpop,
            interactions=self.interactions,
            region=self.region,
            clock=self.clock,
        )

    async def log_in_to_queues(self) -> list[str]:
        """QueueAdd the agent to its queues that this PBX has, paused until they are ready.

        Returns the queues the agent is a member of afterwards.
        """
        tracker = self.cti.tracker
        known = set(tracker.queues()) if tracker else set(self.queues)
        members = {
            m.queue
            for m in (tracker.members() if tracker else [])
            if m.logged_in and m.interface == self.interface
        }
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
                "Reason": "logged in",
            }
            if self.state_interface:
                fields["StateInterface"] = self.state_interface
            await self.cti.send_action("QueueAdd", **fields)
        return joined

    async def set_ready(self, ready: bool, *, reason: str = "") -> None:
        """Available (unpause) or not ready with a reason code, in all the agent's queues."""
        await self.cti.queue_pause(self.interface, not ready, reason="" if ready else reason)
        self.recorder.record_action("ready" if ready else "not_ready", reason=reason)
        await self.presence.set(self.agent_id, Presence.READY if ready else Presence.NOT_READY)
