"""Find any customer, outside a call or for a caller the pop could not identify.

`SearchScreen` is the modal search (search-as-you-type, Enter for the full search);
`CustomerSearchProvider` puts the same search in Textual's command palette.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.command import Hit, Hits, Provider
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from console.services.crm.customers import CustomerHit, CustomerService, MatchKind
from console.services.errors import ServiceError
from console.widgets.customer_search import CustomerSearch, hit_prompt

SEARCH_LIMIT = 20
PALETTE_LIMIT = 8


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SearchScreen(ModalScreen[int | None]):
    """Search customers by name, phone, email or #ticket; dismisses with the customer id."""

    CSS_PATH = "search.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        customers: CustomerService,
        *,
        clock: Callable[[], datetime] | None = None,
        query: str = "",
        title: str = "Find a customer",
        limit: int = SEARCH_LIMIT,
    ) -> None:
        super().__init__()
        self.customers = customers
        self._clock = clock or _utcnow
        self._query = query
        self._title = title
        self.limit = limit

    def compose(self) -> ComposeResult:
        with Vertical(id="search-box"):
            yield Static(Content.styled(self._title, "bold"), id="search-title")
            yield CustomerSearch(self._search, clock=self._clock, query=self._query)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(CustomerSearch).focus_query()

    async def _search(self, query: str, contains: bool) -> Sequence[CustomerHit]:
        return await self.customers.search(query, self.limit, contains=contains)

    @on(CustomerSearch.Chosen)
    def _chosen(self, event: CustomerSearch.Chosen) -> None:
        self.dismiss(event.customer_id)

    def action_cancel(self) -> None:
        self.dismiss(None)


# ---------------------------------------------------------------- command palette


@dataclass
class CustomerSearchSource:
    """What `CustomerSearchProvider` needs: the service, and what to do with a choice.

    The App holds one in its `customer_search_source` attribute once an agent is logged in
    (None before: the palette then offers no customers).
    """

    customers: CustomerService
    on_chosen: Callable[[int], object]
    clock: Callable[[], datetime] = field(default=_utcnow)


_SCORES = {
    MatchKind.TICKET: 1.0,
    MatchKind.PHONE: 1.0,
    MatchKind.EMAIL: 1.0,
    MatchKind.NAME_PREFIX: 0.9,
    MatchKind.NAME_CONTAINS: 0.6,
}


class CustomerSearchProvider(Provider):
    """Command-palette customers: the indexed search (prefix, phone, email, #ticket).

    Register it in `App.COMMANDS`; it reads the App's `customer_search_source`. Choosing a
    hit calls `on_chosen(customer_id)`. Prompts are `Content` (never markup); no `help`
    text, which the palette would parse as markup.
    """

    async def search(self, query: str) -> Hits:
        source = getattr(self.app, "customer_search_source", None)
        if not isinstance(source, CustomerSearchSource) or not query.strip():
            return
        try:
            hits = await source.customers.search(query, PALETTE_LIMIT, contains=False)
        except ServiceError:
            return
        now = source.clock()
        for hit in hits:
            yield Hit(
                _SCORES.get(hit.matched_on, 0.5),
                Content.assemble(("customer ", "$text-muted"), hit_prompt(hit, now)),
                partial(source.on_chosen, hit.customer_id),
                text=hit.display_name,
            )
