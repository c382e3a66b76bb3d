"""The supervisor's live views: the board fed by the CTI link, its feed, the targets, alerts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from callkit.metrics import MetricDefinitions
from console.cti.link import CtiLink
from console.services.outbound.board import CampaignBoard
from console.services.outbound.campaign_desk import CampaignDesk
from console.services.supervision.alerts import AlertChange, AlertLog
from console.services.supervision.live_board import LiveBoard
from console.services.supervision.live_feed import LiveFeed, SupervisorActions
from console.services.supervision.queue_targets import TargetBook
from console.services.supervision.reports import ReportService
from console.services.training.training import TraineeJoin


@dataclass
class LiveViews:
    """What the wallboard and the agent grid read: the board, its feed, the targets."""

    board: LiveBoard
    feed: LiveFeed
    actions: SupervisorActions
    cti: CtiLink
    targets: TargetBook
    definitions: MetricDefinitions
    clock: Callable[[], float]  # epoch seconds: the screens' "now"
    alerts: AlertLog = field(default_factory=AlertLog)  # evaluated every second by the app
    reports: ReportService | None = None  # the report screen's source (needs the queue_log)
    campaigns: CampaignBoard | None = None  # the campaign board's source (needs the database)
    campaign_desk: CampaignDesk | None = None  # the campaign builder's source
    join: TraineeJoin | None = None  # how an agent's console joins this PBX (the demo)

    def check_alerts(self) -> list[AlertChange]:
        """Evaluate the alert thresholds against the board now; the alerts raised/cleared."""
        return self.alerts.evaluate(self.board.snapshot(), self.targets)
