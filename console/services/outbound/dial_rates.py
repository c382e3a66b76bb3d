"""What a campaign's recent calls say, for pacing: `RateBook` → `pacing.CampaignRates`.

Kept in memory by the dialer from the dials it sees end (warmed from the database when it takes
a campaign over): the live-answer rate over the last few hundred dials placed, the mean time
from a dial to its live answer reaching the queue (the horizon), and the mean talk and wrap-up
of the campaign's agents. Each starts from a prior worth a few observations, so a new campaign
paces cautiously rather than from nothing: 30 % live answers, a 20 s horizon, 120 s talk, 15 s
wrap-up.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from console.services.outbound.dial_events import LIVE, NOT_PLACED, UNKNOWN
from console.services.outbound.pacing import CampaignRates

#: (prior mean, observations it is worth)
PRIOR_LIVE = (0.3, 20)
PRIOR_HORIZON = (20.0, 5)
PRIOR_TALK = (120.0, 5)
PRIOR_WRAP = (15.0, 5)


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

    def dial_ended(
        self,
        outcome: str,
        placed: float,
        live: float | None,
        connected: float | None,
        ended: float | None,
    ) -> None:
        """One dial over (epoch seconds); dials that reached nobody or were lost are left out."""
        if outcome in NOT_PLACED or outcome == UNKNOWN or not outcome:
            return
        self._live.append(1.0 if outcome in LIVE else 0.0)
        if outcome in LIVE and live is not None:
            self._horizons.append(max(live - placed, 0.0))
        if connected is not None and ended is not None:
            self._talks.append(max(ended - connected, 0.0))

    def wrap_seen(self, seconds: float) -> None:
        """An agent of the campaign finished a wrap-up of ``seconds``."""
        self._wraps.append(max(seconds, 0.0))

    def rates(self, live_30d: int, abandoned_30d: int) -> CampaignRates:
        return CampaignRates(
            live_rate=_mean(self._live, PRIOR_LIVE),
            horizon=_mean(self._horizons, PRIOR_HORIZON),
            talk=_mean(self._talks, PRIOR_TALK),
            wrap=_mean(self._wraps, PRIOR_WRAP),
            live_30d=live_30d,
            abandoned_30d=abandoned_30d,
        )
