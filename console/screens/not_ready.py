"""Going not ready: the agent says why (reason codes go to the PBX with QueuePause)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, OptionList
from textual.widgets.option_list import Option

from console.services.agents import AFTER_CALL_WORK, NOT_READY_REASONS, NotReadyReason


class NotReadyScreen(ModalScreen[NotReadyReason | None]):
    """Choose a not-ready reason; dismisses with it (None: stay ready)."""

    DEFAULT_CSS = """
    NotReadyScreen { align: center middle; }
    #not-ready { width: 40; height: auto; border: thick $primary; background: $surface;
                 padding: 0 1; }
    #not-ready OptionList { height: auto; }
    """
    BINDINGS = [Binding("escape", "cancel", "Stay ready")]

    def compose(self) -> ComposeResult:
        # After-call work is set by the console itself around a wrap-up.
        reasons = [r for r in NOT_READY_REASONS if r is not AFTER_CALL_WORK]
        self.reasons = {r.code: r for r in reasons}
        with Vertical(id="not-ready"):
            yield Label(Content.styled("Not ready — why?", "bold"))
            yield OptionList(*(Option(Content(r.label), id=r.code) for r in reasons))
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        assert event.option.id is not None
        self.dismiss(self.reasons[event.option.id])

    def action_cancel(self) -> None:
        self.dismiss(None)
