"""The local call journal: interaction writes the database refused, kept on this machine.

When the database is locked past its busy timeout, full, read-only or unreachable, the call's
writes (ring, answer, hold, hang-up, drafts, wrap-up) are appended here, fsynced, and applied
in order when the database takes writes again (`durable_log.DurableInteractionLog`).

Built to work on the day the disk is full:

- The file is written out to its full size (zeros) when it is opened, so appending later
  overwrites blocks the file already owns: no new block is needed on a full disk. Grown by
  `GROW` when nearly full, if the disk allows; past that, entries are kept in memory (and the
  caller is told so by `append` returning False).
- Each record is ``length, crc32, epoch, seq`` then its JSON. Reading stops at the first record
  whose CRC or epoch does not match (a write torn by a kill, or an older generation's bytes).
- The header holds the epoch and the last applied seq, overwritten in place. When everything is
  applied the epoch moves on and the file is reused from the start.

Each console locks one file (``console-N.ccj``, the first free) with ``flock``; files no live
console holds are another console's leftovers (it was killed): `orphans` hands them over.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAGIC = b"CCJ1"
HEADER = struct.Struct("<4sQQ")  # magic, epoch, applied seq
HEADER_SIZE = 64  # the header's block: the header, then padding
RECORD = struct.Struct("<IIQQ")  # payload length, crc32, epoch, seq
SIZE = 1 << 20  # written out when a journal is made
GROW = 1 << 20
MAX_PAYLOAD = 1 << 20


@dataclass(frozen=True, slots=True)
class Entry:
    """One journaled write: its sequence number and what to apply."""

    seq: int
    data: dict[str, Any]


class CallJournal:
    """One console's journal file (see the module docstring)."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd
        self._epoch = 1
        self._applied = 0
        self._next_seq = 1
        self._end = HEADER_SIZE  # where the next record goes
        self._size = os.fstat(fd).st_size
        self._pending: list[tuple[Entry, bool]] = []  # (entry, on disk), in order
        self._load()

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(cls, folder: Path) -> CallJournal:
        """Lock and open the first free journal in ``folder`` (made if none is free)."""
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        for n in range(1, 1000):
            journal = cls._try_open(folder / f"console-{n}.ccj")
            if journal is not None:
                return journal
        raise OSError(f"no free journal file in {folder}")

    @classmethod
    def orphans(cls, folder: Path) -> Iterator[CallJournal]:
        """The journals in ``folder`` no console holds that still have writes to apply."""
        for path in sorted(folder.glob("console-*.ccj")):
            journal = cls._try_open(path, create=False)
            if journal is None:
                continue
            if journal.pending:
                yield journal
            else:
                journal.close()

    @classmethod
    def _try_open(cls, path: Path, *, create: bool = True) -> CallJournal | None:
        flags = os.O_RDWR | (os.O_CREAT if create else 0)
        try:
            fd = os.open(path, flags, 0o600)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            return cls(path, fd)
        except _Unreadable:
            os.close(fd)
            # Not a journal, or its header was torn: kept aside for a person, a new one made.
            os.replace(path, path.with_suffix(".unreadable"))
            return cls._try_open(path, create=create) if create else None
        except BaseException:
            os.close(fd)
            raise

    def _load(self) -> None:
        head = os.pread(self._fd, HEADER.size, 0)
        if len(head) < HEADER.size or head[:4] != MAGIC:
            if any(head):
                raise _Unreadable
            self._write_out(SIZE)
            self._write_header()
            return
        _magic, self._epoch, self._applied = HEADER.unpack(head)
        self._next_seq = self._applied + 1
        offset = HEADER_SIZE
        while offset + RECORD.size <= self._size:
            length, crc, epoch, seq = RECORD.unpack(os.pread(self._fd, RECORD.size, offset))
            if length == 0 or length > MAX_PAYLOAD or epoch != self._epoch:
                break
            payload = os.pread(self._fd, length, offset + RECORD.size)
            if len(payload) != length or _crc(epoch, seq, payload) != crc:
                break  # torn by a kill mid-write: what follows was never acknowledged
            offset += RECORD.size + length
            self._next_seq = seq + 1
            if seq > self._applied:
                with contextlib.suppress(ValueError):
                    self._pending.append((Entry(seq, json.loads(payload)), True))
        self._end = offset

    # ------------------------------------------------------------------ writing

    @property
    def pending(self) -> list[Entry]:
        """The writes not applied yet, oldest first."""
        return [entry for entry, _disk in self._pending]

    def append(self, data: dict[str, Any]) -> bool:
        """Add a write; True once it is on disk (fsynced), False when it could only be kept in
        memory (the journal is full and the disk would not let it grow)."""
        seq = self._next_seq
        self._next_seq += 1
        entry = Entry(seq, data)
        payload = json.dumps(data, separators=(",", ":")).encode()
        on_disk = (not self._pending or self._pending[-1][1]) and self._write_record(seq, payload)
        self._pending.append((entry, on_disk))
        return on_disk

    def _write_record(self, seq: int, payload: bytes) -> bool:
        needed = self._end + RECORD.size + len(payload) + RECORD.size  # and a stop after it
        if needed > self._size:
            try:
                self._write_out(max(self._size + GROW, needed + GROW))
            except OSError:
                return False
        record = RECORD.pack(len(payload), _crc(self._epoch, seq, payload), self._epoch, seq)
        try:
            os.pwrite(self._fd, record + payload, self._end)
            os.fdatasync(self._fd)
        except OSError:
            return False
        self._end += len(record) + len(payload)
        return True

    def ack(self, seq: int) -> None:
        """The write ``seq`` (and all before it) is in the database: never apply it again."""
        done_on_disk = [e.seq for e, disk in self._pending if e.seq <= seq and disk]
        self._pending = [(e, disk) for e, disk in self._pending if e.seq > seq]
        if not self._pending:
            try:  # all applied: a new epoch, the file reused from the top (old records stale)
                self._write_header(self._epoch + 1, 0)
            except OSError:
                pass  # kept as it is; the acknowledgement below still stands
            else:
                self._epoch, self._applied, self._next_seq = self._epoch + 1, 0, 1
                self._end = HEADER_SIZE
                return
        if done_on_disk:
            # If this fails, the worst case is one write applied twice: each is idempotent.
            with contextlib.suppress(OSError):
                self._write_header(self._epoch, max(done_on_disk))
                self._applied = max(done_on_disk)

    def _write_header(self, epoch: int | None = None, applied: int | None = None) -> None:
        epoch = self._epoch if epoch is None else epoch
        applied = self._applied if applied is None else applied
        os.pwrite(self._fd, HEADER.pack(MAGIC, epoch, applied), 0)
        os.fdatasync(self._fd)

    def _write_out(self, size: int) -> None:
        """Write the file out to ``size`` bytes of zeros (real blocks, not a sparse hole)."""
        chunk = bytes(64 * 1024)
        offset = self._size
        while offset < size:
            offset += os.pwrite(self._fd, chunk[: min(len(chunk), size - offset)], offset)
        os.fsync(self._fd)
        self._size = size

    def close(self) -> None:
        """Unlock and close (what is pending stays in the file for the next console)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class _Unreadable(Exception):
    """The file is not a journal this version can read."""


def _crc(epoch: int, seq: int, payload: bytes) -> int:
    return zlib.crc32(payload, zlib.crc32(struct.pack("<QQ", epoch, seq)))
