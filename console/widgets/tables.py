"""History, open tickets and follow-ups: read-only tables fed from a `ScreenPop`.

DataTable parses plain string cells as markup, so every cell is a `Content`/`Text` object.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rich.text import Text
from textual.widgets import DataTable

from console.services.screenpop import FollowUpSummary, InteractionSummary, TicketSummary
from console.widgets.format import LEVEL_STYLES, sla_remaining, when


def _cell(value: str, style: str = "") -> Text:
    return Text(value, style=style, no_wrap=True, overflow="ellipsis")


class HistoryTable(DataTable[Text]):
    """The caller's last interactions on every channel, newest first."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for label, width in (("When", 10), ("Ch", 5), ("Agent", 14), ("Outcome", 14)):
            self.add_column(label, width=width)
        self.add_column("Note", width=40)

    def show(self, history: tuple[InteractionSummary, ...], now: datetime | None = None) -> None:
        """Replace the rows with `history`."""
        now = now or datetime.now(UTC)
        self.clear()
        for item in history:
            self.add_row(
                _cell(when(item.offered_at, now)),
                _cell(item.channel[:5]),
                _cell(item.agent_name or "–"),
                _cell(item.disposition or item.status),
                _cell(item.note_excerpt),
                key=str(item.id),
            )


class TicketTable(DataTable[Text]):
    """Open tickets, soonest SLA first, with the time left coloured."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        for label, width in (("#", 7), ("Subject", 28), ("Prio", 6), ("Status", 7), ("SLA", 12)):
            self.add_column(label, width=width)

    def show(self, tickets: tuple[TicketSummary, ...]) -> None:
        self.clear()
        for ticket in tickets:
            sla_text, sla_level = sla_remaining(ticket.sla_remaining_seconds)
            self.add_row(
                _cell(str(ticket.id)),
                _cell(ticket.subject),
                _cell(ticket.priority, "bold red" if ticket.priority == "urgent" else ""),
                _cell(ticket.status),
                _cell(sla_text, LEVEL_STYLES[sla_level]),
                key=str(ticket.id),
            )


class FollowUpTable(DataTable[Text]):
    """Pending callbacks, escalations and tasks for the customer."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        for label, width in (("Due", 10), ("Kind", 10), ("Summary", 30), ("Claimed", 14)):
            self.add_column(label, width=width)

    def show(self, followups: tuple[FollowUpSummary, ...], now: datetime | None = None) -> None:
        now = now or datetime.now(UTC)
        self.clear()
        for item in followups:
            overdue = item.due_at < now
            self.add_row(
                _cell(when(item.due_at, now), "bold red" if overdue else ""),
                _cell(item.kind),
                _cell(item.summary),
                _cell(item.claimed_by or "–"),
                key=str(item.id),
            )
