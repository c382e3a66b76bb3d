"""CRM segments against a seeded CRM: every count is checked against an independent recount
done in plain Python over the raw rows."""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.db import Database, open_database
from console.models.base import from_db_time
from console.models.enums import Lifecycle, Tier
from console.services.outbound.segments import SegmentCriteria, SegmentError, SegmentService
from console.services.seeding.seed_sql import TAGS
from console.services.seeding.seeding import SeedPlan, seed_database

AS_OF = date(2026, 11, 1)
NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
OPEN = {"new", "open", "pending"}
PURPOSES = ["marketing_calls", "recording", "surveys"]


@dataclass
class Row:
    """A customer as the oracle sees them: straight from the tables."""

    id: int
    tier: str
    lifecycle: str
    language: str
    rfm: tuple[int, int, int]
    ltv: int
    tags: list[str]
    regions: set[str] = field(default_factory=set)
    contacts: list[datetime] = field(default_factory=list)
    open_tickets: int = 0
    consents: list[tuple[datetime, int, str, bool]] = field(default_factory=list)

    def consented(self, purpose: str) -> bool:
        """The latest record given (the last written on a tie) for ``purpose`` grants it."""
        mine = [c for c in self.consents if c[2] == purpose]
        return bool(mine) and max(mine)[3]


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("segments") / "crm.db"

    async def seed() -> None:
        database = open_database(f"sqlite:///{path}")
        try:
            plan = SeedPlan(
                customers=1500, seed=11, as_of=AS_OF, locales=("en_US", "zh_CN", "en_GB")
            )
            await seed_database(database, plan)
        finally:
            await database.dispose()

    asyncio.run(seed())
    add_consents(path)
    return path


def add_consents(path: Path) -> None:
    """Random grants and withdrawals, some at the same instant (the tie goes to the later
    row), written straight into the table."""
    rng = random.Random(5)
    con = sqlite3.connect(path)
    try:
        rows = []
        for cid in range(1, 1501):
            for _ in range(rng.choice((0, 0, 1, 2, 3))):
                at = NOW - timedelta(days=rng.choice((1, 2, 2, 30)))
                rows.append((cid, rng.choice(PURPOSES), rng.random() < 0.6, "test", to_db(at),
                             to_db(at), ""))  # fmt: skip
        con.executemany(
            "INSERT INTO consent_records (customer_id, purpose, granted, source, at, "
            "recorded_at, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        con.commit()
    finally:
        con.close()


def to_db(at: datetime) -> int:
    return int(at.timestamp() * 1_000_000)


@pytest.fixture(scope="module")
def rows(crm: Path) -> dict[int, Row]:
    con = sqlite3.connect(crm)
    try:
        out = {
            r[0]: Row(r[0], r[1], r[2], r[3], (r[4], r[5], r[6]), r[7], json.loads(r[8]))
            for r in con.execute(
                "SELECT id, tier, lifecycle, language, rfm_recency, rfm_frequency, rfm_monetary,"
                " lifetime_value_cents, tags FROM customers"
            )
        }
        for cid, region in con.execute("SELECT customer_id, region FROM phone_numbers"):
            out[cid].regions.add(region)
        for cid, offered in con.execute(
            "SELECT customer_id, offered_at FROM interactions WHERE customer_id IS NOT NULL"
        ):
            out[cid].contacts.append(from_db_time(offered))
        for rid, cid, purpose, granted, at in con.execute(
            "SELECT id, customer_id, purpose, granted, at FROM consent_records"
        ):
            out[cid].consents.append((from_db_time(at), rid, purpose, bool(granted)))
        for cid, status in con.execute("SELECT customer_id, status FROM tickets"):
            out[cid].open_tickets += status in OPEN
    finally:
        con.close()
    return out


@pytest.fixture
async def segments(crm: Path) -> AsyncIterator[SegmentService]:
    database = open_database(f"sqlite:///{crm}")
    try:
        yield SegmentService(database, clock=lambda: NOW)
    finally:
        await database.dispose()


def oracle(c: SegmentCriteria, rows: dict[int, Row]) -> list[int]:
    """The members of ``c``, recounted plainly (no SQL, no code of the service)."""
    out = []
    for r in rows.values():
        checks = [
            bool(r.regions),
            not c.tiers or r.tier in c.tiers,
            not c.lifecycles or r.lifecycle in c.lifecycles,
            not c.languages or r.language.lower() in c.languages,
            not c.tags_any or any(t in r.tags for t in c.tags_any),
            all(t in r.tags for t in c.tags_all),
            not c.countries or bool(r.regions & set(c.countries)),
            c.min_lifetime_value is None or r.ltv >= c.min_lifetime_value * 100,
            c.open_tickets is None or (r.open_tickets > 0) == (c.open_tickets == "any"),
            all(r.consented(p) for p in c.consent),
        ]
        for score, low, high in zip(
            r.rfm,
            (c.recency_min, c.frequency_min, c.monetary_min),
            (c.recency_max, c.frequency_max, c.monetary_max),
            strict=True,
        ):
            checks.append((low is None or score >= low) and (high is None or score <= high))
        if c.no_contact_days is not None:
            since = NOW - timedelta(days=c.no_contact_days)
            checks.append(not any(t >= since for t in r.contacts))
        if c.contact_within_days is not None:
            since = NOW - timedelta(days=c.contact_within_days)
            checks.append(any(t >= since for t in r.contacts))
        if all(checks):
            out.append(r.id)
    return sorted(out)


criteria_st = st.builds(
    SegmentCriteria,
    tiers=st.lists(st.sampled_from(list(Tier)), max_size=2).map(tuple),
    lifecycles=st.lists(st.sampled_from(list(Lifecycle)), max_size=3).map(tuple),
    languages=st.lists(st.sampled_from(["en", "zh", "fr"]), max_size=1).map(tuple),
    recency_min=st.none() | st.integers(1, 5),
    monetary_max=st.none() | st.integers(1, 5),
    tags_any=st.lists(st.sampled_from(TAGS), max_size=2).map(tuple),
    countries=st.lists(st.sampled_from(["US", "CN", "GB", "FR"]), max_size=2).map(tuple),
    no_contact_days=st.none() | st.integers(1, 400),
    contact_within_days=st.none() | st.integers(1, 400),
    open_tickets=st.none() | st.sampled_from(["any", "none"]),
    consent=st.lists(st.sampled_from(PURPOSES), max_size=2).map(tuple),
    min_lifetime_value=st.none() | st.integers(0, 5000),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(criteria=criteria_st)
async def test_a_segment_counts_what_a_plain_recount_finds(
    segments: SegmentService, rows: dict[int, Row], criteria: SegmentCriteria
) -> None:
    expected = oracle(criteria, rows)
    assert await segments.count(criteria) == len(expected)
    preview = await segments.preview(criteria, limit=5)
    assert [m.customer_id for m in preview] == expected[:5]


async def test_the_example_segment_is_not_empty_and_counts_right(
    segments: SegmentService, rows: dict[int, Row]
) -> None:
    """Gold customers not contacted in 90 days who consented to marketing: the issue's
    example."""
    gold = SegmentCriteria.parse(
        {"tiers": ["gold"], "no_contact_days": 90, "consent": ["marketing_calls"]}
    )
    expected = oracle(gold, rows)
    assert 0 < len(expected) < len(rows)  # the criteria select something, not everything
    assert await segments.count(gold) == len(expected)


def test_every_seeded_number_has_its_region(crm: Path) -> None:
    con = sqlite3.connect(crm)
    try:
        stored = con.execute("SELECT e164, region FROM phone_numbers").fetchall()
    finally:
        con.close()
    assert {region for _e, region in stored} == {"US", "CN", "GB"}
    for e164, region in stored:
        assert phonenumbers.region_code_for_number(phonenumbers.parse(e164)) == region


async def test_segments_are_saved_replaced_and_listed(db: Database) -> None:
    service = SegmentService(db, clock=lambda: NOW)
    first = await service.save("Gold, quiet", SegmentCriteria(tiers=(Tier.GOLD,)), agent_id=None)
    again = await service.save(
        "Gold, quiet", SegmentCriteria(tiers=(Tier.GOLD,), no_contact_days=90), agent_id=None
    )
    assert first == again
    saved = await service.get("Gold, quiet")
    assert saved.criteria.no_contact_days == 90
    assert [s.name for s in await service.all()] == ["Gold, quiet"]
    with pytest.raises(SegmentError, match="no segment named"):
        await service.get("nope")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"tiers": ["diamond"]}, "tiers.0"),
        ({"countries": ["USA"]}, "not an ISO 3166 country code"),
        ({"recency_min": 9}, "recency_min"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_criteria_are_one_clear_message(data: dict[str, object], message: str) -> None:
    with pytest.raises(SegmentError, match=message):
        SegmentCriteria.parse(data)
