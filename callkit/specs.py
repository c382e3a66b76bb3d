"""The value types a scenario file describes, shared by the scenario format and the simulator.

Distributions of durations, the caller-ID mix, how bots and dialled customers behave, queues,
agents, scripted calls and the whole `Scenario`, and the names the scenario format accepts
(queue strategies, distributions, number spellings, outcomes). Pure: the simulator draws from
them with its own random streams; reading them from TOML is `callkit.scenario_file`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callkit.audience import Audience, CampaignSpec, HourShares
    from callkit.rubric import Rubric

# Queue strategies app_queue.c knows (the `strategy` of a scenario's queue).
STRATEGIES = ("ringall", "leastrecent", "fewestcalls", "random", "rrmemory", "linear")
DISTRIBUTIONS = ("exponential", "lognormal", "fixed", "uniform", "none")
NUMBER_FORMATS = ("e164", "plain", "intl00", "national", "spaced")


# What the customer does when dialled ("machine": an answering machine or voicemail answers).
ANSWER, NOANSWER, BUSY, FAILED, MACHINE = "answer", "noanswer", "busy", "failed", "machine"
OUTCOMES = (ANSWER, NOANSWER, BUSY, FAILED, MACHINE)


class Dist:
    """A distribution of durations in seconds: exponential, lognormal, fixed, uniform or none."""

    __slots__ = ("high", "kind", "low", "mean", "sd")

    def __init__(
        self, kind: str, mean: float = 0.0, sd: float = 0.0, low: float = 0.0, high: float = 0.0
    ) -> None:
        if kind not in DISTRIBUTIONS:
            raise ValueError(f"unknown distribution {kind!r}")
        self.kind = kind
        self.mean = mean
        self.sd = sd
        self.low = low
        self.high = high

    def sampler(self, rng: random.Random) -> Callable[[], float]:
        """A zero-argument function drawing from this distribution with ``rng`` (inf for none)."""
        kind = self.kind
        if kind == "none":
            return lambda: math.inf
        if kind == "fixed":
            value = self.mean
            return lambda: value
        if kind == "uniform":
            low, high = self.low, self.high
            return lambda: rng.uniform(low, high)
        if kind == "exponential":
            if self.mean <= 0:
                return lambda: 0.0
            return _expo(rng, self.mean)
        # lognormal given by its own mean and standard deviation (not the log's)
        sigma2 = math.log(1.0 + (self.sd / self.mean) ** 2) if self.mean > 0 else 0.0
        mu = math.log(self.mean) - sigma2 / 2 if self.mean > 0 else 0.0
        sigma = math.sqrt(sigma2)
        return lambda: rng.lognormvariate(mu, sigma)

    def __repr__(self) -> str:
        return f"Dist({self.kind!r}, mean={self.mean}, sd={self.sd})"

    def _key(self) -> tuple[str, float, float, float, float]:
        return (self.kind, self.mean, self.sd, self.low, self.high)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dist) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


def _expo(rng: random.Random, mean: float) -> Callable[[], float]:
    rate = 1.0 / mean
    expo = rng.expovariate
    return lambda: expo(rate)


@dataclass(frozen=True)
class CallerMix:
    """Shares of caller-ID kinds and of the spellings a known number arrives in."""

    unknown_share: float = 0.1
    withheld_share: float = 0.03
    malformed_share: float = 0.01
    formats: dict[str, float] = field(
        default_factory=lambda: {
            "e164": 0.5,
            "national": 0.2,
            "plain": 0.1,
            "intl00": 0.1,
            "spaced": 0.1,
        }
    )


@dataclass(frozen=True)
class BotProfile:
    """How a bot behaves; shares are probabilities per call."""

    answer_delay: Dist = field(default_factory=lambda: Dist("fixed", 2.0))
    miss_share: float = 0.0  # lets the ring time out (AgentRingNoAnswer)
    hold_share: float = 0.0
    hold_time: Dist = field(default_factory=lambda: Dist("exponential", 30.0))
    agent_hangup_share: float = 0.5  # AgentComplete Reason agent, else caller
    break_share: float = 0.0  # chance of a break after each call
    break_time: Dist = field(default_factory=lambda: Dist("exponential", 600.0))
    break_reasons: tuple[str, ...] = ("Break",)


@dataclass(frozen=True, slots=True)
class OutboundProfile:
    """A scenario's ``[outbound]`` table: how dialled customers behave.

    The five shares add up to 1. ``ring_seconds`` is how long the phone rings before a person
    answers (uniform between the two), ``machine_ring_seconds`` before a machine or voicemail
    does; ``no_answer_seconds`` how long an unanswered phone rings before Dial gives up in an
    agent-first call (None: what is left of the Originate's Timeout, at least 1 s).
    ``talk_time`` is how long a connected customer talks (a bot agent's handle time).
    ``hours`` and ``audiences`` (callkit.audience) change the shares by hour of the simulated
    day and by customer; ``campaigns`` are the modelled campaign dialplans; ``trunks`` the
    PJSIP endpoints a customer-first Originate may dial through.
    """

    answer: float = 1.0
    no_answer: float = 0.0
    busy: float = 0.0
    failed: float = 0.0
    ring_seconds: tuple[float, float] = (3.0, 10.0)
    no_answer_seconds: float | None = None
    machine: float = 0.0
    machine_ring_seconds: tuple[float, float] = (12.0, 20.0)
    talk_time: Dist = field(default_factory=lambda: Dist("exponential", 180.0))
    hours: tuple[HourShares, ...] = ()
    audiences: tuple[Audience, ...] = ()
    campaigns: tuple[CampaignSpec, ...] = ()
    trunks: tuple[str, ...] = ("trunk",)

    def draw(self, rng: random.Random) -> str:
        """One outcome, with the table's own probabilities."""
        shares = (
            (ANSWER, self.answer),
            (NOANSWER, self.no_answer),
            (BUSY, self.busy),
            (MACHINE, self.machine),
        )
        r = rng.random()
        for outcome, share in shares:
            if r < share:
                return outcome
            r -= share
        if self.failed > 0:
            return FAILED
        # Rounding left r just above the shares: the last outcome that can happen.
        return next(o for o, s in reversed(shares) if s > 0)


#: Today's behaviour: every customer answers after 3–10 s.
ALWAYS_ANSWER = OutboundProfile()


@dataclass(frozen=True)
class TrafficSpec:
    """Random arrivals to one queue."""

    hourly: tuple[float, ...]  # 24 values, calls per hour
    handle_time: Dist
    patience: Dist
    priority_share: float = 0.0
    priority: int = 0


@dataclass(frozen=True)
class QueueSpec:
    """One queue's configuration (app_queue's queues.conf options)."""

    name: str
    extension: str = ""
    strategy: str = "ringall"
    timeout: float = 15.0
    retry: float = 5.0
    wrapuptime: float = 0.0
    joinempty: bool = True
    autopause: bool = False
    leavewhenempty: bool = False
    max_wait: float | None = None
    overflow: str = ""
    weight: int = 0
    skills: dict[str, int] = field(default_factory=dict)
    service_level: float = 20.0
    short_abandon: float = 5.0
    # Desk phones (not bots) answer this queue's calls by themselves after this many seconds,
    # as phones do when the dialplan asks for auto-answer (Call-Info answer-after / Alert-Info
    # on the member's dial): what a predictive campaign's agents use. None: they ring.
    autoanswer: float | None = None
    traffic: TrafficSpec | None = None


@dataclass(frozen=True)
class AgentSpec:
    """A bot or a human's desk phone and its queue memberships."""

    interface: str
    name: str
    kind: str = "bot"
    queues: tuple[tuple[str, int], ...] = ()
    skills: dict[str, int] = field(default_factory=dict)
    wrapuptime: float | None = None
    paused: bool = False
    pause_reason: str = ""
    profile: BotProfile = field(default_factory=BotProfile)
    # The phone behind a Local-channel member ("Local/1001@from-queue/n" rings PJSIP/1001);
    # "" for a direct member, or to derive PJSIP/<exten> from the Local interface.
    state_interface: str = ""


@dataclass(frozen=True)
class TranscriptLine:
    """What the caller says, ``at`` seconds after the agent answered."""

    at: float
    text: str
    speaker: str = "caller"


@dataclass(frozen=True)
class ScriptedCall:
    """A trainer's call: who calls which queue when, what they say, what a good agent does."""

    id: str
    at: float
    queue: str
    customer_id: int | None = None
    number: str | None = None
    name: str = ""
    tier: str = ""
    priority: int = 0
    patience: float = math.inf
    handle_time: float = 300.0
    hangup_after: float | None = None
    transcript: tuple[TranscriptLine, ...] = ()
    expect: tuple[str, ...] = ()
    notes: str = ""


@dataclass(frozen=True)
class Scenario:
    """A whole scenario file, validated."""

    name: str
    description: str = ""
    start_of_day: float = 8 * 3600.0
    epoch: int = 1_700_000_000
    duration: float = 8 * 3600.0
    platinum_priority: int = 10
    callers: CallerMix = field(default_factory=CallerMix)
    queues: tuple[QueueSpec, ...] = ()
    agents: tuple[AgentSpec, ...] = ()
    calls: tuple[ScriptedCall, ...] = ()
    outbound: OutboundProfile | None = None  # None: every dialled customer answers
    source: str = "<builtin>"
    difficulty: str = "medium"  # easy | medium | hard
    rubric: Rubric | None = None  # how trainees are scored on the scripted calls
