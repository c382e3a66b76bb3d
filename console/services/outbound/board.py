"""The supervisor's campaign board: every running or paused campaign at a glance, read from the
database (no PBX needed), and pause / resume.

Per campaign (docs/metrics.md, "Campaign board"):

- today's dials, connects, right-party contacts and conversions: `results.ResultCounts` over
  the dials placed since local midnight — the same definitions as the reports;
- the abandon rate over 30 days against the campaign's cap: abandoned / live answers, a live
  answer being a dial an agent took or one abandoned (the FCC's measure, as the dialer's own
  `counts_30d`), dials placed in the last 30 days;
- the pacing ratio: dials in flight (placed, not ended) per agent on the campaign;
- agents on the campaign: consoles alive (a fresh heartbeat, not offline) whose live session
  logged in to the campaign's queue;
- list remaining: entries still pending (due now or later).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import case, func, select

from console.db import Database
from console.models import Agent, Campaign, CampaignLead, ConsoleSession, DialAttempt
from console.models.enums import CampaignStatus, LeadStatus, Presence, SessionKind
from console.services.audit import AuditLog
from console.services.outbound.campaigns import CampaignService
from console.services.outbound.results import CampaignResults, ResultCounts, tally
from console.services.routing.presence import FRESH_FOR
from console.services.service import DbService, utcnow

#: A live answer (the FCC's denominator): an agent took it, or nobody did in time.
LIVE_OUTCOMES = ("connected", "abandoned")
ABANDON_WINDOW_DAYS = 30
SHOWN = (CampaignStatus.RUNNING, CampaignStatus.PAUSED, CampaignStatus.DRAFT)


@dataclass(frozen=True, slots=True)
class CampaignTile:
    """One campaign on the board."""

    id: int
    name: str
    status: str
    mode: str
    queue: str
    today: ResultCounts
    live_30d: int
    abandoned_30d: int
    abandon_cap: float
    in_flight: int
    agents: int
    remaining: int

    @property
    def abandon_rate(self) -> float | None:
        """Abandoned / live answers over 30 days (None: no live answer yet)."""
        return None if self.live_30d == 0 else self.abandoned_30d / self.live_30d

    @property
    def pacing(self) -> float | None:
        """Dials in flight per agent on the campaign (None: no agent, or a draft: it has
        never dialled)."""
        if self.agents == 0 or self.status == CampaignStatus.DRAFT.value:
            return None
        return self.in_flight / self.agents

    @property
    def running(self) -> bool:
        return self.status == CampaignStatus.RUNNING.value


class CampaignBoard(DbService):
    """Reads the board; pauses and resumes campaigns as ``agent_id`` (the supervisor)."""

    def __init__(
        self,
        db: Database,
        audit: AuditLog | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        tz: tzinfo | None = None,
        agent_id: int | None = None,
    ) -> None:
        super().__init__(db, audit, clock=clock)
        self.tz = tz
        self.agent_id = agent_id

    async def tiles(self) -> list[CampaignTile]:
        """Every running, paused or draft campaign, by name."""
        now = self._clock()
        local = now.astimezone(self.tz)
        midnight = datetime.combine(local.date(), time(), local.tzinfo)
        since_30d = now - timedelta(days=ABANDON_WINDOW_DAYS)
        async with self._db.session() as session:
            campaigns = (
                await session.execute(
                    select(
                        Campaign.id,
                        Campaign.name,
                        Campaign.status,
                        Campaign.mode,
                        Campaign.queue,
                        Campaign.abandon_cap,
                    )
                    .where(Campaign.status.in_(SHOWN))
                    .order_by(Campaign.name)
                )
            ).all()
            if not campaigns:
                return []
            ids = [c.id for c in campaigns]
            dials = _by_campaign(
                await session.execute(
                    select(
                        DialAttempt.campaign_id,
                        _count(DialAttempt.outcome.in_(LIVE_OUTCOMES)),
                        _count(DialAttempt.abandoned),
                    )
                    .where(DialAttempt.campaign_id.in_(ids), DialAttempt.placed_at >= since_30d)
                    .group_by(DialAttempt.campaign_id)
                )
            )
            flying = _by_campaign(
                await session.execute(
                    select(DialAttempt.campaign_id, func.count())
                    .where(
                        DialAttempt.campaign_id.in_(ids),
                        DialAttempt.outcome == "",
                        DialAttempt.ended_at.is_(None),
                    )
                    .group_by(DialAttempt.campaign_id)
                )
            )
            pending = _by_campaign(
                await session.execute(
                    select(CampaignLead.campaign_id, func.count())
                    .where(
                        CampaignLead.campaign_id.in_(ids),
                        CampaignLead.status == LeadStatus.PENDING,
                    )
                    .group_by(CampaignLead.campaign_id)
                )
            )
            queues = await _queues_staffed(session, now)
        today, meanings = await CampaignResults(self._db).dials(midnight, now)
        counts, _total = tally(today, meanings, lambda d: str(d.campaign_id))
        return [
            CampaignTile(
                id=c.id,
                name=c.name,
                status=str(c.status),
                mode=str(c.mode),
                queue=c.queue,
                today=counts.get(str(c.id), ResultCounts()),
                live_30d=int(dials.get(c.id, (0, 0))[0]),
                abandoned_30d=int(dials.get(c.id, (0, 0))[1]),
                abandon_cap=float(c.abandon_cap),
                in_flight=int(flying.get(c.id, (0,))[0]),
                agents=sum(1 for agent_queues in queues.values() if c.queue in agent_queues),
                remaining=int(pending.get(c.id, (0,))[0]),
            )
            for c in campaigns
        ]

    async def pause(self, name: str) -> None:
        """Pause a running campaign (the dialer stops placing its dials)."""
        await CampaignService(self._db, self._audit, clock=self._clock).pause(
            name, agent_id=self.agent_id
        )

    async def resume(self, name: str) -> None:
        """Start a draft campaign (its list is built) or run a paused one again (its list is
        kept)."""
        await CampaignService(self._db, self._audit, clock=self._clock).start(
            name, agent_id=self.agent_id
        )


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _by_campaign(result: Any) -> dict[int, tuple[int, ...]]:
    return {int(row[0]): tuple(int(v or 0) for v in row[1:]) for row in result.all()}


async def _queues_staffed(session: Any, now: datetime) -> dict[int, set[str]]:
    """The queues each agent whose console is alive logged in to (their open live session's)."""
    rows = (
        await session.execute(
            select(ConsoleSession.agent_id, ConsoleSession.details, ConsoleSession.started_at)
            .join(Agent, Agent.id == ConsoleSession.agent_id)
            .where(
                ConsoleSession.ended_at.is_(None),
                ConsoleSession.kind == SessionKind.LIVE,
                Agent.presence != Presence.OFFLINE,
                Agent.heartbeat_at >= now - FRESH_FOR,
            )
            .order_by(ConsoleSession.started_at)
        )
    ).all()
    out: dict[int, set[str]] = {}
    for agent_id, details, _started in rows:  # the latest session of each agent wins
        queues = details.get("queues") if isinstance(details, dict) else None
        out[int(agent_id)] = {str(q) for q in queues} if isinstance(queues, list) else set()
    return out
