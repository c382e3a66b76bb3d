"""The customer view, outside calls: profile, contact points, tickets and the full timeline.

Opened from the search (or the command palette) for any customer. The profile comes from the
screen-pop read (one worker hop); tickets from `TicketService`; the timeline is paged with
`CustomerService.timeline` cursors, a page at a time as the agent scrolls to its end or
presses `m`. Opening the view is audit-logged (`record_view`) once the profile is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane

from console.screens.customer_forms import AddNumberScreen, EditProfileScreen
from console.screens.lifecycle import while_shown
from console.screens.ticket import TicketScreen
from console.services.crm.customers import (
    CustomerService,
    TimelineCursor,
    TimelineEntry,
)
from console.services.crm.tickets import TicketRecord, TicketService
from console.services.desk.screenpop import CustomerProfile, FollowUpSummary, ScreenPopService
from console.services.errors import ServiceError
from console.services.text import excerpt
from console.widgets.format import (
    LEVEL_CONTENT_STYLES,
    LEVEL_STYLES,
    clip,
    due_level,
    due_text,
    duration,
    lifecycle_label,
    money,
    sla_remaining,
    tier_badge,
    when,
)

PAGE_SIZE = 50
RECENT_TICKETS = 10  # closed tickets shown besides the open ones (found through the timeline)
TABS = {"profile": "cust-profile", "tickets": "cust-tickets", "history": "cust-history"}


def _cell(value: str, style: str = "") -> Text:
    return Text(value, style=style, no_wrap=True, overflow="ellipsis")


def profile_view(
    profile: CustomerProfile, followups: tuple[FollowUpSummary, ...], now: datetime
) -> Content:
    """The profile tab: facts, phone numbers, emails and pending follow-ups, all literal."""
    muted = "$text-muted"
    lines = [
        Content.assemble(
            (f"{profile.kind} · language {profile.language or '?'}", ""),
            (f" · LTV {money(profile.lifetime_value_cents, profile.currency)}", ""),
            (" · RFM {}{}{}".format(*profile.rfm), muted),
        )
    ]
    if profile.organisation_name:
        lines.append(Content.assemble(("organisation ", muted), profile.organisation_name))
    if profile.account_owner:
        lines.append(Content.assemble(("account owner ", muted), profile.account_owner))
    lines.append(
        Content.assemble(("tags ", muted), ", ".join(profile.tags) if profile.tags else "–")
    )
    lines.append(Content.assemble(("customer since ", muted), f"{profile.created_at:%Y-%m-%d}"))
    lines += [Content(""), Content.styled("Notes", "bold")]
    lines.append(Content(profile.notes) if profile.notes else Content.styled("none", muted))
    lines += [Content(""), Content.styled("Phone numbers", "bold")]
    for phone in profile.phones:
        label = f"  “{phone.label}”" if phone.label else ""
        kind = f"{phone.subtype or 'phone':<9}"
        lines.append(Content.assemble((kind, muted), phone.value, label))
    if not profile.phones:
        lines.append(Content.styled("none · n to add one", muted))
    lines += [Content(""), Content.styled("Email", "bold")]
    for email in profile.emails:
        label = f"  “{email.label}”" if email.label else ""
        lines.append(Content.assemble(email.value, label))
    if not profile.emails:
        lines.append(Content.styled("none", muted))
    if followups:
        lines += [Content(""), Content.styled("Pending follow-ups", "bold")]
        for item in followups:
            level = due_level(item.due_at, now, overdue=item.overdue)
            lines.append(
                Content.assemble(
                    (f"{due_text(item.due_at, now):<10}", LEVEL_CONTENT_STYLES[level]),
                    (f"  {item.kind}  ", muted),
                    item.summary,
                )
            )
    return Content("\n").join(lines)


def entry_detail(entry: TimelineEntry, now: datetime) -> Content:
    """Everything about one contact, for the pane under the timeline."""
    muted = "$text-muted"
    facts = [
        f"{entry.offered_at:%Y-%m-%d %H:%M}",
        f"{entry.channel} {entry.direction}",
        entry.status,
    ]
    if entry.agent_name:
        facts.append(entry.agent_name)
    if entry.queue_name:
        facts.append(f"queue {entry.queue_name}")
    if entry.caller:
        facts.append(entry.caller)
    times = f"talk {duration(entry.talk_seconds)} · hold {duration(entry.hold_seconds)}"
    extra = [times, f"wrap {duration(entry.wrap_seconds)}"]
    if entry.disposition:
        extra.append(entry.disposition)
    if entry.ticket_id is not None:
        extra.append(f"ticket #{entry.ticket_id}")
    if entry.csat is not None:
        extra.append(f"CSAT {entry.csat}")
    if entry.resolved_first_contact is not None:
        extra.append("resolved first contact" if entry.resolved_first_contact else "not FCR")
    if entry.transferred_to:
        extra.append(f"transferred to {entry.transferred_to}")
    return Content("\n").join(
        [
            Content.assemble((" · ".join(facts), "bold")),
            Content.styled(" · ".join(extra), muted),
            Content(entry.notes) if entry.notes else Content.styled("no notes", muted),
        ]
    )


class TicketsTable(DataTable[Text]):
    """Open tickets first (soonest SLA), then recent closed ones; Enter opens one."""

    BINDINGS = [Binding("enter", "select_cursor", "Open ticket")]


class TimelineTable(DataTable[Text]):
    """Every contact on every channel, newest first."""


class CustomerScreen(Screen[None]):
    """One customer's record and history; Escape goes back to where the agent came from."""

    CSS_PATH = "customer.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("1", "tab('profile')", "Profile"),
        Binding("2", "tab('tickets')", "Tickets"),
        Binding("3", "tab('history')", "History"),
        Binding("e", "edit", "Edit"),
        Binding("n", "add_number", "Add number"),
        Binding("m", "more", "More"),
    ]

    def __init__(
        self,
        customer_id: int,
        *,
        customers: CustomerService,
        tickets: TicketService,
        screenpop: ScreenPopService,
        agent_id: int,
        clock: Callable[[], datetime] | None = None,
        region: str = "US",
        page_size: int = PAGE_SIZE,
    ) -> None:
        super().__init__()
        self.customer_id = customer_id
        self.customers = customers
        self.tickets = tickets
        self.screenpop = screenpop
        self.agent_id = agent_id
        self._clock = clock or (lambda: datetime.now(UTC))
        self.number_region = region
        self.page_size = page_size
        self.profile: CustomerProfile | None = None
        self.followups: tuple[FollowUpSummary, ...] = ()
        self.ticket_rows: list[TicketRecord] = []
        self.timeline: list[TimelineEntry] = []
        self.next_cursor: TimelineCursor | None = None
        self.timeline_complete = False
        self.loaded = False  # profile, first timeline page and tickets shown
        self.viewed = False  # the view was audit-logged
        self._loading_page = False

    def compose(self) -> ComposeResult:
        yield Static(
            Content(f"Loading customer #{self.customer_id}…"), id="cust-title", markup=False
        )
        with TabbedContent(id="cust-tabs"):
            with (
                TabPane("1 Profile", id=TABS["profile"]),
                VerticalScroll(id="cust-profile-scroll"),
            ):
                yield Static("", id="cust-profile-body", markup=False)
            with TabPane("2 Tickets", id=TABS["tickets"]):
                yield TicketsTable(id="cust-ticket-table", cursor_type="row", zebra_stripes=True)
                yield Static("", id="cust-tickets-status", markup=False)
            with TabPane("3 History", id=TABS["history"]):
                yield TimelineTable(id="cust-timeline", cursor_type="row", zebra_stripes=True)
                yield Static("", id="cust-timeline-status", markup=False)
                with VerticalScroll(id="cust-timeline-detail"):
                    yield Static("", id="cust-timeline-entry", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        tickets = self.query_one(TicketsTable)
        for label, width in (("#", 6), ("Subject", 30), ("Prio", 6), ("Status", 8)):
            tickets.add_column(label, width=width)
        tickets.add_column("SLA / closed", width=14)
        timeline = self.query_one(TimelineTable)
        for label, width in (("When", 10), ("Ch", 5), ("Agent", 14), ("Outcome", 12)):
            timeline.add_column(label, width=width)
        timeline.add_column("Talk", width=5)
        timeline.add_column("Notes", width=40)
        self.watch(timeline, "scroll_y", self._timeline_scrolled, init=False)
        self.query_one("#cust-profile-scroll").focus()
        self._load_everything()

    def now(self) -> datetime:
        return self._clock()

    # ---------------------------------------------------------------- loading

    @work(exclusive=True, group="customer-load", exit_on_error=False)
    @while_shown
    async def _load_everything(self) -> None:
        if not await self._load_profile():
            return
        try:
            await self.customers.record_view(self.agent_id, self.customer_id)
            self.viewed = True
        except ServiceError as exc:
            self.notify(f"could not record the view: {exc}", severity="warning", markup=False)
        await self._load_page()
        await self._load_tickets()
        self.loaded = True

    async def _load_profile(self) -> bool:
        try:
            pop = await self.screenpop.for_customer(self.customer_id)
        except ServiceError as exc:
            self._title(Content.styled(str(exc), "bold $text-error"))
            return False
        if pop.profile is None:
            self._title(
                Content.styled(f"Customer #{self.customer_id} does not exist", "bold $text-error")
            )
            return False
        self.profile, self.followups = pop.profile, pop.followups
        self._draw_profile()
        self.refresh_bindings()
        return True

    def _draw_profile(self) -> None:
        profile = self.profile
        if profile is None:
            return
        org = f" · {clip(profile.organisation_name, 30)}" if profile.organisation_name else ""
        self._title(
            Content.assemble(
                tier_badge(profile.tier),
                " ",
                (clip(profile.display_name, 120), "bold"),
                (f"{org} · ", "$text-muted"),
                lifecycle_label(profile.lifecycle),
                (f" · #{profile.id}", "$text-muted"),
            )
        )
        body = profile_view(profile, self.followups, self.now())
        self.query_one("#cust-profile-body", Static).update(body)

    def _title(self, content: Content) -> None:
        self.query_one("#cust-title", Static).update(content)

    async def _load_tickets(self) -> None:
        try:
            rows = await self.tickets.open_for(self.customer_id)
        except ServiceError as exc:
            self.notify(f"could not load the tickets: {exc}", severity="error", markup=False)
            return
        # Recent closed tickets: the ones the contacts shown so far refer to.
        known = {t.id for t in rows}
        recent: list[TicketRecord] = []
        for entry in self.timeline:
            ticket_id = entry.ticket_id
            if ticket_id is None or ticket_id in known or len(recent) >= RECENT_TICKETS:
                continue
            known.add(ticket_id)
            try:
                detail = await self.tickets.get(ticket_id)
            except ServiceError:
                continue
            if detail.ticket.customer_id == self.customer_id:
                recent.append(detail.ticket)
        self.ticket_rows = rows + recent
        self._draw_tickets()

    def _draw_tickets(self) -> None:
        table = self.query_one(TicketsTable)
        table.clear()
        now = self.now()
        for ticket in self.ticket_rows:
            if ticket.is_open:
                due, level = sla_remaining(ticket.sla_remaining_seconds)
                last = _cell(due, LEVEL_STYLES[level])
            else:
                closed = ticket.resolved_at or ticket.updated_at
                last = _cell(f"{ticket.status} {when(closed, now)}", "dim")
            table.add_row(
                _cell(str(ticket.id)),
                _cell(ticket.subject),
                _cell(ticket.priority, "bold red" if ticket.priority == "urgent" else ""),
                _cell(ticket.status),
                last,
                key=str(ticket.id),
            )
        open_count = sum(1 for t in self.ticket_rows if t.is_open)
        closed_count = len(self.ticket_rows) - open_count
        status = f"{open_count} open" + (f" · {closed_count} recent closed" if closed_count else "")
        if not self.ticket_rows:
            status = "No open tickets, none referred to by recent contacts."
        else:
            status += " · Enter opens a ticket"
        self.query_one("#cust-tickets-status", Static).update(Content(status))

    async def _load_page(self) -> None:
        if self._loading_page or self.timeline_complete:
            return
        self._loading_page = True
        try:
            page = await self.customers.timeline(
                self.customer_id, self.page_size, before=self.next_cursor
            )
        except ServiceError as exc:
            self.notify(f"could not load the history: {exc}", severity="error", markup=False)
            return
        finally:
            self._loading_page = False
        self.timeline.extend(page.entries)
        self.next_cursor = page.next_cursor
        self.timeline_complete = page.next_cursor is None
        table = self.query_one(TimelineTable)
        now = self.now()
        for entry in page.entries:
            table.add_row(
                _cell(when(entry.offered_at, now)),
                _cell(entry.channel[:5]),
                _cell(entry.agent_name or "–"),
                _cell(entry.disposition or entry.status),
                _cell(duration(entry.talk_seconds) if entry.talk_seconds else "–"),
                _cell(excerpt(entry.notes, 80)),
                key=str(entry.id),
            )
        count = len(self.timeline)
        if self.timeline_complete:
            status = f"All {count} contacts." if count else "No contacts yet."
        else:
            status = f"Newest {count} contacts · m or scroll to the end for more"
        self.query_one("#cust-timeline-status", Static).update(Content(status))
        if count and len(page.entries) == count:
            self._show_entry(0)
        self.refresh_bindings()

    @work(exclusive=True, group="customer-timeline", exit_on_error=False)
    @while_shown
    async def load_more(self) -> None:
        """The next page of the timeline (nothing when all of it is shown)."""
        await self._load_page()

    def _timeline_scrolled(self) -> None:
        table = self.query_one(TimelineTable)
        if (
            not self.timeline_complete
            and table.max_scroll_y
            and (table.scroll_y >= table.max_scroll_y)
        ):
            self.load_more()

    @on(DataTable.RowHighlighted, "#cust-timeline")
    def _entry_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_entry(event.cursor_row)
        if event.cursor_row >= len(self.timeline) - 1 and not self.timeline_complete:
            self.load_more()

    def _show_entry(self, index: int) -> None:
        if 0 <= index < len(self.timeline):
            detail = entry_detail(self.timeline[index], self.now())
            self.query_one("#cust-timeline-entry", Static).update(detail)

    # ---------------------------------------------------------------- actions

    def action_back(self) -> None:
        self.dismiss(None)

    def action_tab(self, name: str) -> None:
        self.query_one(TabbedContent).active = TABS[name]
        self._focus_tab(name)

    def _focus_tab(self, name: str) -> None:
        target = {
            "profile": "#cust-profile-scroll",
            "tickets": "#cust-ticket-table",
            "history": "#cust-timeline",
        }[name]
        self.query_one(target).focus()

    @on(TabbedContent.TabActivated)
    def _tab_changed(self, event: TabbedContent.TabActivated) -> None:
        self.refresh_bindings()

    def action_more(self) -> None:
        self.load_more()

    def action_edit(self) -> None:
        if self.profile is None:
            return
        self.app.push_screen(
            EditProfileScreen(self.customers, self.profile, agent_id=self.agent_id),
            callback=self._edited,
        )

    async def _edited(self, changed: frozenset[str] | None) -> None:
        if changed:
            self.notify(
                "Saved: " + ", ".join(sorted(changed)).replace("_", " "), timeout=4, markup=False
            )
            await self._load_profile()

    def action_add_number(self) -> None:
        if self.profile is None:
            return
        self.app.push_screen(
            AddNumberScreen(
                self.customers,
                self.customer_id,
                agent_id=self.agent_id,
                customer_name=self.profile.display_name,
                region=self.number_region,
            ),
            callback=self._number_added,
        )

    async def _number_added(self, e164: str | None) -> None:
        if e164:
            self.notify(f"Added {e164}", timeout=4, markup=False)
            await self._load_profile()

    @on(DataTable.RowSelected, "#cust-ticket-table")
    def _ticket_chosen(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        if key is None:
            return
        self.app.push_screen(
            TicketScreen(self.tickets, int(key), agent_id=self.agent_id, clock=self._clock),
            callback=self._ticket_closed,
        )

    async def _ticket_closed(self, changed: bool | None) -> None:
        if changed:
            await self._load_tickets()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Each tab's keys on that tab only; `m` greyed out when all the history is shown."""
        if action == "more":
            tabs = self.query(TabbedContent)
            if not tabs or tabs.first().active != TABS["history"]:
                return False
            return None if self.timeline_complete else True
        if action in ("edit", "add_number"):
            # Profile keys belong to the profile tab (the footer has room for one tab's keys).
            tabs = self.query(TabbedContent)
            if not tabs or tabs.first().active != TABS["profile"]:
                return False
            return None if self.profile is None else True
        return True
