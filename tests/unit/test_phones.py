"""Phone normalisation: every stored and looked-up number goes through `normalise`."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.services.crm.phones import NumberStatus, normalise, to_e164
from tests.unit.test_text import terminal_safe


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("+1 (415) 555-2671", "US", "+14155552671"),
        ("415.555.2671", "US", "+14155552671"),
        ("0044 20 7946 0958", "US", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("07911 123456", "GB", "+447911123456"),
        ("138 0013 8000", "CN", "+8613800138000"),
        ("+86 10 6552 9988", "US", "+861065529988"),
        ("010-6552-9988", "CN", "+861065529988"),
        ("sip:+14155552671@pbx.example.com", "US", "+14155552671"),
        ("tel:+44-20-7946-0958", "US", "+442079460958"),
    ],
)
def test_valid_numbers_become_e164(raw: str, region: str, e164: str) -> None:
    result = normalise(raw, region)
    assert result.status is NumberStatus.VALID, result.reason
    assert result.e164 == e164


@pytest.mark.parametrize("raw", ["", "anonymous", "<unknown>", "Anonymous", '"Restricted"', None])
def test_withheld_caller_ids(raw: object) -> None:
    result = normalise(raw)
    assert result.status is NumberStatus.WITHHELD
    assert result.e164 is None
    assert result.display == "withheld number"


@pytest.mark.parametrize(
    "raw",
    ["abc", "12", "+999 123", "555-0000000000000000000", "9" * 300, "\x1b[31m911\x1b[0m", "++--"],
)
def test_garbage_is_invalid_not_an_error(raw: str) -> None:
    result = normalise(raw, "US")
    assert result.status is NumberStatus.INVALID
    assert result.reason
    assert "\x1b" not in result.display
    assert len(result.display) <= 64


def test_region_is_configurable() -> None:
    assert to_e164("020 7946 0958", "GB") == "+442079460958"
    assert to_e164("020 7946 0958", "US") is None


REGIONS = st.sampled_from(["US", "GB", "CN"])
FORMATS = st.sampled_from(
    [
        phonenumbers.PhoneNumberFormat.E164,
        phonenumbers.PhoneNumberFormat.INTERNATIONAL,
        phonenumbers.PhoneNumberFormat.NATIONAL,
        phonenumbers.PhoneNumberFormat.RFC3966,
    ]
)
NUMBER_TYPES = st.sampled_from(
    [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]
)


@settings(max_examples=200, deadline=None)
@given(region=REGIONS, kind=NUMBER_TYPES, fmt=FORMATS)
def test_any_formatting_of_a_valid_number_round_trips(region: str, kind: int, fmt: int) -> None:
    example = phonenumbers.example_number_for_type(region, kind)
    assert example is not None
    expected = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    shown = phonenumbers.format_number(example, fmt)
    assert to_e164(shown, region) == expected


@settings(max_examples=500, deadline=None)
@given(raw=st.text(max_size=120), region=REGIONS)
def test_normalise_never_raises_and_never_leaks_control_codes(raw: str, region: str) -> None:
    result = normalise(raw, region)
    assert result.status in set(NumberStatus)
    assert terminal_safe(result.display)
    if result.e164 is not None:
        assert result.e164.startswith("+") and result.e164[1:].isdigit()


@given(digits=st.text(alphabet="0123456789", min_size=3, max_size=16), region=REGIONS)
@settings(max_examples=300)
def test_validity_agrees_with_phonenumbers(digits: str, region: str) -> None:
    """We classify a number once (number_type) instead of also calling is_valid_number."""
    try:
        expected = phonenumbers.is_valid_number(phonenumbers.parse("+" + digits, region))
    except phonenumbers.NumberParseException:
        expected = False
    assert normalise("+" + digits, region).is_valid == expected
