"""One way to say when a follow-up is due (`format.due_text`), and one rule for overdue
(`followups.is_overdue`) that the worklist, the team view's SQL and the SLA engine all apply."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import insert, select

from console.db import Database
from console.models import FollowUp
from console.services.routing.followups import is_overdue
from console.services.routing.router import Router
from console.services.routing.rules_file import load_rules
from console.services.routing.sla import SlaEngine
from console.services.routing.worklist import Worklist
from console.widgets.format import due_level, due_text

NOW = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)  # a Tuesday


def at(**delta: float) -> datetime:
    return NOW + timedelta(**delta)


@pytest.mark.parametrize(
    ("due", "text"),
    [
        (NOW, "now"),
        (at(seconds=59), "now"),
        (at(seconds=-59), "now"),
        (at(minutes=1), "in 1m"),
        (at(minutes=25, seconds=59), "in 25m"),
        (at(hours=2, minutes=10), "in 2h10m"),
        (at(hours=11, minutes=59), "in 11h59m"),
        (at(minutes=-35), "35m ago"),
        (at(hours=-2, minutes=-10), "2h10m ago"),
        (at(hours=-11, minutes=-59), "11h59m ago"),
        (at(hours=12), "Tue 22:30"),  # from 12 hours on: the clock
        (at(hours=-12), "Mon 22:30"),
        (at(days=1, hours=3, minutes=30), "Wed 14:00"),
        (at(days=6), "Mon 10:30"),
        (at(days=7), "2026-12-08"),
        (at(days=-9), "2026-11-22"),
    ],
)
def test_due_text_near_is_relative_far_is_the_clock(due: datetime, text: str) -> None:
    assert due_text(due, NOW, UTC) == text


def test_due_text_far_times_are_in_the_local_zone() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")  # UTC+8: 10:30 UTC is 18:30 there
    assert due_text(at(days=1), NOW, shanghai) == "Wed 18:30"
    assert due_text(at(days=1), NOW, ZoneInfo("America/New_York")) == "Wed 05:30"
    assert due_text(at(minutes=30), NOW, shanghai) == "in 30m"  # relative needs no zone


@given(st.integers(min_value=-400 * 86400, max_value=400 * 86400))
def test_due_text_fits_its_column_and_never_says_overdue(seconds: int) -> None:
    text = due_text(at(seconds=seconds), NOW, UTC)
    assert 1 <= len(text) <= 10
    assert "overdue" not in text  # whether it is overdue is the SLA's question, not the due time's
    if 60 <= seconds < 12 * 3600:
        assert text.startswith("in ")
    elif -12 * 3600 < seconds <= -60:
        assert text.endswith(" ago")


def test_due_level_is_red_only_when_overdue_yellow_once_due() -> None:
    assert due_level(at(minutes=5), NOW, overdue=False) == ""
    assert due_level(NOW, NOW, overdue=False) == "warning"
    assert due_level(at(hours=-3), NOW, overdue=False) == "warning"  # due long ago, SLA not out
    assert due_level(at(hours=2), NOW, overdue=True) == "error"  # rescheduled, SLA still out


def test_is_overdue_is_the_sla_with_no_grace_or_the_engine_mark() -> None:
    assert not is_overdue(None, None, NOW)  # no SLA: never
    assert not is_overdue(at(seconds=1), None, NOW)
    assert is_overdue(NOW, None, NOW)  # at the deadline: time is up
    assert is_overdue(at(hours=-1), None, NOW)
    assert is_overdue(at(hours=1), at(hours=-2), NOW)  # marked: stays overdue
    assert is_overdue(None, at(hours=-2), NOW)


async def add_followup(db: Database, **values: Any) -> int:
    row = {
        "kind": "task",
        "status": "pending",
        "summary": "follow up",
        "due_at": at(hours=-3),
        "priority": 3,
        "rule": "test",  # routed already: the SLA engine's pass leaves it where it is
        "created_at": at(days=-1),
        "updated_at": at(days=-1),
        **values,
    }
    async with db.write_connection() as conn:
        return int(await conn.scalar(insert(FollowUp).values(**row).returning(FollowUp.id)) or 0)


async def test_worklist_team_view_and_sla_engine_apply_the_same_rule(db: Database) -> None:
    cases = {
        "no sla": {},
        "sla ahead": {"sla_due_at": at(seconds=1)},
        "sla now": {"sla_due_at": NOW},
        "sla passed": {"sla_due_at": at(minutes=-20)},
        "marked, sla moved on": {"sla_due_at": at(hours=5), "overdue_at": at(hours=-1)},
        "due long ago, sla ahead": {"due_at": at(days=-2), "sla_due_at": at(hours=1)},
    }
    ids = {name: await add_followup(db, **values) for name, values in cases.items()}
    rule = {
        name: is_overdue(values.get("sla_due_at"), values.get("overdue_at"), NOW)
        for name, values in cases.items()
    }
    assert [n for n, o in rule.items() if o] == ["sla now", "sla passed", "marked, sla moved on"]

    worklist = Worklist(db, clock=lambda: NOW)
    items = {item.id: item for item in await worklist.team_view()}
    assert {name: items[fid].overdue for name, fid in ids.items()} == rule
    flagged = {item.id for item in await worklist.team_view(overdue_only=True)}
    assert {name: fid in flagged for name, fid in ids.items()} == rule

    # The SLA engine marks exactly the overdue ones that were not marked yet (at the deadline
    # too: it used to wait for the deadline to be passed, while the worklist said overdue).
    engine = SlaEngine(db, Router(db, load_rules(), clock=lambda: NOW), clock=lambda: NOW)
    report = await engine.tick()
    assert report.marked_overdue == 2
    async with db.session() as session:
        marked = dict((await session.execute(select(FollowUp.id, FollowUp.overdue_at))).all())
    assert {name: marked[fid] is not None for name, fid in ids.items()} == rule
