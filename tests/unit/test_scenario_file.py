"""Scenario files through the pydantic models: values are taken as written, the earliest of
several mistakes is reported, and a rubric is validated against its own scenario's calls."""

from __future__ import annotations

import pytest

from callkit.located_model import validate_located
from callkit.rubric import RubricContext, RubricTable
from callkit.scenario import ScenarioError, parse_scenario
from callkit.scenario_reader import ScenarioReader
from callkit.specs import QueueSpec, ScriptedCall

QUEUE = '[[queues]]\nname = "support"\n'


def _error(text: str) -> str:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "s.toml")
    return str(caught.value)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('joinempty = "yes"', "s.toml:3: queues[1].joinempty: 'joinempty' must be true or false"),
        ('weight = "3"', "s.toml:3: queues[1].weight: 'weight' must be an integer"),
        ("weight = 3.0", "s.toml:3: queues[1].weight: 'weight' must be an integer"),
        ('timeout = "15"', None),  # a duration string is a duration, as documented
        ('traffic = { rate = "60" }', "s.toml:3: queues[1].traffic.rate: 'rate' must be a number"),
    ],
)
def test_queue_values_are_not_coerced(line: str, expected: str | None) -> None:
    """pydantic's lax mode would read "yes" as true and "3" as 3; a scenario must not."""
    text = QUEUE + line + "\n"
    if expected is None:
        assert parse_scenario(text).queues[0].timeout == 15.0
    else:
        assert _error(text) == expected


def test_of_two_mistakes_the_earlier_in_the_file_is_reported() -> None:
    """The hand-written reader checked queues before the top-level keys, whatever the order."""
    text = 'start = "25:00"\n' + QUEUE + 'strategy = "roundrobin"\n'
    assert _error(text) == 's.toml:1: start: start must be a time of day like "08:00"'
    text = QUEUE + 'strategy = "roundrobin"\n[callers]\nunknown_share = 2\n'
    assert _error(text).startswith("s.toml:3: queues[1].strategy: unknown strategy")


def test_references_between_tables_are_checked_once_the_tables_are_valid() -> None:
    text = QUEUE + '[[agents]]\ninterface = "PJSIP/1"\nqueues = ["sales"]\n'
    assert _error(text) == "s.toml:3: agents: PJSIP/1: no queue named 'sales'"


RUBRIC = '[rubric]\n[[rubric.criteria]]\nid = "c"\nkind = "identity"\noutcome = "confirmed"\n'


def _call(call_id: str, customer_id: int | None) -> ScriptedCall:
    return ScriptedCall(call_id, 0.0, "support", customer_id=customer_id)


def test_a_rubric_is_validated_against_the_calls_it_is_given() -> None:
    """The same [rubric] fits a scenario whose caller is known, not one whose caller is not."""
    reader = ScenarioReader("r.toml", RUBRIC)
    table = reader.load()["rubric"]
    queues = (QueueSpec("support"),)
    known = RubricContext((_call("k", 7),), queues)
    rubric = validate_located(RubricTable, table, reader, ("rubric",), context=known)
    assert rubric.rubric(known).criteria[0].calls == ("k",)
    stranger = RubricContext((_call("s", None),), queues)
    with pytest.raises(ScenarioError, match=r"^r\.toml:5: rubric\.criteria\[1\]\.outcome: .*'s'"):
        validate_located(RubricTable, table, reader, ("rubric",), context=stranger)


def test_a_rubric_criterion_names_one_of_the_scenarios_calls() -> None:
    text = (
        QUEUE
        + '[[calls]]\nid = "first"\nqueue = "support"\n'
        + '[rubric]\n[[rubric.criteria]]\nid = "c"\nkind = "not_abandoned"\ncall = "second"\n'
    )
    assert _error(text) == (
        "s.toml:10: rubric.criteria[1].call: no scripted call 'second' (the calls are first)"
    )
