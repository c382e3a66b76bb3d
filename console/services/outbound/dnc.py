"""The do-not-call lists: the internal one (opt-outs, agents, the CLI) and imported ones.

Every number is stored in E.164. `add` / `remove` / `check` work one number at a time and are
audited; `check_many` is the batch lookup the compliance gate's facts come from;
`import_file` reads a national registry download (the US FTC's lines of ``area code,number``,
or one number per line) into a named list, counting and reporting bad lines by number instead
of failing on them. Importing with ``replace`` makes the list exactly the file's numbers: the
new rows are written beside the old in chunks, then swapped in one transaction, so a dialer
never sees the list half-imported or empty.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat
from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from console.db import Database
from console.models.outbound import INTERNAL_DNC, DncEntry
from console.services.audit import CREATE, AuditLog
from console.services.crm.phones import normalise
from console.services.errors import ServiceError, aware, one_line
from console.services.outbound.gate import DncHit
from console.services.service import DbService, utcnow
from console.services.text import clean_text

CHUNK = 1000  # rows per INSERT (and per transaction) while importing
LOOKUP_CHUNK = 500  # numbers per IN (...) lookup
MAX_BAD_SHOWN = 20  # bad lines kept (with their line numbers) in an import report
_STAGING = " (importing)"  # suffix of an import's rows until they replace the list
MAX_LIST_NAME = 60 - len(_STAGING)
DELETE = "delete"


class DncError(ServiceError):
    """A do-not-call request was refused (bad number, bad list name, unreadable file)."""


@dataclass(frozen=True, slots=True)
class DncRecord:
    """One number on one list, as read back."""

    id: int
    e164: str
    source: str
    reason: str
    customer_id: int | None
    added_by: str
    added_at: datetime
    expires_at: datetime | None

    def active(self, now: datetime) -> bool:
        """Whether the entry still blocks calls at `now`."""
        return self.expires_at is None or self.expires_at > now


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line of an imported file that is not a phone number."""

    line: int  # 1-based
    text: str  # sanitised, cut to 60 characters
    reason: str


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did: lines read, numbers added or removed, bad lines (the first few)."""

    source: str
    lines: int  # non-blank, non-comment lines read
    numbers: int  # valid numbers in the file (duplicates counted once per line)
    added: int  # numbers not on the list before
    removed: int  # numbers dropped from the list (replace only)
    bad_count: int
    bad: tuple[BadLine, ...]  # the first MAX_BAD_SHOWN


@dataclass(frozen=True, slots=True)
class DncList:
    """One list and how many numbers it holds."""

    source: str
    numbers: int


def parse_dnc_line(text: str, region: str) -> str:
    """The E.164 form of one line: ``area code,number`` (10 digits together, the FTC's
    download) or one number in any form phonenumbers reads for `region`. Raises ValueError
    with the reason."""
    fields = [f.strip() for f in text.split(",")]
    if len(fields) == 2:
        area, local = fields
        if not (area.isdigit() and local.isdigit() and len(area) + len(local) == 10):
            raise ValueError("expected 'area code,number' with 10 digits in all")
        candidate = area + local
    elif len(fields) == 1:
        candidate = fields[0]
    else:
        raise ValueError("expected 'area code,number' or one number per line")
    try:
        number = phonenumbers.parse(candidate, region)
    except NumberParseException:
        raise ValueError("not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return str(phonenumbers.format_number(number, PhoneNumberFormat.E164))


def read_dnc_lines(
    lines: Iterable[str], region: str
) -> Iterator[tuple[int, str | None, BadLine | None]]:
    """(line number, E.164 or None, the bad line or None) for each line that holds something;
    blank lines and ``#`` comments are skipped."""
    for n, raw in enumerate(lines, start=1):
        text = raw.strip().lstrip("\ufeff").strip()
        if not text or text.startswith("#"):
            continue
        try:
            yield n, parse_dnc_line(text, region), None
        except ValueError as exc:
            shown = clean_text(text, single_line=True, max_length=60)
            yield n, None, BadLine(n, shown, str(exc))


class DncService(DbService):
    """Reads and writes the do-not-call lists (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        audit: AuditLog | None = None,
        *,
        region: str = "US",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(db, audit, clock=clock)
        self.region = region

    def e164(self, number: object, region: str | None = None) -> str:
        """`number` in E.164, or DncError saying why it is not a number."""
        parsed = normalise(number, region or self.region)
        if parsed.e164 is None:
            reason = parsed.reason or "withheld or empty"
            raise DncError(f"{parsed.raw or '(empty)'!r} is not a phone number ({reason})")
        return parsed.e164

    # ------------------------------------------------------------ one number

    async def add(
        self,
        number: object,
        *,
        source: str = INTERNAL_DNC,
        reason: str = "",
        customer_id: int | None = None,
        agent_id: int | None = None,
        added_by: str = "",
        expires_at: datetime | None = None,
        conn: AsyncConnection | None = None,
    ) -> DncRecord:
        """Put `number` on the list `source`; an entry already there and active is kept as
        it is, an expired one is renewed. Audited. With `conn`, inside the caller's write."""
        e164 = self.e164(number)
        values = dict(
            e164=e164,
            source=_list_name(source, allow_internal=True),
            reason=one_line(reason, field="reason", max_length=200, error=DncError),
            customer_id=customer_id,
            added_by=one_line(added_by, field="added by", max_length=80, error=DncError),
            added_by_agent_id=agent_id,
            added_at=self._clock(),
            expires_at=None
            if expires_at is None
            else aware(expires_at, field="expiry", error=DncError),
        )
        if conn is not None:
            return await self._add(conn, values)
        async with self._db.write_connection() as own:
            return await self._add(own, values)

    async def _add(self, conn: AsyncConnection, values: dict[str, Any]) -> DncRecord:
        key = and_(DncEntry.e164 == values["e164"], DncEntry.source == values["source"])
        row = (await conn.execute(_SELECT.where(key))).one_or_none()
        if row is None:
            await conn.execute(insert(DncEntry).values(**values))
        elif _record(row).active(values["added_at"]):
            # Already blocked: only ever lengthen the block (a permanent opt-out over a
            # temporary entry), never shorten it.
            current = _record(row)
            longer = _later(current.expires_at, values["expires_at"])
            if longer == current.expires_at:
                return current
            await conn.execute(
                update(DncEntry).where(DncEntry.id == row.id).values(expires_at=longer)
            )
        else:
            await conn.execute(update(DncEntry).where(DncEntry.id == row.id).values(**values))
        added = _record((await conn.execute(_SELECT.where(key))).one())
        details = {
            "e164": added.e164,
            "source": added.source,
            "reason": added.reason,
            "expires_at": added.expires_at,
        }
        await self._audit.add(conn, values["added_by_agent_id"], CREATE, "dnc", added.id, details)
        return added

    async def remove(
        self, number: object, *, source: str = INTERNAL_DNC, agent_id: int | None = None
    ) -> bool:
        """Take `number` off the list `source`; False if it was not on it. Audited."""
        e164 = self.e164(number)
        name = _list_name(source, allow_internal=True)
        async with self._db.write_connection() as conn:
            row = (
                await conn.execute(_SELECT.where(DncEntry.e164 == e164, DncEntry.source == name))
            ).one_or_none()
            if row is None:
                return False
            await conn.execute(delete(DncEntry).where(DncEntry.id == row.id))
            details = {"e164": e164, "source": name, "reason": row.reason}
            await self._audit.add(conn, agent_id, DELETE, "dnc", row.id, details)
        return True

    async def check(self, number: object) -> list[DncRecord]:
        """Every list entry for `number` that blocks calls now (none: it may be called)."""
        e164 = self.e164(number)
        now = self._clock()
        async with self._db.session() as session:
            rows = (
                await session.execute(
                    _SELECT.where(DncEntry.e164 == e164).order_by(DncEntry.source)
                )
            ).all()
        return [r for r in map(_record, rows) if r.active(now)]

    # ------------------------------------------------------------ many numbers

    async def check_many(self, numbers: Iterable[str]) -> dict[str, tuple[DncHit, ...]]:
        """Every entry (expired ones too: the gate judges them at its `now`) for E.164
        numbers, keyed by number; numbers on no list are absent."""
        wanted = sorted(set(numbers))
        found: dict[str, tuple[DncHit, ...]] = {}
        async with self._db.session() as session:
            for start in range(0, len(wanted), LOOKUP_CHUNK):
                chunk = wanted[start : start + LOOKUP_CHUNK]
                rows = await session.execute(
                    select(
                        DncEntry.e164, DncEntry.source, DncEntry.reason, DncEntry.expires_at
                    ).where(DncEntry.e164.in_(chunk))
                )
                for e164, source, reason, expires_at in rows:
                    found[e164] = (*found.get(e164, ()), DncHit(source, reason, expires_at))
        return found

    async def entries(
        self, *, source: str | None = None, limit: int = 100, after_id: int = 0
    ) -> list[DncRecord]:
        """Entries in id order (a page of `limit` after `after_id`), of one list or all."""
        stmt = _SELECT.where(DncEntry.id > after_id)
        if source is not None:
            stmt = stmt.where(DncEntry.source == source)
        stmt = stmt.order_by(DncEntry.id).limit(max(1, min(limit, 10_000)))
        async with self._db.session() as session:
            return [_record(r) for r in (await session.execute(stmt)).all()]

    async def lists(self) -> list[DncList]:
        """Each list's name and size."""
        stmt = select(DncEntry.source, func.count()).group_by(DncEntry.source)
        async with self._db.session() as session:
            rows = (await session.execute(stmt.order_by(DncEntry.source))).all()
        return [DncList(source, count) for source, count in rows]

    # ------------------------------------------------------------ imports

    async def import_file(
        self,
        path: Path,
        source: str,
        *,
        region: str | None = None,
        replace: bool = False,
        expires_at: datetime | None = None,
        agent_id: int | None = None,
        added_by: str = "import",
    ) -> ImportReport:
        """Read `path` into the list `source` (see the module docstring); `region` reads
        national numbers (default: the service's). Bad lines are reported, not fatal; a file
        that cannot be read at all raises DncError and changes nothing."""
        name = _list_name(source, allow_internal=False)
        region = (region or self.region).upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise DncError(f"unknown region {region!r} (use an ISO 3166 code such as US, GB)")
        expiry = None if expires_at is None else aware(expires_at, field="expiry", error=DncError)
        staged = name + _STAGING
        await self._drop(staged)  # an interrupted earlier import's leftovers
        try:
            with path.open(encoding="utf-8", newline="") as handle:
                counts = await self._load(handle, region, staged, expiry, added_by, agent_id)
        except BaseException as exc:
            await self._drop(staged)  # nothing of a file that failed half-way is kept
            if isinstance(exc, FileNotFoundError):
                raise DncError(f"{path}: no such file") from None
            if isinstance(exc, IsADirectoryError):
                raise DncError(f"{path}: is a directory, not a file") from None
            if isinstance(exc, UnicodeDecodeError):
                raise DncError(f"{path}: not a UTF-8 text file ({exc.reason})") from None
            if isinstance(exc, OSError):
                raise DncError(f"{path}: cannot read: {exc.strerror or exc}") from None
            raise
        lines, numbers, bad_count, bad = counts
        added, removed = await self._merge(name, staged, replace=replace)
        async with self._db.write_connection() as conn:
            details = {
                "source": name,
                "file": str(path)[-200:],
                "region": region,
                "replace": replace,
                "added": added,
                "removed": removed,
                "bad_lines": bad_count,
            }
            await self._audit.add(conn, agent_id, "import", "dnc_list", None, details)
        return ImportReport(name, lines, numbers, added, removed, bad_count, tuple(bad))

    async def _load(
        self,
        handle: Iterable[str],
        region: str,
        target: str,
        expiry: datetime | None,
        added_by: str,
        agent_id: int | None,
    ) -> tuple[int, int, int, list[BadLine]]:
        """Insert the file's numbers into `target` in chunks; (lines, numbers, bad count,
        first bad lines)."""
        lines = numbers = bad_count = 0
        bad: list[BadLine] = []
        chunk: list[str] = []
        by = one_line(added_by, field="added by", max_length=80, error=DncError)
        for _n, e164, wrong in read_dnc_lines(handle, region):
            lines += 1
            if wrong is not None:
                bad_count += 1
                if len(bad) < MAX_BAD_SHOWN:
                    bad.append(wrong)
                continue
            assert e164 is not None
            numbers += 1
            chunk.append(e164)
            if len(chunk) >= CHUNK:
                await self._insert(chunk, target, expiry, by, agent_id)
                chunk = []
        if chunk:
            await self._insert(chunk, target, expiry, by, agent_id)
        return lines, numbers, bad_count, bad

    async def _insert(
        self,
        numbers: Sequence[str],
        source: str,
        expiry: datetime | None,
        added_by: str,
        agent_id: int | None,
    ) -> None:
        now = self._clock()
        rows = [
            dict(
                e164=e164,
                source=source,
                reason="",
                customer_id=None,
                added_by=added_by,
                added_by_agent_id=agent_id,
                added_at=now,
                expires_at=expiry,
            )
            for e164 in dict.fromkeys(numbers)
        ]
        dialect_insert = self._db.insert
        statement = dialect_insert(DncEntry).on_conflict_do_nothing(
            index_elements=["e164", "source"]
        )
        async with self._db.write_connection() as conn:
            await conn.execute(statement, rows)

    async def _drop(self, source: str) -> None:
        async with self._db.write_connection() as conn:
            await conn.execute(delete(DncEntry).where(DncEntry.source == source))

    async def _merge(self, name: str, staged: str, *, replace: bool) -> tuple[int, int]:
        """Make the staged rows part of the list `name` (or the whole list, with `replace`)
        in one transaction; (numbers added, numbers removed)."""
        old = DncEntry.__table__.alias("old")
        on_list = select(old.c.id).where(old.c.e164 == DncEntry.e164, old.c.source == name).exists()
        count = select(func.count()).select_from(DncEntry)
        async with self._db.write_connection() as conn:
            before = int(await conn.scalar(count.where(DncEntry.source == name)) or 0)
            new = int(await conn.scalar(count.where(DncEntry.source == staged, ~on_list)) or 0)
            if replace:
                kept = int(await conn.scalar(count.where(DncEntry.source == staged)) or 0) - new
                await conn.execute(delete(DncEntry).where(DncEntry.source == name))
            else:
                kept = before
                await conn.execute(delete(DncEntry).where(DncEntry.source == staged, on_list))
            await conn.execute(
                update(DncEntry).where(DncEntry.source == staged).values(source=name)
            )
        return new, before - kept


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    """The later expiry of two (None: never expires, the latest of all)."""
    return None if a is None or b is None else max(a, b)


_SELECT = select(
    DncEntry.id,
    DncEntry.e164,
    DncEntry.source,
    DncEntry.reason,
    DncEntry.customer_id,
    DncEntry.added_by,
    DncEntry.added_at,
    DncEntry.expires_at,
)


def _record(row: Any) -> DncRecord:
    return DncRecord(
        id=row.id,
        e164=row.e164,
        source=row.source,
        reason=row.reason,
        customer_id=row.customer_id,
        added_by=row.added_by,
        added_at=row.added_at,
        expires_at=row.expires_at,
    )


def _list_name(value: object, *, allow_internal: bool) -> str:
    name = one_line(value, field="list name", max_length=MAX_LIST_NAME, error=DncError)
    if not name:
        raise DncError("the list needs a name (e.g. us-national)")
    if name.endswith(_STAGING):
        raise DncError(f"a list name cannot end in {_STAGING.strip()!r}")
    if name == INTERNAL_DNC and not allow_internal:
        raise DncError(
            f"{INTERNAL_DNC!r} is the opt-out list: name the imported list (e.g. us-national)"
        )
    return name
