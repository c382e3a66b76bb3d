"""The modal forms' common frame: ctrl+s submits, Esc cancels, one line says what was refused.

The customer forms (new customer, attach a number, edit a profile, add a number) share it;
each says what ctrl+s does (`form_bindings`) and implements that action.
"""

from __future__ import annotations

from typing import TypeVar

from textual.binding import Binding
from textual.screen import ModalScreen

from console.widgets.forms import ErrorLine

ResultT = TypeVar("ResultT")


def form_bindings(
    label: str, action: str = "save"
) -> list[Binding | tuple[str, str] | tuple[str, str, str]]:
    """ctrl+s does ``action`` (shown as ``label``), Esc cancels: in the footer in that order."""
    return [Binding("ctrl+s", action, label, priority=True), Binding("escape", "cancel", "Cancel")]


class FormScreen(ModalScreen[ResultT | None]):
    """A modal form dismissed with its result, or None when cancelled."""

    CSS_PATH = "forms.tcss"

    def action_cancel(self) -> None:
        self.dismiss(None)

    def show_error(self, message: str) -> None:
        """Say in the form's error line why the request was refused (literally)."""
        self.query_one(ErrorLine).show_error(message)
