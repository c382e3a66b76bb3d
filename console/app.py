"""The Textual application: thin. Screens do the drawing, services the work."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.content import Content
from textual.dom import DOMNode
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from console.cti.ami_types import AmiAuthError
from console.cti.protocol import (
    CallAbandoned,
    CallbackRequested,
    CallOffered,
    CoachMessageWaiting,
    CtiEvent,
    LinkState,
    LinkStateChanged,
)
from console.db import one_line_reason
from console.factory import ConsoleContext
from console.models.enums import Presence, Role
from console.screens.agent import AgentScreen
from console.screens.callback_offer import CALL, RANG, CallbackOfferScreen
from console.screens.choice import QuitScreen
from console.screens.login import LoginScreen
from console.screens.preview_call import PreviewCallScreen
from console.screens.search import CustomerSearchProvider, CustomerSearchSource
from console.screens.wallboard import WallboardScreen
from console.services.crm.agents import AgentIdentity
from console.services.desk.durable_log import DurableInteractionLog, JournalState
from console.services.desk.session import AgentSession
from console.services.seats import SqliteSeat, consoles_sharing, too_many_message
from console.services.supervision.alerts import AlertAudit
from console.services.supervision.coaching import CoachInbox, CoachNote
from console.services.supervision.live import LiveViews

if TYPE_CHECKING:
    from console.screens.replay import ReplayScreen
    from console.services.training.replay import Replay
    from console.services.training.training import RunRecord

# How often a supervisor's console checks the alert thresholds against the live board.
ALERT_SECONDS = 1.0
WARM_UP_SECONDS = 10.0  # the warm-up at login (pop, rehearsed call) gives up after this


class CallConsoleApp(App[None]):
    """The console: a login screen, then the agent's screen fed by the CTI link.

    Give `context` to start at the login screen, or `runtime` for an agent already known (the
    demo, tests). `connect=False` draws the screens without a CTI link (snapshots).
    """

    TITLE = "callconsole"
    COMMANDS = App.COMMANDS | {CustomerSearchProvider}
    BINDINGS = [
        # Call control over any dialog (search, picker, customer view): a ringing phone must
        # never wait for the agent to close a window first. On the agent screen itself its
        # own bindings (the same keys, listed first in its footer) are used instead.
        Binding("f2", "call('answer')", "Answer", priority=True),
        Binding("f3", "call('hold')", "Hold", priority=True),
        Binding("f4", "call('transfer')", "Transfer", priority=True),
        Binding("f5", "call('hangup')", "Hang up", priority=True),
        Binding("f6", "call('toggle_ready')", "Ready/Not", priority=True),
        Binding("ctrl+q", "quit", "Quit", priority=True),
        # Textual's own keys panel: every key of the screen in front, with what it does.
        Binding("f1", "toggle_keys", "Keys", priority=True),
        Binding("question_mark", "toggle_keys", "Keys", show=False),
    ]

    def __init__(
        self,
        context: ConsoleContext | None = None,
        *,
        runtime: AgentSession | None = None,
        login: str = "",
        connect: bool = True,
    ) -> None:
        super().__init__()
        if context is None and runtime is None:
            raise ValueError("CallConsoleApp needs a context (login) or a runtime")
        self.context = context
        self.runtime: AgentSession | None = runtime
        self.login = login
        self.connect = connect
        self.agent_screen: AgentScreen | None = None
        self._restored = False
        self.seat: SqliteSeat | None = None  # this console's seat on a SQLite file
        self.coach_inbox: CoachInbox | None = None  # a supervisor's messages to this agent
        self.joined_queues: tuple[str, ...] = ()
        # Read by the command palette's customer search once an agent is logged in.
        self.customer_search_source: CustomerSearchSource | None = None
        self._last_worker_failure = ""

    async def on_mount(self) -> None:
        if self.runtime is not None:
            await self.start_agent(self.runtime)
        elif self.context is not None:
            await self.push_screen(
                LoginScreen(self.context.agents, login=self.login), callback=self._logged_in
            )

    async def _logged_in(self, agent: AgentIdentity | None) -> None:
        if agent is None or self.context is None:
            return
        await self.start_agent(await self.context.session_for(agent))

    async def start_agent(self, runtime: AgentSession) -> None:
        """Show the agent screen and (unless previewing) connect to the PBX."""
        self.runtime = runtime
        runtime.recorder.start(on_warning=self._recording_warning)  # the session's recording
        self._open_journal(runtime)
        self._take_seat(runtime)
        self.agent_screen = AgentScreen(runtime, runtime.desk())
        self.customer_search_source = CustomerSearchSource(
            runtime.customers, self.agent_screen.open_customer, runtime.clock
        )
        if self.screen_stack and isinstance(self.screen, LoginScreen):
            await self.switch_screen(self.agent_screen)
        else:
            await self.push_screen(self.agent_screen)
        # Everything built so far (widgets, styles, caches) lives as long as the app: move it
        # out of the collector's way. Full collections walking it paused the event loop for
        # 50-100 ms, the tail of the ring-to-pop latency (bench/screenpop_e2e.py).
        gc.freeze()
        if self.connect:
            self.run_worker(
                self._pump_cti(runtime), exclusive=True, group="cti", exit_on_error=False
            )
            self.run_worker(self._warm_up(runtime), group="warm-up", exit_on_error=False)
            self.run_worker(
                self._routing_upkeep(runtime), exclusive=True, group="routing", exit_on_error=False
            )
            self.coach_inbox = CoachInbox(
                runtime.coach, runtime.agent_id, interval=runtime.options.coach_fallback_seconds
            )
            self.run_worker(
                self.coach_inbox.run(self._coached),
                exclusive=True,
                group="coach",
                exit_on_error=False,
            )
            if runtime.live is not None:  # a supervisor: keep the live board reconciled
                self.run_worker(
                    runtime.live.feed.run(), exclusive=True, group="live-board", exit_on_error=False
                )
                live, audit = runtime.live, AlertAudit(runtime.db)
                self.set_interval(ALERT_SECONDS, partial(self._check_alerts, live, audit))
        if runtime.agent is not None and runtime.agent.is_trainer:
            self.open_trainer()  # a trainer's console opens on the training screen

    async def _warm_up(self, runtime: AgentSession) -> None:
        """Before the first call: the pop's statements run once and a call is rehearsed,
        rolled back (`AgentSession.warm_up`); then, once the PBX link is up (its snapshot of
        queues and members loaded), what the start-up built is frozen, out of the garbage
        collector's way. Best effort: a database or PBX away now is said by whatever needs it
        first."""
        with contextlib.suppress(Exception):
            async with asyncio.timeout(WARM_UP_SECONDS):
                await runtime.warm_up()
        with contextlib.suppress(Exception):  # the pump started the client before this
            async with asyncio.timeout(WARM_UP_SECONDS):
                await runtime.cti.wait_connected()
        gc.freeze()

    def _open_journal(self, runtime: AgentSession) -> None:
        """Call writes the database refuses go to the local journal (`durable_log`); what a
        killed console left there is applied now."""
        log = runtime.interactions
        if not isinstance(log, DurableInteractionLog):
            return
        log.on_change = self._journal_changed
        try:
            log.open()
        except OSError as exc:
            self.notify(
                f"No local call journal ({exc.strerror or exc}): calls are written to the "
                "database only.",
                title="Journal",
                severity="warning",
                markup=False,
            )

    def _coached(self, note: CoachNote) -> None:
        """A supervisor's coach message: shown on this console only, never on the call."""
        self.notify(note.text, title=f"Coach · {note.from_name}", timeout=30, markup=False)
        screen = self.agent_screen
        if screen is not None:
            screen.runtime.recorder.record_action("coach_message_shown", message=note.id)

    def _take_seat(self, runtime: AgentSession) -> None:
        """On a SQLite file: hold a seat while running and say when more consoles share the
        file than SQLite holds well (`console.services.seats`, docs/seats.md)."""
        path = runtime.db.sqlite_path
        if path is None or self.seat is not None:
            return
        try:
            self.seat = SqliteSeat.take(path)
        except OSError:
            return  # no lock folder beside it: the count is unknown, the console runs on
        message = too_many_message(consoles_sharing(path))
        if message is not None:
            self.notify(message, title="Database", severity="warning", timeout=30, markup=False)

    def _journal_changed(self, state: JournalState) -> None:
        """Say once that the database is away (calls go on, kept here) and once it is back."""
        if state.reason:
            where = "in memory only (the disk is full)" if state.in_memory else "on this machine"
            self.notify(
                f"Database unavailable: {state.reason}. Calls go on; their writes are kept "
                f"{where} and saved when it is back.",
                title="Database",
                severity="error",
                timeout=20,
                markup=False,
            )
        elif state.applied:
            self.notify(
                f"Database back: {state.applied} kept call writes saved.",
                title="Database",
                timeout=8,
                markup=False,
            )

    def open_trainer(self) -> None:
        """The trainer's screen: scenarios, trainees online, runs (trainers only)."""
        from console.paths import data_dir
        from console.screens.trainer import TrainerScreen

        runtime = self.runtime
        if runtime is None or runtime.agent is None or not runtime.agent.is_trainer:
            return
        self.push_screen(
            TrainerScreen(
                runtime.training,
                runtime.cti,
                trainer_id=runtime.agent_id,
                export_dir=runtime.options.export_dir or data_dir() / "exports",
                open_watch=partial(self.watch_run, runtime),
                open_unmasked=(
                    partial(self.replay_unmasked, runtime) if runtime.agent.can_unmask else None
                ),
                join=runtime.options.trainee_join,
            )
        )

    def watch_run(self, runtime: AgentSession, run: RunRecord, follow: bool) -> None:
        """The trainee's console, read-only: live (`follow`) or replayed from the start."""
        self.run_worker(
            self._open_run_view(runtime, run, follow), group="replay", exit_on_error=False
        )

    def replay_unmasked(self, runtime: AgentSession, run: RunRecord, reason: str) -> None:
        """The run replayed with customer data shown: for a viewer with the permission, audited
        with the reason given."""
        self.run_worker(
            self._open_run_view(runtime, run, False, reason), group="replay", exit_on_error=False
        )

    async def _open_run_view(
        self, runtime: AgentSession, run: RunRecord, follow: bool, unmask_reason: str = ""
    ) -> None:
        from console.screens.run_view import open_run_view

        try:
            await open_run_view(self, runtime, run, follow=follow, unmask_reason=unmask_reason)
        except Exception as exc:  # one clear line; the console keeps running
            self.notify(f"could not open run {run.id}: {exc}", severity="error", markup=False)

    async def _check_alerts(self, live: LiveViews, audit: AlertAudit) -> None:
        await check_alerts(self, live, audit)

    async def _routing_upkeep(self, runtime: AgentSession) -> None:
        """Every console's share of routing (console.services.routing.upkeep), then a due
        callback offered to an idle agent."""

        def paused(exc: Exception) -> None:
            self.notify(f"Follow-up routing paused: {exc}", severity="warning", markup=False)

        upkeep = runtime.routing_upkeep()
        await upkeep.run(after_tick=partial(self._offer_due_callback, runtime), on_failure=paused)

    async def _offer_due_callback(self, runtime: AgentSession) -> None:
        """An idle, ready agent with nothing open is offered a callback due for them: Enter
        dials it (the same pop as an inbound call), Esc puts it off for a few minutes."""
        screen = self.agent_screen
        if screen is None or self.screen is not screen or screen.desk.state.phase != "idle":
            return
        if not screen.bar_model.agent_ready:
            return
        item = await runtime.due_callback()
        if item is not None:
            await self.push_screen(
                CallbackOfferScreen(item, runtime.clock()),
                callback=partial(self._callback_offer_answered, runtime, item.id),
            )

    async def _callback_offer_answered(
        self, runtime: AgentSession, followup_id: int, answer: str | None
    ) -> None:
        if answer == RANG:
            runtime.offers.interrupted(followup_id)  # not seen through: offer again
        if answer != CALL:
            return
        try:
            await runtime.call_back(followup_id)
        except Exception as exc:  # taken by someone else, no PBX…: one line, keep going
            self.notify(f"Could not call back: {exc}", severity="error", markup=False)

    async def _auto_followup(self, runtime: AgentSession, event: CtiEvent) -> None:
        try:
            if isinstance(event, CallAbandoned | CallbackRequested):
                await runtime.auto_followups.in_turn(event)
        except Exception as exc:  # the next SLA pass routes any stray
            self.notify(f"Could not record a callback: {exc}", severity="warning", markup=False)

    async def _pump_cti(self, runtime: AgentSession) -> None:
        """Forward every CTI event to the agent screen, in order; log in once connected."""
        cti = runtime.cti
        stream = cti.events()
        try:
            await cti.start()
        except AmiAuthError as exc:
            self.notify(
                f"The PBX refused the login: {exc}", severity="error", timeout=30, markup=False
            )
        async for event in stream:
            runtime.recorder.record_event(event)  # buffered: written later, never awaited here
            runtime.follow(event)  # the agent's state, in stream order (a reconnect reads it)
            self.forward(event)
            if isinstance(event, CoachMessageWaiting) and self.coach_inbox is not None:
                self.coach_inbox.wake()  # a supervisor's message: read it now
            if isinstance(event, CallAbandoned | CallbackRequested):
                self.run_worker(
                    self._auto_followup(runtime, event), group="auto-followups", exit_on_error=False
                )
            if isinstance(event, LinkStateChanged) and event.state is LinkState.CONNECTED:
                await self._after_connect(runtime)

    async def _after_connect(self, runtime: AgentSession) -> None:
        # After every (re)connect: a restarted PBX has forgotten its members.
        joined: list[str] | None = []
        try:
            joined = await runtime.rejoin()
        except Exception as exc:  # one clear line; the console keeps running
            self.notify(f"could not log in to the queues: {exc}", severity="error", markup=False)
        else:
            if joined is None:
                if not self._restored:
                    self.notify(
                        "You are in no queue: calls will not ring here. F6 to take calls.",
                        markup=False,
                    )
            elif not joined:
                self.notify(
                    "None of your queues exist on this PBX: no calls will ring here.",
                    severity="warning",
                    markup=False,
                )
        self.joined_queues = tuple(joined or ())
        if self.agent_screen is not None and not self._restored:
            self._restored = True
            await self.agent_screen.offer_unfinished()
            if runtime.options.start_ready and joined is not None:
                await runtime.set_ready(True)

    def summary(self) -> str:
        """One line on what this console saw (the demo's headless smoke check prints it)."""
        runtime, screen = self.runtime, self.agent_screen
        if runtime is None or screen is None:
            return "not logged in"
        link = runtime.cti.link_state
        queues = ", ".join(self.joined_queues) or "none"
        return (
            f"link {link.state} to {runtime.cti.peer}; agent "
            f"{runtime.member_name} ({runtime.interface}) in queues {queues}; "
            f"state {screen.bar_model.agent_state}; calls offered {screen.offered}"
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Call keys: only over a dialog, once an agent is logged in, as the agent screen allows."""
        if action != "call":
            return True
        screen = self.agent_screen
        if screen is None or self.screen is screen:
            return False
        return screen.check_action(str(parameters[0]), ())

    def action_toggle_keys(self) -> None:
        """F1 / ?: show or hide the keys of the screen in front (Textual's help panel)."""
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The command palette offers every action of the screen in front, by its name
        (typing "trans" finds Transfer), besides Textual's own commands."""
        yield from super().get_system_commands(screen)
        yield from self._qa_commands()
        seen: set[str] = set()
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if not active.enabled or not binding.description or binding.action in seen:
                continue
            seen.add(binding.action)
            keys = binding.key_display or key
            yield SystemCommand(
                binding.description,
                f"{keys}: {binding.tooltip or binding.description}",
                partial(self._run_bound, binding.action, active.node),
            )

    def _qa_commands(self) -> Iterable[SystemCommand]:
        """QA of real calls (docs/quality.md): evaluators (supervisors, trainers) evaluate and
        report; every agent reads their own evaluations."""
        runtime = self.runtime
        if runtime is None or runtime.agent is None:
            return
        if runtime.agent.role in (Role.SUPERVISOR, Role.TRAINER):
            yield SystemCommand(
                "QA: evaluate calls",
                "calls by filter or a random sample; your drafts and disputes; calibration",
                partial(self.open_qa, "evaluate"),
            )
            yield SystemCommand(
                "QA: report", "evaluations per week, agent, team, form, question",
                partial(self.open_qa, "report"),
            )  # fmt: skip
        yield SystemCommand(
            "QA: my evaluations",
            "your calls' evaluations: read, acknowledge, or dispute with a comment",
            partial(self.open_qa, "mine"),
        )

    def open_qa(self, what: str) -> None:
        """A QA screen for the logged-in agent: evaluate, report or mine."""
        from console.screens.qa import open_qa

        if self.runtime is not None:
            open_qa(self, self.runtime, what)

    async def _run_bound(self, action: str, node: DOMNode) -> None:
        await self.run_action(action, node)

    async def action_quit(self) -> None:
        """Quit; with a ringing or live call, or a wrap-up not saved yet, ask first."""
        screen = self.agent_screen
        phase = screen.desk.state.phase if screen is not None else "idle"
        if phase == "idle" or isinstance(self.screen, QuitScreen):
            self.exit()
            return
        what = {
            "ringing": "A call is ringing for you.",
            "wrapup": "The wrap-up is not saved yet (the draft is kept).",
        }.get(phase, "You are on a call.")
        options = [
            ("stay", Content("Stay (Esc)"), False),
            ("quit", Content("Quit anyway"), True),
        ]
        title = Content.assemble((what, "bold"), " Quit callconsole?")
        self.push_screen(QuitScreen(title, options, width=72), callback=self._quit_chosen)

    def _quit_chosen(self, quit_anyway: bool | None) -> None:
        if quit_anyway:
            self.exit()

    async def action_call(self, action: str) -> None:
        """Run the agent screen's call action (answer, hold, …) over whatever is on top; an
        answer from another screen brings the agent screen (and the caller's pop) to front."""
        screen = self.agent_screen
        if screen is None:
            return
        ringing = screen.desk.state.phase == "ringing"
        await screen.run_action(action)
        # A call that rang while the agent was elsewhere: its pop comes to front. A dialog the
        # agent opened for the ringing call itself (the picker) stays.
        if action == "answer" and ringing and screen.rang_elsewhere and self.screen is not screen:
            self.clear_notifications()  # the ring banner
            # Back to the caller's pop; an open wrap-up stays (it is another call's record).
            while (
                self.screen is not screen
                and len(self.screen_stack) > 1
                and type(self.screen).__name__ != "WrapUpScreen"
            ):
                self.pop_screen()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A background task failed (every worker here runs with ``exit_on_error=False``: a
        database that is away must not close the console): one clear line, once per cause."""
        if event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        message = (
            f"{event.worker.group or event.worker.name}: {one_line_reason(error or Exception())}"
        )
        if message != self._last_worker_failure:
            self._last_worker_failure = message
            self.notify(f"Background task failed ({message})", severity="error", markup=False)

    def forward(self, event: CtiEvent) -> None:
        if isinstance(event, CallOffered) and isinstance(
            self.screen, CallbackOfferScreen | PreviewCallScreen
        ):
            self.screen.step_aside()  # the ringing call's pop must not sit under a dialog
        if self.agent_screen is not None:
            self.agent_screen.feed(event)

    async def on_unmount(self) -> None:
        if self.coach_inbox is not None:  # no database read in flight from here on
            await self.coach_inbox.close()
        if self.connect and self.runtime is not None:
            runtime = self.runtime
            await runtime.cti.close()
            # Logged out: my claims go back to the pool, routing stops counting on me.
            with contextlib.suppress(Exception):
                await runtime.worklist.release_all(runtime.agent_id)
                await runtime.presence.set(runtime.agent_id, Presence.OFFLINE)
        if self.runtime is not None:
            await self.runtime.recorder.stop()  # what is still buffered, then the session's end
            if isinstance(self.runtime.interactions, DurableInteractionLog):
                await self.runtime.interactions.close()  # what is pending waits for next time
        if self.seat is not None:
            self.seat.release()
            self.seat = None

    def _recording_warning(self, message: str) -> None:
        self.notify(message, title="Recording", severity="warning", markup=False)


async def check_alerts(app: App[None], live: LiveViews, audit: AlertAudit | None) -> None:
    """Evaluate the alert thresholds; a raised alert is announced, every change is audited."""
    try:
        changes = live.check_alerts()
    except Exception as exc:  # a board bug must not stop the console: say it once a tick
        app.log.error(f"alerts: {exc}")
        return
    for change in changes:
        if change.raised:
            alert = change.alert
            app.notify(
                f"{alert.label}: {alert.subject}", title="Alert", severity="warning", markup=False
            )
    if audit is not None and changes:
        try:
            await audit.record(changes)
        except Exception as exc:  # the database is away: the alert log still has them
            app.log.error(f"alerts not audited: {exc}")


class WallboardApp(App[None]):
    """The wallboard alone, for a wall TV (`callconsole wallboard`): no login, no database.

    The CTI client in ``live`` feeds the board; ``connect=False`` draws it without a link
    (snapshots), ``started=True`` when the caller already started the client.
    """

    TITLE = "callconsole wallboard"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True), Binding("q", "quit", "Quit")]

    def __init__(
        self,
        live: LiveViews,
        *,
        large: bool = False,
        connect: bool = True,
        started: bool = False,
    ) -> None:
        super().__init__()
        self.live = live
        self.large = large
        self.connect = connect
        self.started = started

    async def on_mount(self) -> None:
        await self.push_screen(WallboardScreen(self.live, large=self.large, standalone=True))
        self.set_interval(ALERT_SECONDS, partial(check_alerts, self, self.live, None))
        if self.connect:
            self.run_worker(self._follow(), exclusive=True, group="live-board", exit_on_error=False)

    async def _follow(self) -> None:
        if not self.started:
            try:
                await self.live.cti.start()
            except AmiAuthError as exc:
                self.notify(f"The PBX refused the login: {exc}", severity="error", markup=False)
                return
        await self.live.feed.run()

    def summary(self) -> str:
        """One line on what the board saw (the headless smoke check prints it)."""
        snapshot = self.live.board.snapshot()
        waiting = sum(q.waiting for q in snapshot.queues)
        return (
            f"link {self.live.cti.link_state.state}; {len(snapshot.queues)} queues, "
            f"{len(snapshot.agents)} agents, {waiting} waiting; "
            f"events {snapshot.events_seen}, reconciles {self.live.feed.reconciles}"
        )

    async def on_unmount(self) -> None:
        if self.connect:
            await self.live.cti.close()


class ReplayApp(App[None]):
    """`callconsole replay`: one recording in the read-only console view, nothing else."""

    TITLE = "callconsole replay"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(self, replay: Replay, *, title: str, speed: float = 1.0) -> None:
        super().__init__()
        self.replay = replay
        self.replay_title = title
        self.speed = speed
        self.view: ReplayScreen

    async def on_mount(self) -> None:
        from console.screens.replay import ReplayScreen

        self.view = ReplayScreen(self.replay, title=self.replay_title, speed=self.speed)
        await self.push_screen(self.view)

    def summary(self) -> str:
        """What the headless smoke run saw (CI)."""
        frame = self.view.frame
        shown = frame.count if frame is not None else 0
        return (
            f"replayed {shown} of {len(self.replay.records)} records, "
            f"at {self.view.position:.0f} s of {self.replay.duration:.0f} s, "
            f"{self.view.repaints} repaints"
        )
