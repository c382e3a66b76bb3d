"""Find a customer as you type: a query box, one status line and the results.

The widget does not know where customers come from: the screen hands it a search function
(`CustomerService.search`, bound by the screen), so no widget talks to the database. Typing
runs the fast indexed search (`contains=False`) a moment after the last key; Enter runs the
full one (names that only contain the text too) and moves to the results.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from console.services.crm.customers import CustomerHit
from console.services.errors import ServiceError
from console.widgets.format import clip, lifecycle_label, tier_badge, when

SearchFunction = Callable[[str, bool], Awaitable[Sequence[CustomerHit]]]
"""`(query, contains) -> hits`: what the widget calls to search."""

DEBOUNCE_SECONDS = 0.15
HINT = "Type a name, a phone number in any format, an email or #ticket."


def hit_prompt(hit: CustomerHit, now: datetime) -> Content:
    """Two lines per customer: tier, name, organisation; lifecycle, last contact, why.

    Cut to fit 80 columns, so a hit never wraps onto a third line.
    """
    last = "never contacted"
    if hit.last_contact_at is not None:
        last = f"contacted {when(hit.last_contact_at, now)}"
    org = ("  " + clip(hit.organisation_name, 30)) if hit.organisation_name else ""
    return Content.assemble(
        tier_badge(hit.tier),
        " ",
        (clip(hit.display_name, 60), "bold"),
        (org, "$text-muted"),
        "\n   ",
        lifecycle_label(hit.lifecycle),
        (f" · {last} · ", "$text-muted"),
        (clip(hit.reason, 36), "italic $text-muted"),
    )


class QueryInput(Input):
    """The query box; Enter searches in full (shown in the footer)."""

    BINDINGS = [
        Binding("enter", "submit", "Search all"),
        Binding("down", "results", "Results", key_display="↓"),
    ]

    def action_results(self) -> None:
        self.post_message(CustomerSearch.ToResults())


class ResultList(OptionList):
    """The results; Enter chooses, Up on the first one goes back to the query."""

    BINDINGS = [Binding("enter", "select", "Choose")]

    def action_cursor_up(self) -> None:
        if self.highlighted in (None, 0):
            self.post_message(CustomerSearch.ToQuery())
            return
        super().action_cursor_up()


class CustomerSearch(Vertical):
    """Query box + status + results; posts `CustomerSearch.Chosen` with the customer id."""

    DEFAULT_CSS = """
    CustomerSearch { height: 1fr; }
    CustomerSearch > #search-status { height: 1; color: $text-muted; padding: 0 1;
                                      text-wrap: nowrap; text-overflow: ellipsis; }
    CustomerSearch > ResultList { height: 1fr; }
    """

    class Chosen(Message):
        """The agent chose a customer from the results."""

        def __init__(self, hit: CustomerHit) -> None:
            super().__init__()
            self.hit = hit
            self.customer_id = hit.customer_id

    class ToResults(Message):
        """Move from the query box to the results."""

    class ToQuery(Message):
        """Move from the results back to the query box."""

    def __init__(
        self,
        search: SearchFunction,
        *,
        clock: Callable[[], datetime] | None = None,
        query: str = "",
        compact: bool = False,
        debounce: float = DEBOUNCE_SECONDS,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._search = search
        self._clock = clock or (lambda: datetime.now(UTC))
        self._initial = query
        self._compact = compact
        self.debounce = debounce
        self._timer: Timer | None = None
        self.hits: tuple[CustomerHit, ...] = ()
        self.shown_query: str | None = None  # the query the results are for
        self.shown_full = False  # True when the results include names that only contain it
        self._started: str | None = None  # the query of the latest search started

    def compose(self) -> ComposeResult:
        yield QueryInput(
            self._initial,
            placeholder="name, phone, email or #ticket",
            max_length=200,
            compact=self._compact,
            id="customer-query",
        )
        yield Static(Content(HINT), id="search-status", markup=False)
        yield ResultList(id="customer-results")

    def on_mount(self) -> None:
        if self._initial.strip():
            self.search_now(full=True)

    @property
    def query_value(self) -> str:
        return self.query_one(QueryInput).value

    def focus_query(self) -> None:
        self.query_one(QueryInput).focus()

    # ---------------------------------------------------------------- searching

    @on(Input.Changed, "#customer-query")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        if event.value == self._started:
            return  # already searched (the initial query, set before mounting)
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(self.debounce, self._typed_search)

    def _typed_search(self) -> None:
        self.search_now(full=False)

    @on(Input.Submitted, "#customer-query")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.search_now(full=True, then_results=True)

    def search_now(self, *, full: bool, then_results: bool = False) -> None:
        """Search for what is typed now; a newer search cancels an older one."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._started = self.query_value
        self.run_worker(
            self._run(self.query_value, full=full, then_results=then_results),
            exclusive=True,
            group="customer-search",
            exit_on_error=False,
        )

    async def _run(self, query: str, *, full: bool, then_results: bool) -> None:
        text = query.strip()
        if not text:
            self._show(query, (), full=full)
            self._status(Content(HINT))
            return
        try:
            hits = await self._search(text, full)
        except ServiceError as exc:
            self._status(Content.styled(str(exc), "$text-error"))
            return
        if query != self.query_value:
            return  # the agent typed on meanwhile; a newer search is on its way
        self._show(query, tuple(hits), full=full)
        if then_results and hits:
            self.query_one(ResultList).focus()

    def _show(self, query: str, hits: tuple[CustomerHit, ...], *, full: bool) -> None:
        now = self._clock()
        results = self.query_one(ResultList)
        results.set_options(Option(hit_prompt(h, now), id=str(h.customer_id)) for h in hits)
        if hits:
            results.highlighted = 0
        self.hits = hits
        self.shown_query = query
        self.shown_full = full
        text = query.strip()
        if not text:
            return
        if not hits:
            self._status(
                Content.assemble(
                    "No customer matches “",
                    (clip(text, 60), "bold"),
                    "”" + ("" if full else " · Enter also searches inside names"),
                )
            )
            return
        count = f"{len(hits)} customer{'s' if len(hits) != 1 else ''}"
        more = " · Enter also searches inside names" if not full else ""
        self._status(Content(f"{count}{more} · ↓ to the results"))

    def _status(self, content: Content) -> None:
        self.query_one("#search-status", Static).update(content)

    # ---------------------------------------------------------------- moving and choosing

    @on(ToResults)
    def _to_results(self, event: ToResults) -> None:
        event.stop()
        results = self.query_one(ResultList)
        if results.option_count:
            results.focus()

    @on(ToQuery)
    def _to_query(self, event: ToQuery) -> None:
        event.stop()
        self.focus_query()

    @on(OptionList.OptionSelected, "#customer-results")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        hit = next((h for h in self.hits if str(h.customer_id) == event.option.id), None)
        if hit is not None:
            self.post_message(self.Chosen(hit))
