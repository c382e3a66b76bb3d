"""CRM segments: saved filters over the customers a campaign calls.

A segment is criteria, not a list: a campaign's list is built from it when the campaign starts,
so it follows the CRM. Every criterion narrows (AND); within one, any value matches (OR):

- ``tiers`` (the customer pyramid), ``lifecycles``, ``languages``;
- RFM scores (1–5): ``recency_min``/``max``, ``frequency_min``/``max``, ``monetary_min``/``max``;
- ``tags_any`` (at least one) and ``tags_all`` (every one);
- ``countries``: ISO 3166 regions of any of the customer's numbers (phonenumbers' region);
- ``no_contact_days``: no interaction offered in that many days; ``contact_within_days``: one
  was;
- ``open_tickets``: ``"any"`` (at least one open) or ``"none"``;
- ``min_lifetime_value``: in the customer's currency units;
- ``consent``: purposes (marketing_calls, recording, surveys) the customer's deciding consent
  record grants (`console.services.outbound.consent`).

Only customers with a phone number are counted: a segment is for calling. Counting and the
preview read the same query (`segment_query`), so a count is what a list built now would hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import String, and_, cast, exists, func, insert, or_, select, update
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Select

from console.models import ConsentRecord, Customer, Interaction, PhoneNumber, Segment, Ticket
from console.models.enums import OPEN_TICKET_STATUSES, ConsentPurpose, Lifecycle, Tier
from console.services import audit as audit_actions
from console.services.errors import ServiceError
from console.services.service import DbService

_Score = Field(default=None, ge=1, le=5)


class SegmentError(ServiceError):
    """A segment that cannot be saved or used; the message is for the user."""


class SegmentCriteria(BaseModel):
    """What a segment selects (the module docstring says how each criterion reads)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tiers: tuple[Tier, ...] = ()
    lifecycles: tuple[Lifecycle, ...] = ()
    languages: tuple[str, ...] = ()
    recency_min: int | None = _Score
    recency_max: int | None = _Score
    frequency_min: int | None = _Score
    frequency_max: int | None = _Score
    monetary_min: int | None = _Score
    monetary_max: int | None = _Score
    tags_any: tuple[str, ...] = ()
    tags_all: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    no_contact_days: int | None = Field(default=None, ge=1, le=3650)
    contact_within_days: int | None = Field(default=None, ge=1, le=3650)
    open_tickets: Literal["any", "none"] | None = None
    min_lifetime_value: int | None = Field(default=None, ge=0)
    consent: tuple[ConsentPurpose, ...] = ()

    @field_validator("countries")
    @classmethod
    def _regions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        out = tuple(v.strip().upper() for v in value)
        bad = [v for v in out if len(v) != 2 or not v.isalpha()]
        if bad:
            raise ValueError(f"not an ISO 3166 country code: {', '.join(bad)}")
        return out

    @field_validator("languages", "tags_any", "tags_all")
    @classmethod
    def _words(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.strip().lower() for v in value if v.strip())

    @classmethod
    def parse(cls, data: dict[str, Any]) -> SegmentCriteria:
        """``data`` validated, or one `SegmentError` naming what is wrong."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "segment"
            raise SegmentError(f"{where}: {first['msg']}") from None

    def as_json(self) -> dict[str, Any]:
        """Only the criteria set, for storing and showing."""
        return self.model_dump(mode="json", exclude_defaults=True)


@dataclass(frozen=True, slots=True)
class SegmentMember:
    """One customer of a segment, as its preview shows them."""

    customer_id: int
    name: str
    tier: str
    language: str
    phone: str
    country: str


@dataclass(frozen=True, slots=True)
class SavedSegment:
    id: int
    name: str
    criteria: SegmentCriteria


def _like_tag(tag: str) -> Any:
    text = '"' + tag.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + '"'
    return cast(Customer.tags, String).like(f"%{text}%", escape="\\")


def segment_query(criteria: SegmentCriteria, now: datetime) -> Select[Any]:
    """The ids of the customers ``criteria`` selects at ``now``, in id order."""
    c = criteria
    where: list[Any] = [exists().where(PhoneNumber.customer_id == Customer.id)]
    if c.tiers:
        where.append(Customer.tier.in_(c.tiers))
    if c.lifecycles:
        where.append(Customer.lifecycle.in_(c.lifecycles))
    if c.languages:
        where.append(func.lower(Customer.language).in_(c.languages))
    for column, low, high in (
        (Customer.rfm_recency, c.recency_min, c.recency_max),
        (Customer.rfm_frequency, c.frequency_min, c.frequency_max),
        (Customer.rfm_monetary, c.monetary_min, c.monetary_max),
    ):
        if low is not None:
            where.append(column >= low)
        if high is not None:
            where.append(column <= high)
    if c.tags_any:
        where.append(or_(*(_like_tag(t) for t in c.tags_any)))
    where.extend(_like_tag(t) for t in c.tags_all)
    if c.countries:
        where.append(
            exists().where(
                PhoneNumber.customer_id == Customer.id, PhoneNumber.region.in_(c.countries)
            )
        )
    if c.no_contact_days is not None:
        since = now - timedelta(days=c.no_contact_days)
        where.append(
            ~exists().where(Interaction.customer_id == Customer.id, Interaction.offered_at >= since)
        )
    if c.contact_within_days is not None:
        since = now - timedelta(days=c.contact_within_days)
        where.append(
            exists().where(Interaction.customer_id == Customer.id, Interaction.offered_at >= since)
        )
    if c.open_tickets is not None:
        open_ticket = exists().where(
            Ticket.customer_id == Customer.id, Ticket.status.in_(OPEN_TICKET_STATUSES)
        )
        where.append(open_ticket if c.open_tickets == "any" else ~open_ticket)
    if c.min_lifetime_value is not None:
        where.append(Customer.lifetime_value_cents >= c.min_lifetime_value * 100)
    where.extend(_consented(purpose) for purpose in c.consent)
    return select(Customer.id).where(and_(*where)).order_by(Customer.id)


def _consented(purpose: ConsentPurpose) -> Any:
    """The customer's deciding consent record for ``purpose`` (the latest given, the last
    written on a tie: `console.services.outbound.consent`) is a grant."""
    record, later = aliased(ConsentRecord), aliased(ConsentRecord)
    superseded = exists().where(
        later.customer_id == record.customer_id,
        later.purpose == record.purpose,
        or_(later.at > record.at, and_(later.at == record.at, later.id > record.id)),
    )
    return exists().where(
        record.customer_id == Customer.id,
        record.purpose == purpose,
        record.granted.is_(True),
        ~superseded,
    )


class SegmentService(DbService):
    """Save, list, count and preview segments."""

    async def count(self, criteria: SegmentCriteria) -> int:
        query = segment_query(criteria, self._clock()).order_by(None).subquery()
        async with self._db.session() as conn:
            return int(await conn.scalar(select(func.count()).select_from(query)) or 0)

    async def preview(self, criteria: SegmentCriteria, limit: int = 20) -> list[SegmentMember]:
        """The first ``limit`` customers, each with their first number and its country."""
        ids = segment_query(criteria, self._clock()).limit(limit).subquery()
        first_phone = (
            select(func.min(PhoneNumber.id))
            .where(PhoneNumber.customer_id == Customer.id)
            .correlate(Customer)
            .scalar_subquery()
        )
        query = (
            select(
                Customer.id,
                Customer.display_name,
                Customer.tier,
                Customer.language,
                PhoneNumber.e164,
                PhoneNumber.region,
            )
            .join(ids, ids.c.id == Customer.id)
            .join(PhoneNumber, PhoneNumber.id == first_phone)
            .order_by(Customer.id)
        )
        async with self._db.session() as conn:
            rows = (await conn.execute(query)).all()
        return [SegmentMember(r[0], r[1], str(r[2]), r[3], r[4], r[5]) for r in rows]

    async def save(self, name: str, criteria: SegmentCriteria, *, agent_id: int | None) -> int:
        """Create or replace the segment ``name``; returns its id."""
        clean = name.strip()
        if not clean or len(clean) > 120 or not clean.isprintable():
            raise SegmentError("a segment needs a name of 1 to 120 printable characters")
        now = self._clock()
        async with self._db.write_connection() as conn:
            existing = await conn.scalar(select(Segment.id).where(Segment.name == clean))
            if existing is None:
                segment_id = await conn.scalar(
                    insert(Segment)
                    .values(name=clean, criteria=criteria.as_json(), created_by=agent_id,
                            created_at=now, updated_at=now)
                    .returning(Segment.id)
                )  # fmt: skip
            else:
                segment_id = existing
                await conn.execute(
                    update(Segment)
                    .where(Segment.id == existing)
                    .values(criteria=criteria.as_json(), updated_at=now)
                )
            action = audit_actions.CREATE if existing is None else audit_actions.UPDATE
            details = {"name": clean, "criteria": criteria.as_json()}
            await self._audit.add(conn, agent_id, action, "segment", int(segment_id or 0), details)
        return int(segment_id or 0)

    async def get(self, name: str) -> SavedSegment:
        async with self._db.session() as conn:
            row = (
                await conn.execute(
                    select(Segment.id, Segment.name, Segment.criteria).where(
                        Segment.name == name.strip()
                    )
                )
            ).first()
        if row is None:
            raise SegmentError(f"no segment named {name.strip()!r}")
        return SavedSegment(row[0], row[1], SegmentCriteria.parse(dict(row[2] or {})))

    async def all(self) -> Sequence[SavedSegment]:
        async with self._db.session() as conn:
            rows = (
                await conn.execute(
                    select(Segment.id, Segment.name, Segment.criteria).order_by(Segment.name)
                )
            ).all()
        return [SavedSegment(r[0], r[1], SegmentCriteria.parse(dict(r[2] or {}))) for r in rows]
