"""One ticket: its facts, the comment thread, a new comment and the status.

Opening it is audit-logged (`TicketService.get` with the viewer). Comments and status
changes go through `TicketService`, which logs them too; refusals show on one line.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Label, Select, Static, TextArea

from console.models.enums import TicketStatus
from console.screens.lifecycle import while_shown
from console.services.crm.tickets import (
    TicketCommentRecord,
    TicketDetail,
    TicketRecord,
    TicketService,
)
from console.services.errors import ServiceError
from console.widgets.format import sla_remaining, when
from console.widgets.forms import ErrorLine

LEVEL_CONTENT_STYLES = {
    "error": "bold $text-error",
    "warning": "$text-warning",
    "success": "$text-success",
    "": "",
}


def ticket_header(ticket: TicketRecord, now: datetime) -> Content:
    """Subject, then status, priority, SLA, assignee, category and dates."""
    muted = "$text-muted"
    if ticket.is_open:
        sla, level = sla_remaining(ticket.sla_remaining_seconds)
        sla_part: tuple[str, str] = (f" · SLA {sla}", LEVEL_CONTENT_STYLES[level])
    else:
        closed = ticket.resolved_at or ticket.updated_at
        sla_part = (f" · {ticket.status} {when(closed, now)}", muted)
    assignee = ticket.assignee_name or ticket.assignee_team or "unassigned"
    return Content("\n").join(
        [
            Content.assemble((f"#{ticket.id} ", "bold"), (ticket.subject, "bold")),
            Content.assemble(
                (ticket.status.value, "bold"),
                f" · {ticket.priority.value} priority",
                sla_part,
            ),
            Content.assemble(
                ("for ", muted),
                ticket.customer_name,
                (" · assigned to ", muted),
                assignee,
                (" · ", muted),
                ticket.category,
                (f" · opened {when(ticket.created_at, now)}", muted),
            ),
        ]
    )


def comment_view(comment: TicketCommentRecord, now: datetime) -> Content:
    return Content.assemble(
        (comment.author_name, "bold"),
        (f"  {when(comment.created_at, now)}", "$text-muted"),
        "\n",
        comment.body,
    )


class TicketScreen(Screen[bool]):
    """Read and work one ticket; dismisses True if the agent changed it."""

    CSS_PATH = "ticket.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+s", "comment", "Add comment", priority=True),
        Binding("ctrl+t", "status", "Change status"),
    ]

    def __init__(
        self,
        tickets: TicketService,
        ticket_id: int,
        *,
        agent_id: int,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__()
        self.tickets = tickets
        self.ticket_id = ticket_id
        self.agent_id = agent_id
        self._clock = clock or (lambda: datetime.now(UTC))
        self.detail: TicketDetail | None = None
        self.changed = False

    def compose(self) -> ComposeResult:
        yield Static(Content(f"Loading ticket #{self.ticket_id}…"), id="tk-header", markup=False)
        yield VerticalScroll(id="tk-comments")
        yield Label("New comment (ctrl+s adds it)", id="tk-new-label")
        yield TextArea(id="tk-new-comment", soft_wrap=True, show_line_numbers=False, compact=True)
        with Horizontal(id="tk-status-row"):
            yield Label("Status", id="tk-status-label")
            yield Select(
                [(s.value, s.value) for s in TicketStatus],
                allow_blank=True,
                prompt="…",
                compact=True,
                id="tk-status",
            )
            yield ErrorLine(id="tk-error")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#tk-new-comment", TextArea).focus()
        self._load()

    @work(exclusive=True, group="ticket-load", exit_on_error=False)
    @while_shown
    async def _load(self) -> None:
        try:
            detail = await self.tickets.get(self.ticket_id, viewer_agent_id=self.agent_id)
        except ServiceError as exc:
            self.query_one("#tk-header", Static).update(Content.styled(str(exc), "$text-error"))
            return
        self.detail = detail
        self._draw_ticket(detail.ticket)
        comments = self.query_one("#tk-comments", VerticalScroll)
        await comments.remove_children()
        now = self._clock()
        if not detail.comments:
            await comments.mount(
                Static(Content.styled("No comments yet.", "$text-muted"), markup=False)
            )
        await comments.mount_all(
            Static(comment_view(c, now), classes="tk-comment", markup=False)
            for c in detail.comments
        )
        comments.scroll_end(animate=False)

    def _draw_ticket(self, ticket: TicketRecord) -> None:
        self.query_one("#tk-header", Static).update(ticket_header(ticket, self._clock()))
        status = self.query_one("#tk-status", Select)
        if status.value != ticket.status.value:
            with status.prevent(Select.Changed):
                status.value = ticket.status.value

    # ---------------------------------------------------------------- comment

    async def action_comment(self) -> None:
        if self.detail is None:
            return
        area = self.query_one("#tk-new-comment", TextArea)
        try:
            comment = await self.tickets.comment(self.ticket_id, area.text, agent_id=self.agent_id)
        except ServiceError as exc:
            self.query_one(ErrorLine).show_error(str(exc))
            return
        self.query_one(ErrorLine).clear()
        self.changed = True
        area.text = ""
        comments = self.query_one("#tk-comments", VerticalScroll)
        if not self.detail.comments:
            await comments.remove_children()
        self.detail = TicketDetail(self.detail.ticket, (*self.detail.comments, comment))
        await comments.mount(
            Static(comment_view(comment, self._clock()), classes="tk-comment", markup=False)
        )
        comments.scroll_end(animate=False)

    # ---------------------------------------------------------------- status

    def action_status(self) -> None:
        select = self.query_one("#tk-status", Select)
        select.focus()
        select.action_show_overlay()

    @on(Select.Changed, "#tk-status")
    async def _status_chosen(self, event: Select.Changed) -> None:
        value = event.value
        if self.detail is None:
            return
        if not isinstance(value, str):  # the blank entry: show the status as it is
            self._draw_ticket(self.detail.ticket)
            return
        if value == self.detail.ticket.status.value:
            return
        await self.set_status(value)

    async def set_status(self, status: str) -> None:
        """Move the ticket to `status` (what choosing it in the list does)."""
        if self.detail is None:
            return
        try:
            ticket = await self.tickets.set_status(self.ticket_id, status, agent_id=self.agent_id)
        except ServiceError as exc:
            self.query_one(ErrorLine).show_error(str(exc))
            self._draw_ticket(self.detail.ticket)
            return
        self.query_one(ErrorLine).clear()
        self.changed = True
        self.detail = TicketDetail(ticket, self.detail.comments)
        self._draw_ticket(ticket)
        self.notify(f"Ticket #{ticket.id} is now {ticket.status.value}.", timeout=3, markup=False)

    def action_back(self) -> None:
        self.dismiss(self.changed)
