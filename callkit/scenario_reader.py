"""Located errors for TOML files: typed getters that report ``file:line: key: message``.

Lines are found by `callkit.located_toml.locate_key` (tomllib gives no positions for values).
"""

from __future__ import annotations

import math
from typing import Any

from callkit.located_toml import locate_key, parse_duration
from callkit.specs import DISTRIBUTIONS, Dist


class ScenarioError(ValueError):
    """A scenario file is invalid; the message starts with ``file:line:``."""


class TomlReader:
    """Typed access to parsed TOML with errors located in the source text."""

    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self.text = text

    def fail(self, path: tuple[str | int, ...], message: str) -> ScenarioError:
        """ScenarioError for the key at ``path``, located in the source text."""
        where = ""
        for part in path:
            where += f"[{part + 1}]" if isinstance(part, int) else ("." if where else "") + part
        line = locate_key(self.text, path)
        prefix = f"{where}: " if where else ""
        return ScenarioError(f"{self.source}:{line}: {prefix}{message}")

    def check_keys(
        self, table: dict[str, Any], allowed: set[str], path: tuple[str | int, ...]
    ) -> None:
        """Reject keys outside ``allowed`` (catches typos such as ``stratgy``)."""
        for key in table:
            if key not in allowed:
                raise self.fail(
                    (*path, key),
                    f"unknown key {key!r} (expected one of {', '.join(sorted(allowed))})",
                )

    def string(
        self,
        table: dict[str, Any],
        key: str,
        path: tuple[str | int, ...],
        default: str | None = None,
    ) -> str:
        """A string value (``default`` when absent; required when the default is None)."""
        value = table.get(key, default)
        if value is None:
            raise self.fail(path if key not in table else (*path, key), f"{key!r} is required")
        if not isinstance(value, str):
            raise self.fail((*path, key), f"{key!r} must be a string")
        return value

    def number(
        self,
        table: dict[str, Any],
        key: str,
        path: tuple[str | int, ...],
        default: float,
        lo: float = 0.0,
        hi: float = math.inf,
    ) -> float:
        """A number within [lo, hi]."""
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail((*path, key), f"{key!r} must be a number")
        if not lo <= value <= hi:
            raise self.fail((*path, key), f"{key!r} must be between {lo:g} and {hi:g}")
        return float(value)

    def integer(
        self, table: dict[str, Any], key: str, path: tuple[str | int, ...], default: int
    ) -> int:
        """A whole number."""
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail((*path, key), f"{key!r} must be an integer")
        return value

    def boolean(
        self, table: dict[str, Any], key: str, path: tuple[str | int, ...], default: bool
    ) -> bool:
        """true or false."""
        value = table.get(key, default)
        if not isinstance(value, bool):
            raise self.fail((*path, key), f"{key!r} must be true or false")
        return value

    def duration(self, value: Any, path: tuple[str | int, ...], allow_none: bool = False) -> float:
        """Seconds from a number or a "1h30m"-style string (``"none"`` → inf if allowed)."""
        if allow_none and value == "none":
            return math.inf
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return float(value)
        if isinstance(value, str):
            seconds = parse_duration(value)
            if seconds is not None:
                return seconds
        raise self.fail(path, f'bad duration {value!r} (use seconds or e.g. "90s", "5m", "1h30m")')

    def dist(self, value: Any, path: tuple[str | int, ...], allow_none: bool = False) -> Dist:
        """A distribution table, or a bare duration meaning a fixed value."""
        if value == "none" and allow_none:
            return Dist("none")
        if not isinstance(value, dict):
            return Dist("fixed", self.duration(value, path))
        self.check_keys(value, {"dist", "mean", "sd", "low", "high", "value"}, path)
        kind = value.get("dist", "fixed")
        if kind not in DISTRIBUTIONS or (kind == "none" and not allow_none):
            allowed = [d for d in DISTRIBUTIONS if allow_none or d != "none"]
            raise self.fail(
                (*path, "dist"), f"unknown distribution {kind!r} (use {', '.join(allowed)})"
            )
        if kind == "none":
            return Dist("none")
        if kind == "fixed":
            return Dist(
                "fixed", self.duration(value.get("value", value.get("mean", 0)), (*path, "value"))
            )
        if kind == "uniform":
            low = self.duration(value.get("low", 0), (*path, "low"))
            high = self.duration(value.get("high", low), (*path, "high"))
            if high < low:
                raise self.fail((*path, "high"), "high must not be below low")
            return Dist("uniform", (low + high) / 2, low=low, high=high)
        if "mean" not in value:
            raise self.fail(path, f"a {kind} distribution needs a mean")
        mean = self.duration(value["mean"], (*path, "mean"))
        if mean <= 0:
            raise self.fail((*path, "mean"), "mean must be positive")
        sd = self.duration(value.get("sd", mean), (*path, "sd")) if kind == "lognormal" else 0.0
        return Dist(kind, mean, sd)

    def skills(self, value: Any, path: tuple[str | int, ...]) -> dict[str, int]:
        """A table of skill = non-negative whole level."""
        if not isinstance(value, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value.values()
        ):
            raise self.fail(path, "skills must be a table of skill = level (whole numbers)")
        return {str(k): int(v) for k, v in value.items()}

    def share(
        self, table: dict[str, Any], key: str, path: tuple[str | int, ...], default: float
    ) -> float:
        """A probability between 0 and 1."""
        return self.number(table, key, path, default, 0.0, 1.0)
