"""The local call journal (console/services/desk/journal.py): fsynced appends survive a reopen,
acknowledged writes never come back, a torn record ends the journal there, each console locks
its own file and a killed console's leftovers are handed to the next."""

from __future__ import annotations

import os
from pathlib import Path

from console.services.desk.journal import HEADER_SIZE, SIZE, CallJournal


def test_appended_writes_survive_a_reopen_in_order(tmp_path: Path) -> None:
    journal = CallJournal.open(tmp_path)
    assert journal.append({"op": "ring", "n": 1})
    assert journal.append({"op": "answered", "n": 2})
    journal.close()

    again = CallJournal.open(tmp_path)
    assert [e.data["n"] for e in again.pending] == [1, 2]
    assert again.path.stat().st_size >= SIZE  # written out: appends need no new blocks


def test_acknowledged_writes_never_come_back(tmp_path: Path) -> None:
    journal = CallJournal.open(tmp_path)
    for n in range(3):
        journal.append({"n": n})
    journal.ack(journal.pending[0].seq)
    journal.close()
    again = CallJournal.open(tmp_path)
    assert [e.data["n"] for e in again.pending] == [1, 2]

    again.ack(again.pending[-1].seq)  # all applied: the file is reused from the top
    again.append({"n": 9})
    again.close()
    last = CallJournal.open(tmp_path)
    assert [e.data["n"] for e in last.pending] == [9]  # the old epoch's records are stale


def test_a_record_torn_by_a_kill_ends_the_journal_there(tmp_path: Path) -> None:
    journal = CallJournal.open(tmp_path)
    journal.append({"n": 1})
    journal.append({"n": 2, "notes": "x" * 100})
    path = journal.path
    journal.close()
    data = bytearray(path.read_bytes())
    end = data.index(b"x" * 100)
    data[end + 50] ^= 0xFF  # the second record's bytes half written
    path.write_bytes(bytes(data))

    again = CallJournal.open(tmp_path)
    assert [e.data["n"] for e in again.pending] == [1]
    again.append({"n": 3})  # written over the torn one
    again.close()
    assert [e.data["n"] for e in CallJournal.open(tmp_path).pending] == [1, 3]


def test_each_console_locks_its_own_file_and_leftovers_are_handed_over(tmp_path: Path) -> None:
    first = CallJournal.open(tmp_path)
    second = CallJournal.open(tmp_path)
    assert first.path != second.path
    first.append({"n": 1})
    assert list(CallJournal.orphans(tmp_path)) == []  # both are held by live consoles
    first.close()  # that console was killed
    orphans = list(CallJournal.orphans(tmp_path))
    assert [[e.data["n"] for e in o.pending] for o in orphans] == [[1]]
    second.close()


def test_a_file_that_is_not_a_journal_is_kept_aside(tmp_path: Path) -> None:
    (tmp_path / "console-1.ccj").write_bytes(b"not a journal at all")
    journal = CallJournal.open(tmp_path)
    assert journal.pending == []
    assert (tmp_path / "console-1.unreadable").read_bytes() == b"not a journal at all"
    assert journal.append({"n": 1})


def test_the_journal_grows_when_a_long_outage_fills_it(tmp_path: Path) -> None:
    journal = CallJournal.open(tmp_path)
    notes = "n" * 4000
    count = SIZE // 4000 + 10
    for n in range(count):
        assert journal.append({"n": n, "notes": notes})
    journal.close()
    again = CallJournal.open(tmp_path)
    assert len(again.pending) == count
    assert os.path.getsize(again.path) > SIZE + HEADER_SIZE
