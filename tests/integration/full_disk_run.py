"""Calls on a really full disk: run by tests/integration/test_full_disk.py inside a private
mount namespace (``unshare``) with a small tmpfs mounted at ``argv[1]``.

The database and the call journal live on that file system; a filler file takes every free
block; calls are played through the durable interaction log; the filler is removed and the
journal applied. Prints one JSON line: what was journaled, what the rows are, what the
reference (the same calls on a disk with room) says they should be.
"""

from __future__ import annotations

import asyncio
import errno
import json
import sys
from pathlib import Path

from console.services.desk.durable_log import DurableInteractionLog
from console.services.desk.interactions import InteractionLog
from tests.integration.test_durable_log import Plan, _never, fresh_database, play, rows

CALLS = [Plan(True, 1, 2, False, True, ()) for _ in range(12)] + [
    Plan(False, 0, 0, False, False, ())
]


def fill(folder: Path) -> Path:
    """Take every free block of the file system."""
    filler = folder / "filler"
    chunk = b"\0" * 65536
    with open(filler, "wb", buffering=0) as out:
        try:
            while True:
                out.write(chunk)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
        try:
            while True:
                out.write(b"\0" * 512)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
    return filler


async def main(full: Path, roomy: Path) -> dict[str, object]:
    db, agent = await fresh_database(full, "crm")
    log = DurableInteractionLog(db, full / "journal")
    log.open()  # the journal is written out now, while there is room
    filler = fill(full)
    reasons: list[str] = []
    log.on_change = lambda state: reasons.append(state.reason)
    await play(log, db, agent, CALLS, _never)
    journaled = log.pending
    filler.unlink()
    await log.drain()
    got = await rows(db)
    await log.close()
    await db.dispose()
    reference, ref_agent = await fresh_database(roomy, "reference")
    await play(InteractionLog(reference), reference, ref_agent, CALLS, _never)
    expected = await rows(reference)
    await reference.dispose()
    return {
        "journaled": journaled,
        "reasons": [r for r in reasons if r],
        "same": got == expected,
        "calls": len(got),
        "one_row_each": all(len(found) == 1 for found in got.values()),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2])))))
