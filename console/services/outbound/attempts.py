"""Attempt rules: how often one record may be dialled, and how long to wait after each outcome.

As the dialers do it (VICIdial's lead recycling, Genesys' and Amazon Connect's retry by
outcome): a record is done once the customer is reached or asks not to be called; otherwise
it may be dialled up to `max_attempts` times, each retry waiting the spacing of the last
attempt's outcome; `per_period` caps attempts in any rolling period (e.g. France's 4 in 30
days, the US Regulation F's 7 in 7 days for debts). Pure: the history is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType

from console.models.enums import AttemptOutcome, SkipReason

Out = AttemptOutcome

DEFAULT_SPACING: Mapping[AttemptOutcome, timedelta] = MappingProxyType(
    {
        Out.BUSY: timedelta(minutes=10),
        Out.FAILED: timedelta(minutes=30),
        Out.NO_ANSWER: timedelta(hours=2),
        Out.MACHINE: timedelta(hours=4),
        Out.WRONG_PARTY: timedelta(days=1),
    }
)
DONE_OUTCOMES = frozenset({Out.RIGHT_PARTY, Out.DNC_REQUEST})


@dataclass(frozen=True, slots=True)
class Attempt:
    """One earlier dial of a record: when it was placed and how it ended."""

    at: datetime
    outcome: AttemptOutcome


@dataclass(frozen=True, slots=True)
class AttemptCheck:
    """May the record be dialled again now? If not: why, and from when (if ever)."""

    reason: SkipReason | None  # None: it may
    detail: str = ""
    not_before: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


@dataclass(frozen=True, slots=True)
class AttemptRules:
    """Limits on dialling one record (see the module docstring)."""

    max_attempts: int = 6
    spacing: Mapping[AttemptOutcome, timedelta] = field(default_factory=lambda: DEFAULT_SPACING)
    per_period: tuple[int, timedelta] | None = None  # (at most N attempts, in any such period)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be 1 or more")
        missing = set(Out) - DONE_OUTCOMES - set(self.spacing)
        if missing:
            raise ValueError(f"no spacing for {', '.join(sorted(missing))}")
        if self.per_period is not None and (
            self.per_period[0] < 1 or self.per_period[1] <= timedelta(0)
        ):
            raise ValueError("per_period needs at least 1 attempt in a period above 0")

    def check(self, history: Sequence[Attempt], now: datetime) -> AttemptCheck:
        """Whether one more attempt is allowed at `now` after `history` (any order)."""
        if not history:
            return AttemptCheck(None)
        done = [a for a in history if a.outcome in DONE_OUTCOMES]
        if done:
            first = min(done, key=lambda a: a.at)
            reason = SkipReason.DNC if first.outcome is Out.DNC_REQUEST else SkipReason.FINISHED
            return AttemptCheck(reason, f"{first.outcome.value} at {first.at:%Y-%m-%d %H:%M} UTC")
        if len(history) >= self.max_attempts:
            return AttemptCheck(
                SkipReason.ATTEMPTS_EXHAUSTED,
                f"{len(history)} attempts made, {self.max_attempts} allowed",
            )
        if self.per_period is not None:
            most, period = self.per_period
            recent = sorted(a.at for a in history if a.at > now - period)
            if len(recent) >= most:
                until = recent[-most] + period
                return AttemptCheck(
                    SkipReason.TOO_SOON,
                    f"{len(recent)} attempts in the last {_span(period)}, {most} allowed",
                    until,
                )
        last = max(history, key=lambda a: a.at)
        wait = self.spacing[last.outcome]
        if now < last.at + wait:
            return AttemptCheck(
                SkipReason.TOO_SOON,
                f"last attempt {last.outcome.value} at {last.at:%Y-%m-%d %H:%M} UTC; "
                f"wait {_span(wait)}",
                last.at + wait,
            )
        return AttemptCheck(None)


def _span(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    if seconds % 86_400 == 0:
        return f"{seconds // 86_400} d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"
