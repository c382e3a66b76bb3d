"""A due callback offered to an idle, ready agent: one key to call, one to put it off."""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static

from console.services.worklist import WorkItem
from console.widgets.format import when as stamp

CALL, LATER = "call", "later"
RANG = "rang"  # a call rang meanwhile: the offer steps aside and comes back when idle again


def lateness(seconds: float) -> str:
    """How late, roughly: "" under a minute, then minutes, hours or days."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return ""
    if minutes < 120:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // (24 * 60)} days"


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
        late = lateness(max(0.0, (self.now - item.due_at).total_seconds()))
        when = f"due {stamp(item.due_at, self.now)}" + (f", {late} late" if late else "")
        tries = f"attempt {item.attempts + 1}" if item.attempts else "first attempt"
        with Vertical(id="offer"):
            yield Label(Content.styled(f"Callback due — follow-up {item.id}", "bold"))
            yield Static(Content(item.customer_name or "Unknown caller"), markup=False)
            yield Static(Content(f"{when} · {tries}"), markup=False)
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
