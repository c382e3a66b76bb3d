"""The pure parts of a campaign wrap-up: amounts, times to call back, RFM after a sale, what a
disposition does to the lead, the attempt rules as the dialer stores them, a survey's path,
and a wrap-up through the call journal's JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.models.enums import AttemptOutcome, LeadStatus
from console.services.desk.dispositions import Disposition
from console.services.desk.interactions import WrapUp
from console.services.outbound.attempts import AttemptRules
from console.services.outbound.leads import (
    RetryTimeError,
    attempt_outcome,
    attempt_rules,
    parse_retry_time,
    settlement,
)
from console.services.outbound.sales import AmountError, parse_amount, rfm_after_sale
from console.services.outbound.scripts import load_script

NOW = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("typed", "cents"),
    [("129.9", 12_990), ("129,90", 12_990), ("1 299.00", 129_900), ("1,299.00", 129_900),
     ("1.299,00", 129_900), ("1,299", 129_900), ("12", 1_200), ("0.05", 5)],
)  # fmt: skip
def test_amounts_as_agents_type_them(typed: str, cents: int) -> None:
    assert parse_amount(typed) == cents


@pytest.mark.parametrize(
    ("typed", "message"),
    [("", "type the amount"), ("0", "above 0"), ("-5", "not an amount"), ("1,2345", "not an"),
     ("12abc", "not an amount"), ("2000000000", "more than one sale")],
)  # fmt: skip
def test_bad_amounts_are_one_line(typed: str, message: str) -> None:
    with pytest.raises(AmountError, match=message):
        parse_amount(typed)


@given(st.integers(1, 10**11))
def test_any_amount_written_plainly_reads_back(cents: int) -> None:
    assert parse_amount(f"{cents // 100}.{cents % 100:02d}") == cents
    assert parse_amount(f"{cents // 100:,}.{cents % 100:02d}") == cents


def test_times_to_call_back() -> None:
    # 15:00 UTC is 16:00 in Paris.
    assert parse_retry_time("", now=NOW, tz=PARIS) is None
    assert parse_retry_time("+90m", now=NOW, tz=PARIS) == NOW + timedelta(minutes=90)
    assert parse_retry_time("17:30", now=NOW, tz=PARIS) == datetime(2026, 11, 2, 16, 30, tzinfo=UTC)
    # A time already past today is tomorrow's.
    assert parse_retry_time("09:00", now=NOW, tz=PARIS) == datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
    when = parse_retry_time("2026-11-10 10:15", now=NOW, tz=PARIS)
    assert when == datetime(2026, 11, 10, 9, 15, tzinfo=UTC)
    for typed, message in (("soon", "not a time"), ("2026-11-01 10:00", "has passed"),
                           ("+100d", "within 90 days"), ("25:00", "not a time")):  # fmt: skip
        with pytest.raises(RetryTimeError, match=message):
            parse_retry_time(typed, now=NOW, tz=PARIS)


def test_rfm_after_a_sale() -> None:
    assert rfm_after_sale((1, 1, 1), sales_in_window=1, lifetime_value_cents=12_990) == (5, 1, 1)
    assert rfm_after_sale((2, 1, 1), sales_in_window=3, lifetime_value_cents=250_000) == (5, 3, 3)
    assert rfm_after_sale((3, 5, 5), sales_in_window=1, lifetime_value_cents=100) == (5, 5, 5)
    assert rfm_after_sale((1, 1, 1), sales_in_window=10, lifetime_value_cents=1_500_000) == (
        5,
        5,
        5,
    )


def d(**flags: bool) -> Disposition:
    return Disposition("x", "X", **flags)


RULES = AttemptRules(max_attempts=3)
PLACED = NOW - timedelta(minutes=4)


@pytest.mark.parametrize(
    ("disposition", "attempts", "retry_at", "expected"),
    [
        (d(contact=True, right_party=True, sale=True), 1, None,
         (LeadStatus.DONE, AttemptOutcome.RIGHT_PARTY, None)),
        (d(contact=True, right_party=True, opt_out=True), 1, None,
         (LeadStatus.BLOCKED, AttemptOutcome.DNC_REQUEST, None)),
        (d(contact=True, right_party=True, retry=True), 1, NOW + timedelta(days=1),
         (LeadStatus.PENDING, AttemptOutcome.NO_ANSWER, NOW + timedelta(days=1))),
        (d(contact=True, right_party=True, retry=True), 1, None,
         (LeadStatus.PENDING, AttemptOutcome.NO_ANSWER, PLACED + timedelta(hours=2))),
        (d(contact=True, retry=True), 2, None,
         (LeadStatus.PENDING, AttemptOutcome.WRONG_PARTY, PLACED + timedelta(days=1))),
        (d(retry=True), 1, None,
         (LeadStatus.PENDING, AttemptOutcome.MACHINE, PLACED + timedelta(hours=4))),
        (d(contact=True, retry=True), 3, NOW + timedelta(days=1),
         (LeadStatus.EXHAUSTED, AttemptOutcome.WRONG_PARTY, None)),
        (d(contact=True), 1, None, (LeadStatus.DONE, AttemptOutcome.WRONG_PARTY, None)),
    ],
)  # fmt: skip
def test_what_a_disposition_does_to_the_lead(
    disposition: Disposition,
    attempts: int,
    retry_at: datetime | None,
    expected: tuple[LeadStatus, AttemptOutcome, datetime | None],
) -> None:
    settled = settlement(
        disposition, attempts=attempts, rules=RULES, dialled_at=PLACED, retry_at=retry_at
    )
    assert (settled.status, settled.outcome, settled.next_attempt_at) == expected
    assert attempt_outcome(disposition) is expected[1]


def test_attempt_rules_as_the_dialer_stores_them() -> None:
    stored = {"attempts": {"max": 4, "spacing": {"busy": 900.0}, "per_period": [2, 86_400.0]}}
    rules = attempt_rules(json.dumps(stored))
    assert rules.max_attempts == 4
    assert rules.spacing[AttemptOutcome.BUSY] == timedelta(minutes=15)
    assert rules.spacing[AttemptOutcome.NO_ANSWER] == timedelta(hours=2)  # the default
    assert rules.per_period == (2, timedelta(days=1))
    assert attempt_rules({}) == AttemptRules()
    assert attempt_rules({"attempts": {"max": "many"}}) == AttemptRules()  # hand-edited


def test_a_surveys_first_unanswered_question_follows_its_branches() -> None:
    script = load_script(
        "s.toml",
        '[[questions]]\nid = "happy"\ntext = "Happy?"\nkind = "yes_no"\nnext = { no = "why" }\n'
        'then = "score"\n[[questions]]\nid = "why"\ntext = "Why?"\n'
        '[[questions]]\nid = "score"\ntext = "Score?"\nkind = "scale"\n',
    )
    assert script.unanswered({}) == "happy"
    assert script.unanswered({"happy": "no"}) == "why"
    assert script.unanswered({"happy": "yes"}) == "score"
    assert script.unanswered({"happy": "yes", "score": "4"}) is None
    assert script.unanswered({"happy": "no", "why": "slow", "score": "2"}) is None
    assert load_script("e.toml", 'text = "Hi"').unanswered({}) is None


def test_a_campaign_wrap_up_through_the_journals_json() -> None:
    wrap = WrapUp(
        "callback",
        "Call after six",
        csat=4,
        sale_cents=None,
        retry_at=datetime(2026, 11, 3, 17, 0, tzinfo=UTC),
        survey={"happy": "yes"},
    )
    assert WrapUp.from_journal(json.loads(json.dumps(wrap.journal_form()))) == wrap
    old = {"disposition": "resolved", "notes": "n", "ticket_id": None, "csat": None,
           "resolved_first_contact": True, "category": ""}  # fmt: skip
    assert WrapUp.from_journal(old) == WrapUp("resolved", "n", None, True)
