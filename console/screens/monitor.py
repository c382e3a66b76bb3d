"""The supervisor's live view of one agent (``v``, or ``l``/``w``/``B`` on the agent grid):
the agent's console, read-only, as it is drawn now — the call, the caller's record, the live
transcript, the timers — followed from the agent's session recording (`LiveTail`, as a
trainer watches a trainee). ``m`` sends the agent a coach message: it appears on their console
at once, never on the call (`console.services.supervision.coaching`).

Listening (`console.services.quality.monitoring`): ``l`` listen, ``w`` whisper (the agent
hears the supervisor, the caller does not), ``B`` barge (all three talk) — starting a spy on
the supervisor's phone, or switching the running one; ``s`` stops it. Esc closes the view and
stops the spy it started (no listening is left running unseen). The title says the mode and
state. A supervisor sees customer data, as on their own console; the view is audited as a
view of the agent's session, and every spy start, switch and stop by the monitoring service.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from textual.binding import Binding
from textual.content import Content
from textual.widgets import Static

from console.screens.reason import ReasonScreen
from console.screens.replay import ReplayScreen
from console.services.errors import ServiceError
from console.services.quality.monitoring import MonitoringService, SpySession
from console.services.supervision.coaching import MAX_TEXT, CoachService
from console.services.training.replay_sources import LiveTail


class MonitorScreen(ReplayScreen):
    """See the module docstring. Esc closes."""

    DEFAULT_CSS = """
    MonitorScreen #monitor-state { height: 1; padding: 0 1; text-wrap: nowrap; }
    """

    BINDINGS = [
        *[b for b in ReplayScreen.BINDINGS if getattr(b, "key", "") != "escape"],
        Binding("m", "coach", "Coach message"),
        Binding("l", "spy('listen')", "Listen"),
        Binding("w", "spy('whisper')", "Whisper"),
        Binding("B", "spy('barge')", "Barge"),
        Binding("s", "stop_spy", "Stop listening"),
        Binding("escape", "close", "Close"),
    ]

    def __init__(
        self,
        tail: LiveTail,
        *,
        title: str,
        coach: CoachService,
        supervisor_id: int,
        agent_id: int,
        agent_name: str,
        monitoring: MonitoringService | None = None,
        spy: SpySession | None = None,
        clock: Callable[[], datetime] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(tail, title=title, follow=True, clock=clock, **kwargs)
        self.coach = coach
        self.supervisor_id = supervisor_id
        self.agent_id = agent_id
        self.agent_name = agent_name
        self.monitoring = monitoring
        self.spy = spy  # the listening session this view runs (None: watching only)
        self.base_title = title
        self.sent: list[int] = []  # coach messages sent from this view (tests read it)

    def on_mount(self) -> None:
        super().on_mount()
        self.mount(Static("", id="monitor-state", markup=False), after="#replay-title")
        self.set_interval(0.5, self._show_spy)
        self._show_spy()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("spy", "stop_spy"):
            return self.monitoring is not None
        return super().check_action(action, parameters)

    def _current(self) -> SpySession | None:
        if self.spy is None or self.monitoring is None:
            return None
        self.spy = self.monitoring.get(self.spy.id) or self.spy
        return self.spy

    def _show_spy(self) -> None:
        spy = self._current()
        line = self.query_one("#monitor-state", Static)
        if spy is None:
            text = "Watching · l listen, w whisper, B barge · m coach message"
            line.update(Content.styled(text, "$text-muted"))
        elif not spy.active:
            line.update(Content.styled(f"Listening ended: {spy.end_reason}", "$text-muted"))
        else:
            line.update(
                Content.assemble(
                    ("● ", "bold $error"),
                    (spy.mode.upper(), "bold"),
                    (f" · {spy.state} · s stop · l/w/B switch · m coach", "$text-muted"),
                )
            )

    async def action_spy(self, mode: str) -> None:
        monitoring = self.monitoring
        if monitoring is None:
            return
        spy = self._current()
        try:
            if spy is not None and spy.active:
                self.spy = await monitoring.switch(spy, mode)
            else:
                self.spy = await monitoring.start(self.agent_id, mode)
        except ServiceError as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        except Exception as exc:  # the link or database away: one line
            self.notify(f"Listening not changed: {exc}", severity="error", markup=False)
            return
        self._show_spy()

    async def action_stop_spy(self) -> None:
        spy = self._current()
        if spy is None or not spy.active or self.monitoring is None:
            return
        try:
            self.spy = await self.monitoring.stop(spy)
        except Exception as exc:
            self.notify(f"Listening not stopped: {exc}", severity="error", markup=False)
        self._show_spy()

    async def action_close(self) -> None:  # type: ignore[override]
        await self.action_stop_spy()
        super().action_close()

    def action_coach(self) -> None:
        async def send(text: str | None) -> None:
            if not text:
                return
            try:
                sent = await self.coach.send(self.supervisor_id, self.agent_id, text)
            except ServiceError as exc:
                self.notify(str(exc), severity="warning", markup=False)
                return
            except Exception as exc:  # the database away: one line, nothing sent
                self.notify(f"Coach message not sent: {exc}", severity="error", markup=False)
                return
            self.sent.append(sent)
            self.notify(f"Coach message sent to {self.agent_name}", timeout=3, markup=False)

        question = f"Coach message to {self.agent_name} (their screen only, never the call)"
        self.app.push_screen(ReasonScreen(question, max_length=MAX_TEXT), callback=send)
