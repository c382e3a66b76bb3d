"""The one JSON-safe converter (callkit.json_safe) and the records that use it."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum, IntEnum, StrEnum
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callkit.json_safe import json_safe


class Colour(StrEnum):
    RED = "red"


class Level(IntEnum):
    HIGH = 1


class Wrapped(Enum):
    WHEN = date(2026, 12, 5)


@dataclass(frozen=True, slots=True)
class Inner:
    at: datetime
    wait: timedelta


@dataclass(frozen=True)
class Outer:
    name: str
    inner: Inner
    tags: frozenset[str]
    colour: Colour


def test_each_type_has_its_documented_form() -> None:
    at = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)
    value = {
        "at": at,
        "day": date(2026, 12, 5),
        "opens": time(9, 0),
        "precise": time(9, 0, 30),
        "wait": timedelta(minutes=90),
        "half": timedelta(seconds=1.5),
        "price": Decimal("12.30"),
        "file": Path("/var/log/asterisk/queue_log"),
        "id": UUID(int=1),
        "colour": Colour.RED,
        "level": Level.HIGH,
        "wrapped": Wrapped.WHEN,
        "nan": math.nan,
        "inf": -math.inf,
        3: (1, 2),
        "set": {"b", "a", "c"},
        "nested": Outer("x", Inner(at, timedelta(0)), frozenset({"z", "y"}), Colour.RED),
    }
    assert json_safe(value) == {
        "at": "2026-12-05T09:30:00+00:00",
        "day": "2026-12-05",
        "opens": "09:00",
        "precise": "09:00:30",
        "wait": 5400,
        "half": 1.5,
        "price": "12.30",
        "file": "/var/log/asterisk/queue_log",
        "id": "00000000-0000-0000-0000-000000000001",
        "colour": "red",
        "level": 1,
        "wrapped": "2026-12-05",
        "nan": None,
        "inf": None,
        "3": [1, 2],
        "set": ["a", "b", "c"],
        "nested": {
            "name": "x",
            "inner": {"at": "2026-12-05T09:30:00+00:00", "wait": 0},
            "tags": ["y", "z"],
            "colour": "red",
        },
    }


def test_an_unknown_type_is_a_type_error_unless_the_caller_says_otherwise() -> None:
    with pytest.raises(TypeError, match="no JSON form for object"):
        json_safe({"x": object()})
    assert json_safe([b"raw"], other=lambda v: "<bytes>") == ["<bytes>"]


def test_text_and_depth_policies() -> None:
    assert json_safe({"a": ["xyz"]}, text=str.upper) == {"a": ["XYZ"]}
    deep: Any = "leaf"
    for _ in range(5):
        deep = [deep]
    assert json_safe(deep, max_depth=2, other=lambda v: "cut") == [["cut"]]


_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text()
    | st.datetimes(timezones=st.just(UTC))
    | st.dates()
    | st.times()
    | st.timedeltas()
    | st.decimals()
    | st.uuids()
    | st.sampled_from(Colour)
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=5) | st.integers(), inner, max_size=4)
        | st.frozensets(st.integers(), max_size=4)
    ),
    max_leaves=20,
)


@given(_VALUES)
def test_anything_it_accepts_survives_strict_json(value: Any) -> None:
    converted = json_safe(value)
    text = json.dumps(converted, allow_nan=False)  # strict: no NaN/Infinity either
    assert json.loads(text) == converted
    assert json_safe(converted) == converted  # already-safe data is left alone


# Durations up to the longest the rules allow (366 days): seconds as a float keep every
# microsecond there (a float's 53 bits hold 2**53 µs ≈ 285 years).
@given(
    st.datetimes(timezones=st.just(UTC)),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=366)),
)
def test_times_read_back(at: datetime, wait: timedelta) -> None:
    data = json.loads(json.dumps(json_safe(Inner(at, wait))))
    assert datetime.fromisoformat(data["at"]) == at
    assert timedelta(seconds=data["wait"]) == wait


def test_a_route_decision_is_stored_as_before() -> None:
    """The routing snapshot keeps its stored form (durations in seconds, window "HH:MM")."""
    from console.services.routing.routing_rules import FollowUpFacts, RouteDecision
    from console.services.routing.rules_file import load_rules

    facts = FollowUpFacts(kind="callback", priority=3, at=datetime(2026, 12, 7, 10, tzinfo=UTC))
    decision = load_rules().route(facts)
    data = decision.as_json()
    assert data["due_in"] == int(decision.due_in.total_seconds())
    assert set(data["target"]) == {"queue", "skill", "min_level", "agent", "agent_only", "role"}
    retry = data["retry"]
    assert isinstance(retry, dict)
    assert retry["spacing"] == [int(s.total_seconds()) for s in decision.retry.spacing]
    if decision.retry.window is not None:
        assert retry["window"] == [f"{t:%H:%M}" for t in decision.retry.window]
    assert RouteDecision.from_json(json.loads(json.dumps(data))) == decision


def test_audit_details_are_sanitised_through_the_one_converter() -> None:
    from console.services.audit import _json_safe as audit_json

    details = audit_json({"note": "a\x1b[31mred", "when": date(2026, 1, 2), "n": math.nan})
    assert details == {"note": "ared", "when": "2026-01-02", "n": None}
