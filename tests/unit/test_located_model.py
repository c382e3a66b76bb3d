"""Pydantic-validated TOML files keep their FILE:LINE: key: message errors."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, field_validator

from callkit.located_model import LocatedValueError, validate_located
from callkit.located_toml import LocatedReader
from callkit.toml_values import window
from console.services.supervision.queue_targets import TargetsError, load_targets


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid")
    after: int
    to: str = "queue"

    @field_validator("after")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError(f"must be more than 0 (got {value})")
        return value


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "x"
    steps: list[_Step] = []
    tables: dict[str, _Step] = {}


def _check(text: str) -> str:
    reader = LocatedReader("f.toml", text)
    with pytest.raises(ValueError) as caught:
        validate_located(_Doc, reader.load(), reader)
    return str(caught.value)


def test_a_validators_message_is_placed_on_its_line() -> None:
    text = 'name = "a"\n\n[[steps]]\nafter = 5\n\n[[steps]]\nto = "b"\nafter = -1\n'
    assert _check(text) == "f.toml:8: steps[2].after: must be more than 0 (got -1)"


def test_an_unknown_key_lists_the_keys_of_its_own_table() -> None:
    text = "[tables.vip]\nafter = 3\nfater = 4\n"
    assert _check(text) == ("f.toml:3: tables.vip: unknown key 'fater' (expected one of after, to)")
    assert (
        _check("nme = 1\n") == "f.toml:1: unknown key 'nme' (expected one of name, steps, tables)"
    )


def test_missing_and_non_table_values_use_the_house_words() -> None:
    assert _check("[[steps]]\nto = 'q'\n") == "f.toml:1: steps[1]: needs 'after'"
    assert _check("tables = 3\n") == "f.toml:1: tables: must be a table"


def test_of_several_errors_the_earliest_in_the_file_is_reported() -> None:
    text = "[[steps]]\nafter = 1\n\n[[steps]]\nafter = 0\n\n[tables.a]\nbad = 1\n"
    assert _check(text).startswith("f.toml:5: steps[2].after:")
    text = "[tables.a]\nafter = 1\nbad = 1\n\n[[steps]]\nafter = 0\n"
    assert _check(text).startswith("f.toml:3: tables.a: unknown key 'bad'")


def test_located_value_error_blames_the_key_below() -> None:
    class _Named(BaseModel):
        tables: dict[str, int]

        @field_validator("tables", mode="before")
        @classmethod
        def _names(cls, value: dict[str, int]) -> dict[str, int]:
            for name in value:
                if not name.islower():
                    raise LocatedValueError("names are lower case", (name,))
            return value

    reader = LocatedReader("g.toml", "[tables]\nok = 1\nBAD = 2\n")
    with pytest.raises(ValueError, match=r"^g\.toml:3: tables\.BAD: names are lower case$"):
        validate_located(_Named, reader.load(), reader)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[defaults]\nasa = 10\n\n[queues.billing]\nasa = 10\nasa_amber = 5\n",
            ":5: queues.billing.asa: asa 10 is above asa_amber 5",
        ),
        (
            "[queues.billing]\nqeue = 1\n",
            ":2: queues.billing: unknown key 'qeue' (expected one of abandon_rate, ",
        ),
        ('[queues."bad\\tname"]\nasa = 10\n', ":1: queues.bad\tname: must not contain control"),
        ("queues = 3\n", ":1: queues: use [queues.NAME] tables, one per queue"),
        ("[defaults]\nservice_level = true\n", ":2: defaults.service_level: must be a share"),
    ],
)
def test_queue_targets_errors_through_the_model(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "targets.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TargetsError) as caught:
        load_targets(path)
    assert str(caught.value).startswith(f"{path}{expected}"), str(caught.value)


# ------------------------------------------------------------------ routing rules through models

RULES_OK = '[[rule]]\nname = "first"\ntarget = { queue = "support" }\n'


def _rules_error(tmp_path: Path, text: str) -> str:
    from console.services.routing.routing_rules import RulesError
    from console.services.routing.rules_file import load_rules

    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulesError) as caught:
        load_rules(str(path))
    message = str(caught.value)
    assert message.startswith(f"{path}:")
    return message[len(str(path)) :]


def test_a_rules_file_with_two_bad_rules_reports_the_first(tmp_path: Path) -> None:
    text = (
        RULES_OK
        + '\n[[rule]]\nname = "vip"\nwhen = { tier = "platnum" }\ntarget = { queue = "vip" }\n'
        + '\n[[rule]]\nname = "late"\npriority = 9\ntarget = { queue = "x" }\n'
    )
    assert _rules_error(tmp_path, text) == (
        ":7: rule 'vip': when.tier: unknown value 'platnum' (use platinum, gold, iron, lead)"
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('enabled = "yes"', ":4: rule 'first': enabled: must be true or false (got 'yes')"),
        (
            'retry = { attempts = "3" }',
            ":4: rule 'first': retry.attempts: must be a whole number from 1 to 20 (got '3')",
        ),
        ("due_in = 1.5e9", ":4: rule 'first': due_in: must be more than 0 and at most 366d"),
    ],
)
def test_rule_values_are_not_coerced(tmp_path: Path, line: str, expected: str) -> None:
    """pydantic's lax mode would read "yes" as true and "3" as 3; a rules file must not."""
    assert _rules_error(tmp_path, RULES_OK + line + "\n").startswith(expected)


def test_an_escalation_target_lists_its_own_keys(tmp_path: Path) -> None:
    text = RULES_OK + 'escalate = [\n  { after = "1h", to = { queue = "x", qeue = "y" } },\n]\n'
    assert _rules_error(tmp_path, text) == (
        ":5: rule 'first': escalate[1].to: unknown key 'qeue' "
        "(expected one of agent, min_level, only, queue, role, skill)"
    )


@given(st.times(), st.times())
def test_windows_read_back(start: time, end: time) -> None:
    start, end = start.replace(second=0, microsecond=0), end.replace(second=0, microsecond=0)
    text = f"{start:%H:%M}-{end:%H:%M}"
    if start == end:
        with pytest.raises(LocatedValueError, match="the window is empty"):
            window(text)
    else:
        assert window(text) == (start, end)
