"""How customer data is masked, value by value: phones, emails, names and free text. Pure
functions (no database, no policy); `masking` applies them to the services' dataclasses and
decides who sees what.

Formats (chosen to let a trainer tell records apart without learning who the customer is):
- phone: the country code and the last 4 digits when the national number has 9 digits or more,
  the last 2 when it has 6–8, none below that; the hidden part is always `••• •••`, so the
  mask does not tell the number's length: `+14155550123` → `+1 ••• ••• 0123`. Anything that is
  not a number becomes `•••`; the words PBXs send for a withheld number stay as they are.
- email: the first letter of the user part (if it is a letter) and the top-level domain:
  `jane.smith@example.com` → `j•••@•••.com`.
- name: initials, at most three (first, second, last): `Jane Smith` → `J. S.`; a CJK name
  keeps its first character, the family name (`王小明` → `王.`), as is the local custom.
  Organisation names are masked the same way: for an organisation customer it is the name.
- free text (notes, subjects, labels, tags, transcripts): every phone-like sequence (found by
  `phonenumbers.PhoneNumberMatcher`, then any run of 6 or more digits joined by spaces, dots,
  dashes, slashes or brackets), every email address, and every known name, number or email of
  the customers concerned is replaced by its mask.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import phonenumbers
from phonenumbers import Leniency, NumberParseException, PhoneNumberMatcher

from console.services.crm.phones import WITHHELD_VALUES
from console.services.text import clean_text

HIDDEN = "•••"

_MIN_RUN_DIGITS = 6  # shorter digit runs (amounts, ticket numbers, times) stay readable
_DIGIT_RUN = re.compile(r"\+?\d(?:[ \t\-./()]{0,2}\d)*")
_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
_SEPARATORS = r"[\s\-./()]*"
_TRUNCATED_TAIL = re.compile(r"(\+?\d[\d \t\-./()]*|\S+)…\s*\Z")
# Words in names that say nothing about who it is: not hunted for in free text.
_NAME_NOISE = frozenset(
    "the and of for ltd inc llc plc co corp company group gmbh limited mr mrs ms miss dr "
    "jr sr md phd dds dvm ii iii iv".split()
)


def _parse_number(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    """The number in `text`, if it reads as one: `+…` needs a known country code; a national
    form must be a possible number of `region`. Not checked against number ranges: an
    unassigned number is masked like any other."""
    candidate = re.sub(r"^(?:tel|sips?):", "", text.strip(), flags=re.IGNORECASE)
    candidate = candidate.split("@", 1)[0].split(";", 1)[0].strip()
    if candidate.startswith("00"):
        candidate = "+" + candidate[2:]  # the ITU international prefix, as many PBXs send it
    try:
        number = phonenumbers.parse(candidate, region)
    except NumberParseException:
        return None
    national = phonenumbers.national_significant_number(number)
    if len(national) < _MIN_RUN_DIGITS:
        return None
    if not candidate.startswith("+") and not phonenumbers.is_possible_number(number):
        return None
    return number


def _masked_number(number: phonenumbers.PhoneNumber, written: str) -> str:
    """The mask of a number `written` so. The tail's length goes by the national digits as
    written, too: some countries' metadata lengthen a number (+261 20… gains digits)."""
    national = phonenumbers.national_significant_number(number)
    shown = sum(ch.isdigit() for ch in written)
    if re.match(r"\s*(?:(?:tel|sips?):)?\s*\+", written, re.IGNORECASE):
        shown -= len(str(number.country_code))
    elif re.match(r"\D*0\D*0", written):
        shown -= 2 + len(str(number.country_code))
    digits = min(len(national), shown)
    keep = 4 if digits >= 9 else 2 if digits >= _MIN_RUN_DIGITS else 0
    tail = f" {national[-keep:]}" if keep else ""
    return f"+{number.country_code} {HIDDEN} {HIDDEN}{tail}"


def _is_withheld(text: str) -> bool:
    return text.strip().strip('"').strip().lower() in WITHHELD_VALUES


def mask_phone(raw: object, region: str = "US") -> str:
    """`+14155550123` → `+1 ••• ••• 0123`: country code and a short tail (see the module doc).

    National forms are read in `region`. Withheld-number words stay; anything else that is not
    a number becomes `•••`.
    """
    text = clean_text(raw, single_line=True)
    if _is_withheld(text):
        return text
    number = _parse_number(text, region)
    return HIDDEN if number is None else _masked_number(number, text)


def mask_email(raw: object) -> str:
    """`jane.smith@example.com` → `j•••@•••.com`; not an address at all → `•••`."""
    text = clean_text(raw, single_line=True).strip()
    if not text:
        return ""
    user, at, domain = text.rpartition("@")
    if not at or not domain:
        return HIDDEN
    first = user[:1] if user[:1].isalpha() else ""
    top = domain.rsplit(".", 1)[-1] if "." in domain else ""
    suffix = f".{top.lower()}" if top.isalpha() and len(top) <= 24 else ""
    return f"{first.lower()}{HIDDEN}@{HIDDEN}{suffix}"


def mask_name(raw: object) -> str:
    """`Jane Smith` → `J. S.`: initials only (at most three: first, second, last word).

    A word with no letter gives no initial; a name with none at all is `•••`. The words PBXs
    send as the caller name of a withheld number stay as they are.
    """
    text = clean_text(raw, single_line=True).strip()
    if not text or _is_withheld(text):
        return text
    initials = [ch.upper() for word in text.split() if (ch := _first_letter(word))]
    if len(initials) > 3:
        initials = [initials[0], initials[1], initials[-1]]
    return " ".join(f"{ch}." for ch in initials) or HIDDEN


def _first_letter(word: str) -> str:
    return next((ch for ch in word if ch.isalpha()), "")


def mask_text(note: object, known: Iterable[str] = (), region: str = "US") -> str:
    """Free text with every phone number, email address and `known` value masked.

    `known` are the names, numbers and emails of the customers concerned (see `known_values`):
    each is found however it is cased, a name also word by word, a number however it is
    written. Other numbers are found by `phonenumbers` (read in `region`) and by a digit-run
    fallback. Control codes are stripped as by `clean_text`.
    """
    return Redactor(known, region).text(note)


class Redactor:
    """The free-text masker for one set of known values (compiled once, used on many fields)."""

    def __init__(self, known: Iterable[str], region: str) -> None:
        self.region = region
        literals: dict[str, Callable[[str], str]] = {}
        phones: list[str] = []
        self.name_words: set[str] = set()
        for value in known:
            text = clean_text(value, single_line=True).strip()
            if not text or _is_withheld(text):
                continue
            if "@" in text and _EMAIL.fullmatch(text):
                literals[text] = mask_email
                user = text.rpartition("@")[0]
                if len(user) >= 3:
                    literals.setdefault(user, mask_name)
            elif (number := _parse_number(text, region)) is not None:
                phones.append(_known_number_pattern(number))
            else:
                literals[text] = mask_name
                for word, mask in _name_words(text):
                    literals.setdefault(word, mask)
                    self.name_words.add(word.casefold())
        ordered = sorted(literals, key=len, reverse=True)  # the full name before its words
        self.literal = (
            re.compile("|".join(_word_pattern(v) for v in ordered), re.IGNORECASE)
            if ordered
            else None
        )
        self.phone = re.compile("|".join(phones)) if phones else None
        self.lookup = {v.casefold(): fn for v, fn in literals.items()}

    def text(self, note: object) -> str:
        text = clean_text(note)
        if not text:
            return text
        out: list[str] = []
        last = 0
        for start, end, mask in _merge(self._spans(text)):
            out += (text[last:start], mask)
            last = end
        return self._truncated_tail("".join(out) + text[last:])

    def _spans(self, text: str) -> Iterator[tuple[int, int, str]]:
        if self.literal is not None:
            for m in self.literal.finditer(text):
                yield (
                    m.start(),
                    m.end(),
                    self.lookup.get(m.group().casefold(), mask_name)(m.group()),
                )
        for m in _EMAIL.finditer(text):
            yield m.start(), m.end(), mask_email(m.group())
        if sum(ch.isdigit() for ch in text) < 3:
            return  # no number in it: skip the (comparatively slow) number searches
        if self.phone is not None:
            for m in self.phone.finditer(text):
                yield m.start(), m.end(), self._number(m.group())
        for found in PhoneNumberMatcher(text, self.region, leniency=Leniency.POSSIBLE):
            yield found.start, found.end, _masked_number(found.number, found.raw_string)
        for m in _DIGIT_RUN.finditer(text):
            if sum(ch.isdigit() for ch in m.group()) >= _MIN_RUN_DIGITS:
                yield m.start(), m.end(), self._number(m.group())

    def _number(self, raw: str) -> str:
        number = _parse_number(raw, self.region)
        return HIDDEN if number is None else _masked_number(number, raw)

    def _truncated_tail(self, text: str) -> str:
        """An excerpt cut off mid-value ("call Alice Ada…", "415 55…") loses the fragment."""
        m = _TRUNCATED_TAIL.search(text)
        if m is None or HIDDEN in m.group(1):
            return text
        fragment = m.group(1)
        word = fragment.strip(".,;:!?\"'()[]").casefold()
        if (
            sum(ch.isdigit() for ch in fragment) >= 3
            or "@" in fragment
            or (len(word) >= 2 and any(w.startswith(word) for w in self.name_words))
        ):
            return text[: m.start(1)] + HIDDEN + text[m.end(1) :]
        return text


def _name_words(name: str) -> Iterator[tuple[str, Callable[[str], str]]]:
    """The words of a name worth hunting for in text, and how each is masked. A CJK name is
    also hunted without its family name (people are called by their given name), and that
    given name is hidden whole: its first character is not an initial."""
    for word in re.findall(r"\w+", name):
        if word.isdigit() or word.casefold() in _NAME_NOISE:
            continue
        if len(word) >= 2:
            yield word, mask_name
        if len(word) >= 3 and _is_uncased(word):
            yield word[1:], lambda _: HIDDEN


def _is_uncased(word: str) -> bool:
    """CJK and other scripts without case (and without spaces between words)."""
    return all(unicodedata.category(ch) == "Lo" for ch in word)


def _word_pattern(value: str) -> str:
    """A known value as a regex; cased words only match whole, uncased scripts anywhere."""
    escaped = re.escape(value)
    start = r"(?<!\w)" if not _is_uncased(value[:1]) else ""
    end = r"(?!\w)" if not _is_uncased(value[-1:]) else ""
    return f"{start}{escaped}{end}"


def _known_number_pattern(number: phonenumbers.PhoneNumber) -> str:
    """A known number however it is written: +CC, 00CC, a trunk 0 or nothing before it, its
    digits with any separators in between."""
    national = phonenumbers.national_significant_number(number)
    digits = _SEPARATORS.join(re.escape(d) for d in national)
    code = str(number.country_code)
    return rf"(?:(?:\+|00){_SEPARATORS}{code}{_SEPARATORS}|0{_SEPARATORS})?{digits}(?!\d)"


def _merge(spans: Iterable[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Overlapping finds become one masked stretch, masked as the longest of them says."""
    merged: list[list[Any]] = []  # [start, end, mask, length of the find the mask is from]
    for start, end, mask in sorted(spans, key=lambda s: (s[0], -s[1])):
        if merged and start < merged[-1][1]:
            last = merged[-1]
            last[1] = max(last[1], end)
            if end - start > last[3]:
                last[2:] = [mask, end - start]
        else:
            merged.append([start, end, mask, end - start])
    return [(start, end, mask) for start, end, mask, _ in merged]
