"""Pydantic models for TOML files, with errors that keep the ``FILE:LINE: key: message`` form.

A model's validators raise `LocatedValueError` (a ValueError) with the house message, and
``at`` when the key to blame lies below the one validated (a bound out of order, a bad queue
name). `validate_located` turns pydantic's error into the reader's error: the line from the
error's ``loc`` (`callkit.located_toml.locate_key`, or the reader's own `fail`), the key named
as the reader names keys, pydantic's own wording replaced for the common structural errors
(unknown key, not a table, missing key). Of several errors, the one earliest in the file is
reported, so a user fixing the file from the top meets them in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from callkit.located_toml import KeyPath, LocatedReader

_M = TypeVar("_M", bound=BaseModel)


class LocatedValueError(ValueError):
    """A validator's error; ``at``: the path of the key to blame, below the one validated.

    ``line_only``: name the validated key in the message, but give the line of ``at``
    (e.g. "target: min_level needs a skill" on min_level's line)."""

    def __init__(self, message: str, at: KeyPath = (), *, line_only: bool = False) -> None:
        super().__init__(message)
        self.at = at
        self.line_only = line_only

    def under(self, *prefix: str | int) -> LocatedValueError:
        """The same error, for a key ``prefix`` levels further down."""
        return LocatedValueError(str(self), (*prefix, *self.at), line_only=self.line_only)


def validate_located(
    model: type[_M], data: Any, reader: LocatedReader, root: KeyPath = (), *, context: Any = None
) -> _M:
    """``data`` (parsed from ``reader.text``, found at ``root``) as ``model``, its validators
    given ``context``; a validation error is ``reader.fail(...)``:
    ``reader.error("FILE:LINE: key: message")``."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        failures = [_failure(error, root, model) for error in exc.errors()]
        path, message, at = min(failures, key=lambda f: reader.line(f[2]))
        raise reader.fail(path, message, at) from None


def _failure(
    error: ErrorDetails, root: KeyPath, model: type[BaseModel]
) -> tuple[KeyPath, str, KeyPath]:
    """(key to name, message, key whose line to give) for one pydantic error."""
    loc: KeyPath = (*root, *(p for p in error["loc"] if isinstance(p, str | int)))
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, LocatedValueError):
        full = (*loc, *cause.at)
        return (loc if cause.line_only else full), str(cause), full
    if isinstance(cause, ValueError):
        return loc, str(cause), loc
    kind = error["type"]
    if kind == "extra_forbidden" and loc:
        parent, key = loc[:-1], loc[-1]
        expected = ", ".join(sorted(_allowed(model, parent[len(root) :])))
        return parent, f"unknown key {key!r} (expected one of {expected})", loc
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return loc, "must be a table", loc
    if kind == "missing" and loc:
        return loc[:-1], f"needs {loc[-1]!r}", loc[:-1]
    return loc, error["msg"], loc


def _allowed(model: type[BaseModel], path: Sequence[str | int]) -> list[str]:
    """The keys the (sub)model at ``path`` allows (its fields, by alias where set)."""
    current: Any = model
    for part in path:
        current = _without_none(current)
        if _is_model(current):
            field = current.model_fields.get(part) if isinstance(part, str) else None
            if field is None:
                return []
            current = field.annotation
        else:  # list[X], tuple[X, ...], dict[str, X]: the part is an index or a name
            args = [a for a in getattr(current, "__args__", ()) if a is not Ellipsis]
            current = args[-1] if args else None
    current = _without_none(current)
    if not _is_model(current):
        return []
    return [f.alias or name for name, f in current.model_fields.items()]


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _without_none(annotation: Any) -> Any:
    """X for ``X | None``; anything else unchanged."""
    args = [a for a in getattr(annotation, "__args__", ()) if a is not type(None)]
    is_optional = type(None) in getattr(annotation, "__args__", ()) and len(args) == 1
    return args[0] if is_optional else annotation
