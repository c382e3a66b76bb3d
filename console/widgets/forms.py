"""Form pieces shared by the customer screens: labelled rows, a one-line error, phone fields.

Fields are compact (one line each) so a whole form fits an 80x24 terminal. Errors are the
services' one-line messages, shown literally (they quote what the agent typed).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static

from console.models.enums import PhoneKind

AUTO_KIND = "auto"
PHONE_KIND_OPTIONS: list[tuple[str, str]] = [
    ("automatic (from the number)", AUTO_KIND),
    *((kind.value, kind.value) for kind in PhoneKind),
]


class FieldRow(Horizontal):
    """A label on the left, one field on the right."""

    DEFAULT_CSS = """
    FieldRow { height: auto; margin-bottom: 1; }
    FieldRow > .field-label { width: 12; color: $text-muted; padding-right: 1; }
    FieldRow > Input, FieldRow > Select, FieldRow > TextArea { width: 1fr; }
    """

    def __init__(self, label: str, field: Widget, *, id: str | None = None) -> None:
        super().__init__(Label(label, classes="field-label"), field, id=id)


class ErrorLine(Static):
    """One line for a refused request; empty (but kept in the layout) when all is well."""

    DEFAULT_CSS = """
    ErrorLine { height: 1; color: $text-error; text-style: bold;
                text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.message = ""

    def show_error(self, message: str) -> None:
        """Show `message` literally (it may quote untrusted input)."""
        self.message = message
        self.update(Content(message))
        self.tooltip = Content(message)

    def clear(self) -> None:
        self.message = ""
        self.update("")
        self.tooltip = None


class NumberFields(Vertical):
    """A phone number, its kind (automatic: mobile or landline from the number) and a label."""

    DEFAULT_CSS = """
    NumberFields { height: auto; }
    """

    def __init__(self, number: str = "", *, region: str = "US", id: str | None = None) -> None:
        super().__init__(id=id)
        self._number = number
        self._region = region

    def compose(self) -> ComposeResult:
        yield FieldRow(
            "Number",
            Input(
                self._number,
                placeholder=f"+country code, or a {self._region} number",
                max_length=64,
                compact=True,
                id="number",
            ),
        )
        yield FieldRow(
            "Phone kind",
            Select(
                PHONE_KIND_OPTIONS,
                allow_blank=False,
                value=AUTO_KIND,
                compact=True,
                id="phone-kind",
            ),
        )
        yield FieldRow(
            "Phone label",
            Input(placeholder="optional, e.g. office", max_length=60, compact=True, id="label"),
        )

    @property
    def number(self) -> str:
        return self.query_one("#number", Input).value

    @property
    def kind(self) -> str | None:
        """The chosen kind, or None to let the service tell mobile from landline."""
        value = self.query_one("#phone-kind", Select).value
        return value if isinstance(value, str) and value != AUTO_KIND else None

    @property
    def label(self) -> str:
        return self.query_one("#label", Input).value
