"""What the dialer's tests share: a simulator with bot agents on a campaign queue and a campaign
dialplan, a CRM with customers on a campaign list, a dialer on its own AMI session, and waits.

The dialer's clock is the wall clock moved to a fixed afternoon (`BASE`, a Wednesday: 12:00 in
New York, 09:00 in Los Angeles, 07:00 in Honolulu), so calling windows decide the same way
whenever the tests run; the simulator runs in real time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from console.cti.ami import AmiTimings
from console.db import Database
from console.factory import PbxAddress, build_dialer
from console.models import CampaignLead, ConsentRecord, Customer, DialAttempt, PhoneNumber
from console.models.enums import ConsentPurpose
from console.services.outbound.campaigns import CampaignService, load_campaign_file
from console.services.outbound.dialer import Dialer, DialerSettings
from telephony_sim.outbound import OriginateRequest
from tests.pbx import Pbx

BASE = datetime(2026, 11, 4, 17, 0, tzinfo=UTC)
CHANNELVARS = ("CC_CAMPAIGN", "CC_LEAD")
CONTEXT = "campaign-sales"


def scenario(
    *, agents: int = 3, answer_delay: float = 0.3, talk: float = 2.0, ring: str = "[0.3, 0.6]"
) -> str:
    """A queue ``sales`` with ``agents`` bots, customers who answer (unless scripted with
    SimOutbound) and the campaign dialplan ``campaign-sales`` (AMD, Queue() for 2 s)."""
    return f"""
name = "dialer-tests"
[[queues]]
name = "sales"
extension = "700"
timeout = 15
[[bot_pools]]
count = {agents}
first = 2001
queues = ["sales"]
[bot_pools.bot]
answer_delay = {answer_delay}
[outbound]
answer = 1
ring_seconds = {ring}
machine_ring_seconds = [0.5, 1.0]
talk_time = {talk}
[[outbound.campaigns]]
context = "{CONTEXT}"
queue = "sales"
queue_timeout = 2
message_seconds = 1
safe_harbor_seconds = 1
"""


def campaign_file(
    name: str = "Test", *, mode: str = "progressive", purpose: str = "notification", extra: str = ""
) -> str:
    return f"""
name = "{name}"
purpose = "{purpose}"
mode = "{mode}"
queue = "sales"
caller_id = '"Acme" <6000>'
{extra}
[segment]
tiers = ["gold"]

[dial]
context = "{CONTEXT}"
ring_timeout = "5s"
"""


def number(i: int, area: str = "212") -> str:
    """A valid US number (New York's 212 by default: one zone)."""
    return f"+1{area}555{i:04d}"


async def add_customers(
    db: Database, numbers: Sequence[str], *, consent: Sequence[bool | None] | None = None
) -> list[int]:
    """One gold customer per number; ``consent``: True granted, False withdrawn, None none
    (marketing calls), per customer."""
    ids = []
    async with db.write_connection() as conn:
        for i, e164 in enumerate(numbers):
            cid = await conn.scalar(
                insert(Customer)
                .values(display_name=f"Customer {i}", tier="gold")
                .returning(Customer.id)
            )
            await conn.execute(insert(PhoneNumber).values(customer_id=cid, e164=e164, region="US"))
            given = None if consent is None else consent[i]
            if given is not None:
                await conn.execute(
                    insert(ConsentRecord).values(
                        customer_id=cid,
                        purpose=ConsentPurpose.MARKETING_CALLS,
                        granted=given,
                        source="test",
                        at=BASE - timedelta(days=10),
                    )
                )
            ids.append(int(cid or 0))
    return ids


async def start_campaign(db: Database, body: str, clock: Callable[[], datetime]) -> int:
    """Create and start the campaign in ``body``; its id."""
    service = CampaignService(db, clock=clock)
    spec = load_campaign_file("campaign.toml", body)
    campaign_id = await service.create(spec, agent_id=None)
    await service.start(spec.name, agent_id=None)
    return campaign_id


async def leads(db: Database, campaign_id: int) -> dict[str, Any]:
    """The campaign's leads by number."""
    async with db.session() as session:
        rows = (
            await session.execute(
                select(CampaignLead).where(CampaignLead.campaign_id == campaign_id)
            )
        ).scalars()
        return {lead.e164: lead for lead in rows}


async def attempts(db: Database, campaign_id: int) -> list[Any]:
    async with db.session() as session:
        return list(
            (
                await session.execute(
                    select(DialAttempt)
                    .where(DialAttempt.campaign_id == campaign_id)
                    .order_by(DialAttempt.id)
                )
            ).scalars()
        )


def originated(pbx: Pbx) -> list[OriginateRequest]:
    """The Originates the simulator accepted (its own record), in order."""
    return [request for _at, request in pbx.engine.originated]


def dialled_numbers(pbx: Pbx) -> list[str]:
    """The customers' numbers the simulator was asked to dial: a customer-first Originate's
    channel (``PJSIP/<number>@trunk``), an agent-first one's extension."""
    return [
        r.channel.split("/", 1)[1].split("@", 1)[0] if "@" in r.channel else r.exten
        for r in originated(pbx)
    ]


async def wait_until(
    check: Callable[[], Awaitable[bool]] | Callable[[], bool], within: float = 30.0
) -> None:
    """Poll ``check`` until it holds (fails the test after ``within`` seconds)."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {within:g}s: {check}")
        await asyncio.sleep(0.05)


@dataclass
class ShiftedClock:
    """The wall clock moved to ``base`` at creation (time passes as it does)."""

    base: datetime = BASE

    def __post_init__(self) -> None:
        self._start = time.monotonic()

    def __call__(self) -> datetime:
        return self.base + timedelta(seconds=time.monotonic() - self._start)


@asynccontextmanager
async def running_dialer(
    db: Database,
    pbx: Pbx,
    clock: Callable[[], datetime],
    *,
    settings: DialerSettings | None = None,
    owner: str = "",
    run: bool = True,
) -> AsyncIterator[Dialer]:
    """A dialer on its own AMI session, its loop running (``run``) until the block ends."""
    lines: list[str] = []
    dialer = build_dialer(
        db,
        PbxAddress("127.0.0.1", pbx.port, "agent", "s3cret"),
        owner=owner or None,
        clock=clock,
        settings=settings or DialerSettings(tick=0.1, lease_seconds=5.0),
        timings=AmiTimings(ping_interval=1.0, ping_timeout=2.0),
        on_state=lines.append,
    )
    dialer.lines = lines  # type: ignore[attr-defined]
    await dialer.cti.start()
    await asyncio.wait_for(dialer.cti.wait_connected(), 10)
    stop = asyncio.Event()
    task = asyncio.create_task(dialer.run(stop)) if run else None
    try:
        yield dialer
    finally:
        stop.set()
        if task is not None:
            await asyncio.wait_for(task, 10)
        await dialer.cti.close()
