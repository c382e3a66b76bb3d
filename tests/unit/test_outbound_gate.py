"""The compliance gate: each reason, their order, attempt rules, and the logged screen."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import pytest

from console.db import Database
from console.models.enums import AttemptOutcome, CampaignPurpose, ConsentPurpose, SkipReason
from console.services.outbound.attempts import Attempt, AttemptRules
from console.services.outbound.compliance import ComplianceService
from console.services.outbound.consent import ConsentService
from console.services.outbound.dnc import DncService
from console.services.outbound.gate import (
    Candidate,
    ComplianceFacts,
    ComplianceGate,
    ConsentState,
    DncHit,
)
from console.services.outbound.optout import OptOutError, OptOutService
from console.services.outbound.windows_file import load_windows
from tests.outbound import add_agent, add_customer

NOON_NY = datetime(2026, 6, 2, 16, 0, tzinfo=UTC)  # Tuesday 12:00 in New York
NIGHT_NY = datetime(2026, 6, 3, 3, 0, tzinfo=UTC)  # 23:00 in New York
NUMBER = "+12125550123"
SALES, SURVEY, NOTICE = CampaignPurpose.SALES, CampaignPurpose.SURVEY, CampaignPurpose.NOTIFICATION
MARKETING = ConsentPurpose.MARKETING_CALLS
Out = AttemptOutcome


def gate(
    dnc: dict[str, tuple[DncHit, ...]] | None = None,
    consent: dict[tuple[int, ConsentPurpose], bool] | None = None,
    attempts: AttemptRules | None = None,
) -> ComplianceGate:
    states = {
        k: ConsentState(v, NOON_NY - timedelta(days=1), "web") for k, v in (consent or {}).items()
    }
    facts = ComplianceFacts(MappingProxyType(dnc or {}), MappingProxyType(states))
    return ComplianceGate(facts, load_windows(), attempts or AttemptRules())


def ago(minutes: float, outcome: AttemptOutcome) -> Attempt:
    return Attempt(NOON_NY - timedelta(minutes=minutes), outcome)


def test_a_consented_customer_inside_the_window_is_allowed() -> None:
    decision = gate(consent={(1, MARKETING): True}).check(Candidate(NUMBER, SALES, 1), NOON_NY)
    assert decision.allowed and decision.number == NUMBER and decision.reason is None
    assert "inside US TCPA in America/New_York" in decision.detail


@pytest.mark.parametrize(
    ("candidate", "reason", "detail"),
    [
        (Candidate("12", SALES, 1), SkipReason.INVALID_NUMBER, "not a valid phone number"),
        (Candidate("anonymous", NOTICE), SkipReason.INVALID_NUMBER, "withheld"),
        (Candidate("+12125550199", SALES, 1), SkipReason.DNC, "'internal': opted out"),
        (Candidate(NUMBER, SALES, 2), SkipReason.NO_CONSENT, "marketing_calls consent withdrawn"),
        (Candidate(NUMBER, SALES, 3), SkipReason.NO_CONSENT, "no marketing_calls consent"),
        (Candidate(NUMBER, SALES), SkipReason.NO_CONSENT, "belongs to no customer"),
        (Candidate(NUMBER, SURVEY, 1), SkipReason.NO_CONSENT, "no surveys consent"),
        (
            Candidate(NUMBER, NOTICE, 3, (ago(60, Out.DNC_REQUEST),)),
            SkipReason.DNC,
            "asked not to be called on",
        ),
        (
            Candidate(NUMBER, NOTICE, 3, (ago(60, Out.RIGHT_PARTY),)),
            SkipReason.FINISHED,
            "right_party",
        ),
        (
            Candidate(NUMBER, NOTICE, 3, tuple(ago(600 * n, Out.BUSY) for n in range(1, 7))),
            SkipReason.ATTEMPTS_EXHAUSTED,
            "6 attempts made, 6 allowed",
        ),
        (Candidate(NUMBER, NOTICE, 3, (ago(5, Out.BUSY),)), SkipReason.TOO_SOON, "wait 10 min"),
        (Candidate(NUMBER, NOTICE, 3, (ago(100, Out.NO_ANSWER),)), SkipReason.TOO_SOON, "wait 2 h"),
    ],
)
def test_each_reason(candidate: Candidate, reason: SkipReason, detail: str) -> None:
    listed = {"+12125550199": (DncHit("internal", "opted out"),)}
    decision = gate(listed, {(1, MARKETING): True, (2, MARKETING): False}).check(candidate, NOON_NY)
    assert decision.reason is reason and not decision.allowed
    assert detail in decision.detail


def test_spacing_passed_and_notifications_need_no_consent() -> None:
    history = (ago(11, Out.BUSY), ago(300, Out.NO_ANSWER))
    assert gate().check(Candidate(NUMBER, NOTICE, 3, history), NOON_NY).allowed
    too_soon = gate().check(Candidate(NUMBER, NOTICE, 3, (ago(9, Out.BUSY),)), NOON_NY)
    assert too_soon.not_before == NOON_NY + timedelta(minutes=1)


def test_outside_the_window_says_when_it_opens() -> None:
    decision = gate().check(Candidate(NUMBER, NOTICE), NIGHT_NY)
    assert decision.reason is SkipReason.OUTSIDE_WINDOW
    assert decision.not_before == datetime(2026, 6, 3, 12, 0, tzinfo=UTC)  # 08:00 EDT
    assert "23:00 in America/New_York is outside US TCPA (08:00-21:00)" in decision.detail


def test_permanent_reasons_come_before_passing_ones() -> None:
    """A DNC number at night, without consent, tried too often: skipped for DNC."""
    history = tuple(ago(n, Out.BUSY) for n in range(1, 8))
    listed = {NUMBER: (DncHit("us-national"),)}
    decision = gate(listed).check(Candidate(NUMBER, SALES, 9, history), NIGHT_NY)
    assert decision.reason is SkipReason.DNC
    assert (
        gate().check(Candidate(NUMBER, SALES, 9, history), NIGHT_NY).reason is SkipReason.NO_CONSENT
    )


def test_an_expired_dnc_entry_no_longer_blocks() -> None:
    expired = {NUMBER: (DncHit("internal", "not this month", NOON_NY),)}
    assert gate(expired).check(Candidate(NUMBER, NOTICE), NOON_NY).allowed
    before = gate(expired).check(Candidate(NUMBER, NOTICE), NOON_NY - timedelta(seconds=1))
    assert before.reason is SkipReason.DNC


def test_the_per_period_cap_counts_a_rolling_period() -> None:
    """France: four solicitations in 30 days at most."""
    rules = AttemptRules(max_attempts=20, per_period=(4, timedelta(days=30)))
    days = [29, 20, 10, 2]
    history = tuple(Attempt(NOON_NY - timedelta(days=d), Out.NO_ANSWER) for d in days)
    capped = rules.check(history, NOON_NY)
    assert capped.reason is SkipReason.TOO_SOON and "4 attempts in the last 30 d" in capped.detail
    assert capped.not_before == NOON_NY + timedelta(days=1)
    assert rules.check(history, NOON_NY + timedelta(days=1)).ok
    assert rules.check(history[1:], NOON_NY).ok


def test_attempt_rules_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        AttemptRules(max_attempts=0)
    with pytest.raises(ValueError, match="no spacing for busy"):
        AttemptRules(spacing={o: timedelta(1) for o in Out if o is not Out.BUSY})


def rows(db: Database) -> list[tuple[object, ...]]:
    assert db.sqlite_path is not None
    return (
        sqlite3.connect(db.sqlite_path)
        .execute(
            "SELECT campaign_id, customer_id, number, purpose, verdict, reason, detail, at "
            "FROM compliance_decisions ORDER BY id"
        )
        .fetchall()
    )


async def test_a_screen_decides_from_the_database_and_logs_every_decision(db: Database) -> None:
    ann = await add_customer(db, "Ann", NUMBER)
    bob = await add_customer(db, "Bob", "+12125550124")
    consent = ConsentService(db, clock=lambda: NOON_NY)
    await consent.record(ann, MARKETING, granted=True, source="web form")
    await consent.record(bob, MARKETING, granted=True, source="web form")
    await DncService(db).add("+12125550124", source="us-national")
    service = ComplianceService(db, clock=lambda: NOON_NY)
    candidates = [
        Candidate(NUMBER, SALES, ann, campaign_id=7),
        Candidate("(212) 555-0124", SALES, bob, campaign_id=7),
        Candidate("nonsense\x1b[31m", SALES, None, campaign_id=7),
    ]
    decisions = await service.screen(candidates)
    assert [d.reason for d in decisions] == [None, SkipReason.DNC, SkipReason.INVALID_NUMBER]
    logged = rows(db)
    assert [r[:6] for r in logged] == [
        (7, ann, NUMBER, "sales", "allowed", None),
        (7, bob, "+12125550124", "sales", "skipped", "dnc"),
        (7, None, "nonsense", "sales", "skipped", "invalid_number"),
    ]
    assert "'us-national'" in str(logged[1][6])
    read = await service.decisions(campaign_id=7)
    assert [d.customer_id for d in read] == [None, bob, ann]  # newest first (same instant: by id)
    assert read[2].at == NOON_NY


async def test_an_opt_out_is_honoured_by_the_very_next_screen(db: Database) -> None:
    agent = await add_agent(db)
    ann = await add_customer(db, "Ann", NUMBER, "+12125550125")
    await ConsentService(db).record(
        ann, MARKETING, granted=True, source="web", at=NOON_NY - timedelta(1)
    )
    service = ComplianceService(db, clock=lambda: NOON_NY)
    mobile = Candidate("+12125550125", SALES, ann)
    assert (await service.check(mobile)).allowed
    done = await OptOutService(db, clock=lambda: NOON_NY).opt_out(
        customer_id=ann, numbers=["+1 212 555 0126"], agent_id=agent, interaction_id=5
    )
    assert set(done.numbers) == {NUMBER, "+12125550125", "+12125550126"} and done.consent_withdrawn
    again = await service.check(mobile)
    assert again.reason is SkipReason.DNC
    assert "asked not to be called (wrap-up, interaction 5)" in again.detail
    # Without the DNC entries the withdrawn consent would still stop a sales call.
    survey = await service.check(Candidate("+12125550126", NOTICE))
    assert survey.reason is SkipReason.DNC
    assert not await ConsentService(db).has_consent(ann, MARKETING)


async def test_an_opt_out_needs_a_customer_or_a_number(db: Database) -> None:
    optouts = OptOutService(db)
    with pytest.raises(OptOutError, match="needs a customer or a valid number"):
        await optouts.opt_out(customer_id=None, numbers=["junk"])
    with pytest.raises(OptOutError, match="customer 42 does not exist"):
        await optouts.opt_out(customer_id=42)
    done = await optouts.opt_out(customer_id=None, numbers=["+12125550123"])
    assert done.numbers == (NUMBER,) and not done.consent_withdrawn
