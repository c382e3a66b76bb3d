"""One queue on the wallboard: its figures coloured against the queue's targets, its agents by
state and two sparklines (calls waiting, service level) over the last hour.

`QueueTile` is the normal board's; `BigQueueTile` the wall TV's (big digits, three figures).
Both are handed `QueueLive` snapshots and the queue's red/amber/green verdicts; they never read
a service themselves. Queue names are rendered as plain `Content`, never as markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Digits, Label, Sparkline, Static

from console.services.supervision.alerts import Rag
from console.services.supervision.live_types import QueueLive
from console.widgets.format import duration

#: Content styles of the verdicts (theme variables, so light and dark themes both work).
RAG_STYLES = {Rag.GREEN: "$text-success", Rag.AMBER: "$text-warning", Rag.RED: "bold $text-error"}
RAG_CLASSES = {Rag.GREEN: "-green", Rag.AMBER: "-amber", Rag.RED: "-red"}
_ORDER = (Rag.RED, Rag.AMBER, Rag.GREEN)


def percent(value: float | None) -> str:
    """``0.784`` → ``78%``; None → ``–``."""
    return "–" if value is None else f"{value * 100:.0f}%"


def worst(rag: Mapping[str, Rag]) -> Rag:
    """The worst verdict among a queue's figures (NONE when none has a target)."""
    found = set(rag.values())
    return next((level for level in _ORDER if level in found), Rag.NONE)


def sl_points(history: Sequence[float | None]) -> list[float]:
    """Sparkline points for the SL samples: a minute without calls keeps the last level."""
    points: list[float] = []
    last = 0.0
    for value in history:
        last = value if value is not None else last
        points.append(last * 100)
    return points


def _figure(label: str, value: str, level: Rag | None = None) -> Content:
    style = RAG_STYLES.get(level, "bold") if level is not None else "bold"
    return Content.assemble((f"{label} ", "$text-muted"), (value, style))


def _set_rag_class(widget: Widget, level: Rag | None) -> None:
    """Colour ``widget`` by ``level``; only a change touches its classes (a class change
    restyles the widget and its children: tens of ms for a board, if done every redraw)."""
    wanted = RAG_CLASSES.get(level) if level is not None else None
    current = next((name for name in RAG_CLASSES.values() if widget.has_class(name)), None)
    if wanted == current:
        return
    if current is not None:
        widget.remove_class(current)
    if wanted is not None:
        widget.add_class(wanted)


class QueueTile(Vertical):
    """A queue's figures, agents and sparklines (see the module docstring)."""

    DEFAULT_CSS = """
    QueueTile { height: auto; border: round $panel-lighten-2; padding: 0 1; }
    QueueTile.-green { border: round $success; }
    QueueTile.-amber { border: round $warning; }
    QueueTile.-red { border: heavy $error; }
    QueueTile Static { height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    QueueTile .qt-spark { height: 1; }
    QueueTile .qt-spark Label { width: 8; color: $text-muted; }
    QueueTile Sparkline { width: 1fr; }
    """

    def __init__(self, queue: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.queue = queue
        self.border_title = Content(queue)
        self._shown: dict[str, object] = {}  # what each part shows, to redraw only changes
        self._latest: tuple[QueueLive, Mapping[str, Rag]] | None = None
        self._ready = False  # children composed (set in on_mount, before is_mounted is)

    def on_mount(self) -> None:
        self._ready = True
        if self._latest is not None:
            self.show(*self._latest)

    def _put(self, part: str, content: Content) -> None:
        if self._shown.get(part) != content:
            self._shown[part] = content
            self.query_one(f"#{part}", Static).update(content, layout=False)

    def _spark(self, part: str, points: list[float]) -> None:
        if len(points) < 2:
            points = []  # Textual draws a lone sample as a full bar: no trend yet, a baseline
        if self._shown.get(part) != points:
            self._shown[part] = points
            self.query_one(f"#{part}", Sparkline).data = points

    def compose(self) -> ComposeResult:
        yield Static(id="qt-waiting", markup=False)
        yield Static(id="qt-service", markup=False)
        yield Static(id="qt-counts", markup=False)
        yield Static(id="qt-agents", markup=False)
        with Horizontal(classes="qt-spark"):
            yield Label("waiting")
            yield Sparkline([], id="qt-wait-spark")
        with Horizontal(classes="qt-spark"):
            yield Label("SL %")
            yield Sparkline([], id="qt-sl-spark")

    def show(self, q: QueueLive, rag: Mapping[str, Rag]) -> None:
        """Draw ``q`` with its verdicts (keys service_level, asa, longest_wait, abandon_rate)."""
        self._latest = (q, rag)
        if not self._ready:
            return  # drawn once mounted
        s = q.summary
        self._put(
            "qt-waiting",
            Content(" ").join(
                [
                    _figure("Waiting", str(q.waiting)),
                    _figure("Longest", duration(q.longest_wait), rag.get("longest_wait")),
                ]
            ),
        )
        self._put(
            "qt-service",
            Content(" ").join(
                [
                    _figure("SL", percent(s.service_level), rag.get("service_level")),
                    _figure("ASA", duration(s.asa), rag.get("asa")),
                    _figure("AHT", duration(s.aht)),
                ]
            ),
        )
        self._put(
            "qt-counts",
            Content(" ").join(
                [
                    _figure("Aband.", percent(s.abandon_rate), rag.get("abandon_rate")),
                    _figure("Off", str(s.offered)),
                    _figure("Ans", str(s.answered)),
                    _figure("Ab", str(s.abandoned)),
                ]
            ),
        )
        self._put(
            "qt-agents",
            Content.assemble(
                ("Agents ", "$text-muted"),
                (str(q.logged_in), "bold"),
                ("  avail ", "$text-muted"),
                (str(q.available), "bold $text-success"),
                (" call ", "$text-muted"),
                (str(q.on_call), "bold"),
                (" wrap ", "$text-muted"),
                (str(q.wrap_up), "bold"),
                (" NR ", "$text-muted"),
                (str(q.not_ready), "bold"),
            ),
        )
        self._spark("qt-wait-spark", list(q.waiting_history))
        self._spark("qt-sl-spark", sl_points(q.sl_history))
        _set_rag_class(self, worst(rag))


class BigFigure(Vertical):
    """A label over a number in big digits."""

    DEFAULT_CSS = """
    BigFigure { width: 1fr; height: auto; }
    BigFigure Label { color: $text-muted; }
    """

    def __init__(self, label: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.label = label

    def compose(self) -> ComposeResult:
        yield Label(self.label)
        yield Digits("")

    def show(self, value: str, level: Rag | None) -> None:
        digits = self.query_one(Digits)
        if digits.value != value:
            digits.update(value)
        _set_rag_class(digits, level)


class BigQueueTile(Vertical):
    """The wall TV's tile: waiting, longest wait and service level in big digits."""

    DEFAULT_CSS = """
    BigQueueTile { height: auto; border: heavy $panel-lighten-3; padding: 0 1; }
    BigQueueTile.-green { border: heavy $success; }
    BigQueueTile.-amber { border: heavy $warning; }
    BigQueueTile.-red { border: heavy $error; }
    BigQueueTile #bq-name { text-style: bold; height: 1; text-wrap: nowrap; }
    BigQueueTile Horizontal { height: auto; }
    BigQueueTile Digits { text-style: bold; }
    BigQueueTile Digits.-green { color: $success; }
    BigQueueTile Digits.-amber { color: $warning; }
    BigQueueTile Digits.-red { color: $error; }
    """

    def __init__(self, queue: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.queue = queue
        self._latest: tuple[QueueLive, Mapping[str, Rag]] | None = None
        self._ready = False  # children composed (set in on_mount, before is_mounted is)

    def on_mount(self) -> None:
        self._ready = True
        if self._latest is not None:
            self.show(*self._latest)

    def compose(self) -> ComposeResult:
        yield Static(Content(self.queue), id="bq-name", markup=False)
        with Horizontal():
            yield BigFigure("waiting", id="bq-waiting")
            yield BigFigure("longest", id="bq-longest")
            yield BigFigure("SL %", id="bq-sl")

    def show(self, q: QueueLive, rag: Mapping[str, Rag]) -> None:
        """Draw ``q``'s three wall figures with their verdicts."""
        self._latest = (q, rag)
        if not self._ready:
            return  # drawn once mounted
        self.query_one("#bq-waiting", BigFigure).show(str(q.waiting), None)
        longest = duration(q.longest_wait)
        self.query_one("#bq-longest", BigFigure).show(longest, rag.get("longest_wait"))
        sl = q.summary.service_level
        self.query_one("#bq-sl", BigFigure).show(
            "-" if sl is None else f"{sl * 100:.0f}", rag.get("service_level")
        )
        # Only what the wall shows colours its border: a red frame needs a red number.
        shown = {k: v for k, v in rag.items() if k in ("longest_wait", "service_level")}
        _set_rag_class(self, worst(shown))
