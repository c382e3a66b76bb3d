"""An agent's own figures for today, and every agent's missed rings, from the interaction log.

The rows every console writes from ring to wrap-up are the source: they survive a restart of
any console (the agent's or a supervisor's), and anyone can recount them with one query. The
definitions are docs/metrics.md's, applied to one agent's rows:

- **today** is since local midnight (the zone given; None: the system's), by the time the call
  was offered, as a visit counts on the day it entered;
- **handled**: inbound calls the agent answered whose conversation has ended (in wrap-up or
  wrapped up; transfers included). Callbacks the agent dialled are not queue calls, and
  are left out, as the supervisor's figures leave them out;
- **AHT** = (talk + hold + wrap-up) / handled, by `metrics.aht`; a call still in wrap-up adds
  its wrap-up time so far;
- **missed**: inbound calls that rang out on the agent's phone (ring-no-answer or rejected:
  `desk.rang_out`'s rule, `EndReason.NO_ANSWER`), not those another member answered or the
  caller abandoned. One row per call and agent: a caller who rang out here twice counts once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from datetime import time as clock_time

from sqlalchemy import ColumnElement, and_, func, select

from callkit.metrics import QueueFigures, aht
from console.cti.protocol import EndReason
from console.db import Database
from console.models import Interaction
from console.models.enums import Channel, Direction, InteractionStatus

S = InteractionStatus

#: A call that rang out on the agent's phone (the rule of `desk.rang_out`, in SQL).
MISSED_RING: ColumnElement[bool] = and_(
    Interaction.status == S.MISSED,
    Interaction.end_reason == EndReason.NO_ANSWER.value,
    Interaction.direction == Direction.INBOUND,
    Interaction.channel == Channel.VOICE,
)
_HANDLED_STATUSES = (S.WRAPUP, S.COMPLETED)


def today_bounds(now: datetime, tz: tzinfo | None = None) -> tuple[datetime, datetime]:
    """The local midnight at or before ``now`` and the next one (``tz``; None: the system's
    zone), as aware UTC times: a day of 23 or 25 hours where the clocks change."""
    local = now.astimezone(tz)
    bounds = []
    for day in (local.date(), local.date() + timedelta(days=1)):
        midnight = datetime.combine(day, clock_time())
        # A naive local time: astimezone() reads it in the system zone; else in ``tz``.
        aware = midnight.astimezone() if tz is None else midnight.replace(tzinfo=tz)
        bounds.append(aware.astimezone(UTC))
    return bounds[0], bounds[1]


@dataclass(frozen=True, slots=True)
class AgentDayFigures:
    """One agent's calls since ``since`` (local midnight); durations in seconds."""

    since: datetime
    handled: int
    talk_seconds: float
    hold_seconds: float
    wrap_seconds: float
    missed: int

    @property
    def aht(self) -> float | None:
        """(talk + hold + wrap-up) / handled; None with nothing handled."""
        return aht(
            QueueFigures(
                handled=self.handled,
                talk_time=self.talk_seconds,
                hold_time=self.hold_seconds,
                wrap_time=self.wrap_seconds,
            )
        )


class AgentFigures:
    """Reads the figures; built with the database and the console's clock."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        tz: tzinfo | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._tz = tz

    async def today(self, agent_id: int) -> AgentDayFigures:
        """``agent_id``'s handled calls, handle times and missed rings since local midnight."""
        now = self._clock()
        since, until = today_bounds(now, self._tz)
        voice_in = (
            Interaction.agent_id == agent_id,
            Interaction.offered_at >= since,
            Interaction.offered_at < until,
            Interaction.direction == Direction.INBOUND,
            Interaction.channel == Channel.VOICE,
        )
        handled = (
            select(
                Interaction.talk_seconds,
                Interaction.hold_seconds,
                Interaction.wrap_seconds,
                Interaction.status,
                Interaction.ended_at,
            )
            .where(
                *voice_in,
                Interaction.status.in_(_HANDLED_STATUSES),
                Interaction.answered_at.is_not(None),
                Interaction.ended_at.is_not(None),
            )
            .order_by(Interaction.id)
        )
        missed = select(func.count()).select_from(Interaction).where(*voice_in, MISSED_RING)
        async with self._db.session() as session:
            rows = (await session.execute(handled)).all()
            missed_count = int(await session.scalar(missed) or 0)
        talk = hold = wrap = 0.0
        for talk_s, hold_s, wrap_s, status, ended_at in rows:
            talk += talk_s
            hold += hold_s
            if status == S.WRAPUP and ended_at is not None:  # being written up: so far
                wrap += max(0.0, (now - ended_at).total_seconds())
            else:
                wrap += wrap_s
        return AgentDayFigures(
            since=since,
            handled=len(rows),
            talk_seconds=talk,
            hold_seconds=hold,
            wrap_seconds=wrap,
            missed=missed_count,
        )


async def missed_rings(
    db: Database, since: datetime, until: datetime, agent_ids: Iterable[int] | None = None
) -> dict[int, int]:
    """Calls that rang out on each agent's phone, offered in [since, until), by agent id
    (agents with none are left out); all agents, or those of ``agent_ids``."""
    stmt = (
        select(Interaction.agent_id, func.count())
        .where(
            Interaction.offered_at >= since,
            Interaction.offered_at < until,
            Interaction.agent_id.is_not(None),
            MISSED_RING,
        )
        .group_by(Interaction.agent_id)
    )
    if agent_ids is not None:
        stmt = stmt.where(Interaction.agent_id.in_(list(agent_ids)))
    async with db.session() as session:
        rows = (await session.execute(stmt)).all()
    return {int(agent): int(count) for agent, count in rows if agent is not None}
