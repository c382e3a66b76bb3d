"""Scenario files read exactly as before the pydantic models: the shipped scenarios parse to the
same objects, and ~4800 broken variants of them fail with the same ``file:line: message`` (or
load to the same scenario). The snapshot was taken with the hand-written reader (commit
"Snapshot of how scenario files read"); regenerate it only for an intended change."""

from __future__ import annotations

import gzip
import json

import pytest

from callkit.scenario import parse_scenario, shipped_scenarios
from tests.scenario_corpus import FIXTURES, dump, outcome, shipped_text, variants


@pytest.mark.parametrize("name", shipped_scenarios())
def test_each_shipped_scenario_parses_as_in_the_snapshot(name: str) -> None:
    expected = json.loads((FIXTURES / "shipped.json").read_text())[name]
    parsed = json.loads(json.dumps(dump(parse_scenario(shipped_text(name), f"{name}.toml"))))
    assert parsed == expected


def test_broken_variants_fail_with_the_snapshot_messages() -> None:
    expected = json.loads(gzip.decompress((FIXTURES / "variants.json.gz").read_bytes()))
    got = {case: outcome(text, "s.toml") for case, text in variants()}
    assert got.keys() == expected.keys()
    differ = {case: (expected[case], got[case]) for case in got if got[case] != expected[case]}
    shown = "\n".join(f"{c}\n  was: {w}\n  now: {n}" for c, (w, n) in list(differ.items())[:10])
    assert not differ, f"{len(differ)} of {len(got)} variants read differently:\n{shown}"
