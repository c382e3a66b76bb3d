"""Campaigns: the file, the list built from the segment, the status changes, on SQLite and on
PostgreSQL; checked against plain recounts of the rows."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from console.db import Database, open_database
from console.models import AuditLog, CampaignLead, PhoneNumber
from console.services.outbound.campaigns import (
    CampaignError,
    CampaignFileError,
    CampaignService,
    load_campaign_file,
)
from console.services.outbound.segments import SegmentCriteria, SegmentService
from console.services.seeding.seeding import SeedPlan, seed_database

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
PLAN = SeedPlan(customers=1200, seed=3, as_of=date(2026, 11, 1), locales=("en_US", "en_GB"))

WINBACK = """\
name = "Gold winback"
purpose = "sales"
mode = "predictive"
queue = "outbound"
caller_id = "+14155550000"

[segment]
tiers = ["gold", "platinum"]
no_contact_days = 90

[script]
text = "Hello {first_name}, this is {agent}."
"""
RANK = {"mobile": 1, "landline": 2, "work": 3}
PRIORITY = {"platinum": 1, "gold": 2, "iron": 3, "lead": 4}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("campaigns") / "crm.db"

    async def seed() -> None:
        database = open_database(f"sqlite:///{path}")
        try:
            await seed_database(database, PLAN)
        finally:
            await database.dispose()

    asyncio.run(seed())
    return path


@pytest.fixture
async def crm(seeded: Path, tmp_path: Path) -> AsyncIterator[Database]:
    copy = tmp_path / "crm.db"
    shutil.copy(seeded, copy)
    database = open_database(f"sqlite:///{copy}")
    try:
        yield database
    finally:
        await database.dispose()


def expected_list(path: Path, members: set[int]) -> dict[int, tuple[str, int]]:
    """customer -> (the number to dial, priority), recounted from the raw rows."""
    con = sqlite3.connect(path)
    try:
        tiers = dict(con.execute("SELECT id, tier FROM customers"))
        phones = con.execute("SELECT id, customer_id, e164, kind FROM phone_numbers").fetchall()
    finally:
        con.close()
    best: dict[int, tuple[int, int, str]] = {}
    for pid, cid, e164, kind in phones:
        if cid in members and kind != "fax":
            key = (RANK.get(kind, 9), pid, e164)
            best[cid] = min(best.get(cid, key), key)
    return {cid: (b[2], PRIORITY[tiers[cid]]) for cid, b in best.items()}


async def test_a_campaign_starts_with_its_segments_list(crm: Database) -> None:
    campaigns = CampaignService(crm, clock=lambda: NOW)
    spec = load_campaign_file("winback.toml", WINBACK)
    campaign_id = await campaigns.create(spec, agent_id=None)
    criteria = SegmentCriteria(tiers=("gold", "platinum"), no_contact_days=90)  # type: ignore[arg-type]
    segment = SegmentService(crm, clock=lambda: NOW)
    assert (await segment.get("campaign: Gold winback")).criteria == criteria

    size = await campaigns.start("Gold winback", agent_id=None)
    members = {m.customer_id for m in await segment.preview(criteria, limit=100_000)}
    assert size == len(members) > 0
    path = Path(str(crm.url.database))
    async with crm.session() as conn:
        leads = (
            await conn.execute(
                select(CampaignLead.customer_id, CampaignLead.e164, CampaignLead.priority).where(
                    CampaignLead.campaign_id == campaign_id
                )
            )
        ).all()
        audit = (
            await conn.execute(select(AuditLog.action).where(AuditLog.entity_type == "campaign"))
        ).all()
    assert {r[0]: (r[1], r[2]) for r in leads} == expected_list(path, members)
    assert [a[0] for a in audit] == ["create", "status"]

    summary = (await campaigns.summaries())[0]
    assert (summary.status, summary.leads, summary.pending, summary.dials) == (
        "running",
        size,
        size,
        0,
    )
    report = await campaigns.report("Gold winback")
    assert report.leads_by_status == {"pending": size} and report.dials == 0


async def test_status_changes_and_their_refusals(crm: Database) -> None:
    campaigns = CampaignService(crm, clock=lambda: NOW)
    await campaigns.create(load_campaign_file("w.toml", WINBACK), agent_id=None)
    with pytest.raises(CampaignError, match="exists already"):
        await campaigns.create(load_campaign_file("w.toml", WINBACK), agent_id=None)
    with pytest.raises(CampaignError, match="is draft, so it cannot be paused"):
        await campaigns.pause("Gold winback", agent_id=None)
    size = await campaigns.start("Gold winback", agent_id=None)
    with pytest.raises(CampaignError, match="running already"):
        await campaigns.start("Gold winback", agent_id=None)
    await campaigns.pause("Gold winback", agent_id=None)
    # A customer added to the segment later does not join a list already built.
    assert await campaigns.start("Gold winback", agent_id=None) == size
    await campaigns.stop("Gold winback", agent_id=None)
    assert (await campaigns.summaries())[0].status == "stopped"
    with pytest.raises(CampaignError, match="no campaign named 'nope'"):
        await campaigns.stop("nope", agent_id=None)


async def test_a_customer_with_only_a_fax_is_not_on_the_list(crm: Database) -> None:
    async with crm.write_connection() as conn:
        from sqlalchemy import update

        first = await conn.scalar(select(PhoneNumber.customer_id).order_by(PhoneNumber.id))
        await conn.execute(
            update(PhoneNumber).where(PhoneNumber.customer_id == first).values(kind="fax")
        )
    body = WINBACK.replace('tiers = ["gold", "platinum"]\nno_contact_days = 90', "")
    campaigns = CampaignService(crm, clock=lambda: NOW)
    campaign_id = await campaigns.create(load_campaign_file("all.toml", body), agent_id=None)
    await campaigns.start("Gold winback", agent_id=None)
    async with crm.session() as conn:
        on_list = set(
            (
                await conn.scalars(
                    select(CampaignLead.customer_id).where(CampaignLead.campaign_id == campaign_id)
                )
            ).all()
        )
    assert first not in on_list and len(on_list) > 1000


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('purpose = "sales"', 'purpose = "spam"'), "w.toml:2: purpose:"),
        (
            ('queue = "outbound"', 'queue = "outbound"\nabandon_cap = 0.05'),
            "w.toml:5: abandon_cap:",
        ),
        (
            ("no_contact_days = 90", "no_contact_days = 0"),
            "w.toml:9: segment.no_contact_days: Input should be greater than or equal to 1",
        ),
        (
            ("[script]", '[[dispositions]]\ncode = "x"\nlabel = "X"\n[[dispositions]]\n'
             'code = "x"\nlabel = "Y"\n[script]'),
            "w.toml:15: dispositions[2].code: code 'x' is used twice",
        ),
        (('text = "Hello', 'text = "Hi {nick}'), "w.toml:12: script.text: unknown field {nick}"),
    ],
)  # fmt: skip
def test_a_bad_campaign_file_is_one_line_with_its_line(
    change: tuple[str, str], message: str
) -> None:
    with pytest.raises(CampaignFileError) as caught:
        load_campaign_file("w.toml", WINBACK.replace(*change))
    assert str(caught.value).startswith(message), str(caught.value)


async def test_the_list_is_built_the_same_on_postgresql(pg_db: Database, crm: Database) -> None:
    await seed_database(pg_db, PLAN)
    lists = []
    for database in (crm, pg_db):
        campaigns = CampaignService(database, clock=lambda: NOW)
        campaign_id = await campaigns.create(load_campaign_file("w.toml", WINBACK), agent_id=None)
        await campaigns.start("Gold winback", agent_id=None)
        async with database.session() as conn:
            rows = await conn.execute(
                select(CampaignLead.customer_id, CampaignLead.e164, CampaignLead.priority).where(
                    CampaignLead.campaign_id == campaign_id
                )
            )
            lists.append(sorted(rows.all()))
    assert lists[0] == lists[1] and lists[0]
