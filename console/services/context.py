"""What every service of one console shares: the database, the clock, the recording, the rules.

One small context, built once by the app factory, instead of each caller repeating the same
constructor arguments. The services themselves stay plain classes built with what they need
(tests build them directly); `ServiceContext` builds the domain services a logged-in console
uses, from the same database, clock and session recording.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from console.db import Database
from console.services.audit import AuditLog
from console.services.crm.customers import CustomerService
from console.services.crm.tickets import TicketService
from console.services.desk.agent_figures import AgentFigures
from console.services.desk.dispositions import DEFAULT_CATALOG, DispositionCatalog
from console.services.desk.durable_log import DurableInteractionLog
from console.services.desk.interactions import InteractionLog
from console.services.desk.screenpop import ScreenPopService
from console.services.outbound.optout import OptOutService
from console.services.routing.auto_followups import AutoFollowUps
from console.services.routing.callbacks import CallbackDialer
from console.services.routing.followups import FollowUpService
from console.services.routing.presence import AgentPresence
from console.services.routing.router import Router
from console.services.routing.routing_rules import RuleSet
from console.services.routing.rules_file import load_rules
from console.services.routing.sla import SlaEngine
from console.services.routing.worklist import Worklist
from console.services.service import utcnow
from console.services.training.recording import NO_RECORDING, NullRecorder, SessionRecorder

if TYPE_CHECKING:
    from console.services.outbound.preview import PreviewService
    from console.services.training.training import TrainingService


@dataclass
class ServiceContext:
    """The database, clock, region, session recording and rules one console's services share."""

    db: Database
    clock: Callable[[], datetime] = field(default=utcnow)
    region: str = "US"  # phone numbers without a country code are read as this region's
    recorder: SessionRecorder | NullRecorder = field(default=NO_RECORDING)
    tz: tzinfo | None = None  # where "today" starts (None: the system's zone)
    rules: RuleSet = field(default_factory=load_rules)
    dispositions: DispositionCatalog = DEFAULT_CATALOG
    # Where call writes the database refuses are journaled (None: no journal, writes fail).
    journal_dir: Path | None = None
    audit: AuditLog = field(init=False)  # one audit log, on the same database and clock

    def __post_init__(self) -> None:
        self.audit = AuditLog(self.db, clock=self.clock)

    # CRM ---------------------------------------------------------------------------------
    @property
    def customers(self) -> CustomerService:
        return CustomerService(
            self.db, self.region, self.audit, clock=self.clock, recorder=self.recorder
        )

    @property
    def tickets(self) -> TicketService:
        return TicketService(self.db, self.audit, clock=self.clock, recorder=self.recorder)

    # Desk --------------------------------------------------------------------------------
    def screenpop(self) -> ScreenPopService:
        """A new screen-pop service (the session keeps one: it holds the pop's caches)."""
        return ScreenPopService(self.db, region=self.region, clock=self.clock)

    def interactions(self) -> InteractionLog:
        """A new interaction log with this console's disposition catalogue; with a journal
        folder, the durable one (`durable_log`): call writes survive a database outage."""
        if self.journal_dir is not None:
            return DurableInteractionLog(
                self.db, self.journal_dir, clock=self.clock, catalog=self.dispositions
            )
        return InteractionLog(self.db, clock=self.clock, catalog=self.dispositions)

    @property
    def figures(self) -> AgentFigures:
        """An agent's own figures for today (calls, AHT, missed rings)."""
        return AgentFigures(self.db, clock=self.clock, tz=self.tz)

    @property
    def opt_outs(self) -> OptOutService:
        """Records "don't call me again" from a wrap-up (docs/outbound.md)."""
        return OptOutService(self.db, self.audit, region=self.region, clock=self.clock)

    @property
    def previews(self) -> PreviewService:
        """Preview dialing: the next lead of a preview campaign, dialled or skipped."""
        from console.services.outbound.preview import PreviewService

        return PreviewService(self.db, self.audit, clock=self.clock)

    # Routing -----------------------------------------------------------------------------
    @property
    def followups(self) -> FollowUpService:
        return FollowUpService(self.db, self.audit, clock=self.clock, recorder=self.recorder)

    @property
    def worklist(self) -> Worklist:
        return Worklist(self.db, self.audit, clock=self.clock, recorder=self.recorder)

    @property
    def router(self) -> Router:
        return Router(self.db, self.rules, self.audit, clock=self.clock)

    @property
    def sla(self) -> SlaEngine:
        return SlaEngine(self.db, self.router, self.audit, clock=self.clock)

    @property
    def presence(self) -> AgentPresence:
        return AgentPresence(self.db, clock=self.clock)

    @property
    def callbacks(self) -> CallbackDialer:
        return CallbackDialer(
            self.db, self.worklist, self.router, self.audit, region=self.region, clock=self.clock
        )

    def auto_followups(self, screenpop: ScreenPopService, seat: str = "") -> AutoFollowUps:
        """Abandons and callback requests → callbacks; `seat` (the member interface) orders
        this console among the queue's (`turn_delay`)."""
        return AutoFollowUps(self.router, screenpop, seat=seat)

    # Training ----------------------------------------------------------------------------
    def training(self, library_dir: Path) -> TrainingService:
        """The training service over the scenarios in ``library_dir`` (and the shipped ones)."""
        from console.services.training.training import ScenarioLibrary, TrainingService

        return TrainingService(
            self.db, ScenarioLibrary(library_dir), clock=self.clock, region=self.region
        )
