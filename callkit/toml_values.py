"""The value checks of the console's TOML files, as pydantic validators with the house wording.

Each function takes the raw TOML value and returns the typed one or raises `LocatedValueError`;
use them as ``Annotated[T, PlainValidator(check)]`` so pydantic's lax coercion never turns
``"1"`` into 1 or ``"yes"`` into True (a file's typo must be an error, as before).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import time, timedelta
from typing import Any, TypeVar, cast

from callkit.located_model import LocatedValueError
from callkit.located_toml import BAD_DURATION, seconds_of, text_problem

_T = TypeVar("_T")
_HHMM = re.compile(r"\d\d:\d\d")
_LONGEST = timedelta(days=366)


def text(limit: int = 200) -> Callable[[object], str]:
    """Non-empty printable text of at most ``limit`` characters."""

    def check(value: object) -> str:
        problem = text_problem(value, limit)
        if problem:
            raise LocatedValueError(problem)
        return str(value)

    return check


def optional(check: Callable[[object], _T]) -> Callable[[object], _T | None]:
    """``check``, letting None (a default) through."""
    return lambda value: None if value is None else check(value)


def whole(lo: int, hi: int) -> Callable[[object], int]:
    """A whole number within [lo, hi]."""

    def check(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise LocatedValueError(f"must be a whole number from {lo} to {hi} (got {value!r})")
        return value

    return check


def boolean(value: object) -> bool:
    """true or false."""
    if not isinstance(value, bool):
        raise LocatedValueError(f"must be true or false (got {value!r})")
    return value


def choice(options: Sequence[_T]) -> Callable[[object], _T]:
    """One of ``options`` (strings)."""

    def check(value: object) -> _T:
        if value not in options:
            shown = ", ".join(map(str, options))
            raise LocatedValueError(f"unknown value {value!r} (use {shown})")
        return cast(_T, value)

    return check


def strings(vocabulary: Sequence[str] | None) -> Callable[[object], tuple[str, ...]]:
    """A string or a non-empty list of strings, each from ``vocabulary`` when given."""

    def check(value: object) -> tuple[str, ...]:
        items = value if isinstance(value, list) else [value]
        if not items:
            raise LocatedValueError("must not be an empty list")
        texts = tuple(text()(v) for v in items)
        for word in texts:
            if vocabulary is not None and word not in vocabulary:
                raise LocatedValueError(f"unknown value {word!r} (use {', '.join(vocabulary)})")
        return texts

    return check


def timespan(value: object) -> timedelta:
    """A duration (a number of seconds or "90s", "15m", "1h30m", "1d") above 0, up to 366 d."""
    seconds = seconds_of(value)
    if seconds is None:
        raise LocatedValueError(BAD_DURATION.format(value))
    if not 0 < seconds <= _LONGEST.total_seconds():
        raise LocatedValueError(f"must be more than 0 and at most 366d (got {value!r})")
    return timedelta(seconds=seconds)


def clock(value: object) -> time:
    """A time of day "HH:MM"."""
    if isinstance(value, str) and _HHMM.fullmatch(value):
        hour, minute = int(value[:2]), int(value[3:])
        if hour < 24 and minute < 60:
            return time(hour, minute)
    raise LocatedValueError(f'must be a time of day "HH:MM" (got {value!r})')


def window(value: object) -> tuple[time, time]:
    """ "HH:MM-HH:MM"; the end may be before the start (crossing midnight)."""
    parts = value.split("-") if isinstance(value, str) else []
    if len(parts) != 2:
        raise LocatedValueError(f'must be a window "HH:MM-HH:MM" (got {value!r})')
    start, end = (clock(p.strip()) for p in parts)
    if start == end:
        raise LocatedValueError("the window is empty (start equals end)")
    return start, end


def table_keys(value: object, allowed: Sequence[str]) -> dict[str, Any]:
    """A table with no keys outside ``allowed`` (for tables whose key order matters, which a
    model would lose)."""
    if not isinstance(value, dict):
        raise LocatedValueError("must be a table")
    for key in value:
        if key not in allowed:
            expected = ", ".join(sorted(allowed))
            raise LocatedValueError(
                f"unknown key {key!r} (expected one of {expected})", (key,), line_only=True
            )
    return value
