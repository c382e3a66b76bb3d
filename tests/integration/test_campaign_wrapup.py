"""A campaign call's wrap-up: the campaign's dispositions, a sale with its amount (lifetime
value and RFM), a retry with or without the agent's time, an opt-out, a finished survey; the
list entry and its dial settled once, whether the wrap-up reached the database at once or was
journaled during an outage and applied later (twice, after a kill)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from console.db import Database, open_database
from console.models import CampaignLead, Customer, DialAttempt, DncEntry, Sale, SurveyAnswer
from console.schema import upgrade
from console.services.desk.durable_log import DurableInteractionLog
from console.services.desk.interactions import (
    InteractionLog,
    InteractionRecord,
    WrapUp,
    WrapUpError,
)
from console.services.desk.wrapup import WrapUpForm, WrapUpSubmission
from console.services.outbound.optout import OptOutService
from tests.campaign_calls import Campaign, connect, lead_of, sales_campaign
from tests.db_faults import SqliteFaults

NOW = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
PLACED = NOW - timedelta(minutes=5)


async def campaign_call(
    log: InteractionLog, db: Database, camp: Campaign, customer: int, uniqueid: str
) -> tuple[InteractionRecord, int, int]:
    """A connected campaign call to ``customer``, talked and hung up: (row, lead, dial)."""
    lead = await lead_of(db, camp.id, customer)
    attempt = await connect(db, camp.id, lead, uniqueid=uniqueid, placed_at=PLACED)
    record = await log.ring(
        uniqueid=uniqueid + "-agent",
        linkedid=uniqueid,
        agent_id=camp.agent_id,
        queue_name="sales",
        caller_raw="+14155550000",
        caller_e164="+14155550000",
        caller_name="",
        customer_id=customer,
        offered_at=PLACED + timedelta(seconds=9),
        direction="outbound",
        campaign_id=camp.id,
        lead_id=lead,
    )
    await log.answered(record.id, PLACED + timedelta(seconds=10))
    record = await log.ended(record.id, PLACED + timedelta(minutes=3))
    return record, lead, attempt


async def lead_row(db: Database, lead: int) -> Any:
    async with db.session() as conn:
        return (
            await conn.execute(
                select(
                    CampaignLead.status,
                    CampaignLead.last_outcome,
                    CampaignLead.next_attempt_at,
                    CampaignLead.attempts,
                ).where(CampaignLead.id == lead)
            )
        ).one()


async def dial_row(db: Database, attempt: int) -> Any:
    async with db.session() as conn:
        return (
            await conn.execute(
                select(DialAttempt.agent_id, DialAttempt.disposition).where(
                    DialAttempt.id == attempt
                )
            )
        ).one()


async def customer_row(db: Database, customer: int) -> Any:
    async with db.session() as conn:
        return (
            await conn.execute(
                select(
                    Customer.lifetime_value_cents,
                    Customer.rfm_recency,
                    Customer.rfm_frequency,
                    Customer.rfm_monetary,
                ).where(Customer.id == customer)
            )
        ).one()


async def sales(db: Database) -> list[Any]:
    async with db.session() as conn:
        return list(
            (
                await conn.execute(
                    select(
                        Sale.customer_id,
                        Sale.amount_cents,
                        Sale.currency,
                        Sale.dial_attempt_id,
                        Sale.agent_id,
                    )
                )
            ).all()
        )


async def test_a_sale_settles_the_lead_and_moves_the_customers_value_once(db: Database) -> None:
    camp = await sales_campaign(db, NOW)
    log = InteractionLog(db, clock=lambda: NOW)
    record, lead, attempt = await campaign_call(log, db, camp, camp.customers[0], "1.1")
    assert record.campaign_id == camp.id and record.lead_id == lead
    catalog = await log.catalog_for(record)
    assert catalog.codes[:3] == ("sale", "not_interested", "callback")
    assert "resolved" in log.catalog  # the inbound catalog…
    with pytest.raises(WrapUpError, match="unknown disposition 'resolved'; choose one of sale"):
        await log.wrap_up(record.id, WrapUp("resolved"), NOW)  # …is not this call's
    with pytest.raises(WrapUpError, match="“Sale” needs the amount sold"):
        await log.wrap_up(record.id, WrapUp("sale"), NOW)
    assert (await lead_row(db, lead)).status == "dialing"  # refused: nothing settled

    done = await log.wrap_up(record.id, WrapUp("sale", "Renewed", sale_cents=12_990), NOW)
    again = await log.wrap_up(record.id, WrapUp("sale", "Renewed", sale_cents=12_990), NOW)
    assert done.status == again.status == "completed"
    assert await sales(db) == [(camp.customers[0], 12_990, "USD", attempt, camp.agent_id)]
    # Lifetime value and RFM moved once: recency 5 (bought now), one sale in a year is
    # frequency 1, $129.90 of lifetime value is monetary 1 (docs/metrics.md).
    assert tuple(await customer_row(db, camp.customers[0])) == (12_990, 5, 1, 1)
    status, outcome, due, _attempts = await lead_row(db, lead)
    assert (status, outcome, due) == ("done", "right_party", None)
    assert tuple(await dial_row(db, attempt)) == (camp.agent_id, "sale")


async def test_rfm_after_sales_uses_the_last_years_sales_and_the_new_value(db: Database) -> None:
    camp = await sales_campaign(db, NOW, customers=1)
    customer = camp.customers[0]
    async with db.write_connection() as conn:
        await conn.execute(
            update(Customer)
            .where(Customer.id == customer)
            .values(lifetime_value_cents=1_990_000, rfm_recency=2, rfm_frequency=4, rfm_monetary=1)
        )
    log = InteractionLog(db, clock=lambda: NOW)
    record, _lead, _ = await campaign_call(log, db, camp, customer, "2.1")
    await log.wrap_up(record.id, WrapUp("sale", sale_cents=1_000), NOW)
    # Frequency never drops (4 stays 4 after one sale); $19,910 reaches monetary 5.
    assert tuple(await customer_row(db, customer)) == (1_991_000, 5, 4, 5)


async def test_a_retry_with_the_agents_time_and_one_without(db: Database) -> None:
    rules = {"attempts": {"max": 3, "spacing": {"wrong_party": 7200}}}
    camp = await sales_campaign(db, NOW, rules=rules)
    log = InteractionLog(db, clock=lambda: NOW)
    later = NOW + timedelta(days=1, hours=2)

    record, lead, attempt = await campaign_call(log, db, camp, camp.customers[0], "3.1")
    await log.wrap_up(record.id, WrapUp("callback", retry_at=later), NOW)
    status, outcome, due, _ = await lead_row(db, lead)
    # Reached but "call me later": open, as a no-answer for the attempt rules, due then.
    assert (status, outcome, due) == ("pending", "no_answer", later)
    assert tuple(await dial_row(db, attempt)) == (camp.agent_id, "callback")

    record, lead, _ = await campaign_call(log, db, camp, camp.customers[1], "3.2")
    await log.wrap_up(record.id, WrapUp("wrong_party"), NOW)
    status, outcome, due, _ = await lead_row(db, lead)
    # The campaign's own spacing for a wrong party (2 h), from when the dial was placed.
    assert (status, outcome, due) == ("pending", "wrong_party", PLACED + timedelta(hours=2))

    record, lead, _ = await campaign_call(log, db, camp, camp.customers[2], "3.3")
    with pytest.raises(WrapUpError, match="has passed"):
        await log.wrap_up(record.id, WrapUp("callback", retry_at=NOW - timedelta(minutes=1)), NOW)
    await log.wrap_up(record.id, WrapUp("wrong_number", retry_at=later), NOW)  # not a retry
    status, outcome, due, _ = await lead_row(db, lead)
    assert (status, outcome, due) == ("done", "wrong_party", None)


async def test_a_retry_with_the_attempts_used_up_exhausts_the_lead(db: Database) -> None:
    camp = await sales_campaign(db, NOW, rules={"attempts": {"max": 2}}, customers=1)
    log = InteractionLog(db, clock=lambda: NOW)
    lead = await lead_of(db, camp.id, camp.customers[0])
    async with db.write_connection() as conn:
        await conn.execute(update(CampaignLead).where(CampaignLead.id == lead).values(attempts=1))
    record, _, _ = await campaign_call(log, db, camp, camp.customers[0], "4.1")  # the 2nd
    await log.wrap_up(record.id, WrapUp("callback", retry_at=NOW + timedelta(hours=1)), NOW)
    status, outcome, due, attempts = await lead_row(db, lead)
    assert (status, outcome, due, attempts) == ("exhausted", "no_answer", None, 2)


async def test_an_opt_out_blocks_the_customers_numbers_and_the_lead(db: Database) -> None:
    camp = await sales_campaign(db, NOW, customers=1)
    log = InteractionLog(db, clock=lambda: NOW)
    record, lead, _ = await campaign_call(log, db, camp, camp.customers[0], "5.1")
    submission = WrapUpSubmission(
        log,
        record,
        agent_id=camp.agent_id,
        opt_outs=OptOutService(db, clock=lambda: NOW),
        clock=lambda: NOW,
        catalog=await log.catalog_for(record),
    )
    saved = await submission.submit(WrapUpForm("do_not_call", notes="Never again"))
    assert saved.opted_out is not None
    assert set(saved.opted_out.numbers) == {"+14155550000"}
    async with db.session() as conn:
        blocked = set((await conn.scalars(select(DncEntry.e164))).all())
    assert blocked == {"+14155550000"}
    status, outcome, _due, _ = await lead_row(db, lead)
    assert (status, outcome) == ("blocked", "dnc_request")


async def test_the_forms_amount_and_time_are_parsed_before_anything_is_made(
    db: Database,
) -> None:
    camp = await sales_campaign(db, NOW, customers=1)
    log = InteractionLog(db, clock=lambda: NOW)
    record, lead, _ = await campaign_call(log, db, camp, camp.customers[0], "6.1")
    submission = WrapUpSubmission(
        log, record, agent_id=camp.agent_id, clock=lambda: NOW,
        catalog=await log.catalog_for(record), tz=UTC,
    )  # fmt: skip
    with pytest.raises(WrapUpError, match="'twelve' is not an amount"):
        await submission.submit(WrapUpForm("sale", sale_amount="twelve"))
    with pytest.raises(WrapUpError, match="not a time"):
        await submission.submit(WrapUpForm("callback", retry_at="tomorrowish"))
    saved = await submission.submit(WrapUpForm("callback", retry_at="16:30"))
    assert saved.record.status == "completed"
    _status, _outcome, due, _ = await lead_row(db, lead)
    assert due == NOW.replace(hour=16, minute=30)


async def test_a_finished_survey_needs_answers_to_its_end(db: Database) -> None:
    camp = await sales_campaign(db, NOW, customers=1)
    customer = camp.customers[0]
    log = InteractionLog(db, clock=lambda: NOW)
    record, lead, _ = await campaign_call(log, db, camp, customer, "7.1")
    with pytest.raises(WrapUpError, match="“From 1 to 10\\?” has no answer"):
        await log.wrap_up(record.id, WrapUp("survey_done", survey={"happy": "yes"}), NOW)
    with pytest.raises(WrapUpError, match="“Why not\\?” has no answer"):
        await log.wrap_up(record.id, WrapUp("survey_done", survey={"happy": "n"}), NOW)
    with pytest.raises(WrapUpError, match="'11' is not an answer to 'score'"):
        await log.wrap_up(record.id, WrapUp("survey_done", survey={"score": "11"}), NOW)
    async with db.session() as conn:
        assert (await conn.scalars(select(SurveyAnswer.id))).all() == []  # refused: none kept
    # "yes" skips "why": the path happy → score is the whole survey.
    await log.wrap_up(record.id, WrapUp("survey_done", survey={"happy": "Y", "score": "9"}), NOW)
    async with db.session() as conn:
        stored = set((await conn.execute(select(SurveyAnswer.question, SurveyAnswer.answer))).all())
    assert stored == {("happy", "yes"), ("score", "9")}
    assert (await lead_row(db, lead)).status == "done"


async def test_a_campaign_code_in_a_draft_is_checked_against_the_campaign(db: Database) -> None:
    camp = await sales_campaign(db, NOW, customers=1)
    log = InteractionLog(db, clock=lambda: NOW)
    record, _, _ = await campaign_call(log, db, camp, camp.customers[0], "8.1")
    assert await log.save_draft(record.id, disposition="callback", notes="after six")
    with pytest.raises(WrapUpError, match="unknown disposition 'upsold'"):
        await log.save_draft(record.id, disposition="upsold")
    assert (await log.get(record.id)).disposition == "callback"  # type: ignore[union-attr]


# --------------------------------------------------------------------------- journaled


async def _database(tmp_path: Path) -> Database:
    db = open_database(f"sqlite:///{tmp_path / 'crm.db'}")
    await upgrade(db)
    return db


async def test_a_journaled_campaign_wrap_up_settles_its_lead_once_when_applied(
    tmp_path: Path,
) -> None:
    """The database turns read-only after the call: the sale's wrap-up is checked locally
    (against the rules the pop read), journaled, and applied when the database is back, by a
    console that is killed between applying it and acknowledging it and so applies it again."""
    db = await _database(tmp_path)
    faults = SqliteFaults(db)
    log = DurableInteractionLog(db, tmp_path / "journal", clock=lambda: NOW)
    try:
        camp = await sales_campaign(db, NOW, customers=1)
        record, lead, attempt = await campaign_call(log, db, camp, camp.customers[0], "9.1")
        await log.catalog_for(record)  # as the wrap-up screen does: the rules are known here
        await faults.set("readonly")
        with pytest.raises(WrapUpError, match="needs the amount sold"):  # checked locally
            await log.wrap_up(record.id, WrapUp("sale"), NOW)
        with pytest.raises(WrapUpError, match="has no answer"):
            await log.wrap_up(record.id, WrapUp("survey_done", survey={"happy": "yes"}), NOW)
        shown = await log.wrap_up(
            record.id,
            WrapUp("sale", "Sold the upgrade", sale_cents=4_500, survey={"happy": "yes"}),
            NOW,
        )
        assert shown.status == "completed" and log.pending == 1
        assert (await lead_row(db, lead)).status == "dialing"  # nothing reached the database
        await faults.set(None)

        journal = log._journal
        assert journal is not None
        (entry,) = journal.pending
        await log._replay(entry)
        await log._replay(entry)  # killed before the ack: applied again on the next start
        journal.ack(entry.seq)
        assert log.refused == []
        status, outcome, _due, _ = await lead_row(db, lead)
        assert (status, outcome) == ("done", "right_party")
        assert tuple(await dial_row(db, attempt)) == (camp.agent_id, "sale")
        assert [s.amount_cents for s in await sales(db)] == [4_500]
        assert (await customer_row(db, camp.customers[0]))[0] == 4_500
        async with db.session() as conn:
            answers = (await conn.execute(select(SurveyAnswer.question))).all()
        assert answers == [("happy",)]  # the answer the database could not take, kept
        row = await InteractionLog(db).get(record.id)
        assert row is not None and row.status == "completed" and row.notes == "Sold the upgrade"
    finally:
        await log.close()
        await faults.close()
        await db.dispose()


async def test_a_journaled_campaign_wrap_up_the_database_refuses_keeps_the_draft(
    tmp_path: Path,
) -> None:
    """Checked locally against the rules the pop read, refused when applied because the
    campaign's dispositions changed meanwhile (edited by hand): the notes stay as the draft,
    the row stays in wrap-up (offered back) and the lead is not settled."""
    db = await _database(tmp_path)
    faults = SqliteFaults(db)
    log = DurableInteractionLog(db, tmp_path / "journal", clock=lambda: NOW)
    try:
        camp = await sales_campaign(db, NOW, customers=1)
        record, lead, attempt = await campaign_call(log, db, camp, camp.customers[0], "10.1")
        await log.catalog_for(record)
        await faults.set("readonly")
        await log.wrap_up(record.id, WrapUp("not_interested", "Has one already"), NOW)
        assert log.pending == 1
        await faults.set(None)
        async with db.write_connection() as conn:
            from console.models import Campaign as CampaignRow

            rules = await conn.scalar(select(CampaignRow.rules).where(CampaignRow.id == camp.id))
            kept = [d for d in rules["dispositions"] if d["code"] != "not_interested"]
            await conn.execute(
                update(CampaignRow)
                .where(CampaignRow.id == camp.id)
                .values(rules={**rules, "dispositions": kept})
            )
        await log.drain()
        assert len(log.refused) == 1 and "unknown disposition 'not_interested'" in log.refused[0]
        row = await InteractionLog(db).get(record.id)
        assert row is not None and row.status == "wrapup" and row.notes == "Has one already"
        assert (await lead_row(db, lead)).status == "dialing"
        assert tuple(await dial_row(db, attempt)) == (None, "")
    finally:
        await log.close()
        await faults.close()
        await db.dispose()


@pytest.mark.postgres
async def test_a_campaign_wrap_up_and_its_results_on_postgres(pg_db: Database) -> None:
    """The same transaction on PostgreSQL (row locks, ON CONFLICT on the sale), and the
    results read back."""
    from console.services.outbound.results import CampaignResults, ResultsBy

    db = pg_db
    camp = await sales_campaign(db, NOW)
    log = InteractionLog(db, clock=lambda: NOW)
    record, lead, attempt = await campaign_call(log, db, camp, camp.customers[0], "11.1")
    for _ in range(2):
        await log.wrap_up(record.id, WrapUp("sale", sale_cents=12_990, survey={"happy": "no"}), NOW)
    record, other, _ = await campaign_call(log, db, camp, camp.customers[1], "11.2")
    await log.wrap_up(record.id, WrapUp("callback", retry_at=NOW + timedelta(hours=3)), NOW)
    assert await sales(db) == [(camp.customers[0], 12_990, "USD", attempt, camp.agent_id)]
    assert tuple(await customer_row(db, camp.customers[0])) == (12_990, 5, 1, 1)
    assert (await lead_row(db, lead)).status == "done"
    assert tuple(await lead_row(db, other))[:3] == (
        "pending",
        "no_answer",
        NOW + timedelta(hours=3),
    )
    report = await CampaignResults(db).report(ResultsBy.CAMPAIGN, tz=UTC)
    (row,) = report.rows
    counts = row.counts
    assert (counts.dialled, counts.connected, counts.right_party, counts.conversions) == (
        2,
        2,
        2,
        1,
    )
    assert counts.revenue == {"USD": 12_990}
