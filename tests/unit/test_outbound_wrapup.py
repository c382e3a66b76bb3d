""" "Don't call me again" in a wrap-up is honoured at once: do-not-call list, consent withdrawn."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from console.config import DispositionSetting
from console.db import Database
from console.models import DncEntry
from console.models.enums import CampaignPurpose, ConsentPurpose, SkipReason
from console.services.context import ServiceContext
from console.services.desk.interactions import InteractionLog, InteractionRecord, WrapUpError
from console.services.desk.wrapup import WrapUpForm, WrapUpSubmission
from console.services.outbound.compliance import ComplianceService
from console.services.outbound.consent import ConsentService
from console.services.outbound.gate import Candidate
from tests.outbound import add_agent, add_customer

T0 = datetime(2026, 6, 2, 15, 0, tzinfo=UTC)  # Tuesday 11:00 in New York
HOME, MOBILE = "+12125550123", "+16465550188"


async def ended_call(
    db: Database, agent: int, customer: int | None, caller: str, call: str = "9.1"
) -> tuple[InteractionLog, InteractionRecord]:
    log = InteractionLog(db, clock=lambda: T0)
    row = await log.ring(
        uniqueid=call,
        linkedid=call,
        agent_id=agent,
        queue_name="sales",
        caller_raw=caller,
        caller_e164=caller if caller.startswith("+") else None,
        caller_name="",
        customer_id=customer,
        offered_at=T0,
    )
    await log.answered(row.id, T0 + timedelta(seconds=5))
    return log, await log.ended(row.id, T0 + timedelta(minutes=2))


def submission(
    ctx: ServiceContext, log: InteractionLog, record: InteractionRecord, agent: int
) -> WrapUpSubmission:
    return WrapUpSubmission(
        log, record, agent_id=agent, opt_outs=ctx.opt_outs, clock=lambda: T0 + timedelta(minutes=3)
    )


async def dnc_rows(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(DncEntry)) or 0)


async def test_a_do_not_call_wrap_up_blocks_the_customer_before_the_next_screen(
    db: Database,
) -> None:
    agent = await add_agent(db)
    ann = await add_customer(db, "Ann", HOME, MOBILE)
    await ConsentService(db).record(
        ann, ConsentPurpose.MARKETING_CALLS, granted=True, source="web", at=T0 - timedelta(days=9)
    )
    compliance = ComplianceService(db, clock=lambda: T0 + timedelta(minutes=4))
    sales = Candidate(MOBILE, CampaignPurpose.SALES, ann)
    assert (await compliance.check(sales)).allowed
    ctx = ServiceContext(db=db, clock=lambda: T0)
    log, record = await ended_call(db, agent, ann, "+13475550100")  # called from a third line
    submit = submission(ctx, log, record, agent)

    saved = await submit.submit(WrapUpForm(disposition="do_not_call", notes="Asked us to stop"))

    assert saved.record.status == "completed" and saved.record.disposition == "do_not_call"
    assert saved.opted_out is not None
    assert set(saved.opted_out.numbers) == {HOME, MOBILE, "+13475550100"}
    decision = await compliance.check(sales)
    assert decision.reason is SkipReason.DNC
    assert f"interaction {record.id}" in decision.detail
    assert not await ConsentService(db).has_consent(ann, ConsentPurpose.MARKETING_CALLS)
    again = await submit.submit(WrapUpForm(disposition="do_not_call"))  # a retry: nothing twice
    assert again.record.status == "completed" and await dnc_rows(db) == 3
    assert len(await ConsentService(db).history(ann)) == 2


async def test_an_unknown_callers_number_is_blocked_and_a_withheld_one_is_refused(
    db: Database,
) -> None:
    agent = await add_agent(db)
    ctx = ServiceContext(db=db, clock=lambda: T0)
    log, record = await ended_call(db, agent, None, HOME)
    saved = await submission(ctx, log, record, agent).submit(WrapUpForm("do_not_call"))
    assert saved.opted_out is not None and saved.opted_out.numbers == (HOME,)

    log, withheld = await ended_call(db, agent, None, "anonymous", "9.2")
    submit = submission(ctx, log, withheld, agent)
    with pytest.raises(WrapUpError, match="needs a known customer or the caller's number"):
        await submit.submit(WrapUpForm("do_not_call"))
    assert (await log.get(withheld.id)).status == "wrapup"  # type: ignore[union-attr]
    saved = await submit.submit(WrapUpForm("no_action", notes="withheld; asked not to call"))
    assert saved.opted_out is None and await dnc_rows(db) == 1


async def test_other_dispositions_record_no_opt_out_and_a_form_without_the_service_refuses(
    db: Database,
) -> None:
    agent = await add_agent(db)
    ann = await add_customer(db, "Ann", HOME)
    log, record = await ended_call(db, agent, ann, HOME)
    without = WrapUpSubmission(log, record, agent_id=agent)
    with pytest.raises(WrapUpError, match="can't be recorded from this wrap-up"):
        await without.submit(WrapUpForm("do_not_call"))
    saved = await without.submit(WrapUpForm("resolved"))
    assert saved.opted_out is None and await dnc_rows(db) == 0


def test_a_settings_disposition_can_carry_the_opt_out() -> None:
    setting = DispositionSetting(code="stop_calls", label="Stop calling me", opt_out=True)
    assert setting.model_dump()["opt_out"] is True
