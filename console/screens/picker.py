"""Several customers share the caller's number: the agent picks one (remembered for the call)."""

from __future__ import annotations

from datetime import UTC, datetime

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, OptionList
from textual.widgets.option_list import Option

from console.services.desk.screenpop import CustomerMatch
from console.widgets.format import tier_badge, when


def match_prompt(match: CustomerMatch, now: datetime) -> Content:
    """One line per candidate: tier, name, organisation, last contact, why it matched."""
    last = when(match.last_contact_at, now) if match.last_contact_at else "never"
    org = f" · {match.organisation_name}" if match.organisation_name else ""
    return Content.assemble(
        tier_badge(match.tier),
        " ",
        (match.display_name, "bold"),
        (f"{org} · {match.lifecycle} · last contact {last}", "$text-muted"),
        "\n  ",
        (match.reason, "italic $text-muted"),
    )


class PickCustomerScreen(ModalScreen[int | None]):
    """Choose among the customers matching the number; dismisses with the customer id."""

    DEFAULT_CSS = """
    PickCustomerScreen { align: center middle; }
    #picker { width: 80%; max-width: 100; height: auto; max-height: 80%;
              border: thick $primary; background: $surface; padding: 0 1; }
    #picker OptionList { height: auto; max-height: 20; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        matches: tuple[CustomerMatch, ...],
        *,
        chosen: int | None = None,
        now: datetime | None = None,
    ) -> None:
        super().__init__()
        self.matches = matches
        self.chosen = chosen
        self.now = now or datetime.now(UTC)

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Label(Content.styled(f"{len(self.matches)} customers share this number", "bold"))
            yield OptionList(
                *(Option(match_prompt(m, self.now), id=str(m.customer_id)) for m in self.matches)
            )
        yield Footer()

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        ids = [m.customer_id for m in self.matches]
        options.highlighted = ids.index(self.chosen) if self.chosen in ids else 0
        options.focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        assert event.option.id is not None
        self.dismiss(int(event.option.id))

    def action_cancel(self) -> None:
        self.dismiss(None)
