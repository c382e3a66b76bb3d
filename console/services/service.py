"""What most services are built with: the database, the clock, the audit log, the recording.

Each defaults the same way everywhere (the real clock, an audit log on the same database and
clock, no recording), so a service's constructor states only what is its own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from console.db import Database
from console.services.audit import AuditLog
from console.services.training.recording import NO_RECORDING, ActionRecorder


def utcnow() -> datetime:
    return datetime.now(UTC)


class DbService:
    """A service over one database, with its clock, audit log and the agent's recording."""

    def __init__(
        self,
        db: Database,
        audit: AuditLog | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        recorder: ActionRecorder | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._audit = audit or AuditLog(db, clock=clock)
        self._recorder = recorder or NO_RECORDING  # the agent's session recording

    @property
    def db(self) -> Database:
        """The database this service works on (another service over it: the same one)."""
        return self._db
