"""The do-not-call lists: one number at a time, batches, and national files with bad lines."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console.db import Database
from console.models.outbound import INTERNAL_DNC
from console.services.audit import AuditLog
from console.services.outbound.dnc import DncError, DncList, DncService, parse_dnc_line
from tests.outbound import add_agent

T0 = datetime(2026, 6, 1, 15, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def service(db: Database, clock: Clock | None = None) -> DncService:
    return DncService(db, region="US", clock=clock or Clock())


async def test_add_check_and_remove_a_number_in_any_format(db: Database) -> None:
    agent = await add_agent(db)
    dnc = service(db)
    added = await dnc.add("(212) 555-0123", reason="asked on the phone", agent_id=agent)
    assert (added.e164, added.source, added.reason) == (
        "+12125550123",
        INTERNAL_DNC,
        "asked on the phone",
    )
    assert [e.e164 for e in await dnc.check("+1 212 555 0123")] == ["+12125550123"]
    assert await dnc.check("+12125550124") == []
    assert await dnc.remove("212-555-0123", agent_id=agent)
    assert not await dnc.remove("212-555-0123")
    assert await dnc.check("+12125550123") == []
    audit = await AuditLog(db).for_entity("dnc", added.id)
    assert [e.action for e in audit] == ["delete", "create"]
    assert audit[0].actor_agent_id == agent


async def test_bad_numbers_and_list_names_are_refused_with_one_line(db: Database) -> None:
    dnc = service(db)
    with pytest.raises(DncError, match="not a phone number"):
        await dnc.add("call me maybe")
    with pytest.raises(DncError, match="not a phone number"):
        await dnc.add("anonymous")
    with pytest.raises(DncError, match="needs a name"):
        await dnc.add("+12125550123", source="  ")
    assert await dnc.lists() == []


async def test_an_expired_entry_stops_blocking_and_a_new_add_renews_it(db: Database) -> None:
    clock = Clock()
    dnc = service(db, clock)
    await dnc.add("+12125550123", expires_at=T0 + timedelta(days=30), reason="not now")
    assert await dnc.check("+12125550123")
    clock.now = T0 + timedelta(days=30)
    assert await dnc.check("+12125550123") == []  # expired at that instant
    renewed = await dnc.add("+12125550123", reason="opted out")
    assert renewed.expires_at is None and renewed.reason == "opted out"
    assert await dnc.check("+12125550123")


async def test_an_opt_out_over_a_temporary_entry_makes_it_permanent(db: Database) -> None:
    dnc = service(db)
    await dnc.add("+12125550123", expires_at=T0 + timedelta(days=30))
    kept = await dnc.add("+12125550123", expires_at=T0 + timedelta(days=5))  # never shortened
    assert kept.expires_at == T0 + timedelta(days=30)
    made_permanent = await dnc.add("+12125550123")
    assert made_permanent.expires_at is None


async def test_check_many_finds_every_list_of_every_number(db: Database) -> None:
    dnc = service(db)
    await dnc.add("+12125550123")
    await dnc.add("+12125550123", source="us-national")
    await dnc.add("+33612345678", expires_at=T0 - timedelta(days=1))  # expired: still returned
    numbers = [f"+1212555{n:04d}" for n in range(1200)] + ["+33612345678"]
    found = await dnc.check_many(numbers)
    assert sorted(found) == ["+12125550123", "+33612345678"]
    assert sorted(h.source for h in found["+12125550123"]) == ["internal", "us-national"]
    assert not found["+33612345678"][0].active(T0)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("201,5550123", "+12015550123"),
        (" 201 , 5550123 ", "+12015550123"),
        ("2015550123", "+12015550123"),
        ("+44 20 7946 0018", "+442079460018"),
        ("(201) 555-0123", "+12015550123"),
    ],
)
def test_lines_of_a_national_file(line: str, expected: str) -> None:
    assert parse_dnc_line(line, "US") == expected


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("201,555012", "10 digits"),
        ("20a,5550123", "10 digits"),
        ("201,5550123,A", "one number per line"),
        ("hello", "not a phone number"),
        ("123", "not a valid phone number"),
    ],
)
def test_bad_lines_say_why(line: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_dnc_line(line, "US")


def national_file(tmp_path: Path, lines: list[str], name: str = "dnc.txt") -> Path:
    path = tmp_path / name
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


async def test_import_counts_bad_lines_with_their_numbers_and_keeps_the_good(
    db: Database, tmp_path: Path
) -> None:
    lines = ["\ufeff201,5550100", "201,5550101", "", "# comment", "201,555010", "junk"]
    lines += [f"212,555{n:04d}" for n in range(2500)] + ["212,5550000", "1,2,3"]
    path = national_file(tmp_path, lines)
    report = await service(db).import_file(path, "us-national")
    assert (report.lines, report.numbers, report.added, report.removed) == (2506, 2503, 2502, 0)
    assert report.bad_count == 3
    assert [(b.line, b.text) for b in report.bad] == [
        (5, "201,555010"),
        (6, "junk"),
        (2508, "1,2,3"),
    ]
    assert await service(db).lists() == [DncList("us-national", 2502)]
    again = await service(db).import_file(path, "us-national")
    assert (again.added, again.removed) == (0, 0)


async def test_import_with_replace_makes_the_list_exactly_the_file(
    db: Database, tmp_path: Path
) -> None:
    dnc = service(db)
    await dnc.import_file(national_file(tmp_path, ["201,5550100", "201,5550101"]), "us-national")
    await dnc.add("+12015550100")  # the internal list is another list: untouched
    newer = national_file(tmp_path, ["201,5550101", "201,5550102", "201,5550103"], "new.txt")
    report = await dnc.import_file(newer, "us-national", replace=True)
    assert (report.added, report.removed) == (2, 1)
    entries = await dnc.entries(source="us-national")
    assert sorted(e.e164 for e in entries) == ["+12015550101", "+12015550102", "+12015550103"]
    assert [e.source for e in await dnc.check("+12015550100")] == [INTERNAL_DNC]
    sizes = {lst.source: lst.numbers for lst in await dnc.lists()}
    assert sizes == {"internal": 1, "us-national": 3}


async def test_a_file_that_fails_half_way_changes_nothing(db: Database, tmp_path: Path) -> None:
    dnc = service(db)
    path = tmp_path / "broken.txt"
    good = "".join(f"212,555{n:04d}\n" for n in range(3000)).encode()
    path.write_bytes(good + b"\xff\xfe not utf-8\n")
    with pytest.raises(DncError, match="not a UTF-8 text file"):
        await dnc.import_file(path, "us-national")
    assert await dnc.lists() == []
    with pytest.raises(DncError, match="no such file"):
        await dnc.import_file(tmp_path / "missing.txt", "us-national")
    with pytest.raises(DncError, match="is a directory"):
        await dnc.import_file(tmp_path, "us-national")
    with pytest.raises(DncError, match="opt-out list"):
        await dnc.import_file(path, "internal")
    with pytest.raises(DncError, match="unknown region"):
        await dnc.import_file(path, "x", region="QQ")


async def test_imported_rows_are_e164_in_the_file(db: Database, tmp_path: Path) -> None:
    """What is stored is what the gate looks up: E.164 text, one row per number and list."""
    await service(db).import_file(national_file(tmp_path, ["201,5550100", "2015550100"]), "x")
    path = db.sqlite_path
    assert path is not None
    rows = sqlite3.connect(path).execute("SELECT e164, source FROM dnc_entries").fetchall()
    assert rows == [("+12015550100", "x")]


def test_migration_0014_goes_down_and_up_again(db_path: Path) -> None:
    from alembic import command
    from sqlalchemy import create_engine

    from console.schema import alembic_config

    tables = "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN " + (
        "('dnc_entries', 'consent_records', 'compliance_decisions')"
    )
    engine = create_engine(f"sqlite:///{db_path}")
    try:
        for target, expected in (("0014", 3), ("0013", 0), ("0014", 3)):
            with engine.begin() as conn:
                cfg = alembic_config()
                cfg.attributes["connection"] = conn
                step = command.downgrade if target == "0013" else command.upgrade
                step(cfg, target)
            assert len(sqlite3.connect(db_path).execute(tables).fetchall()) == expected
    finally:
        engine.dispose()
