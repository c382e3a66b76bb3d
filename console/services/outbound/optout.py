"""Honouring an opt-out at once: "don't call me again" said on a call.

`OptOutService.opt_out` puts every number of the customer (and the number of the call) on the
internal do-not-call list and records the customer's marketing-call consent as withdrawn, in
one transaction: the next screen of any campaign skips them. The wrap-up calls it for a
disposition marked ``opt_out`` (`console.services.desk.wrapup`). The entries never expire
(the TCPA keeps a company-specific do-not-call request for five years; removing one is a
deliberate, audited `callconsole dnc remove`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from console.db import Database
from console.models import Customer, PhoneNumber
from console.models.enums import ConsentPurpose
from console.models.outbound import INTERNAL_DNC
from console.services.audit import AuditLog
from console.services.crm.phones import normalise
from console.services.errors import ServiceError, record_id
from console.services.outbound.consent import ConsentService
from console.services.outbound.dnc import DncService
from console.services.service import DbService, utcnow

OPT_OUT_REASON = "asked not to be called"


class OptOutError(ServiceError):
    """The opt-out could not be recorded (no customer and no valid number)."""


@dataclass(frozen=True, slots=True)
class OptOutDone:
    """What an opt-out changed."""

    numbers: tuple[str, ...]  # E.164 numbers now on the internal list
    consent_withdrawn: bool  # a marketing-call withdrawal was recorded for the customer


class OptOutService(DbService):
    """Records opt-outs (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        audit: AuditLog | None = None,
        *,
        region: str = "US",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(db, audit, clock=clock)
        self.region = region
        self._dnc = DncService(db, self._audit, region=region, clock=clock)
        self._consent = ConsentService(db, self._audit, clock=clock)

    async def opt_out(
        self,
        *,
        customer_id: int | None,
        numbers: Iterable[str | None] = (),
        agent_id: int | None = None,
        source: str = "wrap-up",
        interaction_id: int | None = None,
    ) -> OptOutDone:
        """Block the customer's numbers and `numbers`, and withdraw the customer's marketing
        consent; OptOutError when there is neither a customer nor a valid number."""
        extra = [e for e in (normalise(n, self.region).e164 for n in numbers if n) if e]
        where = f"{source}, interaction {interaction_id}" if interaction_id else source
        reason = f"{OPT_OUT_REASON} ({where})"
        by = f"agent {agent_id}" if agent_id is not None else source
        async with self._db.write_connection() as conn:
            own: list[str] = []
            if customer_id is not None:
                customer = record_id(customer_id, field="customer", error=OptOutError)
                if await conn.scalar(select(Customer.id).where(Customer.id == customer)) is None:
                    raise OptOutError(f"customer {customer} does not exist")
                own = list(
                    (
                        await conn.scalars(
                            select(PhoneNumber.e164).where(PhoneNumber.customer_id == customer)
                        )
                    ).all()
                )
            blocked = tuple(dict.fromkeys([*own, *extra]))
            if not blocked and customer_id is None:
                raise OptOutError("an opt-out needs a customer or a valid number")
            for e164 in blocked:
                await self._dnc.add(
                    e164,
                    source=INTERNAL_DNC,
                    reason=reason,
                    customer_id=customer_id,
                    agent_id=agent_id,
                    added_by=by,
                    conn=conn,
                )
            if customer_id is not None:
                await self._consent.record(
                    customer_id,
                    ConsentPurpose.MARKETING_CALLS,
                    granted=False,
                    source=source,
                    agent_id=agent_id,
                    note=reason,
                    conn=conn,
                )
        return OptOutDone(blocked, customer_id is not None)
