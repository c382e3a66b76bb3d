"""The supervisor's view of one agent while monitoring them (from the agent grid).

- `MonitorScreen` (``v``, or ``l``/``w``/``B`` for an agent whose console runs): the agent's
  console, read-only, as it is drawn now — the call, the caller's record, the live transcript,
  the timers — followed from the agent's session recording (`LiveTail`, as a trainer watches a
  trainee).
- `ListenScreen` (``l``/``w``/``B`` for an agent with no console: a phone only, a bot): the
  call as the PBX shows it — the caller, the queue, the talk time — and the caller's words as
  they are spoken (the PBX's Transcript events for the spied-on call).

Both: ``l`` listen, ``w`` whisper (the agent hears the supervisor, the caller does not), ``B``
barge (all three talk) — starting a spy on the supervisor's phone, or switching the running
one (`console.services.quality.monitoring`); ``s`` stops it; ``m`` sends the agent a coach
message, shown on their console at once and never on the call
(`console.services.supervision.coaching`). Esc stops the spy the view runs and closes it (no
listening left running unseen). A line says the mode and state. A supervisor sees customer
data, as on their own console; opening the view is audited, and every spy start, switch and
stop by the monitoring service.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static

from console.cti.monitor import CallerSpoke, MonitorEvent, MonitorFeed
from console.screens.reason import ReasonScreen
from console.screens.replay import ReplayScreen
from console.services.errors import ServiceError
from console.services.quality.monitoring import MonitoringService, SpySession
from console.services.supervision.coaching import MAX_TEXT, CoachService
from console.services.text import clean_text
from console.services.training.replay_sources import LiveTail
from console.widgets.format import duration
from console.widgets.transcript import TranscriptLog

if TYPE_CHECKING:
    from console.services.supervision.live_types import AgentLive

SPY_KEYS = [
    Binding("l", "spy('listen')", "Listen"),
    Binding("w", "spy('whisper')", "Whisper"),
    Binding("B", "spy('barge')", "Barge"),
    Binding("s", "stop_spy", "Stop listening"),
    Binding("m", "coach", "Coach message"),
]


class SpyControls:
    """What both views do: the spy's keys and state line, the coach message."""

    coach: CoachService
    supervisor_id: int
    agent_id: int
    agent_name: str
    monitoring: MonitoringService | None
    spy: SpySession | None
    sent: list[int]

    if TYPE_CHECKING:
        app: Any

        def notify(self, message: str, **kwargs: Any) -> None: ...

    def _current(self) -> SpySession | None:
        if self.spy is None or self.monitoring is None:
            return None
        self.spy = self.monitoring.get(self.spy.id) or self.spy
        return self.spy

    def _show_spy(self) -> None:
        spy = self._current()
        line = cast(Any, self).query_one("#monitor-state", Static)
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
            self.notify("Listening needs a supervisor's console", markup=False)
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

    def action_coach(self) -> None:
        async def send(text: str | None) -> None:
            if not text:
                return
            try:
                spy = self._current()
                call = spy.linkedid if spy is not None else ""  # the call it is about
                sent = await self.coach.send(
                    self.supervisor_id, self.agent_id, text, call_uniqueid=call
                )
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


class MonitorScreen(SpyControls, ReplayScreen):
    """The agent's console live (see the module docstring). Esc closes."""

    TITLE_PREFIX = "Live "
    DEFAULT_CSS = """
    MonitorScreen #monitor-state { height: 1; padding: 0 1; text-wrap: nowrap; }
    """
    BINDINGS = [
        *[b for b in ReplayScreen.BINDINGS if getattr(b, "key", "") != "escape"],
        *SPY_KEYS,
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
        self.sent: list[int] = []  # coach messages sent from this view (tests read it)

    def on_mount(self) -> None:
        super().on_mount()
        self.mount(Static("", id="monitor-state", markup=False), after="#replay-title")
        self.set_interval(0.5, self._show_spy)
        self._show_spy()

    async def action_close(self) -> None:  # type: ignore[override]
        await self.action_stop_spy()
        super().action_close()


class ListenScreen(SpyControls, Screen[None]):
    """An agent without a console, listened to (see the module docstring). Esc closes."""

    DEFAULT_CSS = """
    ListenScreen #listen-title { height: 1; padding: 0 1; background: $primary-background; }
    ListenScreen #monitor-state { height: 1; padding: 0 1; text-wrap: nowrap; }
    ListenScreen #listen-call { height: auto; padding: 1 1 0 1; }
    ListenScreen #listen-words { height: 1fr; border-top: solid $panel-lighten-2; }
    """
    BINDINGS = [*SPY_KEYS, Binding("escape", "close", "Close")]

    def __init__(
        self,
        *,
        feed: MonitorFeed,
        agent_now: Callable[[], AgentLive | None],
        coach: CoachService,
        supervisor_id: int,
        agent_id: int,
        agent_name: str,
        monitoring: MonitoringService,
        spy: SpySession,
        now: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.now = now
        self.feed = feed
        self.agent_now = agent_now
        self.coach = coach
        self.supervisor_id = supervisor_id
        self.agent_id = agent_id
        self.agent_name = agent_name
        self.monitoring = monitoring
        self.spy = spy
        self.sent = []
        self.heard: list[CallerSpoke] = []  # the call's words shown (tests read them)
        self._call = ""  # the spied call's Linkedid once ChanSpyStart named it
        self._unsubscribe: Callable[[], None] | None = None

    def compose(self) -> ComposeResult:
        yield Static(
            Content.assemble(("Listening to ", "bold"), (self.agent_name, "bold $accent")),
            id="listen-title",
            markup=False,
        )
        yield Static("", id="monitor-state", markup=False)
        yield Static("", id="listen-call", markup=False)
        yield TranscriptLog(id="listen-words")
        yield Footer()

    def on_mount(self) -> None:
        self._unsubscribe = self.feed.subscribe(self._heard)
        self.set_interval(0.5, self._tick)
        self._tick()

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    def _heard(self, event: MonitorEvent) -> None:
        if not isinstance(event, CallerSpoke):
            return
        if self._call and event.linkedid == self._call:
            self._show_words(event)

    def _show_words(self, event: CallerSpoke) -> None:
        self.heard.append(event)
        self.query_one("#listen-words", TranscriptLog).add_line(event.speaker, event.text)

    def _tick(self) -> None:
        self._show_spy()
        spy = self._current()
        if spy is not None and spy.linkedid and not self._call:
            # The call is known: what was said before, then each new line as it comes.
            self._call = spy.linkedid
            for event in self.feed.spoken(spy.linkedid):
                self._show_words(event)
        agent = self.agent_now()
        call = self.query_one("#listen-call", Static)
        on_call = spy is not None and spy.active and spy.state == "spying"
        caller = (agent.caller if agent else "") or (spy.caller if on_call and spy else "")
        if not caller and not on_call:
            call.update(Content.styled("No call now.", "$text-muted"))
            return
        started = agent.call_started if agent and agent.caller else None
        talk = duration(max(self.now() - started, 0)) if started is not None else "–"
        queue = (agent.call_queue if agent else "") or "–"
        call.update(
            Content.assemble(
                ("☎ ", ""),
                (clean_text(caller, single_line=True, max_length=80) or "caller", "bold"),
                (f"   queue {queue}   talk {talk}", "$text-muted"),
            )
        )

    async def action_close(self) -> None:
        await self.action_stop_spy()
        self.dismiss(None)
