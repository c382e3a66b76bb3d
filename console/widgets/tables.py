"""History, open tickets and follow-ups in the screen pop: fixed-size, read-only column lists.

These are drawn as plain styled text in a `Static` of fixed size, not as `DataTable`s: a pop
replaces every row at once, and a DataTable's row changes resize its virtual area, which costs a
layout pass and a full re-render (measured: most of the time between the ring and the pop being
on screen). Interactive tables with a cursor live in the customer view.

Cells are cut and padded by terminal cell width (CJK names take two cells a character), and all
text is literal: `Content` built from plain strings, never markup.

`column_widths` fits the columns of the screens' DataTables to their width (an 80-column
terminal): which columns give way, and how far, is the screen's to say.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from rich.cells import set_cell_size
from textual.content import Content
from textual.widgets import Static

from console.services.desk.screenpop import FollowUpSummary, InteractionSummary, TicketSummary
from console.widgets.format import LEVEL_CONTENT_STYLES, due_level, due_text, sla_remaining, when

Cell = tuple[str, str]  # (text, style)
_LEVEL = {"error": "bold $text-error", "warning": "$text-warning", "success": "$text-success"}


def column_widths(
    columns: Sequence[tuple[str, int]],
    room: int,
    min_rest: int,
    shrink: Sequence[tuple[str, int]] = (),
) -> list[int]:
    """The width of each (label, width) column in `room` cells of text. The column of width
    0 takes what is left, at least `min_rest`; when the columns want more than `room`, the
    `shrink` steps (label, narrowest) give way in order, each only as much as still needed (a
    column named in no step keeps its width, whatever the room: the table scrolls)."""
    widths = {label: width or min_rest for label, width in columns}
    rest_label = next((label for label, width in columns if not width), None)
    excess = sum(widths.values()) - room
    for label, narrowest in shrink:
        if excess <= 0:
            break
        if label not in widths:
            continue  # a column this table leaves out
        cut = min(excess, max(0, widths[label] - narrowest))
        widths[label] -= cut
        excess -= cut
    if rest_label is not None and excess < 0:
        widths[rest_label] -= excess  # what is left over goes to the rest column
    return [widths[label] for label, _ in columns]


class ColumnList(Static):
    """A header and rows of fixed-width columns; the last column takes what is left."""

    DEFAULT_CSS = """
    ColumnList {
        width: 1fr; padding: 0 1; overflow: hidden; text-wrap: nowrap; text-overflow: clip;
    }
    """
    COLUMNS: tuple[tuple[str, int], ...] = ()  # (header, width); width 0 = the rest
    EMPTY = "none"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.rows: list[list[Cell]] = []

    def on_mount(self) -> None:
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def set_rows(self, rows: list[list[Cell]]) -> None:
        """Replace the rows (each a list of (text, style) cells, one per column)."""
        self.rows = rows
        self._draw()

    def _widths(self) -> list[int]:
        fixed = sum(w + 2 for _, w in self.COLUMNS if w)
        rest = max(4, self.content_size.width - fixed)
        return [w or rest for _, w in self.COLUMNS]

    def _line(self, cells: Sequence[Cell], widths: list[int]) -> Content:
        parts: list[tuple[str, str]] = []
        for n, ((text, style), width) in enumerate(zip(cells, widths, strict=False)):
            one_line = " ".join(text.split())
            fitted = one_line if len(one_line) <= 400 else one_line[:400]
            cell = set_cell_size(fitted, width)
            if len(fitted) > 0 and cell.rstrip() != fitted and width > 1:
                cell = set_cell_size(fitted, width - 1) + "…"
            parts.append((cell + ("  " if n < len(widths) - 1 else ""), style))
        return Content.assemble(*parts)

    def _draw(self) -> None:
        widths = self._widths()
        header = self._line([(h, "bold $text-muted") for h, _ in self.COLUMNS], widths)
        lines = [header]
        lines += [self._line(row, widths) for row in self.rows]
        if not self.rows:
            lines.append(Content.styled(self.EMPTY, "$text-muted"))
        # Fixed size: a repaint, never a layout pass.
        self.update(Content("\n").join(lines), layout=False)


class HistoryTable(ColumnList):
    """The caller's last interactions on every channel, newest first."""

    COLUMNS = (("When", 10), ("Ch", 5), ("Agent", 14), ("Outcome", 14), ("Note", 0))
    EMPTY = "no earlier contact"

    def show(
        self,
        history: tuple[InteractionSummary, ...],
        now: datetime | None = None,
        label: Callable[[str], str] = str,
    ) -> None:
        """Replace the rows with `history`; ``label`` names a disposition code for people."""
        now = now or datetime.now(UTC)
        self.set_rows(
            [
                [
                    (when(item.offered_at, now), ""),
                    (item.channel[:5], ""),
                    (item.agent_name or "–", ""),
                    (label(item.disposition) if item.disposition else item.status, ""),
                    (item.note_excerpt, "$text-muted"),
                ]
                for item in history
            ]
        )


class TicketTable(ColumnList):
    """Open tickets, soonest SLA first, with the time left coloured."""

    COLUMNS = (("#", 7), ("Prio", 6), ("Status", 7), ("SLA", 12), ("Subject", 0))
    EMPTY = "no open tickets"

    def show(self, tickets: tuple[TicketSummary, ...]) -> None:
        rows = []
        for ticket in tickets:
            sla_text, sla_level = sla_remaining(ticket.sla_remaining_seconds)
            rows.append(
                [
                    (str(ticket.id), ""),
                    (ticket.priority, "bold $text-error" if ticket.priority == "urgent" else ""),
                    (ticket.status, ""),
                    (sla_text, _LEVEL.get(sla_level, "")),
                    (ticket.subject, ""),
                ]
            )
        self.set_rows(rows)


class FollowUpTable(ColumnList):
    """Pending callbacks, escalations and tasks for the customer."""

    COLUMNS = (("Due", 10), ("Kind", 10), ("Claimed", 14), ("Summary", 0))
    EMPTY = "no pending follow-ups"

    def show(self, followups: tuple[FollowUpSummary, ...], now: datetime | None = None) -> None:
        now = now or datetime.now(UTC)
        self.set_rows(
            [
                [
                    (
                        due_text(item.due_at, now),
                        LEVEL_CONTENT_STYLES[due_level(item.due_at, now, overdue=item.overdue)],
                    ),
                    (item.kind, ""),
                    (item.claimed_by or "–", ""),
                    (item.summary, ""),
                ]
                for item in followups
            ]
        )
