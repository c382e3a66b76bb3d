"""After-call work: disposition, notes (saved as typed), ticket link, FCR, CSAT, a timer.

The interaction row is already in `wrapup`; this screen only fills it in. Every edit is saved
as a draft a moment after typing stops, so a crash or kill loses at most that moment, and a
restarted console offers the draft back (see `AgentScreen.offer_unfinished`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from textual import on
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

from console.services.errors import ServiceError
from console.services.followups import FollowUpService
from console.services.interactions import (
    InteractionError,
    InteractionLog,
    InteractionRecord,
    WrapUp,
    WrapUpError,
)
from console.services.recording import NO_RECORDING, ActionRecorder
from console.services.router import Router
from console.services.screenpop import TicketSummary
from console.services.tickets import TICKET_CATEGORIES, TicketService
from console.widgets.format import duration

DRAFT_DELAY = 0.4  # seconds after the last keystroke before the draft is saved
NO_TICKET = -1
NEW_TICKET = -2
PRIORITIES = ("low", "normal", "high", "urgent")
ESCALATION_DUE = timedelta(hours=4)  # the shipped escalation rule's SLA


class WrapUpScreen(ModalScreen[bool]):
    """Fill in and submit the wrap-up of one interaction; dismisses True when saved."""

    CSS_PATH = "wrapup.tcss"
    BINDINGS = [
        Binding("ctrl+s", "save", "Save wrap-up", priority=True),
        Binding("ctrl+e", "extend", "Extend time"),
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
        recorder: ActionRecorder | None = None,
        tickets: tuple[TicketSummary, ...] = (),
        limit_seconds: float = 120.0,
        clock: Callable[[], datetime] | None = None,
        title: str = "",
    ) -> None:
        super().__init__()
        self.interactions = interactions
        self.record = record
        self.agent_id = agent_id
        self.ticket_service = ticket_service
        self.followup_service = followup_service
        self.router = router  # routes the follow-ups made here at once (else the SLA pass)
        self.recorder = recorder or NO_RECORDING  # the agent's session recording
        self.tickets = tickets
        # Created during this wrap-up (kept so a retry after an error doesn't make another).
        self.created_ticket: int | None = None
        self.created_followup: int | None = None
        self.created_escalation: int | None = None
        self.limit = limit_seconds
        self.extended = False
        self._clock = clock
        self._title = title
        self._draft_timer: Timer | None = None
        self.saved_drafts = 0

    def compose(self) -> ComposeResult:
        record = self.record
        options = [(d.label, d.code) for d in self.interactions.catalog]
        tickets = [(f"#{t.id} {t.subject}"[:60], t.id) for t in self.tickets]
        with Vertical(id="wrapup"):
            yield Static(Content.styled(f"Wrap-up  {self._title}", "bold"), id="wrap-title")
            yield Static("", id="wrap-timer")
            yield Select(
                options,
                prompt="Disposition",
                value=record.disposition or Select.NULL,
                id="disposition",
            )
            yield TextArea(record.notes, id="notes", soft_wrap=True, show_line_numbers=False)
            can_create = self.ticket_service is not None and record.customer_id is not None
            new = [("New ticket…", NEW_TICKET)] if can_create else []
            yield Select(
                [("No ticket", NO_TICKET), *new, *tickets],
                value=record.ticket_id
                if record.ticket_id in {t.id for t in self.tickets}
                else NO_TICKET,
                allow_blank=False,
                id="ticket",
            )
            with Horizontal(id="new-ticket"):
                yield Input(placeholder="Ticket subject", id="ticket-subject", max_length=200)
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
            with Horizontal(id="followup-row"):
                yield Checkbox("Call back in", value=False, id="callback")
                yield Input("24", id="callback-hours", max_length=4, restrict=r"\d*")
                yield Label("hours", id="callback-unit")
                yield Checkbox("Escalate", value=False, id="escalate")
            with Horizontal(id="wrap-flags"):
                yield Checkbox(
                    "Resolved on first contact",
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
                yield Button("Save (ctrl+s)", variant="primary", id="save", compact=True)
                yield Button("Extend (ctrl+e)", id="extend", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#new-ticket").display = False
        if self.followup_service is None or self.record.customer_id is None:
            self.query_one("#followup-row").display = False
        self.query_one("#notes", TextArea).focus()
        self.set_interval(1.0, self._tick)
        self._tick()
        self._record("wrap_up_opened", status=self.record.status)

    # ---------------------------------------------------------------- timer

    def now(self) -> datetime:
        return self._clock() if self._clock else datetime.now(UTC)

    def _tick(self) -> None:
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

    @on(TextArea.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _edited(self) -> None:
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self._draft_timer = self.set_timer(DRAFT_DELAY, self._save_draft)

    async def _save_draft(self) -> None:
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
        if self._draft_timer is not None:
            self._draft_timer.stop()
        disposition = self.query_one("#disposition", Select).value
        ticket = self.query_one("#ticket", Select).value
        csat = self.query_one("#csat", Select).value
        notes = self.query_one("#notes", TextArea).text
        if not isinstance(disposition, str):
            self._error("choose a disposition")
            return
        try:
            ticket_id = await self._ticket(ticket, notes)
            await self._followup(notes, ticket_id)
            wrap = WrapUp(
                disposition=disposition,
                notes=notes,
                ticket_id=ticket_id,
                resolved_first_contact=self.query_one("#fcr", Checkbox).value,
                csat=csat if isinstance(csat, int) else None,
            )
            done = await self.interactions.wrap_up(self.record.id, wrap, self.now())
        except ServiceError as exc:  # one line; nothing already saved is lost
            self._error(str(exc))
            return
        self._record(
            "wrap_up_saved",
            disposition=done.disposition,
            category=done.category,
            notes=done.notes,
            ticket_id=done.ticket_id,
            followup_id=self.created_followup,
            csat=done.csat,
            resolved_first_contact=done.resolved_first_contact,
            wrap_seconds=done.wrap_seconds,
        )
        self.dismiss(True)

    def _record(self, kind: str, **details: Any) -> None:
        call_id = self.record.linkedid or None
        self.recorder.record_action(kind, call_id=call_id, interaction_id=self.record.id, **details)

    def _error(self, message: str) -> None:
        self.query_one("#wrap-error", Label).update(Content.styled(message, "$text-error"))

    async def _ticket(self, choice: object, notes: str) -> int | None:
        """The ticket to link: an existing one, or a new one opened now (once)."""
        if choice != NEW_TICKET:
            return choice if isinstance(choice, int) and choice != NO_TICKET else None
        if self.created_ticket is not None:
            return self.created_ticket
        assert self.ticket_service is not None and self.record.customer_id is not None
        subject = self.query_one("#ticket-subject", Input).value.strip()
        if not subject:
            subject = " ".join(notes.split())[:80]
        if not subject:
            raise WrapUpError("give the new ticket a subject (or write notes first)")
        priority = self.query_one("#ticket-priority", Select).value
        category = self.query_one("#ticket-category", Select).value
        created = await self.ticket_service.create(
            self.record.customer_id,
            subject,
            agent_id=self.agent_id,
            category=category if isinstance(category, str) else "general",
            priority=priority if isinstance(priority, str) else "normal",
            interaction_id=self.record.id,
        )
        self.created_ticket = created.id
        self.notify(f"Ticket #{created.id} opened.", timeout=4, markup=False)
        return created.id

    async def _followup(self, notes: str, ticket_id: int | None) -> None:
        """Schedule the callback and the escalation the agent ticked (each once)."""
        await self._escalation(notes, ticket_id)
        if not self.query_one("#callback", Checkbox).value or self.created_followup is not None:
            return
        assert self.followup_service is not None
        raw_hours = self.query_one("#callback-hours", Input).value or "24"
        hours = max(1, min(24 * 30, int(raw_hours)))
        summary = " ".join(notes.split())[:200] or f"Call back {self.record.caller_raw}"
        code = self.query_one("#disposition", Select).value
        chosen = self.interactions.catalog.get(code) if isinstance(code, str) else None
        required = chosen is not None and chosen.requires_followup
        created = await self.followup_service.create(
            "callback",
            customer_id=self.record.customer_id,
            due_at=self.now() + timedelta(hours=hours),
            summary=summary,
            agent_id=self.agent_id,
            interaction_id=self.record.id,
            ticket_id=ticket_id,
            origin="disposition" if required else "agent",
        )
        self.created_followup = created.id
        await self._route(created.id, "Callback")

    async def _escalation(self, notes: str, ticket_id: int | None) -> None:
        if not self.query_one("#escalate", Checkbox).value or self.created_escalation is not None:
            return
        assert self.followup_service is not None
        summary = " ".join(notes.split())[:200] or f"Escalated call from {self.record.caller_raw}"
        created = await self.followup_service.create(
            "escalation",
            customer_id=self.record.customer_id,
            due_at=self.now() + ESCALATION_DUE,
            summary=summary,
            agent_id=self.agent_id,
            priority=2,
            interaction_id=self.record.id,
            ticket_id=ticket_id,
        )
        self.created_escalation = created.id
        await self._route(created.id, "Escalation")

    async def _route(self, followup_id: int, what: str) -> None:
        """Route a follow-up made here now, so the agent sees where it went (if routing
        fails, the next SLA pass routes it: the follow-up is saved either way)."""
        if self.router is None:
            return
        try:
            routed = await self.router.route(followup_id, by_agent_id=self.agent_id)
        except ServiceError:
            return
        where = routed.decision.target.describe()
        self.notify(f"{what} routed to {where} ({routed.decision.rule})", timeout=4, markup=False)
