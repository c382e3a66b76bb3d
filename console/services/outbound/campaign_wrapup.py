"""A campaign call's wrap-up: the campaign's dispositions, and what the chosen one does.

The interaction log calls this from its wrap-up (`console.services.desk.interactions`): the
disposition set is read from the interaction's campaign **in the wrap-up's own write
transaction**, not carried with the wrap-up. The campaign row is the one truth for what its
codes mean (a sale, a right-party contact, a retry), and the transaction that validates the
code is the one that acts on its meaning: it stores the sale and moves the customer's lifetime
value and RFM (`sales`), stores the survey answers the call collected (`surveys`) and settles
the list entry and its dial (`leads`), before the row completes. All of it happens once: only
the write that takes the row from wrap-up to completed does it.

A console that journals the wrap-up while the database is away (`durable_log`) checks it first
with what it knows locally: the rules it read when the call popped (`remember`), and this
call's own survey answers; the database checks it all again when the journal is applied.

What travels with the wrap-up is only what the agent typed: the amount sold (cents), the time
to call back, and this call's survey answers (so answers the database could not take during
an outage are not lost with it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from console.models import Campaign
from console.services.desk.dispositions import Disposition, DispositionCatalog
from console.services.outbound.campaigns import CampaignDisposition
from console.services.outbound.leads import MAX_RETRY_AHEAD, LeadSettled, settle_lead
from console.services.outbound.sales import MAX_SALE, SaleRecorded, record_sale
from console.services.outbound.scripts import CampaignScript
from console.services.outbound.surveys import checked_answers, store_answers, stored_answers


class CampaignWrapUpError(ValueError):
    """A campaign wrap-up that cannot be saved as it is; one line for the agent."""


def campaign_catalog(dispositions: Iterable[CampaignDisposition]) -> DispositionCatalog:
    """A campaign's dispositions as the wrap-up offers and checks them."""
    return DispositionCatalog(
        tuple(
            Disposition(
                d.code,
                d.label,
                opt_out=d.opt_out,
                contact=d.contact,
                right_party=d.right_party,
                sale=d.sale,
                survey_complete=d.survey_complete,
                retry=d.retry,
            )
            for d in dispositions
        )
    )


@dataclass(frozen=True, slots=True)
class CampaignWrapUpRules:
    """What a campaign's wrap-up is checked against: its dispositions and its survey (and
    the stored rules, for the attempt rules)."""

    campaign_id: int
    catalog: DispositionCatalog
    script: CampaignScript
    rules: Mapping[str, Any]


def wrap_up_rules(campaign_id: int, rules: Any, script: Any) -> CampaignWrapUpRules:
    """The rules from a campaign row's ``rules`` and ``script`` columns; CampaignWrapUpError
    when they no longer read (edited by hand)."""
    raw = json.loads(rules) if isinstance(rules, str) else dict(rules or {})
    try:
        dispositions = [CampaignDisposition.model_validate(d) for d in raw.get("dispositions", ())]
        parsed = CampaignScript.model_validate_json(script or "{}")
        catalog = campaign_catalog(dispositions)
    except (ValidationError, ValueError) as exc:
        raise CampaignWrapUpError(f"the campaign's dispositions don't read: {exc}") from None
    if not len(catalog):
        raise CampaignWrapUpError("the campaign has no dispositions")
    return CampaignWrapUpRules(campaign_id, catalog, parsed, raw)


async def read_wrap_up_rules(conn: Any, campaign_id: int) -> CampaignWrapUpRules | None:
    """The campaign's wrap-up rules (None: no such campaign)."""
    row = (
        await conn.execute(
            select(Campaign.rules, Campaign.script).where(Campaign.id == campaign_id)
        )
    ).one_or_none()
    return None if row is None else wrap_up_rules(campaign_id, row.rules, row.script)


@dataclass(frozen=True, slots=True)
class CampaignWrapUpInput:
    """What the agent gave beyond the disposition, checked (see `checked_input`)."""

    sale_cents: int | None = None
    retry_at: datetime | None = None
    survey: Mapping[str, str] | None = None


def checked_input(
    rules: CampaignWrapUpRules,
    disposition: Disposition,
    *,
    at: datetime,
    sale_cents: int | None,
    retry_at: datetime | None,
    survey: Mapping[str, str] | None,
) -> CampaignWrapUpInput:
    """The amount, the retry time and this call's survey answers, checked against the
    disposition and the campaign at the wrap-up's time ``at``; what the disposition does not
    use is dropped. CampaignWrapUpError says what is wrong."""
    amount = None
    if disposition.sale:
        if (
            not isinstance(sale_cents, int)
            or isinstance(sale_cents, bool)
            or not 0 < sale_cents <= MAX_SALE * 100
        ):
            raise CampaignWrapUpError(f"“{disposition.label}” needs the amount sold")
        amount = sale_cents
    when = None
    if disposition.retry and retry_at is not None:
        if retry_at.tzinfo is None:
            raise CampaignWrapUpError("the time to call back needs its time zone")
        if retry_at <= at:
            raise CampaignWrapUpError("the time to call back has passed: give a later one")
        if retry_at > at + MAX_RETRY_AHEAD:
            raise CampaignWrapUpError(
                f"call back within {MAX_RETRY_AHEAD.days} days, not {retry_at:%Y-%m-%d}"
            )
        when = retry_at
    answers = None
    if survey:
        try:
            answers = checked_answers(rules.script, survey)
        except ValueError as exc:
            raise CampaignWrapUpError(f"survey: {exc}") from None
    return CampaignWrapUpInput(amount, when, answers)


def check_survey_complete(
    rules: CampaignWrapUpRules, disposition: Disposition, answers: Mapping[str, str]
) -> None:
    """A ``survey_complete`` disposition needs ``answers`` to reach the survey's end."""
    if not disposition.survey_complete:
        return
    missing = rules.script.unanswered(answers)
    if missing is not None:
        question = rules.script.question(missing)
        text = " ".join(question.text.split())
        text = text if len(text) <= 60 else text[:59] + "…"
        raise CampaignWrapUpError(
            f"“{disposition.label}” needs the survey finished: “{text}” has no answer (v to ask it)"
        )


@dataclass(frozen=True, slots=True)
class CampaignWrapUpDone:
    """What a campaign wrap-up did besides completing the row."""

    sale: SaleRecorded | None
    lead: LeadSettled | None


async def apply_campaign_wrap_up(
    conn: AsyncConnection,
    row: Mapping[str, Any],
    rules: CampaignWrapUpRules,
    disposition: Disposition,
    given: CampaignWrapUpInput,
    *,
    at: datetime,
) -> CampaignWrapUpDone:
    """Inside the wrap-up's transaction, with the interaction ``row`` locked: store the
    survey answers, check the survey is finished if the disposition says so, settle the lead
    and its dial, record the sale. Raises CampaignWrapUpError (the transaction then rolls
    back: nothing of it is kept)."""
    customer_id = row.get("customer_id")
    answers: dict[str, str] = {}
    if customer_id is not None:
        if given.survey:
            await store_answers(
                conn,
                rules.campaign_id,
                int(customer_id),
                given.survey,
                interaction_id=int(row["id"]),
                at=at,
            )
        if disposition.survey_complete:
            answers = await stored_answers(conn, rules.campaign_id, int(customer_id))
    check_survey_complete(rules, disposition, answers)
    agent_id = row.get("agent_id")
    lead = await settle_lead(
        conn,
        row,
        disposition,
        rules=rules.rules,
        agent_id=agent_id,
        at=at,
        retry_at=given.retry_at,
    )
    sale = None
    if disposition.sale and given.sale_cents is not None:
        if customer_id is None:
            raise CampaignWrapUpError(f"“{disposition.label}” needs the customer who bought")
        sale = await record_sale(
            conn,
            customer_id=int(customer_id),
            amount_cents=given.sale_cents,
            at=at,
            interaction_id=int(row["id"]),
            campaign_id=rules.campaign_id,
            dial_attempt_id=lead.attempt_id if lead is not None else None,
            agent_id=agent_id,
        )
    return CampaignWrapUpDone(sale, lead)
