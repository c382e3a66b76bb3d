"""Shipped scenarios as plain data, and broken variants of them, for before/after comparisons.

`dump` turns a parsed `Scenario` into JSON-ready data (every field, `Dist` included), so a change
to how scenario files are read can be checked against a snapshot taken before it
(tests/fixtures/scenarios/, written by ``python -m tests.scenario_corpus``).
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import math
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from callkit.scenario import ScenarioError, parse_scenario, shipped_scenarios
from callkit.specs import Dist

FIXTURES = Path(__file__).parent / "fixtures" / "scenarios"
# A value in a `key = value` pair (strings, numbers, bare words; inline tables' members too).
_PAIR = re.compile(r'(?P<key>[A-Za-z_]+)\s*=\s*(?P<value>"[^"]*"|[-\w.:]+)')
_BAD_VALUES = ('"yes"', "-1", "true", "[]", "{ bogus = 1 }", '"x"', "0", '"none"', "1e9")


def dump(value: Any) -> Any:
    """``value`` (a Scenario or any part of it) as JSON-ready data; inf as the string "inf"."""
    if isinstance(value, Dist):
        return {"Dist": [value.kind, value.mean, value.sd, value.low, value.high]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            type(value).__name__: {
                f.name: dump(getattr(value, f.name)) for f in dataclasses.fields(value)
            }
        }
    if isinstance(value, dict):
        return {str(k): dump(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [dump(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, float):
        return repr(value)  # keeps 1.0 apart from 1
    return value


def shipped_text(name: str) -> str:
    """The text of shipped scenario ``name``."""
    folder = resources.files("callkit") / "scenarios"
    return (folder / f"{name}.toml").read_text(encoding="utf-8")


def variants() -> Iterator[tuple[str, str]]:
    """(case id, text): each shipped scenario with one value replaced by a bad one, one line
    dropped, or an unknown key added — deterministic, so ids are stable."""
    for name in shipped_scenarios():
        lines = shipped_text(name).splitlines()
        for row, line in enumerate(lines):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            yield f"{name}:{row + 1}:drop", "\n".join(lines[:row] + lines[row + 1 :]) + "\n"
            if line.lstrip().startswith("["):  # a table header: give it an unknown key
                added = [*lines[: row + 1], "bogus = 1", *lines[row + 1 :]]
                yield f"{name}:{row + 1}:unknown", "\n".join(added) + "\n"
            for m in _PAIR.finditer(line):
                for bad in _BAD_VALUES:
                    changed = line[: m.start("value")] + bad + line[m.end("value") :]
                    text = "\n".join([*lines[:row], changed, *lines[row + 1 :]]) + "\n"
                    yield f"{name}:{row + 1}:{m.start('value')}:{bad}", text


def outcome(text: str, source: str) -> str:
    """The error message, or "ok " and a digest of the parsed scenario."""
    try:
        scenario = parse_scenario(text, source)
    except ScenarioError as exc:
        return str(exc)
    digest = hashlib.sha256(json.dumps(dump(scenario), sort_keys=True).encode()).hexdigest()
    return "ok " + digest[:16]


def snapshot() -> tuple[dict[str, Any], dict[str, str]]:
    """(shipped scenarios as data, outcome of every variant)."""
    shipped = {
        name: dump(parse_scenario(shipped_text(name), f"{name}.toml"))
        for name in shipped_scenarios()
    }
    return shipped, {case: outcome(text, "s.toml") for case, text in variants()}


if __name__ == "__main__":
    shipped, outcomes = snapshot()
    FIXTURES.mkdir(parents=True, exist_ok=True)
    (FIXTURES / "shipped.json").write_text(json.dumps(shipped, indent=1, sort_keys=True) + "\n")
    packed = json.dumps(outcomes, indent=0, sort_keys=True).encode()
    (FIXTURES / "variants.json.gz").write_bytes(gzip.compress(packed, mtime=0))
    print(len(outcomes), "variants")
