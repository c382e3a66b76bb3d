"""Customer search: one worker hop (`Database.read_rows`) whatever the query is.

A query is read as a ticket reference ("#123", "T123", a bare number), a phone number in any
format (normalised, exact E.164 match), an email address (exact, case-insensitive) and/or a
name:

- Name prefix: range scans on `ix_customers_display_name` (`display_name >= 'Ali' AND
  display_name < 'Alj'`), one per case variant of the prefix ("ali", "Ali", "ALI"… all of them
  when the prefix has at most four letters, the usual spellings otherwise). A plain
  `LIKE 'ali%'` can't use that index on SQLite (LIKE is case-insensitive, the index is BINARY)
  and `lower(display_name)` would need an expression index. p50 1.5–3.5 ms on 1M customers
  (bench/customer_search.py).
- Name contains (only when the prefix found fewer than `limit`, and `contains=True`):
  `LIKE '%dam%'` (ILIKE on PostgreSQL) reads the whole table, p50 ~180 ms on 1M customers on
  SQLite. It finds surnames ("Adams" in "Alice Adams"); making that indexed needs a schema
  change (a name-token table, or FTS5 / pg_trgm).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from itertools import product
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import aliased

from console.db import Database, RowReader
from console.models import Customer, EmailAddress, Interaction, PhoneNumber, Ticket
from console.models.base import from_db_time
from console.services.crm.phones import PhoneNumberResult, normalise
from console.services.text import clean_text, stored_text

SEARCH_MAX = 100
_TICKET_REF = re.compile(r"^(?:#|t-?|ticket\s*#?)\s*(\d{1,18})$", re.IGNORECASE)
_DIGITS = re.compile(r"^\d{1,18}$")
_PHONE_LIKE = re.compile(r"^(?:(?:tel|sips?):)?[+\d\s().\-/]{3,}$", re.IGNORECASE)
_ALL_CASES_UP_TO = 4  # letters; 2**4 = 16 index ranges at most


class MatchKind(StrEnum):
    """Why a search hit matched."""

    TICKET = "ticket"
    PHONE = "phone"
    EMAIL = "email"
    NAME_PREFIX = "name_prefix"
    NAME_CONTAINS = "name_contains"


@dataclass(frozen=True, slots=True)
class CustomerHit:
    """One search result, with why it matched."""

    customer_id: int
    display_name: str
    kind: str
    tier: str
    lifecycle: str
    organisation_name: str
    matched_on: MatchKind
    matched_value: str  # the ticket subject, number, address or query that matched
    phone: str  # first phone number (E.164), "" if none
    email: str  # first email address, "" if none
    last_contact_at: datetime | None

    @property
    def reason(self) -> str:
        """One line for the results list."""
        return {
            MatchKind.TICKET: f"ticket {self.matched_value}",
            MatchKind.PHONE: f"phone number {self.matched_value}",
            MatchKind.EMAIL: f"email {self.matched_value}",
            MatchKind.NAME_PREFIX: f"name starts with “{self.matched_value}”",
            MatchKind.NAME_CONTAINS: f"name contains “{self.matched_value}”",
        }[self.matched_on]


# ---------------------------------------------------------------- search statements
# Module constants: `read_rows` caches each statement's compiled SQL.

_org = aliased(Customer)
_HIT = (
    Customer.id,
    Customer.display_name,
    Customer.kind,
    Customer.tier,
    Customer.lifecycle,
    _org.display_name,
)


def _hits_from(*extra: Any) -> Any:
    return select(*_HIT, *extra).outerjoin(_org, _org.id == Customer.organisation_id)


_BY_NAME_RANGE = (
    _hits_from()
    .where(Customer.display_name >= bindparam("lo"), Customer.display_name < bindparam("hi"))
    .order_by(Customer.display_name, Customer.id)
    .limit(SEARCH_MAX)
)
# SQLite's LIKE is already case-insensitive (ASCII) and twice as fast as lower(x) LIKE lower(y).
_BY_NAME_LIKE = (
    _hits_from()
    .where(Customer.display_name.like(bindparam("pattern"), escape="\\"))
    .limit(SEARCH_MAX)
)
_BY_NAME_ILIKE = (
    _hits_from()
    .where(Customer.display_name.ilike(bindparam("pattern"), escape="\\"))
    .limit(SEARCH_MAX)
)
_BY_PHONE = (
    _hits_from()
    .join(PhoneNumber, PhoneNumber.customer_id == Customer.id)
    .where(PhoneNumber.e164 == bindparam("e164"))
    .order_by(Customer.id)
    .limit(SEARCH_MAX)
)
_BY_EMAIL = (
    _hits_from()
    .join(EmailAddress, EmailAddress.customer_id == Customer.id)
    .where(EmailAddress.address == bindparam("email"))
    .order_by(Customer.id)
    .limit(SEARCH_MAX)
)
_BY_TICKET = (
    _hits_from(Ticket.subject)
    .join(Ticket, Ticket.customer_id == Customer.id)
    .where(Ticket.id == bindparam("tid"))
)
_LAST_CONTACT = select(func.max(Interaction.offered_at)).where(
    Interaction.customer_id == bindparam("cid")
)
_FIRST_PHONE = (
    select(PhoneNumber.e164)
    .where(PhoneNumber.customer_id == bindparam("cid"))
    .order_by(PhoneNumber.id)
    .limit(1)
)
_FIRST_EMAIL = (
    select(EmailAddress.address)
    .where(EmailAddress.customer_id == bindparam("cid"))
    .order_by(EmailAddress.id)
    .limit(1)
)


def case_variants(prefix: str) -> list[str]:
    """Spellings of `prefix` to look up in a case-sensitive index, most likely first.

    Every combination when the prefix has at most four cased letters (so "mcd" finds
    "McDonald"); beyond that the usual spellings (as typed, Capitalised, Title Case, lower,
    UPPER). Letters whose case change alters the length (ß → SS) are left as typed.
    """
    cased = [
        i
        for i, ch in enumerate(prefix)
        if ch.lower() != ch.upper() and len(ch.lower()) == 1 == len(ch.upper())
    ]
    likely = [prefix.title(), prefix[:1].upper() + prefix[1:], prefix]
    if len(cased) <= _ALL_CASES_UP_TO:
        variants = []
        for flips in product((False, True), repeat=len(cased)):
            chars = list(prefix)
            for index, upper in zip(cased, flips, strict=True):
                chars[index] = chars[index].upper() if upper else chars[index].lower()
            variants.append("".join(chars))
    else:
        variants = [prefix[:1].upper() + prefix[1:].lower(), prefix.lower(), prefix.upper()]
    return list(dict.fromkeys([*likely, *variants]))


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest string greater than every string starting with `prefix` (None: no bound)."""
    chars = list(prefix)
    while chars:
        code = ord(chars[-1]) + 1
        if 0xD800 <= code <= 0xDFFF:  # surrogates can't be stored; skip past them
            code = 0xE000
        if code <= 0x10FFFF:
            chars[-1] = chr(code)
            return "".join(chars)
        chars.pop()
    return None


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True, slots=True)
class _Query:
    """How a search string was read."""

    ticket_id: int | None
    phone: PhoneNumberResult | None
    email: str | None
    name: str | None


def parse_query(raw: object, region: str) -> _Query:
    """Read a search string as a ticket reference, phone number, email and/or name."""
    text = clean_text(raw, single_line=True, max_length=200).strip()
    if not text:
        return _Query(None, None, None, None)
    ticket_ref = _TICKET_REF.match(text)
    if ticket_ref:
        return _Query(int(ticket_ref.group(1)), None, None, None)
    ticket_id = int(text) if _DIGITS.match(text) and int(text) > 0 else None
    phone = None
    if _PHONE_LIKE.match(text):
        result = normalise(text, region)
        phone = result if result.is_valid else None
    if "@" in text:
        return _Query(None, None, text.lower(), None)
    # Names are looked up unless the text is clearly a number ("7-Eleven" and "100%" are not).
    numeric = ticket_id is not None or phone is not None
    is_name = any(ch.isalpha() for ch in text) or not numeric
    return _Query(ticket_id, phone, None, text if is_name else None)


async def search_customers(
    db: Database, query: str, *, region: str, limit: int = 20, contains: bool = True
) -> list[CustomerHit]:
    """Customers matching `query` (ticket, phone, email, name), best reasons first.

    `contains=False` skips the name-contains table scan (for search-as-you-type; the indexed
    lookups take about a millisecond on 1M customers, the scan 100–250 ms).
    """
    wanted = max(1, min(int(limit), SEARCH_MAX))
    parsed = parse_query(query, region)
    scan = _BY_NAME_LIKE if db.is_sqlite else _BY_NAME_ILIKE

    def _query(reader: RowReader) -> list[CustomerHit]:
        found: dict[int, tuple[Sequence[Any], MatchKind, str]] = {}

        def add(rows: Sequence[Sequence[Any]], kind: MatchKind, value: str) -> None:
            for row in rows:
                if len(found) < wanted and row[0] not in found:
                    found[row[0]] = (row, kind, value)

        if parsed.ticket_id is not None:
            for row in reader.rows(_BY_TICKET, {"tid": parsed.ticket_id}):
                add([row], MatchKind.TICKET, f"#{parsed.ticket_id} “{stored_text(row[6])}”")
        if parsed.phone is not None and parsed.phone.e164:
            e164 = parsed.phone.e164
            add(reader.rows(_BY_PHONE, {"e164": e164}), MatchKind.PHONE, e164)
        if parsed.email is not None:
            add(reader.rows(_BY_EMAIL, {"email": parsed.email}), MatchKind.EMAIL, parsed.email)
        if parsed.name is not None:
            add(_name_prefix(reader, parsed.name, wanted), MatchKind.NAME_PREFIX, parsed.name)
            if contains and len(found) < wanted and len(parsed.name) >= 2:
                rows = reader.rows(scan, {"pattern": _like_pattern(parsed.name)})
                folded = parsed.name.casefold()
                rows = [r for r in rows if folded in (r[1] or "").casefold()]
                add(rows, MatchKind.NAME_CONTAINS, parsed.name)
        return [_hit(reader, row, kind, value) for row, kind, value in found.values()]

    return await db.read_rows(_query)


def _name_prefix(reader: RowReader, prefix: str, wanted: int) -> list[Sequence[Any]]:
    rows: dict[int, Sequence[Any]] = {}
    folded = prefix.casefold()
    for variant in case_variants(prefix):
        upper = prefix_upper_bound(variant)
        if upper is None:
            continue
        for row in reader.rows(_BY_NAME_RANGE, {"lo": variant, "hi": upper}):
            # The range is exact on SQLite; a PostgreSQL collation may compare more loosely.
            if (row[1] or "").casefold().startswith(folded):
                rows.setdefault(row[0], row)
    return sorted(rows.values(), key=lambda r: ((r[1] or "").casefold(), r[0]))[:wanted]


def _hit(reader: RowReader, row: Sequence[Any], kind: MatchKind, value: str) -> CustomerHit:
    params = {"cid": row[0]}
    phone = reader.rows(_FIRST_PHONE, params)
    email = reader.rows(_FIRST_EMAIL, params)
    last = reader.rows(_LAST_CONTACT, params)
    return CustomerHit(
        customer_id=row[0],
        display_name=stored_text(row[1]),
        kind=str(row[2]),
        tier=str(row[3]),
        lifecycle=str(row[4]),
        organisation_name=stored_text(row[5]),
        matched_on=kind,
        matched_value=stored_text(value, 240),
        phone=stored_text(phone[0][0]) if phone else "",
        email=stored_text(email[0][0]) if email else "",
        last_contact_at=from_db_time(last[0][0]) if last else None,
    )
