"""The agent's main screen: call bar, caller card, history, tickets, follow-ups, transcript.

The screen draws `DeskState` snapshots from `AgentDesk` and sends the agent's key presses to
the PBX through the CTI client; it holds no call rules of its own.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Footer, Label, Static

from console.cti.protocol import (
    AgentStateChanged,
    CallAnswered,
    CallConferenced,
    CallEnded,
    CallHeld,
    CallOffered,
    CallResumed,
    CallTransferred,
    CallWaitMeasured,
    CtiEvent,
    LinkState,
    LinkStateChanged,
    OriginateFailed,
    TrainingChanged,
    TranscriptLine,
)
from console.db import one_line_reason
from console.screens.agent_calls import CallKeys
from console.screens.agent_grid import AgentGridScreen
from console.screens.agent_preview import PreviewKeys
from console.screens.agent_recording import RecordingKeys
from console.screens.agent_survey import SurveyKeys
from console.screens.agent_wrapup import WrapUpKeys
from console.screens.customer import CustomerScreen
from console.screens.frames import PromptRepaint
from console.screens.lifecycle import while_shown
from console.screens.new_customer import AttachNumberScreen, NewCustomerScreen
from console.screens.not_ready import NotReadyScreen
from console.screens.picker import PickCustomerScreen
from console.screens.search import SearchScreen
from console.screens.team import TeamScreen
from console.screens.wallboard import WallboardScreen
from console.screens.worklist import WorklistScreen
from console.screens.wrapup import WrapUpScreen
from console.services.crm.agents import NotReadyReason
from console.services.desk.desk import AgentDesk, DeskCall, DeskState, rang_out
from console.services.desk.screenpop import ScreenPop
from console.services.text import clean_text
from console.widgets.call_bar import CallBar, CallBarModel
from console.widgets.profile_card import ProfileCard
from console.widgets.tables import FollowUpTable, HistoryTable, TicketTable
from console.widgets.transcript import TranscriptLog

if TYPE_CHECKING:
    from console.services.desk.session import AgentSession

FIGURES_SECONDS = 60.0  # the agent's own figures are re-read this often (and after a wrap-up)


class AgentScreen(CallKeys, WrapUpKeys, SurveyKeys, PreviewKeys, RecordingKeys, PromptRepaint):
    """Where an agent spends the shift."""

    CSS_PATH = "agent.tcss"
    BINDINGS = [
        # The App repeats F2–F6 for when a dialog is on top (see CallConsoleApp.BINDINGS).
        # Footer order is importance order: an 80-column footer keeps the first ones.
        Binding("f2", "answer", "Answer"),
        Binding("f5", "hangup", "Hang up"),
        Binding("w", "worklist", "Worklist"),
        Binding("slash", "search", "Find"),
        Binding("f3", "hold", "Hold"),
        # During a consult F4 completes the transfer and F7 makes a conference (check_action
        # enables one binding of each key at a time).
        Binding("f4", "transfer", "Transfer"),
        Binding("f4", "complete_transfer", "Complete transfer"),
        Binding("f6", "toggle_ready", "Ready/Not"),
        Binding("f9", "notes", "Notes"),
        # agent_recording.py; the recording line names the key (the footer is full)
        Binding("r", "pause_recording", "Pause rec", show=False),
        Binding("f7", "consult", "Consult"),
        Binding("f7", "conference", "Conference"),
        Binding("f8", "cancel_consult", "Back to caller"),
        Binding("p", "pick", "Pick"),
        Binding("n", "new_customer", "New"),
        Binding("a", "attach_number", "Attach"),
        Binding("v", "survey", "Survey", show=False),  # a campaign call's card says it
        Binding("o", "preview", "Preview dialing", show=False),  # preview campaigns' leads
        Binding("t", "team", "Team"),  # supervisors only (check_action)
        Binding("b", "wallboard", "Wallboard"),  # supervisors only
        Binding("g", "agent_grid", "Agents"),  # supervisors only
        Binding("T", "trainer", "Training"),  # trainers only
    ]

    def __init__(self, runtime: AgentSession, desk: AgentDesk) -> None:
        super().__init__()
        self.runtime = runtime
        self.desk = desk
        self.bar_model = CallBarModel(agent_state="Not ready", link="down")
        self._events: asyncio.Queue[CtiEvent] = asyncio.Queue()
        self.sim_phone = True  # until a connect says otherwise (keys enabled, not flickering)
        self.offered = 0  # calls offered to this agent since the console started
        self.missed = 0  # of them, rang out unanswered on this agent's phone
        self.rang_elsewhere = False  # the ringing call began while another screen was in front
        self.training_run = ""  # a trainer's run playing on this phone now
        self._live_notes: WrapUpScreen | None = None  # notes opened during the call (F9)
        self._survey_answers: dict[str, dict[str, str]] = {}  # per call, while it lasts
        self._consult_keys = (False, False)  # (consulting, in a conference): F4/F7/F8's meaning
        self._last_failure = ""  # the last event failure said (not said again and again)

    def compose(self) -> ComposeResult:
        yield CallBar(id="call-bar", clock=self.runtime.clock, agent_line=True)
        yield Static("", id="handoff", markup=False)
        yield Static("", id="recording", markup=False)
        with Horizontal(id="main"):
            with Vertical(id="left"):
                agent = self.runtime.agent
                yield ProfileCard(
                    id="profile",
                    agent_name=agent.display_name if agent else self.runtime.member_name,
                )
            with Vertical(id="right"):
                yield Label("History", classes="section")
                yield HistoryTable(id="history")
                yield Label("Open tickets", classes="section", id="tickets-label")
                yield TicketTable(id="tickets")
                yield Label("Follow-ups", classes="section", id="followups-label")
                yield FollowUpTable(id="followups")
        yield TranscriptLog(id="transcript")
        yield Footer()

    def on_mount(self) -> None:
        self._consume()
        self._start_recording_line()
        self.refresh_figures()
        self.set_interval(FIGURES_SECONDS, self.refresh_figures)

    # ---------------------------------------------------------------- events in

    def feed(self, event: CtiEvent) -> None:
        """Queue a CTI event; they are handled one at a time, in order."""
        self._events.put_nowait(event)

    @work(exclusive=True, group="cti-events", exit_on_error=False)
    @while_shown
    async def _consume(self) -> None:
        while True:
            event = await self._events.get()
            try:
                await self._handle(event)
            except Exception as exc:  # one clear line; the next event is handled as usual
                self._event_failed(event, exc)

    def _event_failed(self, event: CtiEvent, exc: Exception) -> None:
        message = f"{type(event).__name__}: {one_line_reason(exc)}"
        if message != self._last_failure:  # a database that is away fails every event alike
            self._last_failure = message
            self.notify(f"Could not handle {message}", severity="error", markup=False)

    async def _handle(self, event: CtiEvent) -> None:
        desk = self.desk
        mine = getattr(event, "interface", None) in (None, *self.runtime.agent_names)
        if isinstance(event, CallOffered) and mine:
            self.offered += 1
            self.show(await desk.offer(event))  # the pop, before anything is written
            self.rang_elsewhere = self.app.screen is not self
            if self.rang_elsewhere:
                self._ring_elsewhere()  # the agent is on another screen: say so there
            self._record("pop_shown", pop=desk.state.pop)  # buffered: costs microseconds
            self._search_if_no_number()
            self.show(await desk.log_offer())
            self._audit_view()
        elif isinstance(event, CallAnswered | CallHeld | CallResumed | CallTransferred) and mine:
            self.show(await desk.handle(event))
            if isinstance(event, CallAnswered):
                self.recording_answered(event)
        elif isinstance(event, CallWaitMeasured) and mine:
            self.show(desk.wait_measured(event))  # the bar's "waited", learnt after the pop
        elif isinstance(event, CallConferenced) and mine:
            self.show(await desk.handle(event))
            self._record("conference", target=event.target)
            call = desk.state.call
            party = call.conference if call is not None else event.target
            self.notify(
                f"Conference: you, the caller and {party}. F5 leaves them talking.",
                timeout=6,
                markup=False,
            )
        elif isinstance(event, CallEnded) and mine:
            dialled = desk.state.call
            missed = rang_out(event, dialled)
            state = await desk.handle(event)
            if missed:
                await self._missed(dialled)
            self.show(state)
            if dialled is not None and dialled.uniqueid == event.uniqueid:
                await self._callback_outcome(dialled.action_id, event)
            if state.phase == "wrapup":
                await self._start_wrap_up()
        elif isinstance(event, OriginateFailed):
            await self._callback_outcome(event.action_id, None)
        elif isinstance(event, TranscriptLine):
            call = desk.state.call
            if call is not None and event.uniqueid == call.uniqueid:
                transcript = self.query_one(TranscriptLog)
                transcript.add_line(event.speaker, event.text)
        elif isinstance(event, AgentStateChanged) and event.interface in self.runtime.agent_names:
            self._agent_state(event)
        elif isinstance(event, TrainingChanged) and event.interface in self.runtime.agent_names:
            self._training(event)
        elif isinstance(event, LinkStateChanged):
            if event.state is LinkState.CONNECTED and self.sim_phone != event.sim_phone:
                self.sim_phone = event.sim_phone
                self.refresh_bindings()
            self._bar(
                link=str(event.state),
                link_detail=event.detail,
                link_since=event.since,
                phone_control=self.sim_phone,
            )

    def _ring_elsewhere(self) -> None:
        """A ring while another screen (worklist, customer, wallboard, a dialog) is in front:
        a banner there with the caller, tier, queue, wait and the answer key, and the bell."""
        call, pop = self.desk.state.call, self.desk.state.pop
        if call is None:
            return
        profile = pop.profile if pop is not None else None
        who = profile.display_name if profile is not None else call.caller_name
        if not who or who == "<unknown>":
            who = call.caller_id
        tier = f" · {profile.tier.upper()}" if profile is not None and profile.tier else ""
        queue = f" · {call.queue}" if call.queue else ""
        waited = f" · waited {int(call.waited)}s" if call.waited is not None else ""
        self.app.notify(
            f"{who}{tier}{queue}{waited} — F2 answer, F5 reject",
            title="☎ Incoming call" if call.direction == "inbound" else "☎ Callback dialling",
            severity="warning",
            timeout=30,
            markup=False,
        )
        if self.runtime.options.ring_bell:
            self.app.bell()

    async def _missed(self, call: DeskCall | None) -> None:
        """A call rang out here: count it and, as app_queue's autopause does, make the agent
        not ready (reason Missed) so the next caller is not offered to an empty desk."""
        self.missed += 1
        self.refresh_figures()  # the row says missed by now
        who = call.caller_name or call.caller_id if call is not None else "a caller"
        try:
            paused = await self.runtime.missed_call()
        except Exception as exc:  # the link is down: the PBX's own autopause may still apply
            self.notify(f"Missed call; could not go Not ready: {exc}", markup=False)
            return
        if not paused:
            self.notify(f"Missed call from {who}.", severity="warning", markup=False)
            return
        self.notify(
            f"Missed call from {who}: you are Not ready (Missed). F6 when you are back.",
            severity="warning",
            markup=False,
        )

    # ---------------------------------------------------------------- drawing

    def show(self, state: DeskState) -> None:
        """Draw a desk snapshot: bar, card and tables."""
        call = state.call
        self._bar(
            phase=state.phase,
            phase_since=call.phase_since if call else None,
            talk_since=call.answered_at if call else None,
            hold_seconds=call.hold_seconds if call else 0.0,
            queue=call.queue if call else "",
            waited=call.waited if call else None,
            wrap_limit=self.runtime.options.wrap_limit_seconds,
            direction=call.direction if call else "inbound",
            consulting=call.consulting if call else "",
            conference=call.conference if call else "",
        )
        consult_keys = (bool(call and call.consulting), bool(call and call.conference))
        if consult_keys != self._consult_keys:
            self._consult_keys = consult_keys
            self.refresh_bindings()  # F4/F7/F8 change meaning (rare: not on every ring)
        pop = state.pop
        self._show_handoff(pop)
        card = self.query_one(ProfileCard)
        if card.pop is not pop:
            card.show_pop(pop)
            now = self.runtime.clock()
            self.query_one(HistoryTable).show(
                pop.history if pop else (), now, self._disposition_label
            )
            tickets = pop.open_tickets if pop else ()
            followups = pop.followups if pop else ()
            self.query_one(TicketTable).show(tickets)
            self.query_one(FollowUpTable).show(followups, now)
            # Fixed heights, no hiding: a pop repaints the panes without a new layout.
            self.query_one("#tickets-label", Label).update(
                f"Open tickets ({len(tickets)})", layout=False
            )
            self.query_one("#followups-label", Label).update(
                f"Follow-ups ({len(followups)})", layout=False
            )
            if pop is None or (call is not None and call.phase == "ringing"):
                # Idle again, or a new call: the last caller's words go.
                transcript = self.query_one(TranscriptLog)
                if transcript.lines:  # clearing resizes the log: only when there is something
                    transcript.clear()

    def _show_handoff(self, pop: ScreenPop | None) -> None:
        """A warm handoff: who had the caller before, and what they wrote."""
        handoff = pop.handoff if pop is not None else None
        shown = self.query_one("#handoff", Static)
        if handoff is None:
            if shown.display:
                shown.display = False
            return
        parts: list[tuple[str, str] | str] = [("↪ Handed over by ", "bold"), handoff.from_agent]
        if handoff.disposition:
            parts += [" · ", self._disposition_label(handoff.disposition)]
        notes = " ".join(handoff.notes.split())
        parts += [": ", notes] if notes else [("  (no notes yet)", "$text-muted")]
        shown.update(Content.assemble(*parts))
        shown.display = True

    def _disposition_label(self, code: str) -> str:
        """A disposition as people read it ("Callback scheduled"), not its code."""
        found = self.runtime.interactions.catalog.get(code)
        return found.label if found is not None else code

    def _bar(self, **changes: object) -> None:
        if changes.get("agent_state", self.bar_model.agent_state) != self.bar_model.agent_state:
            changes["agent_since"] = self.runtime.clock()  # time in state starts again
        self.bar_model = self.bar_model.with_(**changes)
        self.query_one(CallBar).set_model(self.bar_model)
        self.query_one(ProfileCard).set_idle(self._idle_text())

    @work(exclusive=True, group="agent-figures", exit_on_error=False)
    @while_shown
    async def refresh_figures(self) -> None:
        """Re-read the agent's own figures for the bar: on mount, after each wrap-up and missed
        ring, every minute; never while a call rings (the pop goes first)."""
        if self.desk.state.phase == "ringing":
            return
        try:
            today = await self.runtime.figures.today(self.runtime.agent_id)
        except Exception:  # the database is away: the last figures stay until the next read
            return
        self._bar(today=today)

    def _idle_text(self) -> str:
        """The idle line says why no call comes, when one cannot."""
        model = self.bar_model
        if model.link != "connected":
            return "No call. The PBX link is down: calls cannot reach you until it is back."
        status = self.runtime.state.status
        if not status.in_queues:
            return "No call. You are in no queue: F6 to take calls."
        if not status.ready:
            return f"No call. You are Not ready ({status.reason_label}): F6 when you are back."
        return "No call. Waiting for the next one…"

    def _agent_state(self, event: AgentStateChanged) -> None:
        """The agent's state over all their queues (the session folded ``event`` in as it
        arrived): one queue left does not log them out of the others."""
        status = self.runtime.state.status
        self._bar(agent_state=status.label, agent_ready=status.ready)

    # ---------------------------------------------------------------- several matches

    def action_pick(self) -> None:
        pop = self.desk.state.pop
        if pop is None or not pop.is_ambiguous:
            self.notify("Only one customer has this number.", timeout=3, markup=False)
            return
        chosen = pop.profile.id if pop.profile else None
        self.app.push_screen(
            PickCustomerScreen(pop.matches, chosen=chosen, now=self.runtime.clock()),
            callback=self._picked,
        )

    async def _picked(self, customer_id: int | None) -> None:
        if customer_id is not None:
            self.show(await self.desk.choose_customer(customer_id))
            self._record("customer_chosen", customer_id=customer_id, pop=self.desk.state.pop)
            self._audit_view()

    def _audit_view(self) -> None:
        """The agent has seen the popped customer's record: audit it, in the background (a
        database that is slow or away must not hold up the call's next event)."""
        pop = self.desk.state.pop
        if pop is None or pop.profile is None:
            return
        self.run_worker(self._write_view(pop.profile.id), group="audit-view", exit_on_error=False)

    async def _write_view(self, customer_id: int) -> None:
        try:
            await self.runtime.customers.record_view(
                self.runtime.agent_id, customer_id, context="screen_pop"
            )
        except Exception as exc:  # an audit failure must not break the call
            self.notify(f"could not write the audit log: {exc}", severity="warning", markup=False)

    # ---------------------------------------------------------------- customers

    def action_search(self) -> None:
        self.app.push_screen(
            SearchScreen(self.runtime.customers, clock=self.runtime.clock),
            callback=self._searched,
        )

    async def _searched(self, customer_id: int | None) -> None:
        if customer_id is None:
            return
        call, pop = self.desk.state.call, self.desk.state.pop
        if call is not None and call.phase != "wrapup" and (pop is None or pop.profile is None):
            await self._picked(customer_id)  # the caller, found by search: on the call
            return
        self.open_customer(customer_id)

    def _search_if_no_number(self) -> None:
        """Withheld or unusable caller ID: the search box, focused, to find them by name."""
        pop = self.desk.state.pop
        if pop is None or pop.profile is not None or pop.caller.is_valid:
            return  # a known caller, or one a colleague handed over: nothing to search
        if self.app.screen is self:
            self.action_search()

    def open_customer(self, customer_id: int) -> None:
        """The customer view on top of the agent screen (Escape comes back)."""
        runtime = self.runtime
        self._record("customer_opened", customer_id=customer_id)
        self.app.push_screen(
            CustomerScreen(
                customer_id,
                customers=runtime.customers,
                tickets=runtime.tickets,
                screenpop=runtime.screenpop,
                agent_id=runtime.agent_id,
                clock=runtime.clock,
                region=runtime.ctx.region,
            )
        )

    def _unknown_caller(self) -> str | None:
        pop = self.desk.state.pop
        if pop is None or pop.profile is not None:
            self.notify("Only for a caller who is not in the CRM.", timeout=3, markup=False)
            return None
        return pop.caller.e164 or ""

    def action_new_customer(self) -> None:
        number = self._unknown_caller()
        if number is None:
            return
        self.app.push_screen(
            NewCustomerScreen(
                self.runtime.customers,
                agent_id=self.runtime.agent_id,
                caller_number=number,
                region=self.runtime.ctx.region,
            ),
            callback=self._picked,
        )

    def action_attach_number(self) -> None:
        number = self._unknown_caller()
        if not number:
            if number == "":
                self.notify("There is no valid number to attach.", timeout=3, markup=False)
            return
        self.app.push_screen(
            AttachNumberScreen(
                self.runtime.customers,
                agent_id=self.runtime.agent_id,
                caller_number=number,
                clock=self.runtime.clock,
                region=self.runtime.ctx.region,
            ),
            callback=self._picked,
        )

    # ---------------------------------------------------------------- actions out

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Desk-phone keys are shown disabled when the PBX has no SimPhone (a real Asterisk).

        Keys that don't fit the call's phase stay enabled and do nothing: refreshing the
        footer rebuilds its widgets (tens of ms), which must not happen on every ring.
        """
        if action in ("answer", "hold") and not self.sim_phone:
            return None
        consulting, conference = self._consult_keys
        if action in ("transfer", "consult"):
            return not consulting and not (conference and action == "consult")
        if action in ("complete_transfer", "conference", "cancel_consult"):
            return consulting
        if action == "team":
            return self.is_supervisor  # hidden for everyone else
        if action in ("wallboard", "agent_grid"):
            return self.is_supervisor and self.runtime.live is not None
        if action == "trainer":
            return self.runtime.agent is not None and self.runtime.agent.is_trainer
        return True

    @property
    def is_supervisor(self) -> bool:
        agent = self.runtime.agent
        return agent is not None and agent.is_supervisor

    # ---------------------------------------------------------------- follow-ups

    def action_worklist(self) -> None:
        runtime = self.runtime
        self.app.push_screen(
            WorklistScreen(
                runtime.worklist,
                agent_id=runtime.agent_id,
                clock=runtime.clock,
                call_back=runtime.call_back if self.app_connected else None,
            )
        )

    @property
    def app_connected(self) -> bool:
        """Whether this console talks to a PBX (not a preview)."""
        return bool(getattr(self.app, "connect", False))

    def action_team(self) -> None:
        runtime = self.runtime
        if self.is_supervisor:
            team = TeamScreen(
                runtime.worklist, runtime.db, supervisor_id=runtime.agent_id, clock=runtime.clock
            )
            self.app.push_screen(team)

    def action_wallboard(self) -> None:
        live = self.runtime.live
        if self.is_supervisor and live is not None:
            self.app.push_screen(WallboardScreen(live))

    def action_trainer(self) -> None:
        open_trainer = getattr(self.app, "open_trainer", None)
        if self.runtime.agent is not None and self.runtime.agent.is_trainer and open_trainer:
            open_trainer()

    def _training(self, event: TrainingChanged) -> None:
        """A trainer's run on this phone: the scripted calls that follow are training."""
        scenario = clean_text(event.scenario, max_length=80, single_line=True)
        if event.state == "started":
            message = f"Training: {scenario} ({event.calls} scripted calls) starts now"
        else:
            message = f"Training run {scenario} {event.state}"
        self.notify(message, title="Training", timeout=8, markup=False)
        self.training_run = event.run_id if event.state == "started" else ""

    def action_agent_grid(self) -> None:
        runtime, live = self.runtime, self.runtime.live
        if self.is_supervisor and live is not None:
            self.app.push_screen(
                AgentGridScreen(
                    live,
                    db=runtime.db,
                    worklist=runtime.worklist,
                    supervisor_id=runtime.agent_id,
                    recorder=runtime.recorder,
                    monitoring=runtime.monitoring,
                    coach=runtime.coach,
                )
            )

    async def action_toggle_ready(self) -> None:
        status = self.runtime.state.status
        if not status.ready:
            if not status.in_queues:  # a supervisor or trainer in no queue: join them first
                try:
                    await self.runtime.log_in_to_queues()
                except Exception as exc:  # one clear line; the console keeps running
                    self.notify(f"could not join the queues: {exc}", severity="error", markup=False)
                    return
            await self._set_ready(True, "")
            return
        self.app.push_screen(NotReadyScreen(), callback=self._not_ready)

    async def _not_ready(self, reason: NotReadyReason | None) -> None:
        if reason is not None:
            await self._set_ready(False, reason.code)

    async def _set_ready(self, ready: bool, reason: str) -> None:
        try:
            await self.runtime.set_ready(ready, reason=reason)
        except Exception as exc:  # one clear line; the console keeps running
            self.notify(f"could not change state: {exc}", severity="error", markup=False)

    def _record(self, kind: str, **details: Any) -> None:
        """Record an agent action in the session's recording, on the current call if any."""
        call = self.desk.state.call
        self.runtime.recorder.record_action(
            kind,
            call_id=call.linkedid if call else None,
            interaction_id=call.interaction_id if call else None,
            **details,
        )

    def now(self) -> datetime:
        return datetime.now(UTC)
