"""Property, at the dialer: whatever the list, the DNC lists, the consents, the earlier attempts and
the clock (many instants around 2026's DST changes and on windows' edges), no forbidden
Originate ever reaches the simulator — and every permitted lead is dialled.

Each example is a fresh world in one database: a campaign of a random purpose whose list holds
numbers of several countries as written (some in several zones, one in none, some invalid),
earlier attempts as `dial_attempts` rows (a connected one counting as what its wrap-up wrote),
DNC entries (some expired) and consent histories. A real dialer runs two rounds against a real
simulator over AMI at that instant, with more ready bots than leads. The simulator's own record
of the Originates it accepted is then judged by the plain oracle of
tests/unit/test_outbound_never_forbidden.py (its own tables of zones, windows and holidays).
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert

from console.db import Database, open_database
from console.models import CampaignLead, DialAttempt
from console.models.enums import AttemptOutcome, CampaignPurpose, ConsentPurpose
from console.schema import upgrade
from console.services.outbound.attempts import Attempt
from console.services.outbound.campaigns import CampaignService, load_campaign_file
from console.services.outbound.consent import ConsentService
from console.services.outbound.dialer import DialerSettings
from console.services.outbound.dnc import DncService
from console.services.outbound.gate import Candidate
from tests.dialer_support import CHANNELVARS, running_dialer
from tests.pbx import running_pbx
from tests.unit.test_outbound_never_forbidden import (
    CUSTOMERS,
    DST_CHANGES,
    E164S,
    NUMBERS,
    ConsentRow,
    DncRow,
    World,
    forbidden,
    instants,
)

PLAIN = {  # an attempt outcome as the dialer records a dial that reached no agent
    AttemptOutcome.NO_ANSWER: "noanswer",
    AttemptOutcome.BUSY: "busy",
    AttemptOutcome.MACHINE: "machine",
    AttemptOutcome.FAILED: "failed",
}
AFTER_WRAP_UP = (AttemptOutcome.WRONG_PARTY, AttemptOutcome.RIGHT_PARTY, AttemptOutcome.DNC_REQUEST)
SCENARIO = """
name = "never-forbidden"
[[queues]]
name = "sales"
extension = "700"
[[bot_pools]]
count = 40
first = 3001
queues = ["sales"]
[outbound]
busy = 1
[[outbound.campaigns]]
context = "campaign-sales"
queue = "sales"
"""
CAMPAIGN = """
name = "Property"
purpose = "{purpose}"
mode = "progressive"
queue = "sales"
[segment]
tiers = ["platinum"]
[attempts]
max = 6
per_period = {{ attempts = 3, within = "1d" }}
[dial]
context = "campaign-sales"
"""


@dataclass(frozen=True)
class Lead:
    number: str  # as the list holds it
    customer: int
    history: tuple[Attempt, ...]  # plain outcomes, then at most one connected dial
    wrapped: AttemptOutcome | None  # what the wrap-up of that connected dial wrote


@dataclass(frozen=True)
class Case:
    world: World  # now, DNC rows, consents (the oracle's world; candidates below)
    purpose: CampaignPurpose
    leads: tuple[Lead, ...]

    def candidate(self, lead: Lead) -> Candidate:
        attempts = lead.history
        return Candidate(lead.number, self.purpose, lead.customer, attempts, campaign_id=1)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    # Half the instants the gate's own property draws (DST nights, windows' edges), half the
    # afternoons (UTC) of those days, when much of the list may be called.
    day = st.builds(
        lambda change, hours: (
            datetime.combine(change.date(), time(0), UTC) + timedelta(hours=hours)
        ),
        st.sampled_from(DST_CHANGES),
        st.floats(14, 23.99),
    )
    now = draw(st.one_of(instants(), day))
    expiry = st.one_of(
        st.none(), st.integers(-3 * 86400, 3 * 86400).map(lambda s: timedelta(seconds=s))
    )
    dnc = draw(
        st.lists(
            st.builds(
                DncRow,
                st.sampled_from(E164S),
                st.sampled_from(["internal", "us-national"]),
                expiry,
            ),
            max_size=4,
            unique_by=lambda r: (r.e164, r.source),
        )
    )
    consents = draw(
        st.lists(
            st.builds(
                ConsentRow,
                st.sampled_from(CUSTOMERS),
                st.sampled_from([ConsentPurpose.MARKETING_CALLS, ConsentPurpose.SURVEYS]),
                st.sampled_from([True, True, True, False]),
                st.sampled_from([timedelta(days=d) for d in (0, 1, 2, 30)]),
            ),
            max_size=10,
        )
    )
    ago = st.one_of(st.integers(1, 86400), st.integers(1, 3 * 86400)).map(
        lambda s: now - timedelta(seconds=s)
    )
    plain = st.lists(st.builds(Attempt, ago, st.sampled_from(sorted(PLAIN))), max_size=4)

    @st.composite
    def lead(draw2: st.DrawFn) -> Lead:
        history = draw2(st.one_of(st.just([]), plain))
        wrapped = draw2(st.sampled_from([None] * 6 + list(AFTER_WRAP_UP)))
        if wrapped is not None:
            history = [*history, Attempt(draw2(ago), wrapped)]
        return Lead(
            draw2(st.sampled_from(sorted(NUMBERS))),
            draw2(st.sampled_from(CUSTOMERS)),
            tuple(history),
            wrapped,
        )

    leads = draw(
        st.lists(lead(), min_size=1, max_size=12, unique_by=lambda x: (x.number, x.customer))
    )
    purpose = draw(st.sampled_from([*CampaignPurpose, CampaignPurpose.NOTIFICATION]))
    return Case(World(now, tuple(dnc), tuple(consents), ()), purpose, tuple(leads))


@pytest.fixture
def migrated(tmp_path: Path) -> Path:
    path = tmp_path / "dialer.db"

    async def make() -> None:
        database = open_database(f"sqlite:///{path}")
        try:
            await upgrade(database)
        finally:
            await database.dispose()

    asyncio.run(make())
    return path


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=cases())
def test_no_forbidden_originate_ever_reaches_the_pbx(migrated: Path, case: Case) -> None:
    asyncio.run(_dial(migrated, case))


async def _dial(path: Path, case: Case) -> None:
    _fresh(path)
    db = open_database(f"sqlite:///{path}")
    now = case.world.now
    try:
        ids = await _world(db, case)
        async with (
            running_pbx(SCENARIO, channelvars=CHANNELVARS) as pbx,
            running_dialer(
                db, pbx, lambda: now, settings=DialerSettings(tick=0.1), run=False
            ) as dialer,
        ):
            for _ in range(2):
                assert await dialer.guarded_step()
            dialled = [dict(request.variables) for _at, request in pbx.engine.originated]
            channels = [request.channel for _at, request in pbx.engine.originated]
    finally:
        await db.dispose()
    by_id = {lead_id: lead for lead, lead_id in zip(case.leads, ids, strict=True)}
    seen = []
    for variables, channel in zip(dialled, channels, strict=True):
        lead = by_id[int(variables["CC_LEAD"])]
        broken = forbidden(case.world, case.candidate(lead))
        assert not broken, (lead, broken, now)
        known = NUMBERS[lead.number]
        assert known is not None and channel == f"PJSIP/{known[0]}@trunk"
        seen.append(lead)
    permitted = [lead for lead in case.leads if not forbidden(case.world, case.candidate(lead))]
    assert sorted(map(repr, seen)) == sorted(map(repr, permitted))  # and nothing left out


def _fresh(path: Path) -> None:
    raw = sqlite3.connect(path)
    for table in (
        "dial_attempts", "campaign_leads", "dialer_leases", "campaigns", "segments",
        "compliance_decisions", "consent_records", "dnc_entries", "audit_log", "customers",
    ):  # fmt: skip
        raw.execute(f"DELETE FROM {table}")
    raw.executemany(
        "INSERT INTO customers (id, kind, display_name, language, tier, lifecycle, rfm_recency, "
        "rfm_frequency, rfm_monetary, lifetime_value_cents, currency, tags, notes, created_at, "
        "updated_at) VALUES (?, 'person', 'c', 'en', 'lead', 'new', 1, 1, 1, 0, 'USD', '[]', "
        "'', 0, 0)",
        [(c,) for c in CUSTOMERS],
    )
    raw.commit()
    raw.close()


async def _world(db: Database, case: Case) -> list[int]:
    """The case's rows, written by the real services where there is one; the lead ids."""
    now = case.world.now
    dnc = DncService(db, clock=lambda: now)
    for row in case.world.dnc:
        expires = None if row.expires_in is None else now + row.expires_in
        await dnc.add(row.e164, source=row.source, expires_at=expires)
    consent = ConsentService(db, clock=lambda: now)
    for c in case.world.consents:
        await consent.record(c.customer, c.purpose, granted=c.granted, source="t", at=now - c.ago)
    campaigns = CampaignService(db, clock=lambda: now)
    spec = load_campaign_file("p.toml", CAMPAIGN.format(purpose=case.purpose.value))
    campaign_id = await campaigns.create(spec, agent_id=None)
    ids = []
    async with db.write_connection() as conn:
        for lead in case.leads:
            lead_id = await conn.scalar(
                insert(CampaignLead)
                .values(
                    campaign_id=campaign_id,
                    customer_id=lead.customer,
                    e164=lead.number,
                    last_outcome="" if lead.wrapped is None else lead.wrapped.value,
                    attempts=len(lead.history),
                    updated_at=now,
                )
                .returning(CampaignLead.id)
            )
            ids.append(int(lead_id or 0))
            for attempt in lead.history:
                outcome = PLAIN.get(attempt.outcome, "connected")
                await conn.execute(
                    insert(DialAttempt).values(
                        campaign_id=campaign_id,
                        lead_id=lead_id,
                        e164=lead.number,
                        placed_at=attempt.at,
                        outcome=outcome,
                        ended_at=attempt.at + timedelta(seconds=1),
                        connected_at=attempt.at if outcome == "connected" else None,
                    )
                )
    await campaigns.start("Property", agent_id=None)  # the list is there already: kept
    return ids


def _midnight(at: datetime) -> datetime:
    return datetime.combine(at.date(), time(0), UTC)
