"""Reading AMI event fields leniently: one bad value must never stop the console.

Shared by the call tracker and the queue board. Numbers that do not parse become None (or a
default) instead of raising; a missing field an event cannot do without raises `Malformed`,
which the tracker counts and ignores.
"""

from __future__ import annotations

import math
from collections import OrderedDict

from callkit.ami_frames import Message
from console.cti.protocol import UNKNOWN_CALLER


class Malformed(Exception):
    """A frame lacks a field the tracker needs (the field's name is the message)."""


def need(msg: Message, key: str) -> str:
    """The stripped value of ``key``; `Malformed` when it is absent or blank."""
    value = msg.get(key).strip()
    if not value:
        raise Malformed(key)
    return value


def as_int(value: str) -> int | None:
    """``value`` as an int, or None when it is not a whole number."""
    try:
        return int(value.strip())
    except ValueError:
        return None


def as_float(value: str) -> float | None:
    """``value`` as a finite float, or None."""
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def caller_text(value: str) -> str:
    """A caller ID number or name as Asterisk shows it: ``<unknown>`` when empty."""
    return value if value.strip() else UNKNOWN_CALLER


class Recent:
    """A bounded set of the last ``size`` keys, to recognise late duplicates cheaply."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._keys: OrderedDict[object, None] = OrderedDict()

    def add(self, key: object) -> bool:
        """Remember ``key``; False when it was already remembered."""
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self._size:
            self._keys.popitem(last=False)
        return True

    def __contains__(self, key: object) -> bool:
        return key in self._keys
