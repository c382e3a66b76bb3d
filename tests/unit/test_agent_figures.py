"""An agent's own figures for today and every agent's missed rings, read from interaction rows
written by the real `InteractionLog` (a real SQLite file), and the bar line that shows them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from callkit.metrics import QueueFigures, aht
from console.db import Database
from console.models import Agent
from console.services.desk.agent_figures import AgentFigures, missed_rings, today_bounds
from console.services.desk.interactions import InteractionLog, WrapUp
from console.widgets.call_bar import CallBarModel, render_agent, render_bar

NOW = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)


def at(**delta: float) -> datetime:
    return NOW + timedelta(**delta)


@pytest.fixture
async def agents(db: Database) -> tuple[int, int]:
    async with db.write() as s:
        ann, bob = Agent(login="ann", display_name="Ann"), Agent(login="bob", display_name="Bob")
        s.add_all([ann, bob])
        await s.flush()
        return ann.id, bob.id


class Calls:
    """Writes calls the way the console does, step by step."""

    def __init__(self, db: Database) -> None:
        self.log = InteractionLog(db, clock=lambda: NOW)
        self.n = 0

    async def ring(self, agent: int, start: datetime, direction: str = "inbound") -> int:
        self.n += 1
        row = await self.log.ring(
            uniqueid=f"1764946800.{self.n}",
            linkedid=f"1764946800.{self.n}",
            agent_id=agent,
            queue_name="support",
            caller_raw="+14155550123",
            caller_e164="+14155550123",
            caller_name="Caller",
            customer_id=None,
            offered_at=start,
            direction=direction,
        )
        return row.id

    async def handled(
        self, agent: int, start: datetime, talk: int, hold: int, wrap: int | None
    ) -> int:
        """Answered 5 s after the ring; on hold ``hold`` s; wrapped ``wrap`` s after (None:
        still in wrap-up)."""
        rid = await self.ring(agent, start)
        answered = start + timedelta(seconds=5)
        await self.log.answered(rid, answered)
        await self.log.held(rid, answered + timedelta(seconds=1))
        await self.log.resumed(rid, answered + timedelta(seconds=1 + hold))
        ended = answered + timedelta(seconds=talk + hold)
        await self.log.ended(rid, ended, reason="caller")
        if wrap is not None:
            await self.log.wrap_up(rid, WrapUp("resolved"), ended + timedelta(seconds=wrap))
        return rid

    async def missed(self, agent: int, start: datetime, reason: str) -> int:
        rid = await self.ring(agent, start)
        await self.log.missed(rid, start + timedelta(seconds=15), reason=reason)
        return rid


async def test_today_counts_handled_calls_aht_and_rings_missed_here(
    db: Database, agents: tuple[int, int]
) -> None:
    ann, bob = agents
    calls = Calls(db)
    await calls.handled(ann, at(hours=-5), talk=200, hold=30, wrap=40)
    await calls.handled(ann, at(hours=-3), talk=100, hold=0, wrap=20)
    await calls.handled(ann, at(minutes=-3), talk=60, hold=10, wrap=None)  # writing it up now
    await calls.missed(ann, at(hours=-4), "noanswer")  # rang out here: a miss
    await calls.missed(ann, at(hours=-2), "noanswer")
    await calls.missed(ann, at(hours=-1), "elsewhere")  # ringall: another member took it
    await calls.missed(ann, at(hours=-1, minutes=10), "abandoned")  # the caller hung up
    await calls.handled(ann, at(days=-1), talk=999, hold=0, wrap=99)  # yesterday
    await calls.missed(ann, at(days=-1), "noanswer")
    outbound = await calls.ring(ann, at(hours=-1, minutes=30), direction="outbound")
    await calls.log.answered(outbound, at(hours=-1, minutes=29))  # a callback: not a queue call
    await calls.log.ended(outbound, at(hours=-1, minutes=20))
    await calls.missed(bob, at(hours=-1), "noanswer")

    figures = await AgentFigures(db, clock=lambda: NOW, tz=UTC).today(ann)
    assert figures.since == datetime(2026, 12, 5, tzinfo=UTC)
    assert figures.handled == 3
    assert figures.missed == 2
    # The call still in wrap-up counts with its wrap-up so far: it rang 3 min ago, was
    # answered 5 s later and ended 70 s after that.
    in_wrap = 3 * 60 - 5 - 70
    assert (figures.talk_seconds, figures.hold_seconds) == (360, 40)
    assert figures.wrap_seconds == 40 + 20 + in_wrap
    expected = aht(QueueFigures(handled=3, talk_time=360, hold_time=40, wrap_time=60 + in_wrap))
    assert figures.aht == expected == (360 + 40 + 60 + in_wrap) / 3

    since, until = today_bounds(NOW, UTC)
    assert await missed_rings(db, since, until) == {ann: 2, bob: 1}
    assert await missed_rings(db, since, until, [bob]) == {bob: 1}

    quiet = await AgentFigures(db, clock=lambda: at(days=1), tz=UTC).today(ann)
    assert (quiet.handled, quiet.missed, quiet.aht) == (0, 0, None)


async def test_today_starts_at_the_local_midnight(db: Database, agents: tuple[int, int]) -> None:
    ann, _ = agents
    calls = Calls(db)
    shanghai = ZoneInfo("Asia/Shanghai")  # 15:00 UTC is 23:00 there; midnight was 16:00 UTC
    await calls.missed(ann, datetime(2026, 12, 4, 16, 30, tzinfo=UTC), "noanswer")
    await calls.missed(ann, datetime(2026, 12, 4, 15, 30, tzinfo=UTC), "noanswer")  # the day before
    assert (await AgentFigures(db, clock=lambda: NOW, tz=shanghai).today(ann)).missed == 1
    assert (await AgentFigures(db, clock=lambda: NOW, tz=UTC).today(ann)).missed == 0


def test_today_bounds_follow_the_clock_changes() -> None:
    london = ZoneInfo("Europe/London")
    start, end = today_bounds(datetime(2026, 3, 29, 12, tzinfo=UTC), london)  # clocks go forward
    assert (start, end - start) == (datetime(2026, 3, 29, tzinfo=UTC), timedelta(hours=23))
    start, end = today_bounds(datetime(2026, 10, 25, 12, tzinfo=UTC), london)  # and back
    assert end - start == timedelta(hours=25)


async def test_the_bar_shows_time_in_state_and_today_within_80_columns(
    db: Database, agents: tuple[int, int]
) -> None:
    ann, _ = agents
    calls = Calls(db)
    await calls.handled(ann, at(hours=-2), talk=200, hold=30, wrap=15)
    await calls.handled(ann, at(hours=-1), talk=100, hold=0, wrap=5)
    await calls.missed(ann, at(minutes=-30), "noanswer")
    today = await AgentFigures(db, clock=lambda: NOW, tz=UTC).today(ann)
    model = CallBarModel(
        agent_state="Available", agent_ready=True, agent_since=at(minutes=-12), today=today
    )
    assert render_agent(model, NOW).plain == " Available 12m  │ Today 2 calls · AHT 2:55 · 1 missed"
    lunch = CallBarModel(agent_state="Not ready: Lunch", agent_since=at(seconds=-20))
    assert render_agent(lunch, NOW).plain == " Not ready: Lunch <1m"  # figures not read yet
    assert render_agent(lunch, at(hours=1, minutes=5)).plain.endswith("Lunch 1h05m")

    # The agent's line at its longest still fits an 80-column bar (78 cells inside its padding);
    # the state has left the call's line, which keeps the call and the link.
    busy = CallBarModel(
        phase="wrapup",
        phase_since=at(seconds=-45),
        wrap_limit=120,
        link="connected",
        agent_state="Not ready: After-call work",
        agent_since=at(hours=-9, minutes=-59),
        today=type(today)(today.since, 123, 99999.0, 0.0, 0.0, 45),
    )
    call, agent = render_bar(busy, NOW, agent_line=True).plain.split("\n")
    assert call == " Wrap-up  0:45 (1:15 left)  │ CTI connected"
    assert agent == " Not ready: After-call work 9h59m  │ Today 123 calls · AHT 13:33 · 45 missed"
    assert len(agent) <= 78
    # The one-line form (the replay) keeps the state between the call and the link.
    assert render_bar(busy, NOW).plain == (
        " Wrap-up  0:45 (1:15 left)  │ Not ready: After-call work 9h59m  │ CTI connected"
    )
