"""Consent records: a customer granting or withdrawing consent for a purpose, kept as history.

Nothing is ever updated or deleted here: each grant or withdrawal is a new row with where it
came from (a wrap-up, a web form, an import) and when the customer gave it. For each
(customer, purpose) the latest by that time decides, ties broken by the order written; a
customer with no record has not consented.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from console.db import Database
from console.models import ConsentRecord, Customer
from console.models.enums import ConsentPurpose
from console.services.audit import CREATE, AuditLog
from console.services.errors import ServiceError, aware, choice, one_line, record_id, require
from console.services.outbound.gate import ConsentState
from console.services.service import DbService, utcnow

LOOKUP_CHUNK = 500


class ConsentError(ServiceError):
    """A consent record was refused (unknown customer, bad purpose); nothing was written."""


@dataclass(frozen=True, slots=True)
class ConsentEntry:
    """One grant or withdrawal, as read back."""

    id: int
    customer_id: int
    purpose: ConsentPurpose
    granted: bool
    source: str
    at: datetime
    recorded_at: datetime
    recorded_by_agent_id: int | None
    note: str


class ConsentService(DbService):
    """Records and reads consent (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        audit: AuditLog | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(db, audit, clock=clock)

    async def record(
        self,
        customer_id: int,
        purpose: ConsentPurpose | str,
        *,
        granted: bool,
        source: str,
        at: datetime | None = None,
        agent_id: int | None = None,
        note: str = "",
        conn: AsyncConnection | None = None,
    ) -> ConsentEntry:
        """Add a grant (`granted=True`) or a withdrawal for `purpose`, given at `at` (default
        now). Audited. With `conn`, inside the caller's write transaction."""
        values = dict(
            customer_id=record_id(customer_id, field="customer", error=ConsentError),
            purpose=choice(ConsentPurpose, purpose, field="purpose", error=ConsentError),
            granted=bool(granted),
            source=one_line(
                source, field="source", max_length=80, required=True, error=ConsentError
            ),
            at=aware(at or self._clock(), field="consent time", error=ConsentError),
            recorded_at=self._clock(),
            recorded_by_agent_id=agent_id,
            note=one_line(note, field="note", max_length=300, error=ConsentError),
        )
        if conn is not None:
            return await self._record(conn, values)
        try:
            async with self._db.write_connection() as own:
                return await self._record(own, values)
        except IntegrityError:
            raise ConsentError(f"agent {agent_id} does not exist") from None

    async def _record(self, conn: AsyncConnection, values: dict[str, Any]) -> ConsentEntry:
        customer = values["customer_id"]
        await require(
            conn, Customer.id, customer, f"customer {customer} does not exist", ConsentError
        )
        new_id = (
            await conn.execute(insert(ConsentRecord).values(**values).returning(ConsentRecord.id))
        ).scalar_one()
        action = "grant" if values["granted"] else "withdraw"
        details = {"purpose": values["purpose"], "action": action, "source": values["source"]}
        agent = values["recorded_by_agent_id"]
        await self._audit.add(conn, agent, CREATE, "consent", new_id, details)
        row = (await conn.execute(_SELECT.where(ConsentRecord.id == new_id))).one()
        return _entry(row)

    async def latest(self, customer_id: int, purpose: ConsentPurpose | str) -> ConsentEntry | None:
        """The record that decides `purpose` for the customer now (None: never asked)."""
        wanted = choice(ConsentPurpose, purpose, field="purpose", error=ConsentError)
        stmt = (
            _SELECT.where(ConsentRecord.customer_id == customer_id, ConsentRecord.purpose == wanted)
            .order_by(ConsentRecord.at.desc(), ConsentRecord.id.desc())
            .limit(1)
        )
        async with self._db.session() as session:
            row = (await session.execute(stmt)).one_or_none()
        return None if row is None else _entry(row)

    async def has_consent(self, customer_id: int, purpose: ConsentPurpose | str) -> bool:
        """Whether the customer's latest record for `purpose` is a grant."""
        latest = await self.latest(customer_id, purpose)
        return latest is not None and latest.granted

    async def history(self, customer_id: int) -> list[ConsentEntry]:
        """Every record of the customer, oldest first (by when given, then written)."""
        stmt = _SELECT.where(ConsentRecord.customer_id == customer_id).order_by(
            ConsentRecord.at, ConsentRecord.id
        )
        async with self._db.session() as session:
            return [_entry(r) for r in (await session.execute(stmt)).all()]

    async def latest_many(
        self, keys: Iterable[tuple[int, ConsentPurpose]]
    ) -> dict[tuple[int, ConsentPurpose], ConsentState]:
        """The deciding record per (customer, purpose) asked for; keys never recorded are
        absent. Reads each customer's rows for those purposes in index order; the last wins."""
        wanted = set(keys)
        customers = sorted({customer for customer, _ in wanted})
        purposes = sorted({purpose for _, purpose in wanted})
        found: dict[tuple[int, ConsentPurpose], ConsentState] = {}
        if not wanted:
            return found
        async with self._db.session() as session:
            for start in range(0, len(customers), LOOKUP_CHUNK):
                chunk = customers[start : start + LOOKUP_CHUNK]
                rows = await session.execute(
                    select(
                        ConsentRecord.customer_id,
                        ConsentRecord.purpose,
                        ConsentRecord.granted,
                        ConsentRecord.at,
                        ConsentRecord.source,
                    )
                    .where(
                        ConsentRecord.customer_id.in_(chunk),
                        ConsentRecord.purpose.in_(purposes),
                    )
                    .order_by(
                        ConsentRecord.customer_id,
                        ConsentRecord.purpose,
                        ConsentRecord.at,
                        ConsentRecord.id,
                    )
                )
                for customer, purpose, granted, at, source in rows:
                    key = (customer, ConsentPurpose(purpose))
                    if key in wanted:
                        found[key] = ConsentState(bool(granted), at, source)
        return found


_SELECT = select(
    ConsentRecord.id,
    ConsentRecord.customer_id,
    ConsentRecord.purpose,
    ConsentRecord.granted,
    ConsentRecord.source,
    ConsentRecord.at,
    ConsentRecord.recorded_at,
    ConsentRecord.recorded_by_agent_id,
    ConsentRecord.note,
)


def _entry(row: Any) -> ConsentEntry:
    return ConsentEntry(
        id=row.id,
        customer_id=row.customer_id,
        purpose=ConsentPurpose(row.purpose),
        granted=bool(row.granted),
        source=row.source,
        at=row.at,
        recorded_at=row.recorded_at,
        recorded_by_agent_id=row.recorded_by_agent_id,
        note=row.note,
    )
