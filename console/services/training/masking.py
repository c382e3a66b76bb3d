"""Masking customer data for trainer views and replays, and the audited way to unmask it.

Masking happens here, in the services layer, so a trainer screen never holds the raw values: it
is given masked copies of the services' frozen dataclasses (`Masker.apply`, `mask_pop`). Only
`MaskingService.unmask` returns raw data, and only to a viewer with the unmask permission, after
it has written an audit entry (who, what, why, when).

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
Employees' names (agent, assignee, account owner) and queue names stay: a trainer scores them.
"""

from __future__ import annotations

import re
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, is_dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

import phonenumbers
from phonenumbers import Leniency, NumberParseException, PhoneNumberMatcher
from sqlalchemy import select

from console.cti.protocol import CallOffered, TranscriptLine
from console.db import Database
from console.models import Agent
from console.services.audit import AuditLog
from console.services.crm.agents import AgentIdentity
from console.services.crm.customer_search import CustomerHit
from console.services.crm.customers import TimelineEntry, TimelinePage
from console.services.crm.phones import WITHHELD_VALUES, PhoneNumberResult
from console.services.crm.tickets import TicketCommentRecord, TicketDetail, TicketRecord
from console.services.desk.interactions import InteractionRecord
from console.services.desk.screenpop import (
    ContactPoint,
    CustomerMatch,
    CustomerProfile,
    FollowUpSummary,
    InteractionSummary,
    ScreenPop,
    TicketSummary,
)
from console.services.errors import ServiceError, one_line
from console.services.text import clean_text

T = TypeVar("T")

UNMASK = "unmask"  # audit_log.action of an unmask
HIDDEN = "•••"
MAX_REASON = 200
REMEMBERED_VIEWS = 256  # masked copies a MaskingService can map back to raw data on unmask
NOT_ALLOWED = (
    "you are not allowed to unmask customer data; a supervisor can grant the unmask permission"
)

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


class MaskingError(ServiceError):
    """An unmask was refused, or a value cannot be masked."""


# --- the pure functions -------------------------------------------------------------------


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
    return _Redactor(known, region).text(note)


class _Redactor:
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


# --- masking the services' dataclasses ----------------------------------------------------

# How each field that can carry personal data is masked. NESTED fields hold dataclasses (or
# tuples of them) masked by their own rules; every other `str` field of a listed class is in
# _KEPT (not personal), which tests/unit/test_masking.py checks against the classes' fields.
NAME, PHONE, EMAIL, CONTACT, TEXT, NESTED = "name", "phone", "email", "contact", "text", "nested"
_RULES: dict[type, Mapping[str, str]] = {
    ScreenPop: {
        "caller": NESTED,
        "matches": NESTED,
        "profile": NESTED,
        "history": NESTED,
        "open_tickets": NESTED,
        "followups": NESTED,
    },
    PhoneNumberResult: {"raw": PHONE, "e164": PHONE, "national": PHONE, "international": PHONE},
    CustomerMatch: {"display_name": NAME, "organisation_name": NAME, "phone_label": TEXT},
    CustomerProfile: {
        "display_name": NAME,
        "organisation_name": NAME,
        "tags": TEXT,
        "notes": TEXT,
        "contact_points": NESTED,
    },
    ContactPoint: {"value": CONTACT, "label": TEXT},
    InteractionSummary: {"note_excerpt": TEXT, "disposition": TEXT},
    TicketSummary: {"subject": TEXT, "category": TEXT},
    FollowUpSummary: {"summary": TEXT},
    InteractionRecord: {
        "caller_raw": PHONE,
        "caller_e164": PHONE,
        "caller_name": NAME,
        "disposition": TEXT,
        "category": TEXT,
        "notes": TEXT,
        "transferred_to": TEXT,
    },
    TimelinePage: {"entries": NESTED},
    TimelineEntry: {
        "caller": PHONE,
        "disposition": TEXT,
        "category": TEXT,
        "notes": TEXT,
        "transferred_to": TEXT,
    },
    CustomerHit: {
        "display_name": NAME,
        "organisation_name": NAME,
        "matched_value": TEXT,
        "phone": PHONE,
        "email": EMAIL,
    },
    TicketDetail: {"ticket": NESTED, "comments": NESTED},
    TicketRecord: {"customer_name": NAME, "subject": TEXT, "category": TEXT},
    TicketCommentRecord: {"body": TEXT},
    CallOffered: {"caller_id": PHONE, "caller_name": NAME, "channel": TEXT},
    TranscriptLine: {"text": TEXT},
}
# String fields left as they are: codes, statuses, CTI ids, employees' and queues' names.
_KEPT: dict[type, frozenset[str]] = {
    cls: frozenset(names.split())
    for cls, names in (
        (PhoneNumberResult, "region line_type reason"),
        (CustomerMatch, "kind tier lifecycle phone_kind"),
        (CustomerProfile, "kind language tier lifecycle currency account_owner"),
        (ContactPoint, "kind subtype"),
        (InteractionSummary, "channel direction status agent_name queue_name"),
        (TicketSummary, "priority status assignee"),
        (FollowUpSummary, "kind status claimed_by"),
        (InteractionRecord, "queue_name uniqueid linkedid end_reason"),
        (TimelineEntry, "channel direction status agent_name queue_name"),
        (CustomerHit, "kind tier lifecycle"),
        (TicketRecord, "assignee_name assignee_team"),
        (TicketCommentRecord, "author_name"),
        (
            CallOffered,
            "uniqueid linkedid queue interface member_name agent_channel direction action_id"
            " script training_run",
        ),
        (TranscriptLine, "uniqueid linkedid speaker script"),
    )
}
MASKABLE: tuple[type, ...] = tuple(_RULES)


def masking_rules(cls: type) -> tuple[Mapping[str, str], frozenset[str]]:
    """The masked and the kept `str` fields of a maskable class (for tests and docs)."""
    return _RULES[cls], _KEPT.get(cls, frozenset())


def _rules_for(subject: object) -> Mapping[str, str]:
    rules = _RULES.get(type(subject))
    if rules is None:
        raise MaskingError(f"cannot mask a {type(subject).__name__}: no masking rules for it")
    return rules


def known_values(subject: object) -> tuple[str, ...]:
    """Every name, number and email held in `subject`'s fields (nested ones too): the values to
    hunt for in its free text. Employees' names are not among them."""
    found: dict[str, None] = {}

    def walk(item: object) -> None:
        if isinstance(item, tuple):
            for element in item:
                walk(element)
            return
        if item is None or not is_dataclass(item):
            return
        for name, how in _rules_for(item).items():
            value = getattr(item, name)
            if how == NESTED:
                walk(value)
            elif how in (NAME, PHONE, EMAIL, CONTACT) and isinstance(value, str) and value:
                found[value] = None

    walk(subject)
    return tuple(found)


def _mask_value(how: str, value: Any, item: object, redactor: _Redactor) -> Any:
    if value is None:
        return value
    if isinstance(value, tuple):
        return tuple(_mask_value(how, v, item, redactor) for v in value)
    if how == NAME:
        return mask_name(value)
    if how == PHONE:
        return mask_phone(value, redactor.region) if value else value
    if how == EMAIL:
        return mask_email(value)
    if how == CONTACT:
        is_email = getattr(item, "kind", "") == "email"
        return mask_email(value) if is_email else mask_phone(value, redactor.region)
    return redactor.text(value)


def _masked(item: T, redactor: _Redactor) -> T:
    if isinstance(item, tuple):
        return tuple(_masked(element, redactor) for element in item)  # type: ignore[return-value]
    if item is None:
        return item
    changes: dict[str, Any] = {}
    for name, how in _rules_for(item).items():
        value = getattr(item, name)
        if how == NESTED:
            changes[name] = _masked(value, redactor)
        else:
            changes[name] = _mask_value(how, value, item, redactor)
    return replace(item, **changes)  # type: ignore[type-var]


@dataclass(frozen=True, slots=True)
class Masker:
    """The masking policy: how values are masked (see the module doc) and for whom.

    `apply` masks a copy of any of the services' dataclasses listed in `MASKABLE`; a class
    with no rules raises MaskingError rather than pass through unmasked.
    """

    region: str = "US"  # the region national-format numbers in free text are read in

    @staticmethod
    def masks_for(viewer: AgentIdentity, *, unmask_requested: bool = False) -> bool:
        """Whether `viewer` sees masked data: yes, unless they may unmask and asked to."""
        return not (viewer.can_unmask and unmask_requested)

    def apply(self, subject: T) -> T:
        """A masked copy of `subject`, its free text masked with the values it holds."""
        if isinstance(subject, str):
            return self.text(subject)  # type: ignore[return-value]
        return _masked(subject, _Redactor(known_values(subject), self.region))

    def text(self, note: object, known: Iterable[str] = ()) -> str:
        """`mask_text` in this policy's region."""
        return mask_text(note, known, self.region)


def mask_pop(pop: ScreenPop, region: str = "US") -> ScreenPop:
    """A copy of the screen pop with every name, number, email and free text masked."""
    return Masker(region).apply(pop)


# --- the service ----------------------------------------------------------------------------


def _audited_entity(subject: object) -> tuple[str, int | None, dict[str, Any]]:
    """What an unmask is about, for its audit entry (entity type, id, extra details)."""
    if isinstance(subject, ScreenPop):
        ids = [m.customer_id for m in subject.matches]
        if subject.profile is not None:
            return "customer", subject.profile.id, {"matched_customers": ids}
        return "caller", None, {"matched_customers": ids}
    for cls, entity, attribute in (
        (CustomerProfile, "customer", "id"),
        (CustomerMatch, "customer", "customer_id"),
        (CustomerHit, "customer", "customer_id"),
        (InteractionSummary, "interaction", "id"),
        (InteractionRecord, "interaction", "id"),
        (TimelineEntry, "interaction", "id"),
        (TicketSummary, "ticket", "id"),
        (TicketRecord, "ticket", "id"),
        (TicketCommentRecord, "ticket", "ticket_id"),
        (FollowUpSummary, "followup", "id"),
    ):
        if isinstance(subject, cls):
            return entity, getattr(subject, attribute), {}
    if isinstance(subject, TicketDetail):
        return "ticket", subject.ticket.id, {}
    if isinstance(subject, CallOffered | TranscriptLine):
        return "call", None, {"uniqueid": subject.uniqueid}
    if isinstance(subject, TimelinePage):
        ids = [e.id for e in subject.entries]
        return "interaction", ids[0] if len(ids) == 1 else None, {"interactions": ids}
    if isinstance(subject, PhoneNumberResult | ContactPoint):
        return "caller", None, {}
    if isinstance(subject, str):
        return "text", None, {}
    raise MaskingError(f"cannot unmask a {type(subject).__name__}: no masking rules for it")


class MaskingService:
    """What a trainer view or replay shows one viewer: masked data, or raw data after an
    audited unmask by a viewer with the permission.

    A screen keeps only what `view` gave it and passes that back to `unmask`: the service
    remembers the raw data behind its last views, so the raw data never needs to reach a
    screen before it is unmasked.
    """

    def __init__(
        self,
        db: Database,
        viewer: AgentIdentity,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        region: str = "US",
    ) -> None:
        self._db = db
        self._viewer = viewer
        self._audit = AuditLog(db, clock=clock)
        self._masker = Masker(region)
        # id(masked copy) → (masked copy, raw): the copy is kept, so its id is not reused.
        self._raw_behind: OrderedDict[int, tuple[object, object]] = OrderedDict()

    @property
    def viewer(self) -> AgentIdentity:
        return self._viewer

    @property
    def may_unmask(self) -> bool:
        """Whether the viewer had the unmask permission at login (screens show the button)."""
        return self._viewer.can_unmask

    def view(self, subject: T) -> T:
        """A masked copy of `subject`, whoever the viewer. Raw data only comes from `unmask`."""
        shown = self._masker.apply(subject)
        self._raw_behind[id(shown)] = (shown, subject)
        self._raw_behind.move_to_end(id(shown))
        while len(self._raw_behind) > REMEMBERED_VIEWS:
            self._raw_behind.popitem(last=False)
        return shown

    async def unmask(self, subject: T, reason: str) -> T:
        """The raw data, after writing the audit entry (who, what, why, when).

        `subject` is a masked copy `view` returned (one of its last REMEMBERED_VIEWS), or raw
        data the caller holds (a service), returned as it is.

        Refused with MaskingError, writing nothing and returning nothing, when the viewer has
        no unmask permission (checked at login and again in the database, so a permission
        withdrawn since counts), the agent is deactivated, or `reason` is empty.
        """
        kept = self._raw_behind.get(id(subject))
        raw: T = kept[1] if kept is not None and kept[0] is subject else subject  # type: ignore[assignment]
        entity_type, entity_id, details = _audited_entity(raw)
        await self._audited(
            entity_type, entity_id, reason, {"subject": type(raw).__name__, **details}
        )
        return raw

    async def allow_raw(self, entity_type: str, entity_id: int | None, reason: str) -> None:
        """Let the viewer see a whole recording unmasked (a replay of a run or a call):
        refused and audited exactly as `unmask`; the caller then builds its view unmasked."""
        await self._audited(entity_type, entity_id, reason, {"subject": "recording"})

    async def _audited(
        self, entity_type: str, entity_id: int | None, reason: str, details: dict[str, Any]
    ) -> None:
        if Masker.masks_for(self._viewer, unmask_requested=True):
            raise MaskingError(NOT_ALLOWED)
        why = one_line(
            reason,
            field="the reason to unmask",
            max_length=MAX_REASON,
            required=True,
            error=MaskingError,
        )
        details = {"reason": why, "role": self._viewer.role.value, **details}
        async with self._db.write_connection() as conn:
            allowed = (
                await conn.execute(
                    select(Agent.can_unmask, Agent.active).where(Agent.id == self._viewer.id)
                )
            ).first()
            if allowed is None or not allowed[0] or not allowed[1]:
                raise MaskingError(NOT_ALLOWED)
            await self._audit.add(conn, self._viewer.id, UNMASK, entity_type, entity_id, details)
