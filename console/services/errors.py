"""Typed service errors and the field checks every service applies to untrusted input.

Each service raises a subclass of `ServiceError` whose message is one line, fit to show the
user as is. Checks run before any write, so a rejected call changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import InstrumentedAttribute

from console.services.text import clean_text

E = TypeVar("E", bound=StrEnum)

# One limit for every free-text field agents type (interaction notes, customer notes, ticket
# comments): generous for a real note, small enough that a pasted file is refused, not stored.
MAX_NOTES = 20_000


class ServiceError(Exception):
    """A request a service refused; `str(error)` is one line for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


def one_line(
    value: object,
    *,
    field: str,
    max_length: int,
    required: bool = False,
    error: type[ServiceError] = ServiceError,
) -> str:
    """`value` sanitised to one line; too long or (when required) empty raises `error`."""
    text = clean_text(value, single_line=True).strip()
    if required and not text:
        raise error(f"{field} must not be empty")
    if len(text) > max_length:
        raise error(f"{field} is too long ({len(text):,} characters; {max_length:,} at most)")
    return text


def free_text(
    value: object,
    *,
    field: str,
    max_length: int = MAX_NOTES,
    required: bool = False,
    error: type[ServiceError] = ServiceError,
) -> str:
    """Multi-line text (notes, comments) sanitised; too long or (when required) empty raises."""
    text = clean_text(value).strip()
    if required and not text:
        raise error(f"{field} must not be empty")
    if len(text) > max_length:
        raise error(f"{field} is too long ({len(text):,} characters; {max_length:,} at most)")
    return text


def truncated(value: object, max_length: int) -> str:
    """Text from outside (CTI caller names, AMI fields) cut to fit its column, never refused."""
    return clean_text(value, single_line=True, max_length=max_length).strip()


def choice(
    enum_cls: type[E], value: object, *, field: str, error: type[ServiceError] = ServiceError
) -> E:
    """`value` as a member of `enum_cls`, or `error` listing the allowed values."""
    if isinstance(value, enum_cls):
        return value
    text = clean_text(value, single_line=True, max_length=40).strip().lower()
    try:
        return enum_cls(text)
    except ValueError:
        allowed = ", ".join(member.value for member in enum_cls)
        raise error(f"{field} must be one of {allowed}, not {text!r}") from None


def aware(value: datetime, *, field: str, error: type[ServiceError] = ServiceError) -> datetime:
    """`value` in UTC; a naive datetime (no time zone) raises `error`."""
    if not isinstance(value, datetime):
        raise error(f"{field} must be a date and time, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise error(f"{field} has no time zone; pass an aware (UTC) datetime")
    return value.astimezone(UTC)


def record_id(value: object, *, field: str, error: type[ServiceError] = ServiceError) -> int:
    """A positive 64-bit id; anything else raises `error` (SQLite refuses wider integers)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise error(f"{field} must be a positive record id, not {value!r}")
    return value


def describe(values: Iterable[str]) -> str:
    """`a, b and c` for messages."""
    items = list(values)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


async def require(
    conn: AsyncConnection,
    column: InstrumentedAttribute[int],
    value: int,
    message: str,
    error: type[ServiceError] = ServiceError,
) -> None:
    """Raise `error(message)` unless a row with `column == value` exists (checked in `conn`)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise error(message)  # not an id at all; SQLite would refuse to bind a wider integer
    if await conn.scalar(select(column).where(column == value)) is None:
        raise error(message)
