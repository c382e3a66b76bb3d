"""Sales made on campaign calls: the amount the agent typed, the sale row, and what it does to
the customer's lifetime value and RFM scores (docs/metrics.md, "RFM after a sale").

A sale is recorded by the wrap-up of the call that made it, in the wrap-up's own transaction
(`console.services.outbound.campaign_wrapup`): the row completes, the sale is stored and the
customer's figures move together or not at all. `sales.interaction_id` is unique, so a wrap-up
applied again (a retry, a journal replayed after a kill) never sells twice.

Money is integer minor units ("cents", as `customers.lifetime_value_cents`) in the customer's
own currency: the agent sells in it, and the lifetime value is kept in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from console.models import Customer, Sale

#: The largest amount one sale may carry (major units): a typo guard, far above any sale.
MAX_SALE = 1_000_000_000
#: RFM frequency counts the customer's sales over this window before the sale.
FREQUENCY_WINDOW = timedelta(days=365)
#: Frequency score by sales in the window: 1, 2, 3–4, 5–9, 10 or more → 1 … 5.
FREQUENCY_BOUNDS = (2, 3, 5, 10)
#: Monetary score by lifetime value (major units of the customer's currency): below 500 → 1,
#: below 2,000 → 2, below 5,000 → 3, below 15,000 → 4, else 5. (The seeded pyramid: iron
#: customers around 800, gold 3,000–9,000, platinum 12,500 and more.)
MONETARY_BOUNDS = (500, 2_000, 5_000, 15_000)

_AMOUNT = re.compile(r"^\d+(?:[.,]\d{1,2})?$")


class AmountError(ValueError):
    """An amount that is not one; the message is one line for the agent."""


def parse_amount(text: str) -> int:
    """The amount an agent typed, in cents: ``129.9``, ``129,90``, ``1 299.00``,
    ``1,299.00`` or ``1.299,00`` (the last separator followed by one or two digits is the
    decimal one; the others group thousands). Positive, at most `MAX_SALE`."""
    raw = "".join(str(text).split()).replace("_", "")
    if not raw:
        raise AmountError("type the amount sold")
    last = max(raw.rfind("."), raw.rfind(","))
    if last >= 0 and len(raw) - last - 1 in (1, 2):
        whole, cents = raw[:last], raw[last + 1 :]
        if whole.isdigit() or _grouped(whole):
            whole = whole.replace(",", "").replace(".", "")
        plain = whole + "." + cents
    else:
        plain = raw.replace(",", "").replace(".", "") if _grouped(raw) else raw
    if not _AMOUNT.match(plain):
        raise AmountError(f"{text.strip()!r} is not an amount (e.g. 129.90)")
    try:
        value = Decimal(plain)
    except InvalidOperation:
        raise AmountError(f"{text.strip()!r} is not an amount (e.g. 129.90)") from None
    if value <= 0:
        raise AmountError("a sale's amount must be above 0")
    if value > MAX_SALE:
        raise AmountError(f"{text.strip()!r} is more than one sale can be")
    return int(value * 100)


def _grouped(raw: str) -> bool:
    """``1,299`` or ``1.299.000``: digits grouped by threes with one kind of separator."""
    return re.fullmatch(r"\d{1,3}(?:([.,])\d{3})(?:\1\d{3})*", raw) is not None


def _score(value: float, bounds: tuple[int, ...]) -> int:
    return 1 + sum(value >= b for b in bounds)


def rfm_after_sale(
    rfm: tuple[int, int, int], *, sales_in_window: int, lifetime_value_cents: int
) -> tuple[int, int, int]:
    """The customer's (recency, frequency, monetary) scores after a sale (docs/metrics.md):
    recency 5 (they bought today); frequency and monetary never lower than before, raised to
    what the last year's sales and the new lifetime value earn."""
    _recency, frequency, monetary = rfm
    return (
        5,
        max(frequency, _score(sales_in_window, FREQUENCY_BOUNDS)),
        max(monetary, _score(lifetime_value_cents / 100, MONETARY_BOUNDS)),
    )


@dataclass(frozen=True, slots=True)
class SaleRecorded:
    """A sale stored, and the customer's figures after it."""

    sale_id: int
    amount_cents: int
    currency: str
    lifetime_value_cents: int
    rfm: tuple[int, int, int]


async def record_sale(
    conn: AsyncConnection,
    *,
    customer_id: int,
    amount_cents: int,
    at: datetime,
    interaction_id: int | None = None,
    campaign_id: int | None = None,
    dial_attempt_id: int | None = None,
    agent_id: int | None = None,
) -> SaleRecorded | None:
    """Store the sale and update the customer's lifetime value and RFM, inside ``conn``'s
    transaction. None when this interaction's sale is stored already (nothing changes)."""
    customer = (
        await conn.execute(
            select(
                Customer.currency,
                Customer.lifetime_value_cents,
                Customer.rfm_recency,
                Customer.rfm_frequency,
                Customer.rfm_monetary,
            )
            .where(Customer.id == customer_id)
            .with_for_update()
        )
    ).one_or_none()
    if customer is None:
        return None
    currency, ltv, *rfm = customer
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    sale_id = await conn.scalar(
        insert(Sale)
        .values(
            customer_id=customer_id,
            interaction_id=interaction_id,
            campaign_id=campaign_id,
            dial_attempt_id=dial_attempt_id,
            agent_id=agent_id,
            amount_cents=amount_cents,
            currency=currency,
            sold_at=at,
        )
        .on_conflict_do_nothing(index_elements=["interaction_id"])
        .returning(Sale.id)
    )
    if sale_id is None:
        return None
    count = await conn.scalar(
        select(func.count()).where(
            Sale.customer_id == customer_id,
            Sale.sold_at > at - FREQUENCY_WINDOW,
            Sale.sold_at <= at,
        )
    )
    new_ltv = int(ltv) + amount_cents
    scores = rfm_after_sale(
        (int(rfm[0]), int(rfm[1]), int(rfm[2])),
        sales_in_window=int(count or 1),
        lifetime_value_cents=new_ltv,
    )
    await conn.execute(
        update(Customer)
        .where(Customer.id == customer_id)
        .values(
            lifetime_value_cents=new_ltv,
            rfm_recency=scores[0],
            rfm_frequency=scores[1],
            rfm_monetary=scores[2],
            updated_at=at,
        )
    )
    return SaleRecorded(int(sale_id), amount_cents, str(currency), new_ltv, scores)
