"""Pick where a transfer goes: a queue the PBX has, or any extension.

The agent screen opens it for a blind transfer (F4: the caller goes at once) and for a consult
(F7: the agent talks to the target first while the caller holds).
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, OptionList
from textual.widgets.option_list import Option

from console.services.crm.queues import QueueInfo


class TransferScreen(ModalScreen[str | None]):
    """Pick a queue, or type an extension; dismisses with the extension (None: cancelled)."""

    DEFAULT_CSS = """
    TransferScreen { align: center middle; }
    #transfer { width: 76; max-width: 100%; height: auto; max-height: 80%; border: thick $primary;
                background: $surface; padding: 0 1; }
    #transfer OptionList { height: auto; max-height: 12; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, queues: list[QueueInfo], *, consult: bool = False) -> None:
        super().__init__()
        self.queues = [q for q in queues if q.number]
        self.consult = consult

    def compose(self) -> ComposeResult:
        title = (
            "Consult first (the caller holds; then complete, conference or go back)…"
            if self.consult
            else "Transfer the caller now (blind) to…"
        )
        with Vertical(id="transfer"):
            yield Label(Content.styled(title, "bold"))
            yield OptionList(
                *(
                    Option(Content.assemble((q.name, "bold"), f"  ext {q.number}"), id=q.number)
                    for q in self.queues
                )
            )
            yield Input(placeholder="or an extension, then Enter", id="extension", max_length=20)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _queue(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    @on(Input.Submitted)
    def _extension(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if value.isdigit():
            self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)
