"""Counting the consoles that share one SQLite file (console/services/seats.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from console.services.seats import (
    SQLITE_SEAT_LIMIT,
    SqliteSeat,
    consoles_sharing,
    seats_folder,
    too_many_message,
)


def test_each_console_holds_one_seat_until_it_lets_go(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    db.write_bytes(b"")
    assert consoles_sharing(db) == 0  # no folder yet: nobody
    first, second = SqliteSeat.take(db), SqliteSeat.take(db)
    assert first.path != second.path
    assert consoles_sharing(db) == 2
    first.release()
    first.release()  # twice is harmless
    assert consoles_sharing(db) == 1
    third = SqliteSeat.take(db)  # the freed seat is reused: the folder does not grow
    assert third.path == first.path
    assert consoles_sharing(db) == 2
    assert len(list(seats_folder(db).iterdir())) == 2


def test_the_seats_take_the_database_files_permissions(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    db.write_bytes(b"")
    db.chmod(0o660)
    seat = SqliteSeat.take(db)
    assert seats_folder(db).stat().st_mode & 0o777 == 0o770
    assert seat.path.stat().st_mode & 0o777 == 0o660
    seat.release()


def test_a_killed_console_frees_its_seat_at_once(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    db.write_bytes(b"")
    mine = SqliteSeat.take(db)
    code = (
        "import sys, time; from pathlib import Path; "
        "from console.services.seats import SqliteSeat; "
        f"SqliteSeat.take(Path({str(db)!r})); print('seated', flush=True); time.sleep(60)"
    )
    other = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "seated"
        assert consoles_sharing(db) == 2
    finally:
        other.kill()  # no goodbye: the kernel drops its lock
        other.wait(10)
    assert consoles_sharing(db) == 1
    mine.release()


def test_the_warning_comes_only_beyond_the_limit_and_names_postgresql() -> None:
    assert too_many_message(1) is None
    assert too_many_message(SQLITE_SEAT_LIMIT) is None
    message = too_many_message(SQLITE_SEAT_LIMIT + 1)
    assert message is not None
    assert f"{SQLITE_SEAT_LIMIT + 1} consoles" in message and "PostgreSQL" in message
