"""Who answers an outbound dial, and what a campaign's dialplan does with the answer.

The value types behind a scenario's ``[outbound]`` table (callkit.scenario_outbound reads them):
outcome shares by hour of the simulated day and by customer (``Audience``), and the modelled
campaign dialplan (``CampaignSpec``: AMD, the queue with its timeout, the machine and
safe-harbor messages). Pure: the simulator draws with its own random streams.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from callkit.specs import ANSWER, BUSY, FAILED, MACHINE, NOANSWER, Dist, OutboundProfile

# AMD()'s verdicts (apps/app_amd.c: the AMDSTATUS values it sets).
AMD_HUMAN, AMD_MACHINE, AMD_NOTSURE, AMD_HANGUP = "HUMAN", "MACHINE", "NOTSURE", "HANGUP"
AMD_RESULTS = (AMD_HUMAN, AMD_MACHINE, AMD_NOTSURE, AMD_HANGUP)

#: What a campaign's dialplan does with an answering machine, and with AMD's NOTSURE.
MACHINE_ACTIONS = ("message", "hangup")
NOTSURE_ACTIONS = ("queue", "machine")

_SEPARATORS = re.compile(r"[\s\-().]")


def dial_key(number: str) -> str:
    """``number`` without spaces, dashes, dots and brackets: ``+1 (415) 555-0100`` and
    ``+14155550100`` are the same dial."""
    return _SEPARATORS.sub("", number or "")


@dataclass(frozen=True, slots=True)
class Shares:
    """How likely each outcome of a dial is; the five add up to 1."""

    answer: float = 1.0
    no_answer: float = 0.0
    busy: float = 0.0
    machine: float = 0.0
    failed: float = 0.0

    def draw(self, rng: random.Random) -> str:
        """One outcome, with these probabilities (one ``rng.random()`` per draw)."""
        order = (
            (ANSWER, self.answer),
            (NOANSWER, self.no_answer),
            (BUSY, self.busy),
            (MACHINE, self.machine),
        )
        r = rng.random()
        for outcome, share in order:
            if r < share:
                return outcome
            r -= share
        if self.failed > 0:
            return FAILED
        # Rounding left r just above the shares: the last outcome that can happen.
        return next(o for o, s in reversed(order) if s > 0)

    def share(self, outcome: str) -> float:
        """The probability of ``outcome``."""
        return {
            ANSWER: self.answer,
            NOANSWER: self.no_answer,
            BUSY: self.busy,
            MACHINE: self.machine,
            FAILED: self.failed,
        }[outcome]


@dataclass(frozen=True, slots=True)
class HourShares:
    """Shares for the hours ``start`` (included) to ``end`` (excluded) of the simulated local
    day, 0–24; ``start > end`` wraps past midnight ("22-06")."""

    start: int
    end: int
    shares: Shares

    def covers(self, hour: int) -> bool:
        """Whether ``hour`` (0–23) falls in this range."""
        if self.start < self.end:
            return self.start <= hour < self.end
        return hour >= self.start or hour < self.end


def hour_shares(hours: tuple[HourShares, ...], hour: int) -> Shares | None:
    """The shares of the range covering ``hour``, if one does."""
    return next((h.shares for h in hours if h.covers(hour)), None)


@dataclass(frozen=True, slots=True)
class Audience:
    """A class of customers (by number or prefix) who behave unlike the rest."""

    name: str
    numbers: frozenset[str] = frozenset()  # dial keys
    prefixes: tuple[str, ...] = ()
    shares: Shares | None = None  # None: the outbound table's
    hours: tuple[HourShares, ...] = ()
    ring_seconds: tuple[float, float] | None = None
    talk_time: Dist | None = None

    def matches(self, key: str) -> bool:
        """Whether the dial key ``key`` belongs to this audience."""
        return key in self.numbers or any(key.startswith(p) for p in self.prefixes)


@dataclass(frozen=True, slots=True)
class AmdSpec:
    """AMD() in a campaign's dialplan, and how often it is wrong.

    ``human_as_machine``: the share of live humans it reports MACHINE; ``machine_as_human``:
    of machines it reports HUMAN; ``notsure``: of either it cannot decide (NOTSURE after
    totalAnalysisTime); ``hangup``: of answered humans who hang up while it listens (HANGUP).
    """

    enabled: bool = True
    human_as_machine: float = 0.0
    machine_as_human: float = 0.0
    notsure: float = 0.0
    hangup: float = 0.0

    def verdict(self, machine: bool, rng: random.Random) -> str:
        """AMDSTATUS for a callee who is (``machine``) or is not an answering machine."""
        r = rng.random()
        if not machine:
            if r < self.hangup:
                return AMD_HANGUP
            r -= self.hangup
        if r < self.notsure:
            return AMD_NOTSURE
        r -= self.notsure
        wrong = self.machine_as_human if machine else self.human_as_machine
        if r < wrong:
            return AMD_HUMAN if machine else AMD_MACHINE
        return AMD_MACHINE if machine else AMD_HUMAN


@dataclass(frozen=True, slots=True)
class CampaignSpec:
    """A campaign's dialplan context, modelled (docs/scenarios.md has the extensions).

    The Originate's Context names it; any Exten runs: AMD() (if enabled), machines to
    ``machine,1``, the rest into Queue(``queue``,,,,``queue_timeout``); on the timeout a
    UserEvent OutboundAbandon, Playback(``safe_harbor``) and Hangup().
    """

    context: str
    queue: str
    queue_timeout: float = 2.0
    amd: AmdSpec = field(default_factory=AmdSpec)
    machine: str = "message"  # "message": Playback(message) then Hangup(); "hangup"
    message: str = "campaign-message"
    message_seconds: float = 20.0
    safe_harbor: str = "safe-harbor"
    safe_harbor_seconds: float = 6.0
    notsure: str = "queue"  # "queue": like HUMAN; "machine": like MACHINE
    failed_extension: bool = False  # the context has a "failed" extension (Originate failures)


def base_shares(profile: OutboundProfile) -> Shares:
    """The ``[outbound]`` table's own shares."""
    return Shares(profile.answer, profile.no_answer, profile.busy, profile.machine, profile.failed)


def audience_of(profile: OutboundProfile, number: str) -> Audience | None:
    """The first of the table's audiences the dialled ``number`` belongs to."""
    key = dial_key(number)
    return next((a for a in profile.audiences if a.matches(key)), None)


def outcome_shares(profile: OutboundProfile, number: str, hour: int) -> Shares:
    """The shares a dial to ``number`` at ``hour`` (0–23, simulated local time) draws from:
    its audience's shares for that hour, else the audience's own, else the table's for that
    hour, else the table's own (the most specific that is given)."""
    audience = audience_of(profile, number)
    if audience is not None:
        found = hour_shares(audience.hours, hour) or audience.shares
        if found is not None:
            return found
    return hour_shares(profile.hours, hour) or base_shares(profile)
