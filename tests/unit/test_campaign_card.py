"""The pop's campaign lines: the script with the customer's fields as literal text."""

from __future__ import annotations

from datetime import UTC, datetime

from console.services.crm.phones import normalise
from console.services.desk.screenpop import CustomerProfile, ScreenPop
from console.services.outbound.campaign_call import CampaignCall
from console.services.outbound.campaigns import DEFAULT_DISPOSITIONS
from console.services.outbound.scripts import load_script
from console.widgets.profile_card import campaign_lines

SCRIPT = load_script(
    "s.toml",
    'text = "Hi {first_name}, {agent} here about your {lifetime_value} with us."\n'
    '[[questions]]\nid = "ok"\ntext = "OK?"\nkind = "yes_no"\n',
)


def pop(name: str) -> ScreenPop:
    profile = CustomerProfile(
        id=1, kind="person", display_name=name, organisation_id=None, organisation_name="",
        language="en", tier="gold", lifecycle="mature", rfm=(5, 4, 3),
        lifetime_value_cents=120_000, currency="USD", tags=(), notes="", account_owner="",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    campaign = CampaignCall(
        campaign_id=7, lead_id=9, customer_id=1, e164="+14155550100", name="Winback",
        purpose="sales", script=SCRIPT, dispositions=DEFAULT_DISPOSITIONS["sales"],  # type: ignore[index]
    )  # fmt: skip
    return ScreenPop(normalise("+14155550100"), profile=profile, campaign=campaign)


def test_the_script_is_filled_with_the_customers_fields() -> None:
    lines = [line.plain for line in campaign_lines(pop("Ann Lee"), "Sam")]
    assert lines[0] == "✆ Campaign Winback · sales"
    assert lines[1] == "Hi Ann, Sam here about your $1,200 with us."
    assert "survey: 1 questions — v to ask them" in lines


def test_a_hostile_name_is_literal_text() -> None:
    lines = campaign_lines(pop("{agent}[b]Eve[/b]\x1b[2J\x07 Lee"), "Sam")
    # Not a template, not markup, no control codes: the name as typed, minus the controls.
    assert lines[1].plain == "Hi {agent}[b]Eve[/b], Sam here about your $1,200 with us."


def test_an_inbound_pop_has_no_campaign_lines() -> None:
    plain = ScreenPop(normalise("+14155550100"))
    assert campaign_lines(plain, "Sam") == []
