"""bench/seats.py's core at two seats for a few calls on SQLite, so the bench does not rot.

No timing is asserted (figures belong to the bench): only that the consoles start, take
calls, wrap them up and claim follow-ups, and that the bench's own checks find nothing lost,
duplicated or claimed twice.
"""

from __future__ import annotations

from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


async def test_two_seats_take_calls_and_claim_follow_ups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The worker processes (spawned) import the bench the same way: from sys.path.
    monkeypatch.syspath_prepend(str(BENCH))
    import seats

    args = seats.parse_args(
        [
            "--seats", "2", "--procs", "1", "--minutes", "0.15",
            "--talk", "1", "--ring", "0.3", "--wrap", "0.5",
            "--customers", "200", "--pending", "100", "--db", str(tmp_path / "seats.db"),
        ]
    )  # fmt: skip
    [result] = await seats.run_all(args, f"sqlite:///{tmp_path / 'seats.db'}")
    assert (result.started, result.crashed) == (2, 0)
    assert result.answered > 0 and result.claims > 0, result
    assert (result.lost, result.duplicated, result.unfinished, result.double_claims) == (0, 0, 0, 0)
    assert len(result.pops) >= result.answered  # every answered call popped first
