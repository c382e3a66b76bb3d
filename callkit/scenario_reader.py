"""The value checks of scenario files, as pydantic validators with the scenario wording.

Each check takes the raw TOML value and returns the typed one or raises `LocatedValueError`;
the models in `callkit.scenario_file` apply them with ``PlainValidator`` so pydantic's lax
coercion never reads ``"1"`` as 1 or ``"yes"`` as true. Messages that name their key
("'rate' must be a number") take it from the field being validated. `ScenarioReader` places
the error: ``file:line: key: message`` (`callkit.located_model.validate_located`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationInfo, model_validator

from callkit.located_model import LocatedValueError
from callkit.located_toml import KeyPath, LocatedReader, parse_duration
from callkit.specs import DISTRIBUTIONS, Dist

#: A check of a string value that names its key in messages (the field validated).
TextCheck = Callable[[object, ValidationInfo], str]

_CRITERIA_HEADER = re.compile(r"^\s*\[\[\s*rubric\.criteria\s*\]\]", re.MULTILINE)
_DIST_KEYS = ("dist", "mean", "sd", "low", "high", "value")


class ScenarioError(ValueError):
    """A scenario file is invalid; the message starts with ``file:line:``."""


class ScenarioReader(LocatedReader):
    """One scenario file's text; errors are `ScenarioError` ``file:line: key: message``."""

    def __init__(self, source: str, text: str) -> None:
        super().__init__(source, text, ScenarioError)
        self._criteria_headers = _CRITERIA_HEADER.search(text) is not None

    def line(self, path: KeyPath) -> int:
        """As LocatedReader.line; ``[[rubric.criteria]]`` tables are found by their dotted
        header (below ``[rubric]`` the plain search would stop at the first of them)."""
        if self._criteria_headers and path[:2] == ("rubric", "criteria") and len(path) > 2:
            path = ("rubric.criteria", *path[2:])
        return super().line(path)


class Table(BaseModel):
    """A TOML table of fixed keys: an unknown key is named, on its own line, before any value
    is checked (as the hand-written reader did); ``not_a_table`` is the message for a value
    that is no table at all."""

    model_config = ConfigDict(extra="forbid")
    not_a_table: ClassVar[str] = "must be a table"
    #: Keys without a default; their fields are ``X | None`` only to be filled in later.
    required: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, dict):
            raise LocatedValueError(cls.not_a_table)
        allowed = list(cls.model_fields)
        for key in value:
            if key not in allowed:
                expected = ", ".join(sorted(allowed))
                raise LocatedValueError(f"unknown key {key!r} (expected one of {expected})", (key,))
        for key in cls.required:
            if key not in value:  # on the table's line, before its values (which come later)
                raise LocatedValueError(f"{key!r} is required")
        cls.check_table(value, info)
        return value

    @classmethod
    def check_table(cls, value: dict[str, Any], info: ValidationInfo) -> None:
        """Checks of the whole raw table that come before its values' (none by default)."""


def _key(info: ValidationInfo) -> str:
    return repr(info.field_name)


def string(value: object, info: ValidationInfo) -> str:
    """A string ("'name' must be a string")."""
    if not isinstance(value, str):
        raise LocatedValueError(f"{_key(info)} must be a string")
    return value


def integer(value: object, info: ValidationInfo) -> int:
    """A whole number (booleans are not)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise LocatedValueError(f"{_key(info)} must be an integer")
    return value


def boolean(value: object, info: ValidationInfo) -> bool:
    """true or false."""
    if not isinstance(value, bool):
        raise LocatedValueError(f"{_key(info)} must be true or false")
    return value


def number(lo: float = 0.0, hi: float = math.inf) -> Callable[[object, ValidationInfo], float]:
    """A number within [lo, hi]."""

    return lambda value, info: number_named(value, str(info.field_name), lo, hi)


def number_named(value: object, key: str, lo: float = 0.0, hi: float = math.inf) -> float:
    """A number within [lo, hi], for key ``key`` ("'pass_mark' must be a number")."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LocatedValueError(f"{key!r} must be a number")
    if not lo <= value <= hi:
        raise LocatedValueError(f"{key!r} must be between {lo:g} and {hi:g}")
    return float(value)


#: A probability between 0 and 1.
share = number(0.0, 1.0)


def duration(value: object, allow_none: bool = False) -> float:
    """Seconds from a number >= 0 or a "1h30m"-style string (``"none"``: inf if allowed)."""
    if allow_none and value == "none":
        return math.inf
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    if isinstance(value, str):
        seconds = parse_duration(value)
        if seconds is not None:
            return seconds
    raise LocatedValueError(f'bad duration {value!r} (use seconds or e.g. "90s", "5m", "1h30m")')


def patience(value: object) -> float:
    """A duration, or ``"none"`` for never (inf)."""
    return duration(value, allow_none=True)


def _duration_at(value: object, key: str) -> float:
    try:
        return duration(value)
    except LocatedValueError as exc:
        raise exc.under(key) from None


def dist(allow_none: bool = False) -> Callable[[object], Dist]:
    """A distribution table ``{ dist, mean, sd, low, high, value }``, or a bare duration
    meaning a fixed value; ``"none"`` (never) only if ``allow_none``."""

    def check(value: object) -> Dist:
        if value == "none" and allow_none:
            return Dist("none")
        if not isinstance(value, dict):
            return Dist("fixed", duration(value))
        for key in value:
            if key not in _DIST_KEYS:
                expected = ", ".join(sorted(_DIST_KEYS))
                raise LocatedValueError(f"unknown key {key!r} (expected one of {expected})", (key,))
        kind = value.get("dist", "fixed")
        if kind not in DISTRIBUTIONS or (kind == "none" and not allow_none):
            allowed = ", ".join(d for d in DISTRIBUTIONS if allow_none or d != "none")
            raise LocatedValueError(f"unknown distribution {kind!r} (use {allowed})", ("dist",))
        if kind == "none":
            return Dist("none")
        if kind == "fixed":
            return Dist("fixed", _duration_at(value.get("value", value.get("mean", 0)), "value"))
        if kind == "uniform":
            low = _duration_at(value.get("low", 0), "low")
            high = _duration_at(value.get("high", low), "high")
            if high < low:
                raise LocatedValueError("high must not be below low", ("high",))
            return Dist("uniform", (low + high) / 2, low=low, high=high)
        if "mean" not in value:
            raise LocatedValueError(f"a {kind} distribution needs a mean")
        mean = _duration_at(value["mean"], "mean")
        if mean <= 0:
            raise LocatedValueError("mean must be positive", ("mean",))
        sd = _duration_at(value.get("sd", mean), "sd") if kind == "lognormal" else 0.0
        return Dist(kind, mean, sd)

    return check


def skills(value: object) -> dict[str, int]:
    """A table of skill = non-negative whole level."""
    if not isinstance(value, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value.values()
    ):
        raise LocatedValueError("skills must be a table of skill = level (whole numbers)")
    return {str(k): int(v) for k, v in value.items()}


def table_list(key: str) -> Callable[[object], object]:
    """A list of tables (``[[key]]``), checked before its items are."""

    def check(value: object) -> object:
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise LocatedValueError(f"use [[{key}]] tables")
        return value

    return check
