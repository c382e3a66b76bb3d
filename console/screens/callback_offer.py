"""A due callback offered to an idle, ready agent: one key to call, one to put it off."""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static

from console.services.routing.worklist import WorkItem
from console.widgets.format import LEVEL_CONTENT_STYLES, due_level, due_text, sla_remaining

CALL, LATER = "call", "later"
RANG = "rang"  # a call rang meanwhile: the offer steps aside and comes back when idle again


def offer_timing(item: WorkItem, now: datetime) -> Content:
    """E.g. "due 35m ago · overdue 1h05m · attempt 2": the due time as every screen says it,
    and "overdue" exactly when the team view counts it so (`WorkItem.overdue`), else the SLA
    time left."""
    due = due_text(item.due_at, now)
    level = due_level(item.due_at, now, overdue=item.overdue)
    parts: list[str | tuple[str, str]] = [(f"due {due}", LEVEL_CONTENT_STYLES[level])]
    sla = item.sla_due_at
    left = None if sla is None else int((sla - now).total_seconds())
    if item.overdue:
        late = sla_remaining(left)[0] if left is not None and left < 0 else "overdue"
        parts += [" · ", (late, LEVEL_CONTENT_STYLES["error"])]
    elif left is not None:
        parts.append(f" · SLA {sla_remaining(max(0, left))[0]}")
    tries = f"attempt {item.attempts + 1}" if item.attempts else "first attempt"
    parts.append(f" · {tries}")
    return Content.assemble(*parts)


class CallbackOfferScreen(ModalScreen[str]):
    """Dismisses with ``CALL`` (dial it now) or ``LATER`` (offered again in a few minutes)."""

    DEFAULT_CSS = """
    CallbackOfferScreen { align: center middle; }
    #offer { width: 64; height: auto; border: thick $warning; background: $surface;
             padding: 0 1; }
    #offer .summary { color: $text-muted; }
    """
    BINDINGS = [
        Binding("enter", "call", "Call now", priority=True),
        Binding("c", "call", "Call now", show=False),
        Binding("escape", "later", "Later"),
        Binding("l", "later", "Later", show=False),
    ]

    def __init__(self, item: WorkItem, now: datetime) -> None:
        super().__init__()
        self.item = item
        self.now = now

    def compose(self) -> ComposeResult:
        item = self.item
        with Vertical(id="offer"):
            yield Label(Content.styled(f"Callback due — follow-up {item.id}", "bold"))
            yield Static(Content(item.customer_name or "Unknown caller"), markup=False)
            yield Static(offer_timing(item, self.now), id="offer-timing", markup=False)
            if item.summary:
                yield Static(Content(item.summary), classes="summary", markup=False)
            yield Label(Content("Enter: call now    Esc: later"))
        yield Footer()

    def action_call(self) -> None:
        self.dismiss(CALL)

    def action_later(self) -> None:
        self.dismiss(LATER)

    def step_aside(self) -> None:
        """A call is ringing: close without an answer (offered again once idle)."""
        self.dismiss(RANG)
