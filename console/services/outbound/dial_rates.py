"""What a campaign's recent calls say, for pacing: `RateBook` → `pacing.CampaignRates`.

Kept in memory by the dialer from the dials it sees end (warmed from the database when it takes
a campaign over): the live-answer rate over the last few hundred dials placed, the mean time
from a dial to its live answer reaching the queue (the horizon), and the mean talk and wrap-up
of the campaign's agents. Each starts from a prior worth a few observations, so a new campaign
paces cautiously rather than from nothing: 30 % live answers, a 20 s horizon, 120 s talk, 15 s
wrap-up.

It also says how likely a dial still in flight is to bring a live answer (`live_chance`): one
waiting in the queue is a person; one answered and in AMD is a person as often as recent
answers were (live / answered); one still ringing after ``a`` seconds, by Bayes over the recent
dials: p·S_live(a) / (p·S_live(a) + (1 − p)·S_other(a)), S being the share of live (other)
dials still ringing ``a`` seconds after they were placed. A dial that has rung longer than
live answers take is then unlikely to bring one, and pacing counts it so.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from dataclasses import dataclass

from console.services.outbound.dial_events import LIVE, NOT_PLACED, UNKNOWN
from console.services.outbound.pacing import CampaignRates

#: (prior mean, observations it is worth)
PRIOR_LIVE = (0.3, 20)
PRIOR_HORIZON = (20.0, 5)
PRIOR_TALK = (120.0, 5)
PRIOR_WRAP = (15.0, 5)
PRIOR_HUMAN = (0.5, 10)  # live among answered dials
MIN_RING_SAMPLES = 30  # fewer: a ringing dial counts the live-answer rate


def _mean(values: deque[float], prior: tuple[float, int]) -> float:
    mean, weight = prior
    return (sum(values) + mean * weight) / (len(values) + weight)


@dataclass
class RateBook:
    """Recent dials, talks and wrap-ups of one campaign (bounded windows)."""

    window: int = 400

    def __post_init__(self) -> None:
        self._live: deque[float] = deque(maxlen=self.window)
        self._horizons: deque[float] = deque(maxlen=self.window // 2)
        self._talks: deque[float] = deque(maxlen=self.window // 2)
        self._wraps: deque[float] = deque(maxlen=self.window // 2)
        self._human: deque[float] = deque(maxlen=self.window)  # 1: an answered dial was live
        self._ring_live: deque[float] = deque(maxlen=self.window)  # placed → answered
        self._ring_other: deque[float] = deque(maxlen=self.window)  # placed → answered or over
        self._sorted: tuple[list[float], list[float]] | None = None

    def dial_ended(
        self,
        outcome: str,
        placed: float,
        live: float | None,
        connected: float | None,
        ended: float | None,
        answered: float | None = None,
    ) -> None:
        """One dial over (epoch seconds); dials that reached nobody or were lost are left out."""
        if outcome in NOT_PLACED or outcome == UNKNOWN or not outcome:
            return
        is_live = outcome in LIVE
        self._live.append(1.0 if is_live else 0.0)
        if answered is not None:
            self._human.append(1.0 if is_live else 0.0)
        stopped = answered if answered is not None else ended
        if stopped is not None:
            (self._ring_live if is_live else self._ring_other).append(max(stopped - placed, 0.0))
            self._sorted = None
        if outcome in LIVE and live is not None:
            self._horizons.append(max(live - placed, 0.0))
        if connected is not None and ended is not None:
            self._talks.append(max(ended - connected, 0.0))

    def wrap_seen(self, seconds: float) -> None:
        """An agent of the campaign finished a wrap-up of ``seconds``."""
        self._wraps.append(max(seconds, 0.0))

    def live_chance(self, age: float, *, answered: bool = False, queued: bool = False) -> float:
        """The chance a dial in flight for ``age`` seconds still brings a live answer."""
        if queued:
            return 1.0
        if answered:
            return _mean(self._human, PRIOR_HUMAN)
        p = _mean(self._live, PRIOR_LIVE)
        if len(self._ring_live) < MIN_RING_SAMPLES or len(self._ring_other) < MIN_RING_SAMPLES:
            return p
        if self._sorted is None:
            self._sorted = (sorted(self._ring_live), sorted(self._ring_other))
        live, other = self._sorted
        s_live = 1.0 - bisect_right(live, age) / len(live)
        s_other = 1.0 - bisect_right(other, age) / len(other)
        if s_live <= 0.0:
            return 0.0
        return p * s_live / (p * s_live + (1.0 - p) * s_other)

    def rates(self, live_30d: int, abandoned_30d: int) -> CampaignRates:
        return CampaignRates(
            live_rate=_mean(self._live, PRIOR_LIVE),
            horizon=_mean(self._horizons, PRIOR_HORIZON),
            talk=_mean(self._talks, PRIOR_TALK),
            wrap=_mean(self._wraps, PRIOR_WRAP),
            live_30d=live_30d,
            abandoned_30d=abandoned_30d,
        )
