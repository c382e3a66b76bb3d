"""Data for the shift's screens in tests (snapshots and the 80x24 checks)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, timedelta

from console.services.training.scoring import ScoreCard, score
from tests.unit.test_scoring import flawless_run


def sloppy_card(scenario: str) -> ScoreCard:
    """A shipped scenario's score card for a run answered late with the wrong disposition."""
    rubric, run = flawless_run(scenario)
    first = run.calls[0]
    sloppy = replace(
        first, answered_at=first.offered_at + timedelta(seconds=25), disposition="resolved"
    )
    return score(rubric, replace(run, calls=(sloppy, *run.calls[1:])), tz=UTC)
