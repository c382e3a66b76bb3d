"""Per-queue targets: the shipped `console/data/queue_targets.toml` merged with the user's file.

`load_targets` gives a `TargetBook`: each queue named in a targets file has its own
`QueueTargets`, every other queue the defaults. A queue's key is taken from, in order: the
user's [queues.NAME], the shipped [queues.NAME], the user's [defaults], the shipped [defaults].
Files are validated by pydantic models (`_TargetsFile`); a bad file raises `TargetsError`
naming the file and the line of the bad key, and a combination that is only wrong once merged
blames the key set in the most specific layer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, field_validator, model_validator

from callkit.layered_toml import load_layers
from callkit.located_model import LocatedValueError, validate_located
from callkit.located_toml import (
    BAD_DURATION,
    KeyPath,
    LocatedReader,
    seconds_of,
    text_problem,
)


class TargetsError(ValueError):
    """A targets file is invalid; the message starts with ``file:line:``."""


@dataclass(frozen=True, slots=True)
class QueueTargets:
    """One queue's targets. Shares are 0..1, durations seconds (see queue_targets.toml)."""

    service_level: float = 0.80  # green at or above
    service_level_amber: float = 0.70  # amber below the target down to this; red below
    asa: float = 30.0  # green at or under
    asa_amber: float = 60.0  # amber above the target up to this; red above
    longest_wait: float = 120.0  # red (and an alert) above
    longest_wait_amber: float = 60.0  # amber above
    abandon_rate: float = 0.08  # red (and an alert) above
    abandon_rate_amber: float = 0.05  # amber above
    wrap_up_too_long: float = 120.0  # an agent in after-call work longer than this: alert
    not_ready_too_long: float = 900.0  # an agent not ready longer than this: alert

    def __post_init__(self) -> None:
        problem = _inconsistency({name: getattr(self, name) for name in FIELDS})
        if problem:
            raise ValueError(problem[2])


FIELDS = tuple(f.name for f in fields(QueueTargets))
_SHARES = ("service_level", "service_level_amber", "abandon_rate", "abandon_rate_amber")
# (key that must not be above, key that must not be below, why)
_ORDER = (
    ("service_level_amber", "service_level", "the amber bound must not be above the target"),
    ("asa", "asa_amber", "the amber bound must not be below the target"),
    ("longest_wait_amber", "longest_wait", "the amber bound must not be above the red one"),
    ("abandon_rate_amber", "abandon_rate", "the amber bound must not be above the red one"),
)


def _inconsistency(t: Mapping[str, float]) -> tuple[str, str, str] | None:
    """(key, other key, message) for the first value out of range or bounds out of order."""
    for name in FIELDS:
        value = t[name]
        if not math.isfinite(value) or value < 0 or (name in _SHARES and value > 1):
            return name, name, f"{name} {value!r} is out of range"
    for low, high, why in _ORDER:
        if t[low] > t[high]:
            return low, high, f"{low} {t[low]:g} is above {high} {t[high]:g}: {why}"
    return None


class TargetBook:
    """Targets by queue: a queue named in a targets file has its own, every other the defaults."""

    def __init__(
        self, defaults: QueueTargets | None = None, queues: Mapping[str, QueueTargets] | None = None
    ) -> None:
        self.defaults = defaults or QueueTargets()
        self._queues = dict(queues or {})

    def for_queue(self, name: str) -> QueueTargets:
        """The targets of queue ``name`` (the defaults when it has none of its own)."""
        return self._queues.get(name, self.defaults)

    def queues(self) -> tuple[str, ...]:
        """The queues with targets of their own, sorted."""
        return tuple(sorted(self._queues))


def load_targets(path: Path | None = None) -> TargetBook:
    """The shipped targets, overridden key by key by the user's file at ``path`` (if given)."""
    layers = load_layers("console", "queue_targets.toml", path, _parse, TargetsError)
    return _merge(layers.shipped, layers.user)


# ------------------------------------------------------------------------------- loading


@dataclass(frozen=True, slots=True)
class _Value:
    value: float
    reader: _Reader
    path: KeyPath


@dataclass(frozen=True, slots=True)
class _File:
    defaults: dict[str, _Value]
    queues: dict[str, dict[str, _Value]]


def _parse(source: str, text: str, shipped: bool) -> _File:
    reader = _Reader(source, text)
    parsed = reader.parse()
    missing = [name for name in FIELDS if name not in parsed.defaults]
    if shipped and missing:
        raise reader.fail(("defaults",), f"the shipped defaults miss {', '.join(missing)}")
    return parsed


def _merge(shipped: _File, user: _File | None) -> TargetBook:
    """Resolve every queue named anywhere; the first layer that sets a key wins."""
    layers_default = [f.defaults for f in (user, shipped) if f is not None]
    names = set(shipped.queues) | (set(user.queues) if user else set())
    defaults = _resolve(layers_default)
    queues = {}
    for name in sorted(names):
        own = [f.queues[name] for f in (user, shipped) if f is not None and name in f.queues]
        queues[name] = _resolve([*own, *layers_default], name)
    return TargetBook(defaults, queues)


def _resolve(layers: list[dict[str, _Value]], queue: str | None = None) -> QueueTargets:
    chosen = {name: next(layer[name] for layer in layers if name in layer) for name in FIELDS}
    values = {name: v.value for name, v in chosen.items()}
    problem = _inconsistency(values)
    if problem is None:
        return QueueTargets(**values)
    low, high, message = problem
    # Blame the key set in the most specific layer (a user's override rather than a default).
    rank = {id(layer): i for i, layer in enumerate(layers)}
    by_layer = {
        key: min(rank[id(layer)] for layer in layers if key in layer) for key in (low, high)
    }
    culprit = chosen[low] if by_layer[low] <= by_layer[high] else chosen[high]
    where = f" (queue {queue!r})" if queue is not None else ""
    raise culprit.reader.fail(culprit.path, message + where)


def _share(value: object) -> float:
    """A share 0..1 as a number or a percentage string ("80%")."""
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and _PERCENT.fullmatch(value.strip()):
        number = float(value.strip()[:-1]) / 100
    if number is None or not 0.0 <= number <= 1.0:
        raise LocatedValueError(f'must be a share from 0 to 1, e.g. 0.8 or "80%" (got {value!r})')
    return number


def _seconds(value: object) -> float:
    """A duration more than 0 s and at most a day."""
    seconds = seconds_of(value)
    if seconds is None:
        raise LocatedValueError(BAD_DURATION.format(value))
    if not 0 < seconds <= 86400:
        raise LocatedValueError(f"must be more than 0 s and at most 1 day (got {value!r})")
    return seconds


_Share = Annotated[float | None, BeforeValidator(_share)]
_Seconds = Annotated[float | None, BeforeValidator(_seconds)]


class _TargetsTable(BaseModel):
    """One table of targets in a file: any subset of the keys (the rest come from layers)."""

    model_config = ConfigDict(extra="forbid")

    service_level: _Share = None
    service_level_amber: _Share = None
    asa: _Seconds = None
    asa_amber: _Seconds = None
    longest_wait: _Seconds = None
    longest_wait_amber: _Seconds = None
    abandon_rate: _Share = None
    abandon_rate_amber: _Share = None
    wrap_up_too_long: _Seconds = None
    not_ready_too_long: _Seconds = None

    @model_validator(mode="after")
    def _in_order(self) -> _TargetsTable:
        # Bounds given together in one table must be in order (checked again after merging).
        for low, high, why in _ORDER:
            lo, hi = getattr(self, low), getattr(self, high)
            if lo is not None and hi is not None and lo > hi:
                raise LocatedValueError(f"{low} {lo:g} is above {high} {hi:g}: {why}", (low,))
        return self


class _TargetsFile(BaseModel):
    """A whole targets file: [defaults] and [queues.NAME] tables."""

    model_config = ConfigDict(extra="forbid")

    defaults: _TargetsTable = _TargetsTable()
    queues: dict[str, _TargetsTable] = {}

    @field_validator("queues", mode="before")
    @classmethod
    def _queue_tables(cls, value: object) -> object:
        if not isinstance(value, dict):
            raise LocatedValueError("use [queues.NAME] tables, one per queue")
        for name in value:
            problem = text_problem(name, limit=80)
            if problem:
                raise LocatedValueError(problem, (name,))
        return value


class _Reader(LocatedReader):
    """Validates one targets file; errors name the file and the line of the bad key."""

    def __init__(self, source: str, text: str) -> None:
        super().__init__(source, text, TargetsError)

    def parse(self) -> _File:
        parsed = validate_located(_TargetsFile, self.load(), self)
        queues = {name: self._values(t, ("queues", name)) for name, t in parsed.queues.items()}
        return _File(self._values(parsed.defaults, ("defaults",)), queues)

    def _values(self, table: _TargetsTable, path: KeyPath) -> dict[str, _Value]:
        """The keys the table sets, each with where it was set (to blame after merging)."""
        values = {key: getattr(table, key) for key in FIELDS}
        return {k: _Value(v, self, (*path, k)) for k, v in values.items() if v is not None}

    def line(self, path: KeyPath) -> int:
        """As LocatedReader.line, but finds keys under ``[queues.NAME]`` headers too."""
        return _queue_key_line(self.text, path) or super().line(path)


_PERCENT = re.compile(r"\d+(?:\.\d+)?%")


def _queue_key_line(text: str, path: KeyPath) -> int | None:
    """The line of ``[queues.NAME]`` (or of a key in it) for a path ("queues", NAME[, key])."""
    if len(path) < 2 or path[0] != "queues" or not isinstance(path[1], str):
        return None
    name = re.escape(path[1])
    header = re.compile(rf"""^\s*\[\s*queues\s*\.\s*(?:{name}|"{name}"|'{name}')\s*\]""")
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not header.match(line):
            continue
        if len(path) < 3:
            return i + 1
        key = re.compile(rf"""^\s*["']?{re.escape(str(path[2]))}["']?\s*=""")
        for j in range(i + 1, len(lines)):
            if lines[j].lstrip().startswith("["):
                break
            if key.match(lines[j]):
                return j + 1
        return i + 1
    return None
