"""How many consoles share one SQLite file, so a console can warn when it is more than SQLite
holds well (docs/seats.md: the measured limit, and why).

Each console holds an exclusive `flock` on one lock file in a folder beside the database
(``crm.db`` → ``crm.db-seats/seat-N.lock``, the first free N) for as long as it runs. The
consoles sharing the file are the lock files held: counted by trying each one's lock without
waiting. The kernel drops a process's locks when it ends however it ends (killed, crashed,
power cut), so the count is of consoles alive now — not of agents whose heartbeat is recent
(`routing.presence`, fresh for 90 s after a console dies, one per agent however many consoles
they run, and a write to the database the count is meant to spare). All the processes
sharing a SQLite file in WAL mode run on one machine (WAL needs shared memory), so the lock
folder beside the file sees them all.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from pathlib import Path

# Consoles one SQLite file holds with pop p99 <= 100 ms, claim p99 <= 250 ms and no call lost
# on the 2-core machine of docs/seats.md (bench/seats.py); beyond it, PostgreSQL.
SQLITE_SEAT_LIMIT = 50
MAX_SEATS = 10_000


def seats_folder(database: Path) -> Path:
    """The folder of lock files beside ``database``."""
    return database.with_name(database.name + "-seats")


class SqliteSeat:
    """This console's seat on a SQLite file: a lock file held until `release`."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def take(cls, database: Path) -> SqliteSeat:
        """Lock the first free seat beside ``database`` (OSError if the folder can't be made
        or every seat is held). The folder and files get the database's permissions, so
        every user who may write the database may take a seat."""
        folder = seats_folder(database)
        mode = stat.S_IMODE(database.stat().st_mode) if database.exists() else 0o600
        with contextlib.suppress(FileExistsError):
            # The file's r/w bits, plus x where there is r, for the folder (chmod: not umask's).
            os.mkdir(folder, 0o700)
            os.chmod(folder, mode | ((mode & 0o444) >> 2))
        for n in range(1, MAX_SEATS + 1):
            path = folder / f"seat-{n}.lock"
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                with contextlib.suppress(PermissionError):  # another user's seat file
                    os.fchmod(fd, mode)
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            except BaseException:
                os.close(fd)
                raise
            return cls(path, fd)
        raise OSError(f"no free seat in {folder}")

    def release(self) -> None:
        """Give the seat up (safe to call twice)."""
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops its lock
            self._fd = None


def consoles_sharing(database: Path) -> int:
    """How many consoles hold a seat on ``database`` now (this one included, if it took one)."""
    folder = seats_folder(database)
    held = 0
    try:
        names = [p for p in folder.iterdir() if p.name.startswith("seat-")]
    except OSError:
        return 0
    for path in names:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            held += 1  # another open file holds it exclusively: a live console
        except OSError:
            continue
        finally:
            os.close(fd)  # also drops the shared lock just taken, if it was free
    return held


def too_many_message(sharing: int, limit: int | None = None) -> str | None:
    """What to tell the agent when ``sharing`` consoles use one SQLite file; None within
    the limit (default `SQLITE_SEAT_LIMIT`)."""
    limit = SQLITE_SEAT_LIMIT if limit is None else limit
    if sharing <= limit:
        return None
    return (
        f"{sharing} consoles share this SQLite database; it holds about {limit} with quick "
        "pops and follow-up claims (docs/seats.md). Beyond that calls pop late and claims "
        "wait: move to PostgreSQL (db_url = postgresql://…, see the README)."
    )
