"""One modal for "pick one of these": a title, a list, Enter to choose, Esc to cancel."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, OptionList
from textual.widgets.option_list import Option

T = TypeVar("T")


class ChoiceScreen(ModalScreen[T | None], Generic[T]):
    """Dismisses with the chosen option's value, or None when cancelled.

    Options are (id, label, value); labels are `Content` (never markup), so untrusted names
    are shown as they are.
    """

    DEFAULT_CSS = """
    ChoiceScreen { align: center middle; }
    ChoiceScreen #choice { height: auto; max-height: 80%; border: thick $primary;
                           background: $surface; padding: 0 1; }
    ChoiceScreen OptionList { height: auto; max-height: 16; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self, title: Content, options: Sequence[tuple[str, Content, T]], *, width: int = 48
    ) -> None:
        super().__init__()
        self.title_content = title
        self.values = {key: value for key, _label, value in options}
        self.labels = [(key, label) for key, label, _value in options]
        self.width = width

    def compose(self) -> ComposeResult:
        with Vertical(id="choice"):
            yield Label(self.title_content)
            yield OptionList(*(Option(label, id=key) for key, label in self.labels))
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#choice").styles.width = self.width
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        assert event.option.id is not None
        self.dismiss(self.values[event.option.id])

    def action_cancel(self) -> None:
        self.dismiss(None)


class QuitScreen(ChoiceScreen[bool]):
    """ "Quit callconsole?" while a call is live or a wrap-up unsaved: Stay or Quit anyway."""
