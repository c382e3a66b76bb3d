"""One converter from Python values to what `json.dumps` takes (strictly: no NaN, no Infinity).

| value | JSON |
|---|---|
| None, bool, int, str | as is (str through ``text`` when given) |
| float | as is; NaN and ±infinity become null (strict JSON has no such numbers) |
| Enum | its value, converted in turn |
| datetime, date | ISO 8601 (``2026-12-05T09:00:00+00:00``, ``2026-12-05``) |
| time | ``"HH:MM"`` when it has no seconds, else ISO 8601 (``"09:00:30"``) |
| timedelta | seconds: an int when whole, else a float |
| Decimal | its exact text (``"12.30"``): a float would round it |
| Path, UUID | ``str()`` |
| dataclass instance | an object of its fields, in declaration order |
| Mapping | an object, keys through ``str()`` |
| list, tuple | an array |
| set, frozenset | an array, sorted when the items can be |
| anything else | ``other(value)``; by default a TypeError (a bug should be loud) |

``max_depth``: containers nested deeper than this go to ``other`` too (records of untrusted
structures stay bounded).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any
from uuid import UUID


def _refuse(value: object) -> Any:
    raise TypeError(f"no JSON form for {type(value).__name__}")


def seconds(delta: timedelta) -> int | float:
    """A timedelta as seconds: an int when whole (``90``), else a float (``1.5``)."""
    total = delta.total_seconds()
    return int(total) if total.is_integer() else total


def json_safe(
    value: Any,
    *,
    text: Callable[[str], str] | None = None,
    other: Callable[[object], Any] = _refuse,
    max_depth: int | None = None,
) -> Any:
    """``value`` as JSON-ready data (see the module docstring for each type)."""
    return _Converter(text, other, max_depth).convert(value, 0)


@dataclasses.dataclass(frozen=True, slots=True)
class _Converter:
    text: Callable[[str], str] | None
    other: Callable[[object], Any]
    max_depth: int | None

    def convert(self, value: Any, depth: int) -> Any:
        if value is None or (isinstance(value, bool | int) and not isinstance(value, Enum)):
            return value
        if isinstance(value, Enum):
            return self.convert(value.value, depth)
        if isinstance(value, str):
            return value if self.text is None else self.text(value)
        if isinstance(value, float):
            return value if math.isfinite(value) else None
        if isinstance(value, datetime | date):
            return value.isoformat()
        if isinstance(value, time):
            plain = value.second == 0 and value.microsecond == 0 and value.tzinfo is None
            return f"{value:%H:%M}" if plain else value.isoformat()
        if isinstance(value, timedelta):
            return seconds(value)
        if isinstance(value, Decimal | PurePath | UUID):
            return str(value)
        if self.max_depth is not None and depth >= self.max_depth:
            return self.other(value)
        inner = depth + 1
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {
                f.name: self.convert(getattr(value, f.name), inner)
                for f in dataclasses.fields(value)
            }
        if isinstance(value, Mapping):
            return {str(k): self.convert(v, inner) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.convert(v, inner) for v in value]
        if isinstance(value, set | frozenset):
            try:
                items = sorted(value)
            except TypeError:
                items = list(value)
            return [self.convert(v, inner) for v in items]
        return self.other(value)
