"""A recorded screen pop read back: `decode_pop` rebuilds the frozen dataclasses of
`console.services.desk.screenpop` from the JSON `recording_codec.action_details_json` wrote,
tolerantly: what cannot be read is left out, and garbage gives None, never an exception.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, Union

from console.services.desk.screenpop import ScreenPop
from console.services.text import clean_text

_MAX_TEXT = 4096  # characters of one decoded string


class _Unreadable(Exception):
    """A recorded value that does not fit its field."""


_FieldSpec = tuple[str, Any, bool]  # name, type hint, has a default
_SPECS: dict[type[Any], tuple[_FieldSpec, ...]] = {}


def _specs(cls: type[Any]) -> tuple[_FieldSpec, ...]:
    specs = _SPECS.get(cls)
    if specs is None:
        hints = typing.get_type_hints(cls)
        specs = tuple(
            (
                f.name,
                hints[f.name],
                f.default is not dataclasses.MISSING
                or f.default_factory is not dataclasses.MISSING,
            )
            for f in dataclasses.fields(cls)
            if f.init
        )
        _SPECS[cls] = specs
    return specs


def _decode_dataclass(cls: type[Any], value: Any) -> Any:
    if not isinstance(value, Mapping):
        raise _Unreadable(cls.__name__)
    arguments: dict[str, Any] = {}
    for name, hint, has_default in _specs(cls):
        if name in value:
            try:
                arguments[name] = _decode(hint, value[name])
                continue
            except _Unreadable:
                if not has_default:
                    raise
        elif not has_default:
            raise _Unreadable(f"{cls.__name__}.{name} missing")
    try:
        return cls(**arguments)
    except (TypeError, ValueError) as exc:
        raise _Unreadable(cls.__name__) from exc


def _decode(hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin is Union or origin is types.UnionType:
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        for option in options:
            if option is type(None):
                continue
            try:
                return _decode(option, value)
            except _Unreadable:
                continue
        raise _Unreadable(str(hint))
    if origin is tuple:
        return _decode_tuple(typing.get_args(hint), value)
    if hint is Any:
        return value
    if isinstance(hint, type):
        if dataclasses.is_dataclass(hint):
            return _decode_dataclass(hint, value)
        if issubclass(hint, Enum):
            try:
                return hint(value)
            except (TypeError, ValueError) as exc:
                raise _Unreadable(hint.__name__) from exc
        if hint is datetime:
            return _datetime(value)
        if hint is date and isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError as exc:
                raise _Unreadable("date") from exc
        if hint is str and isinstance(value, str):
            return clean_text(value, max_length=_MAX_TEXT)
        if hint is bool and isinstance(value, bool):
            return value
        if hint is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if (
            hint is float
            and isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
        ):
            return float(value)
    raise _Unreadable(str(hint))


def _decode_tuple(arguments: tuple[Any, ...], value: Any) -> tuple[Any, ...]:
    if not isinstance(value, list | tuple):
        raise _Unreadable("tuple")
    if len(arguments) == 2 and arguments[1] is Ellipsis:
        items = []
        for item in value:  # one unreadable row does not lose the others
            try:
                items.append(_decode(arguments[0], item))
            except _Unreadable:
                continue
        return tuple(items)
    if len(arguments) != len(value):
        raise _Unreadable("tuple length")
    return tuple(_decode(hint, item) for hint, item in zip(arguments, value, strict=True))


def _datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise _Unreadable("datetime") from exc
    else:
        raise _Unreadable("datetime")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def decode_pop(data: object) -> ScreenPop | None:
    """The `ScreenPop` a recorded pop stands for, or None if it is not one.

    Accepts what the recorder wrote (`pop_shown` / `customer_chosen` details): unknown keys
    are ignored, missing optional fields take their defaults, an unreadable history, ticket or
    follow-up row is left out, an unreadable optional part (the profile) is None. Strings are
    sanitised again (the database is a boundary too). Never raises.
    """
    if isinstance(data, ScreenPop):
        return data
    try:
        pop = _decode_dataclass(ScreenPop, data)
    except (_Unreadable, RecursionError, TypeError, ValueError, OverflowError):
        return None
    return pop if isinstance(pop, ScreenPop) else None
