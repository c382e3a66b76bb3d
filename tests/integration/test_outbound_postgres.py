"""Outbound compliance on a real PostgreSQL server: the same services and decisions as SQLite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console.db import Database
from console.models.enums import CampaignPurpose, ConsentPurpose, SkipReason
from console.services.outbound.compliance import ComplianceService
from console.services.outbound.consent import ConsentService
from console.services.outbound.dnc import DncService
from console.services.outbound.gate import Candidate
from console.services.outbound.optout import OptOutService
from tests.outbound import add_agent, add_customer

pytestmark = pytest.mark.postgres
NOON_NY = datetime(2026, 6, 2, 16, 0, tzinfo=UTC)
MARKETING = ConsentPurpose.MARKETING_CALLS


async def test_imports_screens_and_opt_outs_on_postgres(pg_db: Database, tmp_path: Path) -> None:
    agent = await add_agent(pg_db)
    ann = await add_customer(pg_db, "Ann", "+12125550123")
    bob = await add_customer(pg_db, "Bob", "+12125550124")
    consent = ConsentService(pg_db)
    for customer in (ann, bob):
        await consent.record(customer, MARKETING, granted=True, source="web", at=NOON_NY)
    await consent.record(bob, MARKETING, granted=False, source="ivr", at=NOON_NY)  # same instant
    dnc = DncService(pg_db, clock=lambda: NOON_NY)
    first = tmp_path / "full.txt"
    first.write_text("201,5550100\n201,5550101\nnot a number\n")
    report = await dnc.import_file(first, "us-national")
    assert (report.added, report.bad_count, report.bad[0].line) == (2, 1, 3)
    second = tmp_path / "next.txt"
    second.write_text("201,5550101\n201,5550102\n")
    replaced = await dnc.import_file(second, "us-national", replace=True)
    assert (replaced.added, replaced.removed) == (1, 1)

    service = ComplianceService(pg_db, clock=lambda: NOON_NY)
    candidates = [
        Candidate("+12125550123", CampaignPurpose.SALES, ann, campaign_id=1),
        Candidate("+12125550124", CampaignPurpose.SALES, bob, campaign_id=1),
        Candidate("+12015550100", CampaignPurpose.NOTIFICATION, campaign_id=1),
        Candidate("+12015550102", CampaignPurpose.NOTIFICATION, campaign_id=1),
    ]
    reasons = [d.reason for d in await service.screen(candidates)]
    assert reasons == [None, SkipReason.NO_CONSENT, None, SkipReason.DNC]

    await OptOutService(pg_db, clock=lambda: NOON_NY).opt_out(customer_id=ann, agent_id=agent)
    later = NOON_NY + timedelta(minutes=1)
    assert (await service.check(candidates[0], now=later)).reason is SkipReason.DNC
    logged = await service.decisions(campaign_id=1)
    assert len(logged) == 5 and (logged[0].at, logged[0].reason) == (later, SkipReason.DNC)
    assert (await service.decisions(customer_id=ann))[0].reason is SkipReason.DNC
