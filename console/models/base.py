"""Declarative base, naming convention and shared column types."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator, TypeEngine

# Stable constraint names so Alembic migrations (and SQLite batch mode) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    PostgreSQL stores `timestamptz`. SQLite stores whole microseconds since the Unix epoch as an
    INTEGER: it sorts and compares like the time, an index key is 8 bytes instead of a 26-byte
    string, the seeder can compute it with plain arithmetic, and reading it back is one addition
    instead of parsing text (the screen pop reads ~100 timestamps). Naive values are refused on
    the way in, so no local time can slip into the database.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(DateTime(timezone=True))

    def compare_against_backend(self, dialect: Dialect, conn_type: TypeEngine[Any]) -> bool | None:
        # Migrations declare DATETIME (NUMERIC affinity on SQLite, which keeps integers as they
        # are); either spelling holds our integers, so Alembic must not see a difference.
        if dialect.name == "sqlite":
            return isinstance(conn_type, DateTime | Integer)
        return None

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; pass an aware (UTC) datetime")
        if dialect.name == "sqlite":
            return to_epoch_us(value)
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return from_db_time(value)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_epoch_us(value: datetime) -> int:
    """An aware datetime as whole microseconds since the Unix epoch (SQLite storage)."""
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_db_time(value: Any) -> datetime | None:
    """A stored timestamp (epoch µs from SQLite, a datetime from PostgreSQL) as aware UTC."""
    if value is None:
        return None
    if isinstance(value, int):
        return EPOCH + timedelta(microseconds=value)
    if isinstance(value, str):  # text written by another tool: ISO 8601, UTC unless it says
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"not a timestamp: {value!r}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Base class of every callconsole table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {datetime: UtcDateTime(), dict[str, Any]: JSON()}


def compare_column_type(
    context: Any,
    inspected_column: Any,
    metadata_column: Any,
    inspected_type: TypeEngine[Any],
    metadata_type: TypeEngine[Any],
) -> bool | None:
    """Alembic's `compare_type` hook: True when the column types really differ.

    UtcDateTime decides for itself (`compare_against_backend`: DATETIME or INTEGER on SQLite);
    every other type is left to Alembic (None).
    """
    if not isinstance(metadata_type, UtcDateTime):
        return None
    verdict = metadata_type.compare_against_backend(context.dialect, inspected_type)
    return None if verdict is None else not verdict
