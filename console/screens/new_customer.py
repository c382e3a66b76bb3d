"""The unknown caller: create a customer with the caller's number, or attach it to one.

Both forms call `CustomerService` (which normalises the number, checks every field before
writing and audit-logs the change) and dismiss with the customer id, so the agent screen can
re-pop the call for that customer (`AgentDesk.choose_customer`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Footer, Input, Select, Static

from console.models.enums import CustomerKind
from console.screens.form import FormScreen, form_bindings
from console.services.crm.customers import CustomerError, CustomerHit, CustomerService
from console.widgets.customer_search import CustomerSearch
from console.widgets.format import clip
from console.widgets.forms import ErrorLine, FieldRow, NumberFields

ATTACH_SEARCH_LIMIT = 20


class NewCustomerScreen(FormScreen[int]):
    """A new customer for an unknown caller; dismisses with the new customer's id."""

    BINDINGS = form_bindings("Create")

    def __init__(
        self,
        customers: CustomerService,
        *,
        agent_id: int,
        caller_number: str = "",
        language: str = "en",
        region: str = "US",
    ) -> None:
        super().__init__()
        self.customers = customers
        self.agent_id = agent_id
        self.caller_number = caller_number
        self.language = language
        self.number_region = region

    def compose(self) -> ComposeResult:
        with Vertical(id="form-box", classes="form-box"):
            yield Static(Content.styled("New customer", "bold"), classes="form-title")
            yield FieldRow(
                "Name",
                Input(
                    placeholder="required: the person or organisation",
                    max_length=400,
                    compact=True,
                    id="new-name",
                ),
            )
            yield NumberFields(self.caller_number, region=self.number_region)
            yield FieldRow(
                "Email",
                Input(placeholder="optional", max_length=300, compact=True, id="new-email"),
            )
            yield FieldRow(
                "Language",
                Input(
                    self.language,
                    placeholder="e.g. en, zh, pt-BR",
                    max_length=40,
                    compact=True,
                    id="new-language",
                ),
            )
            yield FieldRow(
                "Customer is",
                Select(
                    [("a person", CustomerKind.PERSON.value), ("an organisation", "organisation")],
                    allow_blank=False,
                    value=CustomerKind.PERSON.value,
                    compact=True,
                    id="new-kind",
                ),
            )
            yield ErrorLine(id="new-error")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#new-name", Input).focus()

    @on(Input.Submitted)
    async def _submitted(self) -> None:
        await self.action_save()

    async def action_save(self) -> None:
        fields = self.query_one(NumberFields)
        kind = self.query_one("#new-kind", Select).value
        try:
            customer_id = await self.customers.create(
                self.query_one("#new-name", Input).value,
                agent_id=self.agent_id,
                phone_raw=fields.number.strip() or None,
                email=self.query_one("#new-email", Input).value.strip() or None,
                language=self.query_one("#new-language", Input).value,
                kind=kind if isinstance(kind, str) else CustomerKind.PERSON,
                phone_kind=fields.kind,
                phone_label=fields.label,
            )
        except CustomerError as exc:
            self.show_error(str(exc))
            return
        self.dismiss(customer_id)


class AttachNumberScreen(FormScreen[int]):
    """Attach the caller's number to an existing customer; dismisses with that customer's id.

    Search and choose the customer (Enter), then check the number, kind and label and press
    ctrl+s (or Enter in the label).
    """

    BINDINGS = form_bindings("Attach", "attach")

    def __init__(
        self,
        customers: CustomerService,
        *,
        agent_id: int,
        caller_number: str,
        clock: Callable[[], datetime] | None = None,
        region: str = "US",
        query: str = "",
    ) -> None:
        super().__init__()
        self.customers = customers
        self.agent_id = agent_id
        self.caller_number = caller_number
        self._clock = clock or (lambda: datetime.now(UTC))
        self.number_region = region
        self._query = query
        self.chosen: CustomerHit | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="form-box", classes="form-box"):
            yield Static(
                Content.assemble(
                    "Attach ", (clip(self.caller_number, 40) or "a number", "bold"), " to…"
                ),
                classes="form-title",
                markup=False,
            )
            yield CustomerSearch(self._search, clock=self._clock, query=self._query, compact=True)
            yield Static(
                Content.styled("Choose the customer (Enter), then ctrl+s.", "$text-muted"),
                id="attach-chosen",
                markup=False,
            )
            yield NumberFields(self.caller_number, region=self.number_region)
            yield ErrorLine(id="attach-error")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(CustomerSearch).focus_query()

    async def _search(self, query: str, contains: bool) -> Sequence[CustomerHit]:
        return await self.customers.search(query, ATTACH_SEARCH_LIMIT, contains=contains)

    @on(CustomerSearch.Chosen)
    def _chosen(self, event: CustomerSearch.Chosen) -> None:
        self.chosen = event.hit
        self.query_one("#attach-chosen", Static).update(
            Content.assemble(
                ("Attach to ", "$text-muted"),
                (clip(event.hit.display_name, 60), "bold"),
                (f" #{event.hit.customer_id} · ctrl+s", "$text-muted"),
            )
        )
        self.query_one(ErrorLine).clear()
        self.query_one("#phone-kind", Select).focus()
        self.refresh_bindings()

    @on(Input.Submitted, "#label, #number")
    async def _submitted(self) -> None:
        await self.action_attach()

    async def action_attach(self) -> None:
        if self.chosen is None:
            self.show_error("Choose a customer first.")
            return
        fields = self.query_one(NumberFields)
        try:
            await self.customers.attach_number(
                self.chosen.customer_id,
                fields.number,
                agent_id=self.agent_id,
                kind=fields.kind,
                label=fields.label,
            )
        except CustomerError as exc:
            self.show_error(str(exc))
            return
        self.dismiss(self.chosen.customer_id)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """ctrl+s is shown greyed out until a customer is chosen."""
        if action == "attach" and self.chosen is None:
            return None
        return True
