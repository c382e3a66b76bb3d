"""The supervisor's staffing panel: agents needed by Erlang C and Erlang A beside agents staffed.

For one queue (or all queues pooled) it shows what was measured — λ and AHT over the last N
minutes of calls, the callers' patience, the agents staffed, the queue's targets — and the
figures `console.services.supervision.staffing` computes from them. The what-if fields (agents,
calls per
hour, AHT, patience) override the measured values; the figures follow as you type. An empty
field means "as measured". Everything is keyboard-reachable: Tab moves between the fields,
Ctrl+R clears the what-if, Escape goes back.

The screen is given its data: a `BoardSnapshot` provider, optionally a provider of recent
`QueueCall` visits, and the `TargetBook`. It reads them every `refresh_every` seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Select, Static

from callkit.metrics import MetricDefinitions, QueueCall
from console.services.supervision.alerts import Rag, rag_for
from console.services.supervision.live_types import BoardSnapshot
from console.services.supervision.queue_targets import QueueTargets, TargetBook
from console.services.supervision.staffing import (
    Prediction,
    StaffingError,
    StaffingInput,
    StaffingView,
    WhatIf,
    measure,
    staffing_view,
)
from console.services.text import clean_text

ALL_QUEUES = "\x00all"  # a Select value no (sanitised) queue name can take
RAG_STYLES = {
    Rag.GREEN: "$text-success",
    Rag.AMBER: "$text-warning",
    Rag.RED: "bold $text-error",
    Rag.NONE: "$text-muted",
}
_LABEL = 30  # width of the row labels in the results
_CELL = 12  # width of each model's column


def _percent(share: float) -> str:
    return f"{share * 100:.1f}%"


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if math.isinf(value):
        return "∞"
    if value < 60:
        return f"{value:.1f} s"
    whole = round(value)
    return f"{whole // 60}:{whole % 60:02d}"


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


class StaffingScreen(Screen[None]):
    """Erlang C / Erlang A staffing for one queue or all, with a what-if."""

    CSS_PATH = "staffing.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+r", "reset", "Clear what-if"),
    ]

    def __init__(
        self,
        snapshot: Callable[[], BoardSnapshot],
        book: TargetBook,
        *,
        recent_calls: Callable[[], Iterable[QueueCall]] | None = None,
        queue: str | None = None,
        minutes: int = 30,
        observed_since: float | None = None,
        definitions: MetricDefinitions | None = None,
        refresh_every: float = 2.0,
    ) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.book = book
        self.recent_calls = recent_calls
        self.queue = queue
        self.minutes = minutes
        self.observed_since = observed_since
        self.definitions = definitions or MetricDefinitions()
        self.refresh_every = refresh_every
        self.measured: StaffingInput | None = None
        self.view: StaffingView | None = None  # what the results show (tests read it)
        self.problem = ""  # why there are no results, or what is wrong with the what-if
        self._queues: tuple[str, ...] = ()
        self._window_error = ""

    def compose(self) -> ComposeResult:
        yield Static("", id="staffing-title", markup=False)
        with Horizontal(id="staffing-choice", classes="staffing-row"):
            yield Label("Queue", classes="staffing-label")
            yield Select(
                [("All queues", ALL_QUEUES)],
                value=ALL_QUEUES,
                allow_blank=False,
                compact=True,
                id="staffing-queue",
            )
            yield Label("Window (min)", classes="staffing-label")
            yield Input(str(self.minutes), type="integer", max_length=4, compact=True, id="window")
        yield Static("", id="staffing-measured", markup=False)
        yield Label(Content.styled("What if…", "bold"), id="whatif-title")
        with Horizontal(id="staffing-whatif", classes="staffing-row"):
            yield Label("Agents", classes="staffing-label")
            yield Input(
                type="integer", max_length=6, valid_empty=True, compact=True, id="whatif-agents"
            )
            for label, field_id in (
                ("Calls/hour", "whatif-rate"),
                ("AHT (s)", "whatif-aht"),
                ("Patience (s)", "whatif-patience"),
            ):
                yield Label(label, classes="staffing-label")
                yield Input(
                    type="number", max_length=9, valid_empty=True, compact=True, id=field_id
                )
        yield Static("", id="staffing-problem", markup=False)
        yield Static("", id="staffing-results", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.remeasure()  # also offers the board's queues, the chosen one selected
        self.query_one("#whatif-agents", Input).focus()
        self.set_interval(self.refresh_every, self.remeasure)

    # ------------------------------------------------------------------------ inputs

    def remeasure(self) -> None:
        """Read the board (and recent calls) again and redraw."""
        try:
            snapshot = self.snapshot()
            calls = list(self.recent_calls()) if self.recent_calls is not None else None
        except Exception as exc:  # one clear line; the last figures stay
            self.notify(f"could not read the board: {exc}", severity="error", markup=False)
            return
        self._offer_queues(tuple(q.queue for q in snapshot.queues))
        if self.queue is not None and self.queue not in self._queues:
            self.queue = None
        self.measured = measure(
            snapshot,
            self.book,
            queue=self.queue,
            calls=calls,
            minutes=self.minutes,
            since=self.observed_since,
            definitions=self.definitions,
        )
        self._draw_measured()
        self.recompute()

    def _offer_queues(self, names: tuple[str, ...]) -> None:
        names = tuple(sorted(set(names)))
        if names == self._queues:
            return
        self._queues = names
        select = self.query_one("#staffing-queue", Select)
        with self.prevent(Select.Changed):
            select.set_options(
                [
                    ("All queues", ALL_QUEUES),
                    *((Content(clean_text(n, single_line=True, max_length=40)), n) for n in names),
                ]
            )
            select.value = self.queue if self.queue in names else ALL_QUEUES

    @on(Select.Changed, "#staffing-queue")
    def _queue_chosen(self) -> None:
        # The picker's value now, not the event's: a Changed queued while the options were
        # being replaced must not undo the choice made since.
        value = self.query_one("#staffing-queue", Select).value
        queue = value if isinstance(value, str) and value != ALL_QUEUES else None
        if queue != self.queue:
            self.queue = queue
            self.remeasure()

    @on(Input.Changed, "#window")
    def _window_changed(self, event: Input.Changed) -> None:
        try:
            minutes = int(event.value)
        except ValueError:
            minutes = 0
        if 1 <= minutes <= 1440:
            self.minutes = minutes
            self._window_error = ""
            self.remeasure()
        else:  # the last good window stays in use
            self._window_error = f"the window must be 1 to 1440 minutes (using {self.minutes})"
            self._show_problem(self._window_error)

    @on(Input.Changed, "#staffing-whatif Input")
    def _what_if_changed(self) -> None:
        self.recompute()

    def what_if(self) -> WhatIf:
        """The what-if typed so far; StaffingError names a field that is not a number."""

        def read(field_id: str, name: str) -> float | None:
            text = self.query_one(f"#{field_id}", Input).value.strip()
            if not text:
                return None
            try:
                number = float(text)
            except ValueError:
                raise StaffingError(f"{name}: not a number") from None
            if not math.isfinite(number) or number < 0:
                raise StaffingError(f"{name}: must be 0 or more")
            return number

        agents = read("whatif-agents", "agents")
        if agents is not None and (agents != int(agents) or agents > 100_000):
            raise StaffingError("agents: a whole number up to 100000")
        rate = read("whatif-rate", "calls/hour")
        aht = read("whatif-aht", "AHT")
        patience = read("whatif-patience", "patience")
        if aht == 0 or patience == 0:
            raise StaffingError("AHT and patience must be more than 0 s")
        return WhatIf(
            agents=None if agents is None else int(agents),
            rate=None if rate is None else rate / 3600.0,
            aht=aht,
            patience=patience,
        )

    def action_reset(self) -> None:
        for field in self.query("#staffing-whatif Input").results(Input):
            with self.prevent(Input.Changed):
                field.value = ""
        self.recompute()

    def action_back(self) -> None:
        self.dismiss(None)

    # ------------------------------------------------------------------------ drawing

    def recompute(self) -> None:
        """Recompute the figures from the measured input and the what-if, and draw them."""
        if self.measured is None:
            return
        try:
            self.view = staffing_view(self.measured, self.what_if())
        except StaffingError as exc:
            self.view = None
            self._show_problem(str(exc))
        else:
            self._show_problem(self._window_error)
        self._draw_results()

    def _show_problem(self, message: str) -> None:
        self.problem = message
        self.query_one("#staffing-problem", Static).update(Content(message))

    def _targets(self) -> QueueTargets:
        return self.book.defaults if self.queue is None else self.book.for_queue(self.queue)

    def _draw_measured(self) -> None:
        m = self.measured
        if m is None:
            return
        name = "all queues" if self.queue is None else clean_text(self.queue, single_line=True)
        source = f"from the {m.source}" if m.source.startswith("last") else f"from {m.source}"
        self.query_one("#staffing-title", Static).update(
            Content.assemble(("Staffing", "bold"), " — ", (name, "bold"), f"  · λ and AHT {source}")
        )
        patience = "unknown (no abandons)" if m.patience is None else _seconds(m.patience)
        self.query_one("#staffing-measured", Static).update(
            Content.assemble(
                ("Measured  ", "$text-muted"),
                f"{_number(m.calls_per_hour)} calls/h · AHT {_seconds(m.aht)} · ",
                f"patience {patience} · {m.agents} agents staffed\n",
                ("Targets   ", "$text-muted"),
                f"SL {m.sl_target * 100:.0f}% within {m.sl_threshold:g} s · "
                f"ASA ≤ {m.asa_target:g} s",
            )
        )
        placeholders = {
            "whatif-agents": str(m.agents),
            "whatif-rate": _number(m.calls_per_hour),
            "whatif-aht": "" if m.aht is None else _number(m.aht),
            "whatif-patience": "" if m.patience is None else _number(m.patience),
        }
        for field_id, text in placeholders.items():
            self.query_one(f"#{field_id}", Input).placeholder = text

    def _draw_results(self) -> None:
        results = self.query_one("#staffing-results", Static)
        v = self.view
        if v is None:
            results.update(Content.styled("No figures: see above.", "$text-muted"))
            return
        eff, t = v.effective, self._targets()
        staffed = eff.agents
        lines: list[Content] = [
            self._row("", Content.styled("Erlang C", "bold"), Content.styled("Erlang A", "bold")),
            self._needed_row(
                f"Agents for SL {eff.sl_target * 100:.0f}%/{eff.sl_threshold:g}s",
                v.needed_sl_c,
                v.needed_sl_a,
                staffed,
                v.at_staffing_a is not None,
            ),
            self._needed_row(
                f"Agents for ASA ≤ {eff.asa_target:g}s",
                v.needed_asa_c,
                v.needed_asa_a,
                staffed,
                v.at_staffing_a is not None,
            ),
            self._needed_row(
                "Agents for both", v.needed_c, v.needed_a, staffed, v.at_staffing_a is not None
            ),
            Content(""),
            Content.styled(
                f"At {staffed} agents"
                + (" (what-if)" if v.what_if.agents is not None else " (staffed now)")
                + f", {_number(eff.calls_per_hour)} calls/h, AHT {_seconds(eff.aht)}"
                + f" = {v.traffic:.2f} erlangs",
                "bold",
            ),
        ]
        c, a = v.at_staffing_c, v.at_staffing_a
        lines.append(
            self._row(
                "  Service level",
                _rag_cell("service_level", c.service_level, t),
                _rag_cell("service_level", None if a is None else a.service_level, t),
            )
        )
        lines.append(self._row("  ASA", _rag_cell("asa", c.asa, t), _rag_cell("asa", _asa(a), t)))
        for label, c_share, a_share in (
            ("  P(wait)", c.p_wait, None if a is None else a.p_wait),
            ("  P(abandon)", None, None if a is None else a.p_abandon),  # none under Erlang C
            ("  Occupancy", c.occupancy, None if a is None else a.occupancy),
        ):
            lines.append(self._row(label, _share_cell(c_share), _share_cell(a_share)))
        if a is None:
            lines.append(
                Content.styled(
                    "Erlang A needs the callers' patience: none measured (no abandons) — "
                    "type one in the what-if.",
                    "$text-muted",
                )
            )
        results.update(Content("\n").join(lines))

    def _row(self, label: str, c: Content, a: Content) -> Content:
        return Content.assemble(label.ljust(_LABEL)[:_LABEL], _pad(c), _pad(a))

    def _needed_row(
        self, label: str, c: int | None, a: int | None, staffed: int, has_a: bool
    ) -> Content:
        def cell(needed: int | None, shown: bool) -> Content:
            if not shown:
                return Content("—")
            if needed is None:
                return Content.styled("out of reach", "bold $text-error")
            style = RAG_STYLES[Rag.GREEN] if staffed >= needed else RAG_STYLES[Rag.RED]
            return Content.styled(str(needed), style)

        return self._row(label, cell(c, True), cell(a, has_a))


def _rag_cell(figure: str, value: float | None, t: QueueTargets) -> Content:
    """A predicted service level or ASA, coloured against the queue's targets."""
    if value is None:
        return Content("—")
    text = _percent(value) if figure == "service_level" else _seconds(value)
    return Content.styled(text, RAG_STYLES[rag_for(figure, value, t)])


def _share_cell(value: float | None) -> Content:
    return Content("—" if value is None else _percent(value))


def _asa(p: Prediction | None) -> float | None:
    return None if p is None else p.asa


def _pad(cell: Content) -> Content:
    """``cell`` right-aligned in a column of _CELL cells."""
    gap = max(1, _CELL - cell.cell_length)
    return Content(" " * gap) + cell
