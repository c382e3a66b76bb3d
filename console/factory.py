"""One place that builds the console: the CLI, the tests and the snapshots all use it.

`ConsoleContext` is what the console knows before anyone logs in (database, PBX address,
settings); `session_for` builds a logged-in agent's `AgentSession` (their identity, their
`CtiLink` — here an `AmiClient` — and a `ServiceContext`). `build_live` builds the supervisor's
`LiveViews` (wallboard, agent grid); a supervisor's session carries one, and
`callconsole wallboard` builds one with no login at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from callkit.ami_frames import Message
from callkit.metrics import MetricDefinitions
from console.cti.ami import AmiClient, AmiTimings
from console.cti.link import CtiLink
from console.cti.monitor import MonitorFeed, fan_out
from console.cti.tracker import CallTracker
from console.db import Database
from console.models.enums import SessionKind
from console.services.context import ServiceContext
from console.services.crm.agents import AgentDirectory, AgentIdentity
from console.services.crm.queues import QueueDirectory
from console.services.desk.dispositions import DEFAULT_CATALOG, DispositionCatalog
from console.services.desk.session import AgentSession, DeskOptions
from console.services.outbound.board import CampaignBoard
from console.services.outbound.campaign_desk import CampaignDesk
from console.services.outbound.compliance import ComplianceService
from console.services.outbound.dialer import Dialer, DialerSettings
from console.services.routing.routing_rules import RuleSet
from console.services.routing.rules_file import load_rules
from console.services.supervision.live import LiveViews
from console.services.supervision.live_board import LiveBoard
from console.services.supervision.live_feed import LiveFeed, SupervisorActions
from console.services.supervision.queue_targets import TargetBook, load_targets
from console.services.supervision.reports import ReportService
from console.services.training.recording import SessionRecorder

if TYPE_CHECKING:
    from console.services.training.training import TraineeJoin


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
    campaigns: CampaignBoard | None = None,
    campaign_desk: CampaignDesk | None = None,
    join: TraineeJoin | None = None,
    on_frame: Callable[[Message], None] | None = None,
) -> LiveViews:
    """A CTI client whose every event frame feeds a `LiveBoard`, and what reads the board.

    ``tracker``: a supervisor's own call tracker (their console is an agent's too); None for
    the wall TV, which follows no phone. ``tz``: where "today" starts (None: the system's zone).
    ``on_frame``: also given every frame, after the board (the session's spy and recording feed).
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
        on_frame=fan_out(board.feed, on_frame),
    )
    return LiveViews(
        board=board,
        feed=LiveFeed(board, cti),
        actions=SupervisorActions(cti),
        cti=cti,
        targets=targets if targets is not None else load_targets(None),
        definitions=definitions,
        clock=epoch,
        reports=reports,
        campaigns=campaigns,
        campaign_desk=campaign_desk,
        join=join,
    )


def dialer_owner(site: str) -> str:
    """How a dialer process names itself in its campaign leases: site, host, process."""
    import os
    import secrets
    import socket

    return f"{site} {socket.gethostname()}:{os.getpid()}/{secrets.token_hex(3)}"[:120]


def build_dialer(
    db: Database,
    pbx: PbxAddress,
    *,
    site: str = "main",
    owner: str | None = None,
    clock: Callable[[], datetime] = _utcnow,
    settings: DialerSettings | None = None,
    compliance: ComplianceService | None = None,
    timings: AmiTimings | None = None,
    on_state: Callable[[str], None] | None = None,
) -> Dialer:
    """The outbound dialer (console/services/outbound/dialer.py) on a full-stream AMI session:
    every frame feeds its live board (the campaign agents) and its dial tracker. Start its
    ``cti`` before `Dialer.run`; the run closes nothing but the dialer (close ``cti`` after)."""
    board = LiveBoard(clock=lambda: clock().timestamp())
    dialer: Dialer | None = None

    def feed(msg: Message) -> None:
        if dialer is not None:
            dialer.feed(msg)

    cti = AmiClient(pbx.host, pbx.port, pbx.user, pbx.secret, timings=timings, on_frame=feed)
    dialer = Dialer(
        db,
        cti,
        board,
        owner=owner or dialer_owner(site),
        compliance=compliance,
        clock=clock,
        settings=settings,
        on_state=on_state,
    )
    return dialer


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
    journal_dir: Path | None = None  # call writes the database refuses are kept here
    # An agent's CTI session asks the PBX for its own events only (AMI Filter; docs/cti.md).
    event_filter: bool = True
    # Recording and listening ([desk] settings; console/services/quality).
    record_calls: bool = False
    recording_pause_seconds: float = 120.0
    show_supervisor_listening: bool = False
    monitor_phone: str = ""

    @property
    def agents(self) -> AgentDirectory:
        return AgentDirectory(self.db)

    async def session_for(self, agent: AgentIdentity) -> AgentSession:
        """The logged-in agent's runtime: CTI client following their phone, their queues;
        for a supervisor, the client also feeds the live board."""
        if self.agent_interface or self.agent_state_interface:
            agent = dataclasses.replace(
                agent,
                interface=self.agent_interface or agent.interface,
                state_interface=self.agent_state_interface or agent.state_interface,
            )
        phones = (agent.state_interface,) if agent.state_interface else ()
        # A trainer's console follows trainees' runs and a supervisor's feeds the live board:
        # both keep the full stream. An agent's asks for its own events only, and then has
        # no queue figures to tell (its colleagues' member events do not reach it).
        filtered = self.event_filter and not (agent.is_trainer or agent.is_supervisor)
        tracker = CallTracker(
            agent.interface, state_interfaces=phones, clock=self.clock, queue_figures=not filtered
        )
        live: LiveViews | None = None
        cti: CtiLink
        feed = MonitorFeed()  # spy and recording events, from every frame of the link
        queues = await QueueDirectory(self.db).queues_for(agent)
        if agent.is_supervisor:
            live = build_live(
                self.pbx,
                definitions=self.definitions,
                targets=self.targets,
                timings=self.timings,
                clock=self.clock,
                tracker=tracker,
                reports=ReportService(self.db, self.queue_log, self.definitions),
                campaigns=CampaignBoard(self.db, clock=self.clock, agent_id=agent.id),
                campaign_desk=CampaignDesk(self.db, clock=self.clock, agent_id=agent.id),
                join=self.trainee_join,
                on_frame=feed.feed,
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
                event_filter=filtered,
                queues=queues,
                on_frame=feed.feed,
            )
        recorder = SessionRecorder(
            self.db,
            agent_id=agent.id,
            kind=self.session_kind,
            training_run_id=self.training_run_id,
            clock=self.clock,
            details={"login": agent.login, "interface": agent.interface, "queues": queues},
        )
        ctx = ServiceContext(
            db=self.db,
            clock=self.clock,
            region=self.region,
            recorder=recorder,
            rules=self.rules,
            dispositions=self.dispositions,
            journal_dir=self.journal_dir,
        )
        options = DeskOptions(
            wrap_limit_seconds=self.wrap_limit_seconds,
            training_dir=self.training_dir,
            export_dir=self.export_dir,
            trainee_join=self.trainee_join,
            # A trainer's run goes on by itself: a missed scripted call is scored, not paused.
            missed_call_not_ready=self.missed_call_not_ready
            and self.session_kind is SessionKind.LIVE,
            ring_bell=self.ring_bell,
            atxfer_threeway=self.atxfer_threeway,
            record_calls=self.record_calls,
            recording_pause_seconds=self.recording_pause_seconds,
            show_supervisor_listening=self.show_supervisor_listening,
            monitor_phone=self.monitor_phone,
        )
        return AgentSession(
            ctx=ctx,
            cti=cti,
            agent_id=agent.id,
            interface=agent.interface,
            member_name=agent.member_name,
            state_interface=agent.state_interface,
            queues=queues,
            agent=agent,
            options=options,
            live=live,
            monitor_feed=feed,
        )
