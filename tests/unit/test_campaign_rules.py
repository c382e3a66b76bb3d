"""A campaign file's dialling rules (console/services/outbound/campaign_rules.py): read with
file:line errors, stored and read back, and applied by the gate — the campaign's own window
inside the legal one, in the callee's zones; only the DNC lists it obeys (the internal one
always); its attempt rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from console.models.enums import AttemptOutcome, CampaignPurpose, SkipReason
from console.services.outbound.attempts import Attempt
from console.services.outbound.campaign_rules import (
    CampaignRules,
    DialTarget,
    rules_json,
    rules_of,
)
from console.services.outbound.campaigns import CampaignFileError, load_campaign_file
from console.services.outbound.gate import Candidate, ComplianceFacts, ComplianceGate, DncHit
from console.services.outbound.windows_file import load_windows

HEAD = """\
name = "Spring sale"
purpose = "notification"
mode = "predictive"
segment = "everyone"
queue = "sales"
"""
RULES = """\
dnc_lists = ["us-national"]

[attempts]
max = 2
per_period = { attempts = 2, within = "1d" }

[attempts.spacing]
busy = "45m"

[window]
weekdays = ["10:00-18:00"]
sat = ["10:00-13:00"]
closed_dates = [2026-11-26]

[dial]
trunk = "carrier-b"
ring_timeout = "20s"
context = "campaign-7"
"""
NY = "+12125550100"
WED_NOON_NY = datetime(2026, 11, 4, 17, 0, tzinfo=UTC)


def rules() -> CampaignRules:
    spec = load_campaign_file("spring.toml", HEAD + RULES)
    return rules_of(rules_json(spec.attempts, spec.window, spec.dnc_lists, spec.dial))


def gate(dnc: dict[str, tuple[DncHit, ...]] | None = None) -> ComplianceGate:
    r = rules()
    facts = ComplianceFacts(dnc or {}, {})
    return ComplianceGate(facts, r.windows(load_windows()), r.attempts)


def check(at: datetime, attempts: tuple[Attempt, ...] = (), number: str = NY) -> SkipReason | None:
    candidate = Candidate(number, CampaignPurpose.NOTIFICATION, 1, attempts, 1)
    return gate().check(candidate, at).reason


def test_the_stored_rules_read_back_as_written() -> None:
    r = rules()
    assert r.attempts.max_attempts == 2
    assert r.attempts.spacing[AttemptOutcome.BUSY] == timedelta(minutes=45)
    assert r.attempts.spacing[AttemptOutcome.MACHINE] == timedelta(hours=4)  # the default
    assert r.dnc_lists == frozenset({"us-national"})
    assert r.dial == DialTarget(trunk="carrier-b", ring_timeout_ms=20_000, context="campaign-7")
    fields = r.dial.customer_first(NY, "sales", "", ["CC_CAMPAIGN=1", "CC_LEAD=2"])
    assert fields["Channel"] == f"PJSIP/{NY}@carrier-b" and fields["Exten"] == NY
    assert "CallerID" not in fields and fields["Variable"] == ["CC_CAMPAIGN=1", "CC_LEAD=2"]


def test_without_a_context_the_answered_leg_runs_queue_with_its_timeout() -> None:
    fields = DialTarget().customer_first(NY, "sales", '"Acme" <6000>', [])
    assert (fields["Application"], fields["Data"]) == ("Queue", "sales,,,,2")
    assert fields["Timeout"] == "30000" and fields["Async"] == "true"


def test_the_campaign_window_narrows_the_legal_one_in_the_callees_time() -> None:
    assert check(WED_NOON_NY) is None
    # 19:00 in New York: inside the US 08:00-21:00, outside the campaign's 10:00-18:00.
    assert check(WED_NOON_NY + timedelta(hours=7)) is SkipReason.OUTSIDE_WINDOW
    # 09:00 in Los Angeles is noon in New York: the callee's clock decides.
    assert check(WED_NOON_NY, number="+14155550100") is SkipReason.OUTSIDE_WINDOW
    assert check(WED_NOON_NY + timedelta(days=3)) is None  # Saturday 12:00
    assert check(WED_NOON_NY + timedelta(days=4)) is SkipReason.OUTSIDE_WINDOW  # Sunday
    assert check(WED_NOON_NY + timedelta(days=22)) is SkipReason.OUTSIDE_WINDOW  # Thanksgiving
    decision = gate().check(
        Candidate(NY, CampaignPurpose.NOTIFICATION, 1, (), 1), WED_NOON_NY + timedelta(hours=7)
    )
    assert decision.not_before == WED_NOON_NY + timedelta(hours=22)  # Thursday 10:00


def test_its_attempt_rules_apply() -> None:
    busy = (Attempt(WED_NOON_NY - timedelta(minutes=30), AttemptOutcome.BUSY),)
    assert check(WED_NOON_NY, busy) is SkipReason.TOO_SOON  # 45 min, not the default 10
    twice = (*busy, Attempt(WED_NOON_NY - timedelta(hours=3), AttemptOutcome.NO_ANSWER))
    assert check(WED_NOON_NY + timedelta(hours=1), twice) is SkipReason.ATTEMPTS_EXHAUSTED


def test_only_the_dnc_lists_it_obeys_and_the_internal_one_block() -> None:
    r = rules()
    assert r.obeys("us-national") and r.obeys("internal")
    assert not r.obeys("state-of-texas")
    assert rules_of({}).obeys("anything")  # no setting: every list


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[attempts]\nmax = 0", "spring.toml:7: attempts.max: must be a whole number from 1 to 50"),
        ('[attempts.spacing]\nright_party = "1h"', "spring.toml:7: attempts.spacing.right_party:"
         " unknown outcome 'right_party'"),
        ('[window]\nmon = ["18:00-10:00"]', "spring.toml:7: window.mon[1]: '18:00-10:00' ends"
         " before it starts"),
        ("[window]\nclosed_dates = []", "spring.toml:6: window: give the windows"),
        ('[dial]\nexten = "1"', "spring.toml:7: dial.exten: exten needs a context"),
        ('[dial]\nring_timeout = "2m30s"', "spring.toml:7: dial.ring_timeout: must be a duration"
         " from 5s to 120s"),
        ('[dial]\ntrunk = "a b"', "spring.toml:7: dial.trunk: must be a trunk name"),
        ("dnc_lists = [1]", "spring.toml:6: dnc_lists[1]: must be a string"),
        ("[dial]\nlines = 3", "spring.toml:7: dial: unknown key 'lines'"),
    ],
)  # fmt: skip
def test_bad_rules_name_the_file_and_line(table: str, message: str) -> None:
    with pytest.raises(CampaignFileError) as caught:
        load_campaign_file("spring.toml", HEAD + table + "\n")
    assert str(caught.value).startswith(message), str(caught.value)
