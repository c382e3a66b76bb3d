"""Consent records: history kept, the latest per customer and purpose decides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from console.db import Database
from console.models.enums import ConsentPurpose
from console.services.outbound.consent import ConsentError, ConsentService
from tests.outbound import add_agent, add_customer

T0 = datetime(2026, 6, 1, 15, 0, tzinfo=UTC)
MARKETING, SURVEYS = ConsentPurpose.MARKETING_CALLS, ConsentPurpose.SURVEYS


async def test_the_latest_record_decides_and_the_history_is_kept(db: Database) -> None:
    agent = await add_agent(db)
    ann = await add_customer(db, "Ann", "+12125550123")
    consent = ConsentService(db, clock=lambda: T0 + timedelta(days=10))
    assert await consent.latest(ann, MARKETING) is None
    assert not await consent.has_consent(ann, MARKETING)  # never asked: no consent
    await consent.record(ann, MARKETING, granted=True, source="web form", at=T0)
    assert await consent.has_consent(ann, MARKETING)
    await consent.record(ann, "marketing_calls", granted=False, source="wrap-up", agent_id=agent)
    assert not await consent.has_consent(ann, MARKETING)
    # A grant imported later but given before the withdrawal does not overturn it.
    await consent.record(
        ann, MARKETING, granted=True, source="crm import", at=T0 + timedelta(days=1)
    )
    assert not await consent.has_consent(ann, MARKETING)
    history = await consent.history(ann)
    assert [(h.source, h.granted) for h in history] == [
        ("web form", True),
        ("crm import", True),
        ("wrap-up", False),
    ]
    assert history[-1].recorded_by_agent_id == agent
    assert not await consent.has_consent(ann, SURVEYS)  # purposes are separate


async def test_two_records_at_the_same_instant_go_by_the_order_written(db: Database) -> None:
    ann = await add_customer(db, "Ann")
    consent = ConsentService(db, clock=lambda: T0)
    await consent.record(ann, SURVEYS, granted=True, source="ivr", at=T0)
    await consent.record(ann, SURVEYS, granted=False, source="ivr", at=T0)
    assert not await consent.has_consent(ann, SURVEYS)
    await consent.record(ann, SURVEYS, granted=True, source="ivr", at=T0)
    assert await consent.has_consent(ann, SURVEYS)


async def test_latest_many_answers_for_a_batch(db: Database) -> None:
    consent = ConsentService(db, clock=lambda: T0)
    customers = [await add_customer(db, f"C{n}") for n in range(4)]
    await consent.record(customers[0], MARKETING, granted=True, source="s", at=T0)
    await consent.record(customers[1], MARKETING, granted=True, source="s", at=T0)
    await consent.record(customers[1], MARKETING, granted=False, source="s", at=T0 + timedelta(1))
    await consent.record(customers[2], SURVEYS, granted=True, source="s", at=T0)
    found = await consent.latest_many(
        [(c, MARKETING) for c in customers] + [(customers[2], SURVEYS)]
    )
    assert {k: v.granted for k, v in found.items()} == {
        (customers[0], MARKETING): True,
        (customers[1], MARKETING): False,
        (customers[2], SURVEYS): True,
    }


async def test_bad_records_are_refused_and_write_nothing(db: Database) -> None:
    ann = await add_customer(db, "Ann")
    consent = ConsentService(db, clock=lambda: T0)
    with pytest.raises(ConsentError, match="customer 999 does not exist"):
        await consent.record(999, MARKETING, granted=True, source="web")
    with pytest.raises(ConsentError, match="purpose must be one of"):
        await consent.record(ann, "telepathy", granted=True, source="web")
    with pytest.raises(ConsentError, match="source must not be empty"):
        await consent.record(ann, MARKETING, granted=True, source=" ")
    with pytest.raises(ConsentError, match="no time zone"):
        await consent.record(ann, MARKETING, granted=True, source="web", at=datetime(2026, 1, 1))
    with pytest.raises(ConsentError, match="agent 77 does not exist"):
        await consent.record(ann, MARKETING, granted=True, source="web", agent_id=77)
    assert await consent.history(ann) == []
