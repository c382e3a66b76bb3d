"""The agent's side of monitoring: is a supervisor listening to my call?

Shown only where the site decides agents are told (setting ``[desk]
show_supervisor_listening``, off by default: silent monitoring is the norm, and ChanSpy's
``q`` option keeps the supervisor's phone from beeping). The agent's console learns it from
the PBX, not from the supervisor's console: ChanSpyStart names the agent's leg in
``SpyeeChannel`` (the agent's own event filter lets it through), ChanSpyStop names the spyer.
"""

from __future__ import annotations

from collections.abc import Callable

from console.cti.monitor import MonitorEvent, MonitorFeed, SpyStarted, SpyStopped


class SupervisorListening:
    """Follows the spies on ``phone``'s channels (``PJSIP/1001``)."""

    def __init__(
        self,
        feed: MonitorFeed,
        phone: str,
        *,
        shown: bool = False,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        self._prefix = phone + "-"
        self._shown = shown
        self._spies: set[str] = set()  # spyer channels on this agent's legs
        self._on_change = on_change
        self._unsubscribe = feed.subscribe(self._on_event)

    @property
    def listening(self) -> bool:
        """True while someone spies on the agent's call — and the site shows it."""
        return self._shown and bool(self._spies)

    def close(self) -> None:
        self._unsubscribe()

    def _on_event(self, event: MonitorEvent) -> None:
        before = self.listening
        if isinstance(event, SpyStarted) and event.spyee_channel.startswith(self._prefix):
            self._spies.add(event.spyer_channel)
        elif isinstance(event, SpyStopped):
            self._spies.discard(event.spyer_channel)
        if self.listening != before and self._on_change is not None:
            self._on_change(self.listening)
