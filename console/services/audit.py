"""The audit log: who viewed or changed which record, and when.

`AuditLog.record` is one INSERT in its own short transaction (for views, which change nothing
else). Services that change a record call `AuditLog.add` on their own write connection instead,
so the change and its audit entry commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Insert, Table, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from callkit.json_safe import json_safe
from console.db import Database
from console.models.audit import AuditLog as AuditRow
from console.services.errors import ServiceError
from console.services.text import clean_text

# Actions, as stored in audit_log.action.
VIEW = "view"
CREATE = "create"
UPDATE = "update"
COMMENT = "comment"
STATUS = "status"

_MAX_DETAIL_TEXT = 500  # audit entries say what changed; they are not a second copy of notes


class AuditError(ServiceError):
    """An audit entry was refused."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit entry as read back."""

    id: int
    at: datetime
    actor_agent_id: int | None
    action: str
    entity_type: str
    entity_id: int | None
    details: Mapping[str, Any]


class AuditLog:
    """Writes and reads audit entries."""

    def __init__(
        self, db: Database, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._db = db
        self._clock = clock

    async def record(
        self,
        actor_agent_id: int | None,
        action: str,
        entity_type: str,
        entity_id: int | None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Append one entry in its own transaction (one INSERT).

        An actor that is not an agent raises AuditError (the foreign key refuses it).
        """
        try:
            async with self._db.write_connection() as conn:
                await self.add(conn, actor_agent_id, action, entity_type, entity_id, details)
        except IntegrityError:
            raise AuditError(f"agent {actor_agent_id} does not exist") from None

    async def add(
        self,
        conn: AsyncConnection,
        actor_agent_id: int | None,
        action: str,
        entity_type: str,
        entity_id: int | None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Append one entry inside the caller's write transaction."""
        await self.add_many(conn, [(actor_agent_id, action, entity_type, entity_id, details)])

    async def add_many(
        self,
        conn: AsyncConnection,
        entries: Sequence[tuple[int | None, str, str, int | None, Mapping[str, Any] | None]],
    ) -> None:
        """Append entries (actor, action, entity type, entity id, details) in one statement."""
        if not entries:
            return
        at = self._clock()
        await conn.execute(
            insert(AUDIT_TABLE),  # Core: no ORM bookkeeping per row
            [
                dict(
                    _values(at, actor, action, entity_type, details),
                    entity_id=entity_id,
                )
                for actor, action, entity_type, entity_id, details in entries
            ],
        )

    def bound(
        self,
        actor_agent_id: int | None,
        action: str,
        entity_type: str,
        details: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The parameters of `entries_for` for one entry per row (all but the record's id)."""
        values = _values(self._clock(), actor_agent_id, action, entity_type, details)
        return {f"audit_{key}": value for key, value in values.items()}

    async def for_entity(
        self, entity_type: str, entity_id: int, *, limit: int = 100
    ) -> list[AuditEntry]:
        """The newest entries about one record, newest first."""
        stmt = (
            select(
                AuditRow.id,
                AuditRow.at,
                AuditRow.actor_agent_id,
                AuditRow.action,
                AuditRow.entity_type,
                AuditRow.entity_id,
                AuditRow.details,
            )
            .where(AuditRow.entity_type == entity_type, AuditRow.entity_id == entity_id)
            .order_by(AuditRow.at.desc(), AuditRow.id.desc())
            .limit(max(1, min(limit, 1000)))
        )
        async with self._db.session() as session:
            rows = (await session.execute(stmt)).all()
        return [
            AuditEntry(
                id=r[0],
                at=r[1],
                actor_agent_id=r[2],
                action=r[3],
                entity_type=r[4],
                entity_id=r[5],
                details=r[6] if isinstance(r[6], dict) else {},
            )
            for r in rows
        ]


AUDIT_TABLE = cast(Table, AuditRow.__table__)
_BOUND = {
    name: bindparam(f"audit_{name}", type_=AUDIT_TABLE.c[name].type)
    for name in ("at", "actor_agent_id", "action", "entity_type", "details")
}


def entries_for(entity_ids: ColumnElement[Any]) -> Insert:
    """INSERT … SELECT: an entry about each of `entity_ids` (a column of the rows a statement
    changed, e.g. a data-modifying WITH's), the rest bound from `AuditLog.bound`. For a change
    and its audit in one statement (PostgreSQL)."""
    columns = [*_BOUND, "entity_id"]
    return insert(AUDIT_TABLE).from_select(columns, select(*_BOUND.values(), entity_ids))


def _values(
    at: datetime,
    actor: int | None,
    action: str,
    entity_type: str,
    details: Mapping[str, Any] | None,
) -> dict[str, Any]:
    return dict(
        at=at,
        actor_agent_id=actor,
        action=clean_text(action, single_line=True, max_length=32),
        entity_type=clean_text(entity_type, single_line=True, max_length=32),
        details=_json_safe(dict(details or {})),
    )


def _json_safe(value: Any) -> Any:
    """Details as JSON-friendly values, strings sanitised and bounded."""
    return json_safe(value, text=_detail_text, other=lambda v: _detail_text(repr(v)))


def _detail_text(text: str) -> str:
    return clean_text(text, max_length=_MAX_DETAIL_TEXT)
