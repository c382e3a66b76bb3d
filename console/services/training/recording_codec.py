"""How a recorded record is stored: a typed CTI event's fields as JSON and back
(`encode_event` / `decode_event`), and an action's details made JSON-safe and bounded
(`action_details_json`). The recorder writes with these; the session log and replays read back.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from callkit.json_safe import json_safe
from console.cti import protocol
from console.cti.protocol import CtiEvent
from console.services.errors import MAX_NOTES
from console.services.text import clean_text

#: Longest string kept from a CTI event (caller names, transcript lines) or an action detail.
MAX_EVENT_TEXT = 4096
MAX_DETAIL_TEXT = MAX_NOTES
_MAX_DEPTH = 8


_EVENT_CLASSES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in typing.get_args(CtiEvent)
    if dataclasses.is_dataclass(cls) and isinstance(cls, type)
}


@dataclass(frozen=True, slots=True)
class _FieldCodec:
    name: str
    to_python: Callable[[Any], Any] | None  # None: the JSON value as it is


_CODECS: dict[type[Any], tuple[_FieldCodec, ...]] = {}


def _codecs(cls: type[Any]) -> tuple[_FieldCodec, ...]:
    codecs = _CODECS.get(cls)
    if codecs is None:
        hints = typing.get_type_hints(cls, vars(protocol))
        codecs = tuple(
            _FieldCodec(f.name, _decoder(hints[f.name])) for f in dataclasses.fields(cls)
        )
        _CODECS[cls] = codecs
    return codecs


def _decoder(hint: Any) -> Callable[[Any], Any] | None:
    options = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    for option in options:
        if option is datetime:
            return datetime.fromisoformat
        if isinstance(option, type) and issubclass(option, Enum):
            return option
    return None


def encode_event(event: CtiEvent) -> dict[str, Any]:
    """A typed CTI event's fields as JSON values (times ISO 8601 UTC, enums by value)."""
    return {
        c.name: json_safe(getattr(event, c.name), text=_event_text) for c in _codecs(type(event))
    }


def _event_text(text: str) -> str:
    return text if len(text) <= MAX_EVENT_TEXT else text[:MAX_EVENT_TEXT]


def decode_event(event_type: str, payload: Mapping[str, Any]) -> CtiEvent | None:
    """The typed CTI event a recorded row stands for; None if the type or fields are unknown."""
    cls = _EVENT_CLASSES.get(event_type)
    if cls is None:
        return None
    values: dict[str, Any] = {}
    try:
        for codec in _codecs(cls):
            if codec.name not in payload:
                continue  # recorded before the field existed: its default, if it has one
            raw = payload[codec.name]
            values[codec.name] = (
                raw if raw is None or codec.to_python is None else (codec.to_python(raw))
            )
        event: CtiEvent = cls(**values)
    except (TypeError, ValueError):
        return None
    return event


def action_details_json(value: Any) -> Any:
    """Action details as JSON values: text sanitised and bounded, dataclasses as objects,
    nesting bounded (what the recorder writes and replay reads back)."""
    return json_safe(
        value,
        text=lambda text: clean_text(text, max_length=MAX_DETAIL_TEXT),
        other=lambda v: clean_text(repr(v), max_length=500),
        max_depth=_MAX_DEPTH,
    )
