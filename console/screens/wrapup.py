"""After-call work: disposition, notes (saved as typed), ticket link, FCR, CSAT, a timer.

The interaction row is already in `wrapup`; this screen only fills it in. Every edit is saved
as a draft a moment after typing stops, so a crash or kill loses at most that moment, and a
restarted console offers the draft back (see `AgentScreen.offer_unfinished`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import (
    Button,
    Checkbox,
    Footer,
    Input,
    Label,
    Select,
    Static,
    TextArea,
)

from console.services.crm.tickets import TICKET_CATEGORIES, TicketService
from console.services.desk.dispositions import Disposition, DispositionCatalog
from console.services.desk.interactions import (
    InteractionError,
    InteractionLog,
    InteractionRecord,
    WrapUpError,
)
from console.services.desk.screenpop import TicketSummary
from console.services.desk.wrapup import NewTicket, WrapUpForm, WrapUpSubmission
from console.services.errors import ServiceError
from console.services.outbound.optout import OptOutService
from console.services.routing.followups import FollowUpService
from console.services.routing.router import Router
from console.services.training.recording import NO_RECORDING, ActionRecorder
from console.widgets.format import duration
from console.widgets.tick import Tick

DRAFT_DELAY = 0.4  # seconds after the last keystroke before the draft is saved
# ...and never later than this after the first unsaved keystroke, however steadily the agent
# types: a kill loses at most the last moment of typing, not a whole burst (issue 17.7).
DRAFT_MAX_WAIT = 0.8
NO_TICKET = -1
NEW_TICKET = -2
OTHER_TICKET = -3  # an existing ticket typed by its number
PRIORITIES = ("low", "normal", "high", "urgent")


class WrapUpScreen(ModalScreen[bool]):
    """Fill in and submit the wrap-up of one interaction; dismisses True when saved.

    ``live``: opened during the call (F9 on the agent screen) for the notes, disposition and
    quality only; they are saved as drafts as the agent types, and when the call ends the same
    screen becomes the wrap-up (`call_ended`), cursor and all.

    Speed: number keys pick a disposition while the cursor is on it (where it starts when none
    is chosen yet), and the cursor then moves to the end of the notes; ctrl+t opens a new
    ticket, ctrl+b ticks the callback, ctrl+s saves. A simple call is two keys after hang-up
    (a digit, ctrl+s); with a ticket and a callback, four plus typing.
    """

    CSS_PATH = "wrapup.tcss"
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("ctrl+t", "new_ticket", "New ticket", priority=True),
        Binding("ctrl+b", "callback", "Call back", priority=True),
        Binding("ctrl+e", "extend", "Extend time"),
        Binding("escape", "close_notes", "Back to the call"),
        *(Binding(str(n), f"disposition({n})", show=False) for n in range(1, 10)),
    ]

    def __init__(
        self,
        interactions: InteractionLog,
        record: InteractionRecord,
        *,
        agent_id: int,
        ticket_service: TicketService | None = None,
        followup_service: FollowUpService | None = None,
        router: Router | None = None,
        opt_outs: OptOutService | None = None,
        recorder: ActionRecorder | None = None,
        tickets: tuple[TicketSummary, ...] = (),
        limit_seconds: float = 120.0,
        clock: Callable[[], datetime] | None = None,
        title: str = "",
        live: bool = False,
        catalog: DispositionCatalog | None = None,
        currency: str = "",
        survey: Mapping[str, str] | None = None,
        tz: tzinfo | None = None,
    ) -> None:
        super().__init__()
        self.interactions = interactions
        self.record = record
        # A campaign call offers its campaign's dispositions (the caller passes them).
        self.catalog = catalog if catalog is not None else interactions.catalog
        self.currency = currency  # the customer's: a sale's amount is in it
        self.survey = dict(survey) if survey else None  # this call's answers (campaign calls)
        self.agent_id = agent_id
        self.ticket_service = ticket_service
        self.followup_service = followup_service
        self.router = router  # routes the follow-ups made here at once (else the SLA pass)
        self.recorder = recorder or NO_RECORDING  # the agent's session recording
        self.tickets = tickets
        # The submit (ticket, follow-ups, row): what one attempt made, a retry reuses.
        self.submission = WrapUpSubmission(
            interactions,
            record,
            agent_id=agent_id,
            tickets=ticket_service,
            followups=followup_service,
            router=router,
            opt_outs=opt_outs,
            clock=self.now,
            catalog=self.catalog,
            tz=tz,
        )
        self.limit = limit_seconds
        self.extended = False
        self.live = live
        self._clock = clock
        self._title = title
        self._draft_timer: Timer | None = None
        self._draft_deadline: Timer | None = None
        self.saved_drafts = 0
        self._codes = [d.code for d in self.catalog]

    def compose(self) -> ComposeResult:
        record = self.record
        options = [
            (f"{n}  {d.label}" if n <= 9 else d.label, d.code)
            for n, d in enumerate(self.catalog, start=1)
        ]
        # A draft's code from another catalog (e.g. before a restart) is not offered: none.
        drafted = record.disposition if record.disposition in self.catalog else None
        tickets = [(f"#{t.id} {t.subject}"[:60], t.id) for t in self.tickets]
        with Vertical(id="wrapup"):
            yield Static(Content.styled(self._heading(), "bold"), id="wrap-title")
            yield Static("", id="wrap-timer")
            with Horizontal(classes="field"):
                yield Label("Disposition", classes="field-label")
                yield Select(
                    options,
                    prompt="1-9 or Enter to choose",
                    value=drafted or Select.NULL,
                    # No type-ahead: with the list open (Enter) it would take the digit the
                    # prompt promises, and the choices are numbered anyway.
                    type_to_search=False,
                    id="disposition",
                )
            if any(d.sale for d in self.catalog):  # a campaign's: shown when chosen
                with Horizontal(classes="field", id="sale-row"):
                    yield Label("Amount", classes="field-label")
                    yield Input(placeholder="e.g. 129.90", id="sale-amount", max_length=20)
                    unit = self.currency or "in the customer's currency"
                    yield Label(Content(unit), id="sale-unit")
            if any(d.retry for d in self.catalog):
                with Horizontal(classes="field", id="retry-row"):
                    yield Label("Call back", classes="field-label")
                    yield Input(
                        placeholder="HH:MM, YYYY-MM-DD HH:MM or +2h (empty: attempt rules)",
                        id="retry-at",
                        max_length=24,
                    )
            with Horizontal(classes="field"):
                yield Label("Notes", classes="field-label")
                yield TextArea(record.notes, id="notes", soft_wrap=True, show_line_numbers=False)
            can_create = self.ticket_service is not None and record.customer_id is not None
            new = [("New ticket… (ctrl+t)", NEW_TICKET)] if can_create else []
            with Horizontal(classes="field", id="ticket-row"):
                yield Label("Ticket", classes="field-label")
                yield Select(
                    [("No ticket", NO_TICKET), *new, *tickets, ("Ticket number…", OTHER_TICKET)],
                    value=record.ticket_id
                    if record.ticket_id in {t.id for t in self.tickets}
                    else NO_TICKET,
                    allow_blank=False,
                    id="ticket",
                )
                yield Input(
                    placeholder="number", id="ticket-number", max_length=10, restrict=r"\d*"
                )
            with Horizontal(classes="field", id="new-ticket"):
                yield Label("New ticket", classes="field-label")
                yield Input(
                    placeholder="Subject (else the notes)", id="ticket-subject", max_length=200
                )
                yield Select(
                    [(c.title(), c) for c in TICKET_CATEGORIES],
                    value="general",
                    allow_blank=False,
                    id="ticket-category",
                )
                yield Select(
                    [(p.title(), p) for p in PRIORITIES],
                    value="normal",
                    allow_blank=False,
                    id="ticket-priority",
                )
            with Horizontal(classes="field", id="followup-row"):
                yield Label("Follow-up", classes="field-label")
                yield Tick("Call back", value=False, id="callback")
                yield Input("24", id="callback-hours", max_length=4, restrict=r"\d*")
                yield Label("hours", id="callback-unit")
                yield Tick("Escalate", value=False, id="escalate")
            with Horizontal(classes="field", id="wrap-flags"):
                yield Label("Quality", classes="field-label")
                yield Tick(
                    "Resolved first contact",
                    value=bool(record.resolved_first_contact),
                    id="fcr",
                )
                yield Select(
                    [(f"CSAT {n}", n) for n in range(1, 6)],
                    prompt="CSAT",
                    value=record.csat or Select.NULL,
                    id="csat",
                )
            yield Label("", id="wrap-error")
            with Horizontal(id="wrap-buttons"):
                # Compact (one row): an 80x24 terminal keeps them on screen.
                yield Button(self._save_label(), variant="primary", id="save", compact=True)
                yield Button("Extend (ctrl+e)", id="extend", compact=True)
        yield Footer()

    def _heading(self) -> str:
        if self.live:
            return f"Notes (call in progress)  {self._title}"
        return f"Wrap-up  {self._title}"

    def _save_label(self) -> str:
        return "Back to the call (ctrl+s)" if self.live else "Save (ctrl+s)"

    def on_mount(self) -> None:
        self.query_one("#new-ticket").display = False
        self.query_one("#ticket-number").display = False
        self._show_fields()
        if self.query_one("#disposition", Select).value is Select.NULL:
            self.query_one("#disposition", Select).focus()  # where a digit picks it
        else:
            self._to_notes()
        self.set_interval(1.0, self._tick)
        self._tick()
        self._record("notes_opened" if self.live else "wrap_up_opened", status=self.record.status)

    def _show_fields(self) -> None:
        """During the call only what drafts keep; after it, the ticket and follow-ups too, and
        what the chosen disposition asks for (a sale's amount, a time to call back). A campaign
        call has no follow-up row: calling its customer again is the list's retry."""
        no_followups = (
            self.followup_service is None
            or self.record.customer_id is None
            or self.record.campaign_id is not None
        )
        self.query_one("#ticket-row").display = not self.live
        self.query_one("#followup-row").display = not self.live and not no_followups
        self.query_one("#extend").display = not self.live
        chosen = self._chosen()
        for row_id, wanted in (
            ("#sale-row", chosen is not None and chosen.sale),
            ("#retry-row", chosen is not None and chosen.retry),
        ):
            for row in self.query(row_id):
                row.display = not self.live and wanted

    def _chosen(self) -> Disposition | None:
        value = self.query_one("#disposition", Select).value
        return self.catalog.get(value) if isinstance(value, str) else None

    def _to_notes(self) -> None:
        notes = self.query_one("#notes", TextArea)
        notes.focus()
        notes.move_cursor(notes.document.end)

    def call_ended(self, record: InteractionRecord, title: str = "") -> None:
        """The call this screen took notes for is over: it becomes its wrap-up."""
        self.record = record
        self.live = False
        if title:
            self._title = title
        self.query_one("#wrap-title", Static).update(Content.styled(self._heading(), "bold"))
        self.query_one("#save", Button).label = self._save_label()
        self._show_fields()
        self._tick()
        self.refresh_bindings()
        self._record("wrap_up_opened", status=record.status)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "disposition":
            # Digits pick a disposition only while the cursor is on it (elsewhere they type).
            return self._on_disposition()
        if action == "close_notes":
            return self.live
        if action in ("extend", "new_ticket", "callback"):
            return not self.live
        return True

    def on_key(self, event: events.Key) -> None:
        """On the disposition, a digit picks one (bindings) and any other typing goes to the
        notes: an agent who starts typing right after hang-up loses no keystroke."""
        character = event.character
        if (
            not event.is_printable
            or character is None
            or character.isdigit()
            or not self._on_disposition()
        ):
            return
        event.stop()
        event.prevent_default()
        self._to_notes()
        self.query_one("#notes", TextArea).insert(character)

    def _on_disposition(self) -> bool:
        chooser = self.query_one("#disposition", Select)
        focused = self.focused
        return focused is not None and (focused is chooser or chooser in focused.ancestors)

    def action_disposition(self, number: int) -> None:
        if 1 <= number <= len(self._codes):
            chooser = self.query_one("#disposition", Select)
            chooser.expanded = False
            chooser.value = self._codes[number - 1]
            self._show_fields()
            self._to_next_field()

    def _to_next_field(self) -> None:
        """After a disposition: what it asks for (the amount, the time), else the notes."""
        chosen = self._chosen()
        if not self.live and chosen is not None and chosen.sale:
            self.query_one("#sale-amount", Input).focus()
        elif not self.live and chosen is not None and chosen.retry:
            self.query_one("#retry-at", Input).focus()
        else:
            self._to_notes()

    @on(Select.Changed, "#disposition")
    def _disposition_chosen(self) -> None:
        self._show_fields()

    def action_new_ticket(self) -> None:
        ticket = self.query_one("#ticket", Select)
        if not any(value == NEW_TICKET for _label, value in ticket._options):
            self.notify("No new ticket here: the caller is not a known customer.", markup=False)
            return
        ticket.value = NEW_TICKET
        self.query_one("#new-ticket").display = True
        self.query_one("#ticket-subject", Input).focus()

    def action_callback(self) -> None:
        box = self.query_one("#callback", Tick)
        if self.query_one("#followup-row").display:
            box.toggle()

    async def action_close_notes(self) -> None:
        """Escape during the call: keep the draft, back to the call."""
        if self.live:
            await self._save_draft()
            self.dismiss(False)

    # ---------------------------------------------------------------- timer

    def now(self) -> datetime:
        return self._clock() if self._clock else datetime.now(UTC)

    def _tick(self) -> None:
        if self.live:
            text = "call in progress: saved as you type; Esc back to the call"
            self.query_one("#wrap-timer", Static).update(Content.styled(text, "$text-muted"))
            return
        started = self.record.ended_at or self.record.offered_at
        elapsed = (self.now() - started).total_seconds()
        left = self.limit - elapsed
        style = "bold $text-error" if left < 0 else ("$text-warning" if left < 15 else "")
        text = f"after-call work {duration(elapsed)} of {duration(self.limit)}"
        if left < 0:
            text += " — over time" + ("" if self.extended else ": ctrl+e to extend once")
        self.query_one("#wrap-timer", Static).update(Content.styled(text, style))

    def action_extend(self) -> None:
        if self.extended:
            self.notify("The wrap-up time can be extended once.", severity="warning", markup=False)
            return
        self.extended = True
        self.limit *= 2
        self.query_one("#extend", Button).disabled = True
        self._tick()

    # ---------------------------------------------------------------- drafts

    @on(Select.Changed, "#ticket")
    def _ticket_choice(self, event: Select.Changed) -> None:
        self.query_one("#new-ticket").display = event.value == NEW_TICKET
        number = self.query_one("#ticket-number", Input)
        number.display = event.value == OTHER_TICKET
        if number.display:
            number.focus()

    @on(TextArea.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _edited(self) -> None:
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self._draft_timer = self.set_timer(DRAFT_DELAY, self._save_draft)
        if self._draft_deadline is None:
            self._draft_deadline = self.set_timer(DRAFT_MAX_WAIT, self._save_draft)

    def _stop_draft_timers(self) -> None:
        for timer in (self._draft_timer, self._draft_deadline):
            if timer is not None:
                timer.stop()
        self._draft_timer = self._draft_deadline = None

    async def _save_draft(self) -> None:
        self._stop_draft_timers()
        disposition = self.query_one("#disposition", Select).value
        csat = self.query_one("#csat", Select).value
        draft: dict[str, Any] = dict(
            notes=self.query_one("#notes", TextArea).text,
            disposition=disposition if isinstance(disposition, str) else "",
            csat=csat if isinstance(csat, int) else None,
            resolved_first_contact=self.query_one("#fcr", Checkbox).value,
        )
        try:
            saved = await self.interactions.save_draft(self.record.id, **draft)
        except InteractionError as exc:  # e.g. notes over the limit: say so, keep typing
            self.query_one("#wrap-error", Label).update(Content.styled(str(exc), "$text-error"))
            return
        self.saved_drafts += 1
        if saved:  # what was saved, not every keystroke
            self._record("notes_saved", **draft)

    # ---------------------------------------------------------------- submit

    @on(Button.Pressed, "#save")
    async def _save_pressed(self) -> None:
        await self.action_save()

    @on(Button.Pressed, "#extend")
    def _extend_pressed(self) -> None:
        self.action_extend()

    async def action_save(self) -> None:
        self._stop_draft_timers()
        if self.live:  # during the call: keep the draft, back to the call
            await self._save_draft()
            self.dismiss(False)
            return
        disposition = self.query_one("#disposition", Select).value
        if not isinstance(disposition, str):
            self._error("choose a disposition (1-9)")
            self.query_one("#disposition", Select).focus()
            return
        try:
            saved = await self.submission.submit(self._form(disposition))
        except ServiceError as exc:  # one line; nothing already saved is lost
            self._error(str(exc))
            if "needs a ticket" in str(exc) or "ticket #" in str(exc):
                self.query_one("#ticket", Select).focus()  # the field the message asks for
            return
        done = saved.record
        chosen = self.catalog.get(done.disposition)
        if chosen is not None and chosen.sale:
            amount = self._typed("#sale-amount").strip()
            self.notify(f"Sale recorded: {amount} {self.currency}".strip(), timeout=4,
                        markup=False)  # fmt: skip
        if saved.ticket_opened is not None:
            self.notify(f"Ticket #{saved.ticket_opened} opened.", timeout=4, markup=False)
        if saved.opted_out is not None:
            count = len(saved.opted_out.numbers)
            self.notify(
                f"Not to be called again: {count} number{'s' if count != 1 else ''} on the "
                "do-not-call list.",
                timeout=4,
                markup=False,
            )
        for routed in saved.routed:
            self.notify(
                f"{routed.what} routed to {routed.where} ({routed.rule})", timeout=4, markup=False
            )
        self._record(
            "wrap_up_saved",
            disposition=done.disposition,
            category=done.category,
            notes=done.notes,
            ticket_id=done.ticket_id,
            followup_id=saved.callback_id,
            csat=done.csat,
            resolved_first_contact=done.resolved_first_contact,
            wrap_seconds=done.wrap_seconds,
        )
        self.dismiss(True)

    def _form(self, disposition: str) -> WrapUpForm:
        """What the agent filled in. Raises WrapUpError for a ticket number left empty."""
        choice = self.query_one("#ticket", Select).value
        ticket: int | NewTicket | None = None
        if choice == OTHER_TICKET:
            typed = self.query_one("#ticket-number", Input).value.strip()
            if not typed:
                raise WrapUpError("type the ticket's number (or choose No ticket)")
            ticket = int(typed)
        elif choice == NEW_TICKET:
            priority = self.query_one("#ticket-priority", Select).value
            category = self.query_one("#ticket-category", Select).value
            ticket = NewTicket(
                subject=self.query_one("#ticket-subject", Input).value,
                category=category if isinstance(category, str) else "general",
                priority=priority if isinstance(priority, str) else "normal",
            )
        elif isinstance(choice, int) and choice != NO_TICKET:
            ticket = choice
        csat = self.query_one("#csat", Select).value
        hours = self.query_one("#callback-hours", Input).value or "24"
        followups = self.query_one("#followup-row").display
        return WrapUpForm(
            disposition=disposition,
            notes=self.query_one("#notes", TextArea).text,
            ticket=ticket,
            resolved_first_contact=self.query_one("#fcr", Checkbox).value,
            csat=csat if isinstance(csat, int) else None,
            callback_hours=int(hours)
            if followups and self.query_one("#callback", Checkbox).value
            else None,
            escalate=followups and self.query_one("#escalate", Checkbox).value,
            sale_amount=self._typed("#sale-amount"),
            retry_at=self._typed("#retry-at"),
            survey=self.survey,
        )

    def _typed(self, selector: str) -> str:
        """What is typed in an input the form may not have ("" then)."""
        return next((box.value for box in self.query(selector).results(Input)), "")

    def _record(self, kind: str, **details: Any) -> None:
        call_id = self.record.linkedid or None
        self.recorder.record_action(kind, call_id=call_id, interaction_id=self.record.id, **details)

    def _error(self, message: str) -> None:
        self.query_one("#wrap-error", Label).update(Content.styled(message, "$text-error"))
