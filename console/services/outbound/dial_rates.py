"""What a campaign's recent calls say, for pacing: `RateBook` → `pacing.CampaignRates`.

Kept in memory by the dialer (warmed from the database when it takes a campaign over): the
live-answer rate, the mean time from a dial to its live answer reaching the queue (the
horizon), the mean talk and wrap-up of the campaign's agents. Each starts from a prior worth a
few observations, so a new campaign paces cautiously rather than from nothing: 30 % live
answers, a 20 s horizon, 120 s talk, 15 s wrap-up.

**Cohorts, not arrivals.** The rate is taken over the last few hundred dials placed at least
``settle`` seconds ago (longer than a dial can ring and be classified), whatever became of
them. Counting dials as they resolve instead is biased whenever the dialling changes: a busy
signal resolves in a second, a live answer in five to fifteen, a no-answer in thirty, so a
campaign's first seconds look dead (only busy ones are back), pacing floods the lines, and the
live answers then arrive all at once. The same cohort gives the timing samples.

It also says how likely each dial still in flight is to bring a live answer (`live_chances`):
one waiting in the queue is a person; one answered and in AMD is a person as often as recent
answers were (live / answered); one still ringing after ``a`` seconds, by Bayes over the
cohort: p·S_live(a) / (p·S_live(a) + (1 − p)·S_other(a)), S being the share of live (other)
dials still ringing ``a`` seconds after they were placed. A dial that has rung longer than
live answers take is then unlikely to bring one, and pacing counts it so. (Sharing out the
cohort's expected live answers still to come, p × dials − live answers already in, was tried
too: its variance over-dialled after lucky minutes; bench/dialer.py, docs/outbound.md.)
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from console.services.outbound.pacing import CampaignRates

#: (prior mean, observations it is worth)
PRIOR_LIVE = (0.3, 20)
PRIOR_HORIZON = (20.0, 5)
PRIOR_TALK = (120.0, 5)
PRIOR_WRAP = (15.0, 5)
PRIOR_HUMAN = (0.5, 10)  # live among answered dials
MIN_RING_SAMPLES = 30  # fewer: a ringing dial counts the live-answer rate
SETTLE = 45.0  # seconds after which a dial is classified (ring timeout + AMD + margin)


class SeenDial(Protocol):
    """What the book reads of a dial (`dial_events.Dial`, or one read back from the database)."""

    @property
    def seen_at(self) -> float: ...
    @property
    def answered_at(self) -> float | None: ...
    @property
    def live_at(self) -> float | None: ...
    @property
    def ended_at(self) -> float | None: ...
    @property
    def live_known(self) -> bool | None: ...


@dataclass(frozen=True, slots=True)
class DialRecord:
    """A dial read back from the database."""

    seen_at: float
    answered_at: float | None
    live_at: float | None
    ended_at: float | None
    live_known: bool | None


def _mean(values: list[float] | deque[float], prior: tuple[float, int]) -> float:
    mean, weight = prior
    return (sum(values) + mean * weight) / (len(values) + weight)


class RateBook:
    """Recent dials, talks and wrap-ups of one campaign (bounded windows)."""

    def __init__(self, window: int = 400, settle: float = SETTLE) -> None:
        self.window = window
        self.settle = settle
        self._dials: deque[SeenDial] = deque(maxlen=window * 3)
        self._talks: deque[float] = deque(maxlen=window // 2)
        self._wraps: deque[float] = deque(maxlen=window // 2)
        self._live: list[float] = []
        self._human: list[float] = []
        self._horizons: list[float] = []
        self._ring_live: list[float] = []
        self._ring_other: list[float] = []

    def placed(self, dial: SeenDial) -> None:
        """A dial placed (its fields are read again at each `refresh`)."""
        self._dials.append(dial)

    def talk_ended(self, connected: float, ended: float) -> None:
        """A connected call over: its talk."""
        self._talks.append(max(ended - connected, 0.0))

    def wrap_seen(self, seconds: float) -> None:
        """An agent of the campaign finished a wrap-up of ``seconds``."""
        self._wraps.append(max(seconds, 0.0))

    def refresh(self, now: float) -> None:
        """Recompute from the dials placed at least ``settle`` seconds before ``now`` (the last
        ``window`` of them whose liveness is known). Once per pacing round."""
        cutoff = now - self.settle
        cohort: list[SeenDial] = []
        for dial in reversed(self._dials):
            if dial.seen_at > cutoff:
                continue
            if dial.live_known is not None:
                cohort.append(dial)
                if len(cohort) >= self.window:
                    break
        live: list[float] = []
        human: list[float] = []
        horizons: list[float] = []
        ring_live: list[float] = []
        ring_other: list[float] = []
        for dial in cohort:
            is_live = bool(dial.live_known)
            live.append(1.0 if is_live else 0.0)
            if dial.answered_at is not None:
                human.append(1.0 if is_live else 0.0)
            if is_live and dial.live_at is not None:
                horizons.append(max(dial.live_at - dial.seen_at, 0.0))
            rang = dial.answered_at
            if rang is None:
                rang = dial.live_at if is_live else dial.ended_at
            if rang is not None:  # how long it rang: placed → answered (or over)
                (ring_live if is_live else ring_other).append(max(rang - dial.seen_at, 0.0))
        self._live, self._human, self._horizons = live, human, horizons
        self._ring_live, self._ring_other = sorted(ring_live), sorted(ring_other)

    @property
    def learning(self) -> bool:
        """Too few settled dials yet to trust the rates (the dialer holds back meanwhile)."""
        return len(self._live) < MIN_RING_SAMPLES

    def live_chance(self, age: float, *, answered: bool = False, queued: bool = False) -> float:
        """The chance a dial in flight for ``age`` seconds still brings a live answer."""
        if queued:
            return 1.0
        if answered:
            return _mean(self._human, PRIOR_HUMAN)
        p = _mean(self._live, PRIOR_LIVE)
        live, other = self._ring_live, self._ring_other
        if len(live) < MIN_RING_SAMPLES or len(other) < MIN_RING_SAMPLES:
            return p
        s_live = 1.0 - bisect_right(live, age) / len(live)
        s_other = 1.0 - bisect_right(other, age) / len(other)
        if s_live <= 0.0:
            return 0.0
        return p * s_live / (p * s_live + (1.0 - p) * s_other)

    def live_chances(self, flying: Sequence[SeenDial], now: float) -> list[float]:
        """Each in-flight dial's chance of a live answer still to come (`live_chance`)."""
        return [
            self.live_chance(
                now - d.seen_at, answered=d.answered_at is not None, queued=d.live_at is not None
            )
            for d in flying
        ]

    def rates(self, live_30d: int, abandoned_30d: int) -> CampaignRates:
        """The rates as of the last `refresh`."""
        return CampaignRates(
            live_rate=_mean(self._live, PRIOR_LIVE),
            horizon=_mean(self._horizons, PRIOR_HORIZON),
            talk=_mean(self._talks, PRIOR_TALK),
            wrap=_mean(self._wraps, PRIOR_WRAP),
            live_30d=live_30d,
            abandoned_30d=abandoned_30d,
        )
