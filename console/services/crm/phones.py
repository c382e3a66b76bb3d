"""Phone-number normalisation: the one function every stored and looked-up number goes through.

`normalise(raw, region)` never raises: any caller ID string gives a `PhoneNumberResult` that is
either a valid E.164 number, a withheld caller, or an invalid input with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from console.services.text import clean_text

# Caller IDs PBXs send when the caller withheld their number.
WITHHELD_VALUES = frozenset(
    {
        "",
        "anonymous",
        "<unknown>",
        "unknown",
        "unavailable",
        "private",
        "restricted",
        "withheld",
        "blocked",
        "<anonymous>",
        "asterisk",
    }
)
_MAX_INPUT = 64  # longer than any real number with punctuation; phonenumbers stops at 250
_URI = re.compile(r"^(?:sips?|tel):", re.IGNORECASE)

_LINE_TYPES = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "landline",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "landline or mobile",
    PhoneNumberType.TOLL_FREE: "toll-free",
    PhoneNumberType.PREMIUM_RATE: "premium rate",
    PhoneNumberType.SHARED_COST: "shared cost",
    PhoneNumberType.VOIP: "VoIP",
    PhoneNumberType.PERSONAL_NUMBER: "personal",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "UAN",
    PhoneNumberType.VOICEMAIL: "voicemail",
}


class NumberStatus(StrEnum):
    VALID = "valid"
    WITHHELD = "withheld"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class PhoneNumberResult:
    """What a raw caller ID turned out to be."""

    status: NumberStatus
    raw: str  # the input, sanitised and shortened for display
    e164: str | None = None
    region: str | None = None  # ISO 3166 region of the number
    line_type: str = ""
    national: str = ""
    international: str = ""
    reason: str = ""  # why it is invalid

    @property
    def is_valid(self) -> bool:
        return self.status is NumberStatus.VALID

    @property
    def display(self) -> str:
        """How to show the number to an agent."""
        if self.status is NumberStatus.VALID:
            return self.international
        if self.status is NumberStatus.WITHHELD:
            return "withheld number"
        return self.raw or "(empty)"


def normalise(raw: object, region: str = "US") -> PhoneNumberResult:
    """Turn any raw caller ID into E.164, or say it is withheld or invalid. Never raises."""
    text = clean_text(raw, single_line=True)
    shown = text if len(text) <= _MAX_INPUT else text[: _MAX_INPUT - 1] + "…"
    key = text.strip().strip('"').strip()
    if key.lower() in WITHHELD_VALUES:
        return PhoneNumberResult(NumberStatus.WITHHELD, shown)
    if len(key) > _MAX_INPUT:
        return PhoneNumberResult(NumberStatus.INVALID, shown, reason="too long for a phone number")
    return _normalise_cached(key, region.upper(), shown)


@lru_cache(maxsize=4096)
def _normalise_cached(key: str, region: str, shown: str) -> PhoneNumberResult:
    candidate = _URI.sub("", key).split("@", 1)[0].split(";", 1)[0].strip()
    if not any(ch.isdigit() for ch in candidate):
        return PhoneNumberResult(NumberStatus.INVALID, shown, reason="no digits")
    parsed = _parse(candidate, region)
    if parsed is None and candidate.startswith("00"):
        # Many PBXs send the ITU prefix 00 whatever the local international prefix is.
        parsed = _parse("+" + candidate[2:], region)
    if parsed is None:
        return PhoneNumberResult(NumberStatus.INVALID, shown, reason="not a valid phone number")
    number, line_type = parsed
    return PhoneNumberResult(
        NumberStatus.VALID,
        shown,
        e164=phonenumbers.format_number(number, PhoneNumberFormat.E164),
        region=phonenumbers.region_code_for_number(number),
        line_type=_LINE_TYPES.get(line_type, ""),
        national=phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL),
        international=phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL),
    )


def _parse(candidate: str, region: str) -> tuple[phonenumbers.PhoneNumber, int] | None:
    """The parsed number and its line type, or None if it is not a valid number.

    `number_type(n) != UNKNOWN` is exactly `is_valid_number(n)` (both classify the national
    number against the metadata of the region it belongs to); asking once saves the hot path
    doing that classification twice.
    """
    try:
        number = phonenumbers.parse(candidate, region)
    except NumberParseException:
        return None
    line_type = phonenumbers.number_type(number)
    return None if line_type == PhoneNumberType.UNKNOWN else (number, line_type)


def to_e164(raw: object, region: str = "US") -> str | None:
    """The E.164 form of `raw`, or None when it is withheld or invalid."""
    return normalise(raw, region).e164
