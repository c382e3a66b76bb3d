"""Replay: a recorded call, shift or training run on a read-only console, at a chosen speed.

The screen looks like the agent's (call bar, caller card, history, tickets, follow-ups,
transcript) plus the agent's action timeline, a status line and a progress bar. Frames come
from `console.services.training.replay.Replay` (already masked when the viewer sees masked data: the
widgets never hold raw customer data); where the playback is comes from `ReplayPlayer`.

It repaints from a timer (`REFRESH_SECONDS`, ~10 a second), never per record, and only the
parts that changed: the bar when its text changes, the pop panes when the pop changes, the
transcript by appending. Following a live session (`follow=True` with a `LiveTail`), it polls
the tail every `POLL_SECONDS`, appends what arrived and stays at the live edge until paused or
moved; End comes back to it. Nothing can be edited here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Label, Static

from console.screens.lifecycle import while_shown
from console.services.text import clean_text
from console.services.training.replay import Replay, ReplayPlayer
from console.services.training.replay_sources import LiveTail
from console.services.training.replay_state import ReplayFrame, WrapOutcome
from console.widgets.action_log import ActionLog
from console.widgets.call_bar import CallBar, CallBarModel, render_bar
from console.widgets.format import duration
from console.widgets.profile_card import ProfileCard
from console.widgets.tables import FollowUpTable, HistoryTable, TicketTable
from console.widgets.transcript import TranscriptLog

REFRESH_SECONDS = 0.1  # at most ~10 repaints a second
POLL_SECONDS = 0.5  # how often a followed session is read


def clock_text(seconds: float) -> str:
    """`751.2` → `00:12:31`."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def speed_text(speed: float) -> str:
    return f"{speed:g}x"


def outcome_content(outcome: WrapOutcome | None) -> Content:
    """The saved wrap-up in two lines (literal text)."""
    if outcome is None:
        return Content.styled("no wrap-up saved yet", "$text-muted")
    facts = [outcome.disposition or "?"]
    if outcome.category:
        facts.append(outcome.category)
    if outcome.ticket_id is not None:
        facts.append(f"ticket #{outcome.ticket_id}")
    if outcome.followup_id is not None:
        facts.append(f"follow-up #{outcome.followup_id}")
    if outcome.csat is not None:
        facts.append(f"CSAT {outcome.csat}")
    if outcome.wrap_seconds is not None:
        facts.append(f"wrap {duration(outcome.wrap_seconds)}")
    notes = " ".join(outcome.notes.split())
    return Content.assemble(
        ("Wrap-up ", "bold $text-success"),
        " · ".join(facts),
        ("\nnotes ", "$text-muted"),
        notes or "–",
    )


class ReplayCallBar(CallBar):
    """The call bar on the replay's clock, drawn by the screen's tick only: without the bar's
    own one-second timer (which would add a repaint a second of its own)."""

    @on(events.Mount)
    def _without_own_timer(self, event: events.Mount) -> None:
        event.prevent_default()  # the base classes' mount handlers: CallBar's starts the timer


class ReplayScreen(Screen[None]):
    """A read-only console replaying a recording; see the module docstring.

    `source`: a `Replay`, or a `LiveTail` (with `follow=True` it is followed live; without,
    what has been recorded so far is replayed). `clock` gives the wall time of the live edge
    and `monotonic` the playback clock's time (both for tests).
    """

    CSS_PATH = "replay.tcss"
    TITLE_PREFIX = "Replay "  # what the title line starts with (a live view says so)
    AUTO_FOCUS = None  # read-only: nothing to focus, every key goes to the screen
    BINDINGS = [
        Binding("space", "play_pause", "Play/pause"),
        Binding("plus,right_square_bracket", "faster", "Faster", key_display="+"),
        Binding("minus,left_square_bracket", "slower", "Slower", key_display="-"),
        Binding("full_stop", "step", "Step", key_display="."),
        Binding("left", "skip(-10)", "-10s"),
        Binding("right", "skip(10)", "+10s"),
        Binding("shift+left", "skip(-60)", "-60s", show=False),
        Binding("shift+right", "skip(60)", "+60s", show=False),
        Binding("home", "to_start", "Start", show=False),
        Binding("end", "to_end", "End/live"),
        *(Binding(str(d), f"fraction({d})", f"{d * 10}%", show=False) for d in range(10)),
        Binding("x", "make_scenario", "Make scenario"),  # when the opener allows it
        Binding("escape", "close", "Close"),
    ]

    def __init__(
        self,
        source: Replay | LiveTail,
        *,
        title: str,
        follow: bool = False,
        speed: float = 1.0,
        play: bool = False,
        clock: Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        refresh_seconds: float = REFRESH_SECONDS,
        poll_seconds: float = POLL_SECONDS,
        make_scenario: Callable[[str], Awaitable[str]] | None = None,
    ) -> None:
        super().__init__()
        # Linkedid of the call shown -> where a training scenario made from it was written.
        self.make_scenario = make_scenario
        if follow and not isinstance(source, LiveTail):
            raise ValueError("following needs a LiveTail")
        self.title_text = clean_text(title, single_line=True, max_length=200)
        self.tail = source if isinstance(source, LiveTail) else None
        self.follow = follow
        self.replay: Replay | None = source if isinstance(source, Replay) else None
        self._speed, self._play = speed, play
        self.player: ReplayPlayer | None = None
        self._clock = clock or (lambda: datetime.now(UTC))
        self._monotonic = monotonic
        self.refresh_seconds = refresh_seconds
        self.poll_seconds = poll_seconds
        self.position = 0.0  # what is shown
        self.frame: ReplayFrame | None = None
        self.repaints = 0  # ticks that changed something on screen (tests, bench)
        self.ticks = 0
        self.tail_error = ""
        self._now = datetime.now(UTC)  # the replay's time shown, the call bar's clock
        self._shown: dict[str, object] = {}
        if self.replay is not None:
            self.player = self._new_player(self.replay)

    def _new_player(self, replay: Replay) -> ReplayPlayer:
        now = self._monotonic()
        if self.follow:
            return ReplayPlayer(replay, live=True, playing=True, now=now)
        return ReplayPlayer(replay, speed=self._speed, playing=self._play, now=now)

    def compose(self) -> ComposeResult:
        yield Static(id="replay-title", markup=False)
        yield ReplayCallBar(id="call-bar", clock=lambda: self._now)
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield ProfileCard(id="profile")
                yield Static(id="outcome", markup=False)
            with Vertical(id="right"):
                yield Label("History", classes="section")
                yield HistoryTable(id="history")
                yield Label("Open tickets", classes="section", id="tickets-label")
                yield TicketTable(id="tickets")
                yield Label("Follow-ups", classes="section", id="followups-label")
                yield FollowUpTable(id="followups")
        with Horizontal(id="bottom"):
            yield TranscriptLog(id="transcript")
            yield ActionLog(id="actions")
        yield Static(id="status", markup=False)
        yield Static(id="progress", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        # Read-only: nothing takes the focus (and with it Home/End/arrows from the screen).
        for widget in self.query("*"):
            widget.can_focus = False
        self.set_focus(None)
        # Wrap to the pane, however narrow (RichLog renders at least 78 columns otherwise).
        self.query_one(TranscriptLog).min_width = 10
        self.set_interval(self.refresh_seconds, self.redraw)
        if self.tail is not None:
            self._read_tail()
        self.redraw()

    # ---------------------------------------------------------------- following

    @work(exclusive=True, group="replay-tail", exit_on_error=False)
    @while_shown
    async def _read_tail(self) -> None:
        """Poll the tail (once, or every POLL_SECONDS when following) into the replay."""
        tail = self.tail
        assert tail is not None
        while True:
            try:
                records = await tail.poll()
                self.tail_error = ""
            except Exception as exc:  # the database is away: say so, keep trying
                self.tail_error = clean_text(str(exc), single_line=True, max_length=120)
                records = []
            if self.replay is None:
                start = tail.started_at or (records[0].at if records else self._clock())
                replay = await asyncio.to_thread(
                    Replay, records, masker=tail.masker, start=start, agent_names=tail.agent_names
                )
                self.replay, self.player = replay, self._new_player(replay)
            elif records:
                prepared = await asyncio.to_thread(self.replay.prepare, records)
                self.replay.append(prepared)
            if not self.follow and not records:
                return
            await asyncio.sleep(self.poll_seconds if self.follow else 0)

    # ---------------------------------------------------------------- drawing

    def redraw(self) -> None:
        """Draw the frame at the playback position (the timer calls this)."""
        self.ticks += 1
        replay, player = self.replay, self.player
        if replay is None or player is None:
            self._status(Content.styled("reading the recording…", "$text-muted"))
            return
        now = self._monotonic()
        if self.follow:
            tail = self.tail
            edge = tail.ended_at if tail is not None and tail.ended_at else self._clock()
            replay.extend_to(edge)
            if player.playing and not player.live and player.finished(now):
                player.go_live(now)
        elif player.playing and player.finished(now):
            player.pause(now)
        position = player.position(now)
        frame = replay.frame_at(position)
        self.position, self.frame = position, frame
        self._now = replay.time_at(position)
        changed = self._draw_bar(frame)
        changed = self._draw_pop(frame) or changed
        changed = self._draw_transcript(frame) or changed
        changed = self.query_one(ActionLog).show(frame.actions) or changed
        changed = self._draw_texts(frame, replay, player, position) or changed
        if changed:
            self.repaints += 1

    def _changed(self, key: str, value: object) -> bool:
        """Whether `value` differs from what was drawn under `key` (remembering it)."""
        if key in self._shown:
            old = self._shown[key]
            if old is value or old == value:
                return False
        self._shown[key] = value
        return True

    def _draw_bar(self, frame: ReplayFrame) -> bool:
        model = CallBarModel(
            phase=frame.phase,
            phase_since=frame.phase_since,
            talk_since=frame.talk_since,
            hold_seconds=frame.hold_seconds,
            queue=frame.queue,
            waited=frame.waited,
            agent_state=frame.agent_state,
            agent_ready=frame.agent_ready,
            link=frame.link,
            link_detail=frame.link_detail,
            link_since=frame.link_since,
        )
        content = render_bar(model, self._now)
        if not self._changed("bar", (model, content.plain)):
            return False
        bar = self.query_one(CallBar)
        bar.model = model
        bar.update(content, layout=False)
        return True

    def _draw_pop(self, frame: ReplayFrame) -> bool:
        pop = frame.pop
        if "pop" in self._shown and self._shown["pop"] is pop:
            return False
        self._shown["pop"] = pop
        self.query_one(ProfileCard).show_pop(pop)
        self.query_one(HistoryTable).show(pop.history if pop else (), self._now)
        tickets = pop.open_tickets if pop else ()
        followups = pop.followups if pop else ()
        self.query_one(TicketTable).show(tickets)
        self.query_one(FollowUpTable).show(followups, self._now)
        self.query_one("#tickets-label", Label).update(
            f"Open tickets ({len(tickets)})", layout=False
        )
        self.query_one("#followups-label", Label).update(
            f"Follow-ups ({len(followups)})", layout=False
        )
        return True

    def _draw_transcript(self, frame: ReplayFrame) -> bool:
        lines = frame.transcript
        shown = self._shown.get("transcript", ())
        assert isinstance(shown, tuple)
        if lines is shown or lines == shown:
            self._shown["transcript"] = lines
            return False
        log = self.query_one(TranscriptLog)
        if len(lines) >= len(shown) and lines[: len(shown)] == shown:
            fresh = lines[len(shown) :]  # played on: append
        else:
            log.clear()  # seeking back or another call: start over
            fresh = lines
        for speaker, text in fresh:
            log.add_line(speaker, text)
        self._shown["transcript"] = lines
        return True

    def _draw_texts(
        self, frame: ReplayFrame, replay: Replay, player: ReplayPlayer, position: float
    ) -> bool:
        changed = False
        banner = frame.training
        if self._changed("title", (banner, replay.masked)):
            parts: list[Content | tuple[str, str] | str] = [
                (self.TITLE_PREFIX, "bold"),
                self.title_text,
            ]
            if replay.masked:
                parts.append(("  · customer data masked", "$text-muted"))
            if banner is not None:
                parts.append(
                    (
                        f"  Training: {banner.scenario} (run {banner.run_id}, {banner.state})",
                        "bold $text-warning",
                    )
                )
            self.query_one("#replay-title", Static).update(Content.assemble(*parts), layout=False)
            changed = True
        if self._changed("outcome", frame.outcome):
            self.query_one("#outcome", Static).update(outcome_content(frame.outcome), layout=False)
            changed = True
        status = self._status_content(frame, replay, player, position)
        if self._changed("status", status.plain):
            self._status(status)
            changed = True
        bar = self.query_one("#progress", Static)
        width = max(1, bar.content_size.width)
        fraction = position / replay.duration if replay.duration > 0 else 1.0
        done = min(width, round(fraction * width))
        if self._changed("progress", (done, width)):
            bar.update(
                Content.assemble(
                    ("━" * done, "$accent"), ("━" * (width - done), "$panel-lighten-2")
                ),
                layout=False,
            )
            changed = True
        return changed

    def _status_content(
        self, frame: ReplayFrame, replay: Replay, player: ReplayPlayer, position: float
    ) -> Content:
        icon = "▶" if player.playing or player.live else "❚❚"
        record = max(0, frame.count - replay.before_start)
        parts: list[Content | tuple[str, str] | str] = [
            (f"{icon} {speed_text(player.speed)}", "bold"),
            f"  {clock_text(position)} / {clock_text(replay.duration)}",
            (f"  (record {record}/{replay.window_count})", "$text-muted"),
            (f"  {self._now:%Y-%m-%d %H:%M:%S} UTC", "$text-muted"),
        ]
        if self.follow:
            if player.live:
                parts.append(("  ● LIVE", "bold $text-error"))
            else:
                behind = replay.duration - position
                parts.append((f"  ○ {clock_text(behind)} behind live (End)", "$text-muted"))
            if self.tail is not None and self.tail.ended:
                parts.append(("  session ended", "$text-muted"))
        if self.tail_error:
            parts.append((f"  database unavailable: {self.tail_error}", "$text-warning"))
        return Content.assemble(*parts)

    def _status(self, content: Content) -> None:
        self.query_one("#status", Static).update(content, layout=False)

    # ---------------------------------------------------------------- keys

    def _control(self, what: Callable[[ReplayPlayer, float], object]) -> None:
        # Drawn by the next tick (within REFRESH_SECONDS): a held key does not repaint more.
        if self.player is not None:
            what(self.player, self._monotonic())

    def action_play_pause(self) -> None:
        self._control(lambda p, now: p.toggle(now))

    def action_faster(self) -> None:
        self._control(lambda p, now: p.faster(now))

    def action_slower(self) -> None:
        self._control(lambda p, now: p.slower(now))

    def action_step(self) -> None:
        self._control(lambda p, now: p.step(now))

    def action_skip(self, seconds: float) -> None:
        self._control(lambda p, now: p.skip(seconds, now))

    def action_to_start(self) -> None:
        self._control(lambda p, now: p.seek(0.0, now))

    def action_to_end(self) -> None:
        if self.follow:
            self._control(lambda p, now: p.go_live(now))
        else:
            self._control(lambda p, now: p.seek(p.duration, now))

    def action_fraction(self, tenths: int) -> None:
        self._control(lambda p, now: p.seek_fraction(tenths / 10, now))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "make_scenario":
            return self.make_scenario is not None  # hidden where nobody can use it
        return True

    async def action_make_scenario(self) -> None:
        """A training scenario from the call shown now (customer data masked)."""
        frame, make = self.frame, self.make_scenario
        if make is None:
            return
        if frame is None or not frame.linkedid:
            self.notify("seek to a call first", severity="warning", markup=False)
            return
        try:
            where = await make(frame.linkedid)
        except Exception as exc:  # e.g. the call was never answered: one line
            self.notify(f"no scenario: {exc}", severity="error", markup=False)
            return
        self.notify(f"scenario written: {where}", timeout=8, markup=False)

    def action_close(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.dismiss(None)
        else:  # the app's only screen (a replay started on its own)
            self.app.exit()
