"""The screen pop: who is calling, before the agent answers.

One lookup = one worker hop running six indexed, bounded queries in one read transaction
(see `Database.read_rows`): a warm handoff (another agent's answered leg of the same call, by
Linkedid); matching customers ranked by most recent contact; the chosen customer's phones and
emails; the last interactions on every channel; open tickets with SLA remaining; pending
follow-ups. On PostgreSQL an inbound call's pop is all of these in one statement
(`_POP_IN_ONE`), one round trip.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Select,
    String,
    bindparam,
    func,
    literal,
    nulls_last,
    select,
    tuple_,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import aliased

from console.db import Database, RowReader
from console.models import (
    Agent,
    Customer,
    EmailAddress,
    FollowUp,
    Interaction,
    PhoneNumber,
    Queue,
    Ticket,
)
from console.models.base import from_db_time
from console.models.customer import tag_list
from console.models.enums import OPEN_TICKET_STATUSES, PENDING_FOLLOWUP_STATUSES
from console.services.crm.phones import PhoneNumberResult, normalise
from console.services.outbound.campaign_call import CAMPAIGN_LEAD, CampaignCall, campaign_call
from console.services.routing.followups import is_overdue
from console.services.text import clean_text, excerpt

HISTORY_LIMIT = 20
MATCH_LIMIT = 50
TICKET_LIMIT = 20
FOLLOWUP_LIMIT = 20


@dataclass(frozen=True, slots=True)
class CustomerMatch:
    """A customer the caller's number belongs to, and why it matched."""

    customer_id: int
    display_name: str
    kind: str
    tier: str
    lifecycle: str
    organisation_name: str
    last_contact_at: datetime | None
    phone_kind: str
    phone_label: str

    @property
    def reason(self) -> str:
        label = f" “{self.phone_label}”" if self.phone_label else ""
        return f"caller's number is this customer's {self.phone_kind} number{label}"


@dataclass(frozen=True, slots=True)
class ContactPoint:
    """A phone number or email address of a customer."""

    kind: str  # "phone" or "email"
    value: str
    subtype: str  # mobile / landline / work / fax for phones
    label: str


@dataclass(frozen=True, slots=True)
class CustomerProfile:
    """The shared customer record, as the agent sees it."""

    id: int
    kind: str
    display_name: str
    organisation_id: int | None
    organisation_name: str
    language: str
    tier: str
    lifecycle: str
    rfm: tuple[int, int, int]
    lifetime_value_cents: int
    currency: str
    tags: tuple[str, ...]
    notes: str
    account_owner: str
    created_at: datetime
    contact_points: tuple[ContactPoint, ...] = ()

    @property
    def phones(self) -> tuple[ContactPoint, ...]:
        return tuple(p for p in self.contact_points if p.kind == "phone")

    @property
    def emails(self) -> tuple[ContactPoint, ...]:
        return tuple(p for p in self.contact_points if p.kind == "email")


@dataclass(frozen=True, slots=True)
class InteractionSummary:
    """One line of contact history."""

    id: int
    channel: str
    direction: str
    status: str
    offered_at: datetime
    agent_name: str
    queue_name: str
    disposition: str
    note_excerpt: str
    talk_seconds: int


@dataclass(frozen=True, slots=True)
class TicketSummary:
    """An open ticket and how long until its SLA is breached (negative: overdue)."""

    id: int
    subject: str
    category: str
    priority: str
    status: str
    sla_due_at: datetime | None
    sla_remaining_seconds: int | None
    assignee: str


@dataclass(frozen=True, slots=True)
class FollowUpSummary:
    """A pending callback, escalation or task for the customer."""

    id: int
    kind: str
    status: str
    due_at: datetime
    priority: int
    summary: str
    claimed_by: str
    overdue: bool = False  # at the lookup, by `followups.is_overdue` (its SLA)


@dataclass(frozen=True, slots=True)
class Handoff:
    """A warm handoff: what the agent who had this call before (same Linkedid, a transfer or
    a consult) chose and wrote, shared through the database so it works on any PBX."""

    interaction_id: int
    from_agent: str
    customer_id: int | None
    notes: str
    disposition: str
    at: datetime  # when that agent's leg rang


@dataclass(frozen=True, slots=True)
class ScreenPop:
    """Everything the agent needs before answering."""

    caller: PhoneNumberResult
    matches: tuple[CustomerMatch, ...] = ()
    profile: CustomerProfile | None = None
    history: tuple[InteractionSummary, ...] = ()
    open_tickets: tuple[TicketSummary, ...] = ()
    followups: tuple[FollowUpSummary, ...] = ()
    looked_up_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    handoff: Handoff | None = None
    unavailable: str = ""  # why the CRM could not be read (the database is away)
    campaign: CampaignCall | None = None  # an outbound campaign's call: script, dispositions

    @property
    def is_unknown(self) -> bool:
        """A valid number nobody in the CRM has."""
        return self.caller.is_valid and not self.matches

    @property
    def is_ambiguous(self) -> bool:
        """Several customers share the number: the agent picks one."""
        return len(self.matches) > 1


Details = tuple[
    CustomerProfile | None,
    tuple[InteractionSummary, ...],
    tuple[TicketSummary, ...],
    tuple[FollowUpSummary, ...],
]
Rows = Sequence[Sequence[Any]]
#: The rows of a customer's profile, contact points, history, tickets and follow-ups.
DetailRows = tuple[Rows, Rows, Rows, Rows, Rows]


# Statements are built once; SQLAlchemy caches their compiled form.
_org = aliased(Customer)
_last_contact = (
    select(Interaction.offered_at)
    .where(Interaction.customer_id == Customer.id)
    .order_by(Interaction.offered_at.desc())
    .limit(1)
    .correlate(Customer)
    .scalar_subquery()
)
_MATCHES = (
    select(
        Customer.id,
        Customer.display_name,
        Customer.kind,
        Customer.tier,
        Customer.lifecycle,
        _org.display_name,
        _last_contact.label("last_contact"),
        PhoneNumber.kind,
        PhoneNumber.label,
    )
    .select_from(PhoneNumber)
    .join(Customer, Customer.id == PhoneNumber.customer_id)
    .outerjoin(_org, _org.id == Customer.organisation_id)
    .where(PhoneNumber.e164 == bindparam("e164"))
    .order_by(nulls_last(_last_contact.desc()), Customer.id)
    .limit(MATCH_LIMIT)
)
_owner = aliased(Agent)


def _profile_of(cid: Any) -> Any:
    return (
        select(
            Customer.id,
            Customer.kind,
            Customer.display_name,
            Customer.organisation_id,
            _org.display_name,
            Customer.language,
            Customer.tier,
            Customer.lifecycle,
            Customer.rfm_recency,
            Customer.rfm_frequency,
            Customer.rfm_monetary,
            Customer.lifetime_value_cents,
            Customer.currency,
            Customer.tags,
            Customer.notes,
            _owner.display_name,
            Customer.created_at,
        )
        .outerjoin(_org, _org.id == Customer.organisation_id)
        .outerjoin(_owner, _owner.id == Customer.account_owner_id)
        .where(Customer.id == cid)
    )


def _contact_points_of(cid: Any) -> CompoundSelect[Any]:
    return union_all(
        select(
            literal("phone").label("k"),
            PhoneNumber.e164,
            # Plain text, not the enum type: the email half of the union has no kind.
            type_coerce(PhoneNumber.kind, String).label("subtype"),
            PhoneNumber.label,
        ).where(PhoneNumber.customer_id == cid),
        select(
            literal("email").label("k"), EmailAddress.address, literal(""), EmailAddress.label
        ).where(EmailAddress.customer_id == cid),
    )


def _history_of(cid: Any) -> Any:
    return (
        select(
            Interaction.id,
            Interaction.channel,
            Interaction.direction,
            Interaction.status,
            Interaction.offered_at,
            Agent.display_name,
            Queue.name,
            Interaction.disposition,
            Interaction.notes,
            Interaction.talk_seconds,
        )
        .outerjoin(Agent, Agent.id == Interaction.agent_id)
        .outerjoin(Queue, Queue.id == Interaction.queue_id)
        .where(Interaction.customer_id == cid)
        .order_by(Interaction.offered_at.desc(), Interaction.id.desc())
        .limit(HISTORY_LIMIT)
    )


def _tickets_of(cid: Any) -> Any:
    return (
        select(
            Ticket.id,
            Ticket.subject,
            Ticket.category,
            Ticket.priority,
            Ticket.status,
            Ticket.sla_due_at,
            Agent.display_name,
            Ticket.assignee_team,
        )
        .outerjoin(Agent, Agent.id == Ticket.assignee_agent_id)
        .where(Ticket.customer_id == cid, Ticket.status.in_(OPEN_TICKET_STATUSES))
        .order_by(nulls_last(Ticket.sla_due_at.asc()), Ticket.id)
        .limit(TICKET_LIMIT)
    )


def _followups_of(cid: Any) -> Any:
    return (
        select(
            FollowUp.id,
            FollowUp.kind,
            FollowUp.status,
            FollowUp.due_at,
            FollowUp.priority,
            FollowUp.summary,
            Agent.display_name,
            FollowUp.sla_due_at,
            FollowUp.overdue_at,
        )
        .outerjoin(Agent, Agent.id == FollowUp.claimed_by)
        .where(
            FollowUp.customer_id == cid,
            FollowUp.status.in_(PENDING_FOLLOWUP_STATUSES),
        )
        .order_by(FollowUp.due_at, FollowUp.priority)
        .limit(FOLLOWUP_LIMIT)
    )


_CID: Any = bindparam("cid")
_PROFILE = _profile_of(_CID)
_CONTACT_POINTS = _contact_points_of(_CID)
_HISTORY = _history_of(_CID)
_TICKETS = _tickets_of(_CID)
_FOLLOWUPS = _followups_of(_CID)

# The latest answered leg of the same call by another agent: who handed it over, and what.
_FIRST_CUSTOMER = select(Customer.id).order_by(Customer.id).limit(1)

_HANDOFF = (
    select(
        Interaction.id,
        Agent.display_name,
        Interaction.customer_id,
        Interaction.notes,
        Interaction.disposition,
        Interaction.offered_at,
    )
    .outerjoin(Agent, Agent.id == Interaction.agent_id)
    .where(
        Interaction.linkedid == bindparam("lid"),
        Interaction.agent_id != bindparam("aid"),
        Interaction.answered_at.is_not(None),
    )
    .order_by(Interaction.offered_at.desc(), Interaction.id.desc())
    .limit(1)
)


def _as_array(statement: Any) -> Any:
    """PostgreSQL: the statement's rows as one value, ``ARRAY(SELECT ROW(…) …)`` (asyncpg
    returns a list of tuples, each field in its own type), its order and limit kept."""
    if isinstance(statement, Select):
        return func.array(
            statement.with_only_columns(tuple_(*statement.selected_columns)).scalar_subquery()
        )
    rows = statement.subquery()
    return func.array(select(tuple_(*rows.c)).scalar_subquery())


# PostgreSQL: the whole pop of an inbound call in one statement, one round trip where the
# statements above took seven (each a turn of an event loop that 50 consoles share in
# bench/seats.py). The customer is chosen in it as `lookup` chooses: the handoff's, else the
# first match; `lookup` checks that and reads the details again if it ever differs.
_PICK = (
    select(
        func.coalesce(
            _HANDOFF.with_only_columns(Interaction.customer_id).scalar_subquery(),
            _MATCHES.with_only_columns(Customer.id).limit(1).scalar_subquery(),
        ).label("cid")
    )
).cte("pick")
_PICKED = select(_PICK.c.cid).scalar_subquery()
_POP_IN_ONE = select(
    _as_array(_HANDOFF),
    _as_array(_MATCHES),
    _PICKED,
    _as_array(_profile_of(_PICKED)),
    _as_array(_contact_points_of(_PICKED)),
    _as_array(_history_of(_PICKED)),
    _as_array(_tickets_of(_PICKED)),
    _as_array(_followups_of(_PICKED)),
)


def _pop_in_one(
    reader: RowReader, linkedid: str, agent_id: int | None, e164: str | None
) -> tuple[Handoff | None, tuple[CustomerMatch, ...], int | None, DetailRows]:
    """`_POP_IN_ONE`: the handoff, the matches, the customer it chose and their details.
    No Linkedid or number binds NULL, which matches nothing (as `lookup` skips the query)."""
    params = {
        "lid": linkedid or None,
        "aid": -1 if agent_id is None else agent_id,
        "e164": e164 or None,
    }
    (row,) = reader.rows(_POP_IN_ONE, params)
    handoff, matches, picked, *details = row
    return (
        _handoff_from(handoff or ()),
        _matches_from(matches or ()),
        picked,
        (details[0] or (), details[1] or (), details[2] or (), details[3] or (), details[4] or ()),
    )


def _campaign(reader: RowReader, campaign: tuple[int, int] | None) -> CampaignCall | None:
    if campaign is None:
        return None
    rows = reader.rows(CAMPAIGN_LEAD, {"cid": campaign[0], "lead": campaign[1]})
    return campaign_call(rows[0], campaign[1]) if rows else None


def _handoff(reader: RowReader, linkedid: str, agent_id: int | None) -> Handoff | None:
    if not linkedid:
        return None
    rows = reader.rows(_HANDOFF, {"lid": linkedid, "aid": -1 if agent_id is None else agent_id})
    return _handoff_from(rows)


def _handoff_from(rows: Sequence[Sequence[Any]]) -> Handoff | None:
    if not rows:
        return None
    row = rows[0]
    return Handoff(
        interaction_id=row[0],
        from_agent=_name(row[1]),
        customer_id=row[2],
        notes=clean_text(row[3] or "", max_length=2000),
        disposition=row[4] or "",
        at=_time(row[5]),
    )


def _time(value: Any) -> datetime:
    """A NOT NULL timestamp column as aware UTC."""
    converted = from_db_time(value)
    assert converted is not None
    return converted


def _name(value: Any) -> str:
    return clean_text(value or "", single_line=True, max_length=200)


def _matches(reader: RowReader, e164: str) -> tuple[CustomerMatch, ...]:
    return _matches_from(reader.rows(_MATCHES, {"e164": e164}))


def _matches_from(rows: Sequence[Sequence[Any]]) -> tuple[CustomerMatch, ...]:
    return tuple(
        CustomerMatch(
            customer_id=row[0],
            display_name=_name(row[1]),
            kind=str(row[2]),
            tier=str(row[3]),
            lifecycle=str(row[4]),
            organisation_name=_name(row[5]),
            last_contact_at=from_db_time(row[6]),
            phone_kind=str(row[7]),
            phone_label=_name(row[8]),
        )
        for row in rows
    )


def _customer_details(reader: RowReader, customer_id: int, now: datetime) -> Details:
    params = {"cid": customer_id}
    found = reader.rows(_PROFILE, params)
    if not found:
        return None, (), (), ()
    return _details_from(
        found,
        reader.rows(_CONTACT_POINTS, params),
        reader.rows(_HISTORY, params),
        reader.rows(_TICKETS, params),
        reader.rows(_FOLLOWUPS, params),
        now,
    )


def _details_from(
    found: Rows,
    points_rows: Rows,
    history_rows: Rows,
    ticket_rows: Rows,
    followup_rows: Rows,
    now: datetime,
) -> Details:
    if not found:
        return None, (), (), ()
    row = found[0]
    points = tuple(
        ContactPoint(kind=p[0], value=_name(p[1]), subtype=str(p[2] or ""), label=_name(p[3]))
        for p in points_rows
    )
    profile = CustomerProfile(
        id=row[0],
        kind=str(row[1]),
        display_name=_name(row[2]),
        organisation_id=row[3],
        organisation_name=_name(row[4]),
        language=_name(row[5]),
        tier=str(row[6]),
        lifecycle=str(row[7]),
        rfm=(row[8], row[9], row[10]),
        lifetime_value_cents=row[11],
        currency=row[12],
        tags=tuple(_name(t) for t in tag_list(row[13])),
        notes=clean_text(row[14] or "", max_length=2000),
        account_owner=_name(row[15]),
        created_at=_time(row[16]),
        contact_points=points,
    )
    history = tuple(
        InteractionSummary(
            id=h[0],
            channel=str(h[1]),
            direction=str(h[2]),
            status=str(h[3]),
            offered_at=_time(h[4]),
            agent_name=_name(h[5]),
            queue_name=_name(h[6]),
            disposition=_name(h[7]),
            note_excerpt=excerpt(h[8] or "", 120),
            talk_seconds=h[9],
        )
        for h in history_rows
    )
    tickets = tuple(
        TicketSummary(
            id=t[0],
            subject=_name(t[1]),
            category=_name(t[2]),
            priority=str(t[3]),
            status=str(t[4]),
            sla_due_at=(due := from_db_time(t[5])),
            sla_remaining_seconds=None if due is None else int((due - now).total_seconds()),
            assignee=_name(t[6] or t[7]),
        )
        for t in ticket_rows
    )
    followups = tuple(
        FollowUpSummary(
            id=f[0],
            kind=str(f[1]),
            status=str(f[2]),
            due_at=_time(f[3]),
            priority=f[4],
            summary=excerpt(f[5] or "", 120),
            claimed_by=_name(f[6]),
            overdue=is_overdue(from_db_time(f[7]), from_db_time(f[8]), now),
        )
        for f in followup_rows
    )
    return profile, history, tickets, followups


class ScreenPopService:
    """Looks up a caller in the CRM, fast enough to run before the agent answers."""

    def __init__(
        self,
        db: Database,
        *,
        region: str = "US",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = db
        self._region = region
        self._clock = clock
        # An inbound call's pop as one statement (`_POP_IN_ONE`): PostgreSQL only (SQLite's
        # reader runs the statements in one thread hop already, and has no ROW arrays).
        self.one_statement = not db.is_sqlite

    async def lookup(
        self,
        caller_id: object,
        *,
        customer_id: int | None = None,
        linkedid: str = "",
        agent_id: int | None = None,
        campaign: tuple[int, int] | None = None,
    ) -> ScreenPop:
        """Pop for a raw caller ID. `customer_id` picks one of several matches (the picker).

        With the call's `linkedid`, a leg of the same call that another agent answered (a
        transfer, a consult) is a warm handoff: its customer is the one popped, and its notes
        come with the pop (same worker hop, one more indexed query).

        With `campaign` (campaign id, list entry id: a campaign call), the list entry's
        customer is the one popped, whoever else shares the number, and the campaign's
        script and dispositions come with the pop (one more indexed query).
        """
        caller = normalise(caller_id, self._region)
        now = self._clock()
        e164 = caller.e164

        in_one = self.one_statement and customer_id is None and campaign is None

        def _query(reader: RowReader) -> ScreenPop:
            picked, details = None, None
            if in_one:  # an inbound call on PostgreSQL: one round trip
                handoff, matches, picked, details = _pop_in_one(reader, linkedid, agent_id, e164)
                outbound, shown = None, caller
            else:
                handoff = _handoff(reader, linkedid, agent_id)
                outbound = _campaign(reader, campaign)
                number, shown = e164, caller
                if outbound is not None:
                    # The customer's leg shows the campaign's caller ID: the number is the list's.
                    shown = normalise(outbound.e164, self._region)
                    number = shown.e164
                matches = _matches(reader, number) if number else ()
            wanted = customer_id
            if wanted is None and handoff is not None:
                wanted = handoff.customer_id
            if wanted is None and outbound is not None:
                wanted = outbound.customer_id
            chosen = _choose(matches, wanted)
            if wanted is not None and (handoff or outbound) is not None and chosen != wanted:
                chosen = wanted  # found by a previous agent, or the list's own customer
            if chosen is None:
                return ScreenPop(
                    shown, matches, looked_up_at=now, handoff=handoff, campaign=outbound
                )
            if details is not None and chosen == picked:
                profile, history, tickets, followups = _details_from(*details, now)
            else:
                profile, history, tickets, followups = _customer_details(reader, chosen, now)
            return ScreenPop(
                shown,
                matches,
                profile,
                history,
                tickets,
                followups,
                now,
                handoff=handoff,
                campaign=outbound,
            )

        return await self._db.read_rows(_query)

    async def warm_up(self) -> None:
        """Run every statement of a pop once, at login: a call no one has, a campaign lead
        that does not exist, the first customer's details. A statement's first run compiles
        it (a few ms each; tens with many consoles in one process): done here, the first
        call of a shift pops as fast as the rest; on PostgreSQL on each connection the pool
        keeps (`Database.read_rows_on_each_connection`). Reads only."""
        now = self._clock()

        def _query(reader: RowReader) -> None:
            if self.one_statement:
                _pop_in_one(reader, "warm-up", -1, "+0")
            _handoff(reader, "warm-up", -1)
            _campaign(reader, (0, 0))
            _matches(reader, "+0")
            first = reader.rows(_FIRST_CUSTOMER, {})
            _customer_details(reader, first[0][0] if first else 0, now)

        await self._db.read_rows_on_each_connection(_query)

    async def handoff(self, linkedid: str, agent_id: int) -> Handoff | None:
        """The warm handoff of a call as it is now (the other agent may have typed more)."""
        return await self._db.read_rows(lambda reader: _handoff(reader, linkedid, agent_id))

    async def for_customer(self, customer_id: int, *, caller_id: object = "") -> ScreenPop:
        """The same pop for a known customer (search results, outbound callbacks)."""
        caller = normalise(caller_id, self._region)
        now = self._clock()

        def _query(reader: RowReader) -> ScreenPop:
            profile, history, tickets, followups = _customer_details(reader, customer_id, now)
            return ScreenPop(caller, (), profile, history, tickets, followups, now)

        return await self._db.read_rows(_query)


def _choose(matches: Sequence[CustomerMatch], wanted: int | None) -> int | None:
    if not matches:
        return None
    if wanted is not None and any(m.customer_id == wanted for m in matches):
        return wanted
    return matches[0].customer_id
