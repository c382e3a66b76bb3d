"""The agent's worklist: my follow-ups and my queues' unclaimed ones, worked from the keyboard.

Two tables, "Mine" (claimed by me, or assigned to me and not yet taken) and "Available" (what
`Worklist.available` lets me claim, less what is already in Mine). Keys act on the highlighted
row of the table that has the focus, and are shown disabled when they don't apply to it:
accept (claim), next due, done, snooze, hand back. The lists reload every ten seconds — which
also renews my leases while the screen is open — and after every action, keeping the cursor on
the same follow-up. Refusals are the service's one-line `ClaimError`s, shown as they are.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.events import DescendantFocus, Resize
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Input, Label, Static
from textual.widgets.data_table import ColumnKey

from console.cti.ami_types import AmiError
from console.models.enums import FollowUpKind, FollowUpStatus
from console.screens.lifecycle import while_shown
from console.services.errors import ServiceError
from console.services.routing.worklist import MAX_NOTE, MAX_SNOOZE, ClaimError, WorkItem, Worklist
from console.widgets.format import LEVEL_STYLES, clip, due_level, due_text, sla_remaining, when
from console.widgets.forms import ErrorLine, FieldRow
from console.widgets.tables import column_widths

T = TypeVar("T")

REFRESH_SECONDS = 10.0
LOAD_GROUP = "worklist-load"
EMPTY_KEY = "empty"  # the placeholder row of an empty table
# (header, width) of the fixed columns; the summary takes what is left of the table's width.
PRIORITY, KIND, CUSTOMER = ("P", 3), ("Kind", 10), ("Customer", 16)
SUMMARY, DUE, SLA = ("Summary", 0), ("Due", 10), ("SLA", 13)
STATE, TRIES = ("State", 20), ("Tries", 5)
MIN_SUMMARY = 12
# On a narrow table (an 80-column terminal) the columns give way in this order, each down to
# the width given, until they fit. The key ones (kind, customer, due, state) keep enough to be
# read: the kind and the due time all of theirs, a customer 12 cells, a state 16 ("claimed to
# 10:35"). The summary, cut first, is shown whole under the tables for the highlighted row.
ITEM_SHRINK = (
    (TRIES[0], 3),
    (PRIORITY[0], 2),
    (SLA[0], 8),
    (SUMMARY[0], 6),
    (CUSTOMER[0], 12),
    (STATE[0], 16),
    (SLA[0], 6),
    (SUMMARY[0], 4),
)
# Headers for columns narrowed below their name.
SHORT_LABELS = {TRIES[0]: "Try", SUMMARY[0]: "Sum."}


# ---------------------------------------------------------------------- cells


def cell(value: str, style: str = "") -> Text:
    """A literal, one-line table cell (untrusted text is never markup)."""
    return Text(" ".join(value.split()), style=style, no_wrap=True, overflow="ellipsis")


def priority_cell(priority: int) -> Text:
    return cell(f"P{priority}", "bold" if priority <= 2 else "")


def sla_cell(item: WorkItem, now: datetime) -> Text:
    """Time left to the SLA, coloured green, amber under 4 h; "overdue" in red exactly when the
    follow-up is overdue by the one rule (`WorkItem.overdue`, as the team view counts it)."""
    sla = item.sla_due_at
    left = None if sla is None else int((sla - now).total_seconds())
    if item.overdue:
        text = sla_remaining(left)[0] if left is not None and left < 0 else "overdue"
        return cell(text, LEVEL_STYLES["error"])
    text, level = sla_remaining(None if left is None else max(0, left))
    return cell(text, LEVEL_STYLES[level])


def state_text(item: WorkItem, now: datetime, me: int | None = None) -> str:
    """Claimed (by me, until the lease ends) / assigned / snoozed until … / escalated Ln."""
    parts = []
    lease = item.lease_expires_at
    if item.status is FollowUpStatus.CLAIMED:
        lapsed = lease is not None and lease < now
        if me is not None and item.claimed_by != me:
            parts.append(f"lapsed: {item.claimed_by_name}" if lapsed else item.claimed_by_name)
        elif lapsed:
            parts.append("claimed, lease lapsed")
        else:
            parts.append(f"claimed to {when(lease, now)}" if lease else "claimed")
    elif item.snoozed_until is not None and item.snoozed_until > now:
        parts.append(f"snoozed until {when(item.snoozed_until, now)}")
    elif me is not None and item.target_agent_id == me:
        parts.append("assigned")
    elif not item.escalation_level:
        parts.append("open")
    if item.escalation_level:
        parts.append(f"escalated L{item.escalation_level}")
    return " · ".join(parts)


def attempts_text(item: WorkItem) -> str:
    return str(item.attempts) if item.kind is FollowUpKind.CALLBACK else ""


def item_cells(item: WorkItem, now: datetime, me: int | None = None) -> list[Text]:
    """The shared columns: priority, kind, customer, summary, due, SLA, state, tries."""
    due_style = LEVEL_STYLES[due_level(item.due_at, now, overdue=item.overdue)]
    return [
        priority_cell(item.priority),
        cell(item.kind.value),
        cell(item.customer_name or "—", "" if item.customer_name else "dim"),
        cell(item.summary),
        cell(due_text(item.due_at, now), due_style),
        sla_cell(item, now),
        cell(state_text(item, now, me)),
        cell(attempts_text(item)),
    ]


ITEM_COLUMNS = (PRIORITY, KIND, CUSTOMER, SUMMARY, DUE, SLA, STATE, TRIES)


def set_columns(
    table: DataTable[Text],
    columns: Sequence[tuple[str, int]],
    min_summary: int = MIN_SUMMARY,
    shrink: Sequence[tuple[str, int]] = (),
) -> bool:
    """(Re)build `table`'s columns for its width (see `column_widths`); False when they
    already fit."""
    # The vertical scrollbar is counted whether it shows or not, so rows never reflow.
    scrollbar = table.styles.scrollbar_size_vertical
    room = table.size.width - scrollbar - 2 * table.cell_padding * len(columns)
    widths = column_widths(columns, room, min_summary, shrink)
    if [c.width for c in table.columns.values()] == widths:
        return False
    table.clear(columns=True)
    for (label, _), width in zip(columns, widths, strict=True):
        header = SHORT_LABELS.get(label, label) if width < len(label) else label
        table.add_column(header, width=width, key=label)
    return True


def highlighted_key(table: DataTable[Text]) -> str | None:
    """The row key under the cursor (None in an empty table or on the placeholder)."""
    if table.row_count == 0 or not table.is_valid_row_index(table.cursor_row):
        return None
    key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    return None if key == EMPTY_KEY else key


def restore_cursor(table: DataTable[Text], key: str | None, index: int) -> None:
    """Put the cursor back on row `key`, else on the same position (clamped)."""
    if key is not None and key in table.rows:
        table.move_cursor(row=table.get_row_index(key), animate=False)
    elif table.row_count:
        table.move_cursor(row=min(index, table.row_count - 1), animate=False)


def fill_placeholder(table: DataTable[Text], columns: Sequence[tuple[str, int]]) -> None:
    """One dim "nothing here" row (the customer column is wide enough to say it)."""
    cells = [cell("") for _ in columns]
    labels = [label for label, _ in columns]
    cells[labels.index(CUSTOMER[0])] = cell("nothing here", "dim italic")
    table.add_row(*cells, key=EMPTY_KEY)


# ---------------------------------------------------------------------- snooze durations

_DURATION = re.compile(r"(\d{1,5})([mhd])")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}


def parse_duration(text: str) -> timedelta:
    """`30m`, `2h`, `1d`, `1h30m` → a timedelta; ValueError with one clear line otherwise."""
    raw = "".join(text.split()).lower()
    if not raw:
        raise ValueError("say how long, e.g. 30m, 2h or 1d")
    if _DURATION.sub("", raw) or not _DURATION.search(raw):
        raise ValueError(f"“{clip(text.strip(), 20)}” is not a duration: write e.g. 30m, 2h or 1d")
    total = sum((int(n) * _UNITS[unit] for n, unit in _DURATION.findall(raw)), timedelta())
    if total < timedelta(minutes=1):
        raise ValueError("a snooze lasts at least a minute")
    if total > MAX_SNOOZE:
        raise ValueError(f"a snooze lasts {MAX_SNOOZE.days} days at most; reschedule instead")
    return total


# ---------------------------------------------------------------------- dialogs

DIALOG_CSS = """
DIALOG { align: center middle; }
DIALOG .form-box {
    width: 100%; max-width: 72; height: auto; border: thick $primary;
    background: $surface; padding: 0 1;
}
DIALOG .form-title { height: auto; margin-bottom: 1; }
DIALOG FieldRow { margin-bottom: 0; }
"""


class ReasonScreen(ModalScreen[str | None]):
    """One line of text about a follow-up (a note, a reason); dismisses with it, None to cancel."""

    DEFAULT_CSS = DIALOG_CSS.replace("DIALOG", "ReasonScreen")
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, item: WorkItem, *, label: str, required: bool) -> None:
        super().__init__()
        self.title_text = title
        self.item = item
        self.label = label
        self.required = required

    def compose(self) -> ComposeResult:
        with Vertical(classes="form-box"):
            yield Static(
                Content.assemble((self.title_text, "bold"), " ", clip(self.item.summary, 50)),
                classes="form-title",
                markup=False,
            )
            placeholder = "required" if self.required else "optional"
            yield FieldRow(
                self.label,
                Input(placeholder=placeholder, max_length=MAX_NOTE, compact=True, id="reason"),
            )
            yield ErrorLine(id="reason-error")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        text = self.query_one("#reason", Input).value.strip()
        if self.required and not text:
            self.query_one(ErrorLine).show_error(f"{self.label} is required")
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)


class SnoozeScreen(ModalScreen[tuple[timedelta, str] | None]):
    """How long, and why (required); dismisses with both, None to cancel."""

    DEFAULT_CSS = DIALOG_CSS.replace("DIALOG", "SnoozeScreen")
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, item: WorkItem) -> None:
        super().__init__()
        self.item = item

    def compose(self) -> ComposeResult:
        with Vertical(classes="form-box"):
            yield Static(
                Content.assemble(("Snooze", "bold"), " ", clip(self.item.summary, 50)),
                classes="form-title",
                markup=False,
            )
            yield FieldRow(
                "For",
                Input(placeholder="e.g. 30m, 2h, 1d", max_length=20, compact=True, id="for"),
            )
            yield FieldRow(
                "Reason",
                Input(placeholder="required", max_length=200, compact=True, id="reason"),
            )
            yield ErrorLine(id="snooze-error")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#for", Input).focus()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        error = self.query_one(ErrorLine)
        try:
            length = parse_duration(self.query_one("#for", Input).value)
        except ValueError as exc:
            error.show_error(str(exc))
            self.query_one("#for", Input).focus()
            return
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            error.show_error("a reason is required")
            self.query_one("#reason", Input).focus()
            return
        self.dismiss((length, reason))

    def action_cancel(self) -> None:
        self.dismiss(None)


# ---------------------------------------------------------------------- the screen


class WorkTable(DataTable[Text]):
    """A worklist table: rows keyed by follow-up id; Enter accepts the highlighted one."""

    BINDINGS = [Binding("enter", "select_cursor", "Accept", show=False)]


class WorklistScreen(Screen[None]):
    """My follow-ups and what I may take; Escape goes back to the agent screen."""

    CSS_PATH = "worklist.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("a", "accept", "Accept"),
        Binding("n", "next", "Next due"),
        Binding("c", "call_back", "Call back"),
        Binding("d", "done", "Done"),
        Binding("s", "snooze", "Snooze"),
        Binding("h", "hand_back", "Hand back"),
        Binding("r", "refresh", "Refresh"),
    ]

    def __init__(
        self,
        worklist: Worklist,
        *,
        agent_id: int,
        clock: Callable[[], datetime],
        refresh_seconds: float = REFRESH_SECONDS,
        call_back: Callable[[int], Awaitable[object]] | None = None,
    ) -> None:
        super().__init__()
        self.worklist = worklist
        self.call_back = call_back  # dials a callback (None: no phone, e.g. a preview)
        self.agent_id = agent_id
        self.clock = clock
        self.refresh_seconds = refresh_seconds
        self.items: dict[str, dict[str, WorkItem]] = {"mine": {}, "available": {}}
        self.loads = 0  # completed loads (tests wait on it)
        self._active = "mine"  # the table the keys act on
        self._follow: tuple[str, str] | None = None  # (table, key) to focus after the load
        self._load_failed = False
        self._lists: tuple[list[WorkItem], list[WorkItem]] | None = None

    def compose(self) -> ComposeResult:
        yield Static(Content("Worklist"), id="wl-title", markup=False)
        yield Label("Mine", id="mine-label", classes="section")
        yield WorkTable(id="mine", cursor_type="row", zebra_stripes=True)
        yield Label("Available", id="available-label", classes="section")
        yield WorkTable(id="available", cursor_type="row", zebra_stripes=True)
        yield Static(id="wl-detail", markup=False)  # a narrow table's cut summary, whole
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#mine", WorkTable).focus()
        self.set_interval(self.refresh_seconds, self._tick)
        self.load()

    def now(self) -> datetime:
        return self.clock()

    # ---------------------------------------------------------------- loading

    def _tick(self) -> None:
        """The periodic reload; skipped while one is running (a slow database would otherwise
        have each tick cancel the last, and nothing would ever be shown)."""
        loading = [w for w in self.workers if w.node is self and w.group == LOAD_GROUP]
        if all(w.is_finished for w in loading):
            self.load(renew=True)

    @work(exclusive=True, group=LOAD_GROUP, exit_on_error=False)
    @while_shown
    async def load(self, *, renew: bool = False) -> None:
        """Read both lists and redraw them (`renew`: extend my leases first, the heartbeat)."""
        me = self.agent_id
        try:
            if renew:
                await self.worklist.renew(me)
            mine = await self.worklist.mine(me)
            available = await self.worklist.available(me)
        except Exception as exc:  # the database is away: say so once, keep the last lists
            if not self._load_failed:
                self.notify(f"could not read the worklist: {exc}", severity="error", markup=False)
            self._load_failed = True
            return
        self._load_failed = False
        held = {item.id for item in mine}
        self._show(mine, [item for item in available if item.id not in held])
        self.loads += 1

    def _show(self, mine: list[WorkItem], available: list[WorkItem]) -> None:
        self._lists = (mine, available)
        now = self.now()
        for name, items in (("mine", mine), ("available", available)):
            self._fill(self.query_one(f"#{name}", WorkTable), items, now)
            label = "Mine" if name == "mine" else "Available"
            self.query_one(f"#{name}-label", Label).update(Content(f"{label} ({len(items)})"))
        self.query_one("#wl-title", Static).update(
            Content.assemble(("Worklist", "bold"), f"  · updated {now:%H:%M:%S} UTC")
        )
        follow, self._follow = self._follow, None
        if follow is not None and follow[1] in self.items[follow[0]]:
            table = self.query_one(f"#{follow[0]}", WorkTable)
            table.move_cursor(row=table.get_row_index(follow[1]), animate=False)
            table.focus()
            self._active = follow[0]
        self.refresh_bindings()
        self._detail()

    def _detail(self) -> None:
        """Under a table too narrow for the summary: the highlighted follow-up's, whole."""
        detail = self.query_one("#wl-detail", Static)
        table = self.query_one("#mine", WorkTable)
        summary = table.columns.get(ColumnKey(SUMMARY[0]))
        narrow = summary is not None and summary.width < MIN_SUMMARY
        if detail.display != narrow:
            detail.display = narrow
        item = self.current()
        if not narrow or item is None:
            detail.update("")
            return
        sla = sla_cell(item, self.now()).plain
        detail.update(
            Content.assemble(
                ("▸ ", "$text-muted"),
                " ".join(item.summary.split()),
                ("  · ", "$text-muted"),
                sla if sla == "no SLA" else f"SLA {sla}",
            )
        )

    def _fill(self, table: WorkTable, items: Iterable[WorkItem], now: datetime) -> None:
        name = str(table.id)
        key, index = highlighted_key(table), table.cursor_row
        set_columns(table, ITEM_COLUMNS, shrink=ITEM_SHRINK)
        table.clear()
        self.items[name] = {}
        for item in items:
            self.items[name][str(item.id)] = item
            table.add_row(*item_cells(item, now, self.agent_id), key=str(item.id))
        if not self.items[name]:
            fill_placeholder(table, ITEM_COLUMNS)
        restore_cursor(table, key, index)

    def on_resize(self, event: Resize) -> None:
        # After the layout, when the tables have their new width.
        self.call_after_refresh(self._redraw)

    def _redraw(self) -> None:
        if self._lists is not None:
            self._show(*self._lists)

    # ---------------------------------------------------------------- which row

    @on(DescendantFocus)
    def _focused(self, event: DescendantFocus) -> None:
        if isinstance(event.widget, WorkTable) and event.widget.id in self.items:
            self._active = str(event.widget.id)
            self.refresh_bindings()
            self._detail()

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self.refresh_bindings()
        self._detail()

    def current(self) -> WorkItem | None:
        """The follow-up under the cursor of the active table."""
        tables = self.query(f"#{self._active}").results(WorkTable)
        key = next((highlighted_key(table) for table in tables), None)
        return None if key is None else self.items[self._active].get(key)

    def _held(self, item: WorkItem | None) -> bool:
        return (
            item is not None
            and item.status is FollowUpStatus.CLAIMED
            and item.claimed_by == self.agent_id
        )

    def _acceptable(self, item: WorkItem | None) -> bool:
        if item is None or self._held(item):
            return False
        snoozed = item.snoozed_until is not None and item.snoozed_until > self.now()
        return not snoozed

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Row keys are shown disabled when they don't apply to the highlighted row."""
        if action == "accept":
            return True if self._acceptable(self.current()) else None
        if action in ("done", "snooze", "hand_back"):
            return True if self._held(self.current()) else None
        if action == "call_back":
            item = self.current()
            dialable = item is not None and item.kind is FollowUpKind.CALLBACK
            return True if self.call_back is not None and dialable else None
        return True

    # ---------------------------------------------------------------- actions

    async def _attempt(self, call: Awaitable[T]) -> T | None:
        """Await a worklist call; a refusal is one notified line (and None)."""
        try:
            return await call
        except ClaimError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return None

    def _after(self, claimed: WorkItem | None = None) -> None:
        """Reload after an action; a follow-up just claimed gets the cursor, in Mine."""
        if claimed is not None:
            self._follow = ("mine", str(claimed.id))
        self.load()

    @on(DataTable.RowSelected)
    async def _selected(self) -> None:
        if self._acceptable(self.current()):
            await self.action_accept()

    async def action_accept(self) -> None:
        item = self.current()
        if not self._acceptable(item) or item is None:
            return
        self._after(await self._attempt(self.worklist.claim(self.agent_id, item.id)))

    async def action_next(self) -> None:
        try:
            claimed = await self.worklist.claim_next(self.agent_id)
        except ClaimError as exc:
            self.notify(str(exc), severity="error", markup=False)
            claimed = None
        else:
            if claimed is None:
                self.notify("Nothing due for you", markup=False)
        self._after(claimed)

    async def action_call_back(self) -> None:
        """Claim the highlighted callback and dial it; the call pops on the agent screen."""
        item = self.current()
        if self.call_back is None or item is None or item.kind is not FollowUpKind.CALLBACK:
            return
        try:
            await self.call_back(item.id)
        except (ServiceError, AmiError) as exc:  # one line; the worklist stays
            self.notify(f"Could not call back: {exc}", severity="error", markup=False)
            self.load()
            return
        self.dismiss()

    def action_done(self) -> None:
        item = self.current()
        if self._held(item) and item is not None:
            dialog = ReasonScreen("Done:", item, label="Note", required=False)
            self.app.push_screen(dialog, callback=partial(self._complete, item.id))

    async def _complete(self, followup_id: int, note: str | None) -> None:
        if note is not None:
            await self._attempt(self.worklist.complete(self.agent_id, followup_id, note=note))
            self._after()

    def action_snooze(self) -> None:
        item = self.current()
        if self._held(item) and item is not None:
            self.app.push_screen(SnoozeScreen(item), callback=partial(self._snooze, item.id))

    async def _snooze(self, followup_id: int, answer: tuple[timedelta, str] | None) -> None:
        if answer is None:
            return
        length, reason = answer
        until = self.now() + length
        await self._attempt(self.worklist.snooze(self.agent_id, followup_id, until, reason))
        self._after()

    def action_hand_back(self) -> None:
        item = self.current()
        if self._held(item) and item is not None:
            dialog = ReasonScreen("Hand back:", item, label="Reason", required=True)
            self.app.push_screen(dialog, callback=partial(self._hand_back, item.id))

    async def _hand_back(self, followup_id: int, reason: str | None) -> None:
        if reason is not None:
            await self._attempt(self.worklist.hand_back(self.agent_id, followup_id, reason))
            self._after()

    def action_refresh(self) -> None:
        self.load()

    def action_back(self) -> None:
        self.dismiss(None)
