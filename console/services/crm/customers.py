"""Customers: search, create (the unknown-caller flow), contact points, profile, timeline.

Search lives in `customer_search` (how each kind of query uses the indexes is written there).
Every change is audit-logged in the same transaction as the change; views are logged by
`record_view`, which the UI calls after the screen pop is on screen, so the pop itself never
waits for a write.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, or_, select, update

from console.db import Database
from console.models import Agent, Customer, EmailAddress, Interaction, PhoneNumber, Queue
from console.models.customer import tag_list
from console.models.enums import CustomerKind, Lifecycle, PhoneKind, Tier
from console.services import audit as audit_actions
from console.services.audit import AuditLog
from console.services.crm.customer_search import CustomerHit as CustomerHit
from console.services.crm.customer_search import MatchKind as MatchKind
from console.services.crm.customer_search import search_customers
from console.services.crm.phones import NumberStatus, normalise
from console.services.errors import (
    ServiceError,
    choice,
    free_text,
    one_line,
    record_id,
    require,
)
from console.services.service import DbService, utcnow
from console.services.text import clean_text, stored_text
from console.services.training.recording import ActionRecorder

TIMELINE_MAX = 200
MAX_TAGS = 30
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class CustomerError(ServiceError):
    """A customer request was refused; nothing was changed."""


@dataclass(frozen=True, slots=True)
class TimelineCursor:
    """Where the next page of a timeline starts (exclusive)."""

    offered_at: datetime
    interaction_id: int


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One contact on any channel, in full."""

    id: int
    channel: str
    direction: str
    status: str
    offered_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    agent_name: str
    queue_name: str
    caller: str  # E.164 if known, else the raw caller ID
    disposition: str
    category: str
    notes: str
    talk_seconds: int
    hold_seconds: int
    wrap_seconds: int
    ticket_id: int | None
    csat: int | None
    resolved_first_contact: bool | None
    transferred_to: str

    @property
    def cursor(self) -> TimelineCursor:
        return TimelineCursor(self.offered_at, self.id)


@dataclass(frozen=True, slots=True)
class TimelinePage:
    """A page of a timeline, newest first; `next_cursor` is None on the last page."""

    entries: tuple[TimelineEntry, ...]
    next_cursor: TimelineCursor | None


class CustomerService(DbService):
    """The shared customer record: search, create, change, and the full contact timeline."""

    def __init__(
        self,
        db: Database,
        region: str = "US",
        audit: AuditLog | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        recorder: ActionRecorder | None = None,
    ) -> None:
        super().__init__(db, audit, clock=clock, recorder=recorder)
        self._region = region

    # ------------------------------------------------------------ search

    async def search(
        self, query: str, limit: int = 20, *, contains: bool = True
    ) -> list[CustomerHit]:
        """Customers matching `query` (ticket, phone, email, name), best reasons first.

        `contains=False` skips the name-contains table scan (for search-as-you-type; the
        indexed lookups take about a millisecond on 1M customers, the scan 100–250 ms).
        """
        return await search_customers(
            self._db, query, region=self._region, limit=limit, contains=contains
        )

    # ------------------------------------------------------------ changes

    async def create(
        self,
        display_name: str,
        *,
        agent_id: int,
        phone_raw: str | None = None,
        email: str | None = None,
        language: str = "en",
        kind: CustomerKind | str = CustomerKind.PERSON,
        phone_kind: PhoneKind | str | None = None,
        phone_label: str = "",
    ) -> int:
        """Create a customer (the unknown-caller flow) and return its id.

        `phone_raw` is normalised (the caller's number, pre-filled by the UI); a withheld or
        invalid number, a malformed email or language raises CustomerError and saves nothing.
        """
        name = one_line(
            display_name, field="name", max_length=200, required=True, error=CustomerError
        )
        customer_kind = choice(CustomerKind, kind, field="kind", error=CustomerError)
        lang = _language(language)
        phone = _phone(phone_raw, self._region) if phone_raw not in (None, "") else None
        kind_of_phone = _phone_kind(phone, phone_kind) if phone else PhoneKind.MOBILE
        label = one_line(phone_label, field="label", max_length=60, error=CustomerError)
        address = _email(email) if email not in (None, "") else None
        now = self._clock()
        async with self._db.write_connection() as conn:
            await require(
                conn, Agent.id, agent_id, f"agent {agent_id} does not exist", CustomerError
            )
            customer_id = int(
                await conn.scalar(
                    insert(Customer)
                    .values(
                        display_name=name,
                        kind=customer_kind,
                        language=lang,
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(Customer.id)
                )
                or 0
            )
            if phone is not None:
                await conn.execute(
                    insert(PhoneNumber).values(
                        customer_id=customer_id,
                        e164=phone,
                        kind=kind_of_phone,
                        label=label,
                        region=phone_region(phone),
                    )
                )
            if address is not None:
                await conn.execute(
                    insert(EmailAddress).values(customer_id=customer_id, address=address)
                )
            details = {
                "display_name": name,
                "kind": customer_kind,
                "phone": phone,
                "email": address,
            }
            await self._audit.add(
                conn, agent_id, audit_actions.CREATE, "customer", customer_id, details
            )
        self._recorder.record_action(
            "customer_created", customer_id=customer_id, name=name, phone=phone, email=address
        )
        return customer_id

    async def attach_number(
        self,
        customer_id: int,
        raw: str,
        *,
        agent_id: int,
        kind: PhoneKind | str | None = None,
        label: str = "",
    ) -> str:
        """Add a phone number to a customer; returns its E.164 form.

        Adding a number the customer already has changes nothing (and returns it).
        """
        customer = record_id(customer_id, field="customer id", error=CustomerError)
        e164 = _phone(raw, self._region)
        phone_kind = _phone_kind(e164, kind)
        text_label = one_line(label, field="label", max_length=60, error=CustomerError)
        async with self._db.write_connection() as conn:
            await self._require_customer_and_agent(conn, customer, agent_id)
            existing = await conn.scalar(
                select(PhoneNumber.id).where(
                    PhoneNumber.customer_id == customer, PhoneNumber.e164 == e164
                )
            )
            if existing is None:
                await conn.execute(
                    insert(PhoneNumber).values(
                        customer_id=customer,
                        e164=e164,
                        kind=phone_kind,
                        label=text_label,
                        region=phone_region(e164),
                    )
                )
                await conn.execute(
                    update(Customer).where(Customer.id == customer).values(updated_at=self._clock())
                )
                await self._audit.add(
                    conn,
                    agent_id,
                    audit_actions.UPDATE,
                    "customer",
                    customer,
                    {"phone_added": e164, "kind": phone_kind, "label": text_label},
                )
        self._recorder.record_action("number_attached", customer_id=customer, e164=e164)
        return e164

    async def update_profile(
        self,
        customer_id: int,
        *,
        agent_id: int,
        display_name: str | None = None,
        language: str | None = None,
        tier: Tier | str | None = None,
        lifecycle: Lifecycle | str | None = None,
        tags: Sequence[str] | None = None,
        notes: str | None = None,
    ) -> frozenset[str]:
        """Change the given fields (None: leave as is); returns the names of fields changed.

        Every value is validated before anything is written; a refused change raises
        CustomerError and nothing is saved. The audit entry records old and new values
        (notes only as "changed": the audit log is not a second copy of them).
        """
        customer = record_id(customer_id, field="customer id", error=CustomerError)
        wanted: dict[str, Any] = {}
        if display_name is not None:
            wanted["display_name"] = one_line(
                display_name, field="name", max_length=200, required=True, error=CustomerError
            )
        if language is not None:
            wanted["language"] = _language(language)
        if tier is not None:
            wanted["tier"] = choice(Tier, tier, field="tier", error=CustomerError)
        if lifecycle is not None:
            wanted["lifecycle"] = choice(
                Lifecycle, lifecycle, field="lifecycle", error=CustomerError
            )
        if tags is not None:
            wanted["tags"] = _tags(tags)
        if notes is not None:
            wanted["notes"] = free_text(notes, field="notes", error=CustomerError)
        if not wanted:
            return frozenset()
        columns = [getattr(Customer, name) for name in wanted]
        async with self._db.write_connection() as conn:
            await self._require_customer_and_agent(conn, customer, agent_id)
            current = (
                await conn.execute(
                    select(*columns).where(Customer.id == customer).with_for_update()
                )
            ).one()
            old = dict(zip(wanted, current, strict=True))
            if "tags" in old:
                old["tags"] = tag_list(old["tags"])
            changes = {k: v for k, v in wanted.items() if old[k] != v}
            if not changes:
                return frozenset()
            await conn.execute(
                update(Customer)
                .where(Customer.id == customer)
                .values(**changes, updated_at=self._clock())
            )
            details = {
                k: "changed" if k == "notes" else {"from": old[k], "to": v}
                for k, v in changes.items()
            }
            await self._audit.add(
                conn, agent_id, audit_actions.UPDATE, "customer", customer, details
            )
        self._recorder.record_action("customer_updated", customer_id=customer, changes=changes)
        return frozenset(changes)

    async def record_view(
        self, agent_id: int, customer_id: int, *, context: str = "customer_view"
    ) -> None:
        """Audit that `agent_id` saw the customer's record (call after the pop is shown)."""
        await self._audit.record(
            agent_id, audit_actions.VIEW, "customer", customer_id, {"context": context}
        )

    async def _require_customer_and_agent(self, conn: Any, customer: int, agent_id: int) -> None:
        await require(
            conn, Customer.id, customer, f"customer {customer} does not exist", CustomerError
        )
        await require(conn, Agent.id, agent_id, f"agent {agent_id} does not exist", CustomerError)

    # ------------------------------------------------------------ timeline

    async def timeline(
        self, customer_id: int, limit: int = 50, before: TimelineCursor | None = None
    ) -> TimelinePage:
        """The customer's interactions on every channel, newest first, one page at a time.

        Pass the previous page's `next_cursor` as `before` for the next page (keyset paging on
        (offered_at, id), so new contacts arriving meanwhile don't shift the pages).
        """
        customer = record_id(customer_id, field="customer id", error=CustomerError)
        size = max(1, min(int(limit), TIMELINE_MAX))
        stmt = (
            select(
                Interaction.id,
                Interaction.channel,
                Interaction.direction,
                Interaction.status,
                Interaction.offered_at,
                Interaction.answered_at,
                Interaction.ended_at,
                Agent.display_name,
                Queue.name,
                Interaction.caller_e164,
                Interaction.caller_raw,
                Interaction.disposition,
                Interaction.category,
                Interaction.notes,
                Interaction.talk_seconds,
                Interaction.hold_seconds,
                Interaction.wrap_seconds,
                Interaction.ticket_id,
                Interaction.csat,
                Interaction.resolved_first_contact,
                Interaction.transferred_to,
            )
            .outerjoin(Agent, Agent.id == Interaction.agent_id)
            .outerjoin(Queue, Queue.id == Interaction.queue_id)
            .where(Interaction.customer_id == customer)
            .order_by(Interaction.offered_at.desc(), Interaction.id.desc())
            .limit(size + 1)
        )
        if before is not None:
            stmt = stmt.where(
                Interaction.offered_at <= before.offered_at,  # a range for the index
                or_(
                    Interaction.offered_at < before.offered_at,
                    and_(
                        Interaction.offered_at == before.offered_at,
                        Interaction.id < before.interaction_id,
                    ),
                ),
            )
        async with self._db.session() as session:
            rows = (await session.execute(stmt)).all()
            if not rows and before is None:
                exists = await session.scalar(select(Customer.id).where(Customer.id == customer))
                if exists is None:
                    raise CustomerError(f"customer {customer} does not exist")
        entries = tuple(_timeline_entry(r) for r in rows[:size])
        more = len(rows) > size
        return TimelinePage(entries, entries[-1].cursor if more and entries else None)


# ---------------------------------------------------------------- helpers


def _timeline_entry(r: Sequence[Any]) -> TimelineEntry:
    return TimelineEntry(
        id=r[0],
        channel=str(r[1]),
        direction=str(r[2]),
        status=str(r[3]),
        offered_at=r[4],
        answered_at=r[5],
        ended_at=r[6],
        agent_name=stored_text(r[7]),
        queue_name=stored_text(r[8]),
        caller=stored_text(r[9] or r[10], 80),
        disposition=stored_text(r[11], 40),
        category=stored_text(r[12], 40),
        notes=clean_text(r[13] or ""),
        talk_seconds=r[14],
        hold_seconds=r[15],
        wrap_seconds=r[16],
        ticket_id=r[17],
        csat=r[18],
        resolved_first_contact=r[19],
        transferred_to=stored_text(r[20], 80),
    )


def _phone(raw: object, region: str) -> str:
    result = normalise(raw, region)
    if result.status is NumberStatus.WITHHELD:
        raise CustomerError("the number is withheld; type the customer's number or leave it empty")
    if not result.is_valid or result.e164 is None:
        why = "" if result.reason in ("", "not a valid phone number") else f" ({result.reason})"
        raise CustomerError(f"{result.display!r} is not a valid phone number{why}")
    return result.e164


def phone_region(e164: str) -> str:
    """A stored number's ISO 3166 region ("" when it has none, e.g. a non-geographic +800)."""
    region = normalise(e164).region or ""
    return "" if region == "001" else region


def _phone_kind(e164: str | None, kind: PhoneKind | str | None) -> PhoneKind:
    if kind not in (None, ""):
        return choice(PhoneKind, kind, field="phone kind", error=CustomerError)
    line_type = normalise(e164 or "").line_type
    return PhoneKind.LANDLINE if line_type == "landline" else PhoneKind.MOBILE


def _email(raw: object) -> str:
    text = one_line(raw, field="email", max_length=254, error=CustomerError).lower()
    if not _EMAIL.match(text):
        raise CustomerError(f"{text!r} is not an email address")
    return text


def _language(raw: object) -> str:
    text = one_line(raw, field="language", max_length=16, required=True, error=CustomerError)
    if not _LANGUAGE.match(text):
        raise CustomerError(f"{text!r} is not a language code (use e.g. en, zh, pt-BR)")
    return text


def _tags(raw: Sequence[str]) -> list[str]:
    if isinstance(raw, str):
        raise CustomerError("tags must be a list of words, not one string")
    tags = [one_line(t, field="tag", max_length=40, error=CustomerError) for t in raw]
    unique = list(dict.fromkeys(t for t in tags if t))
    if len(unique) > MAX_TAGS:
        raise CustomerError(f"too many tags ({len(unique)}; {MAX_TAGS} at most)")
    return unique
