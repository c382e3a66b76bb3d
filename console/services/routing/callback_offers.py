"""When an idle agent is offered a callback that is due for them, and when it is offered again.

An agent who is ready, idle and looking at their desk is offered the first callback due for
them that nobody holds (Enter dials it, Esc puts it off). An offer put off is not repeated
for ``reoffer_after`` (five minutes), so an agent who said "not now" is not nagged; an offer
a ring interrupted (the agent never saw it through) may come back at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from console.models.enums import FollowUpKind
from console.services.routing.worklist import WorkItem

REOFFER_AFTER = timedelta(minutes=5)


@dataclass
class CallbackOffers:
    """One console's offers of due callbacks (see the module docstring)."""

    reoffer_after: timedelta = REOFFER_AFTER
    offered: dict[int, datetime] = field(default_factory=dict)  # follow-up id -> when offered

    def next_offer(self, items: Iterable[WorkItem], now: datetime) -> WorkItem | None:
        """The callback to offer now among the agent's work items (soonest first), or None;
        it counts as offered from ``now``."""
        for item in items:
            if item.kind is not FollowUpKind.CALLBACK or item.due_at > now:
                continue
            if item.claimed_by is not None:
                continue
            last = self.offered.get(item.id)
            if last is not None and now - last < self.reoffer_after:
                continue
            self.offered[item.id] = now
            return item
        return None

    def interrupted(self, followup_id: int) -> None:
        """The offer was not seen through (a call rang over it): it may come back at once."""
        self.offered.pop(followup_id, None)
