"""Reading calling-window files: the shipped `console/data/calling_windows.toml` and the user's.

A file has an optional ``[default]`` table (numbers no region rule covers) and ``[[rules]]``,
each covering ``regions`` (ISO 3166 codes) or ``prefixes`` (E.164 starts such as "+1305").
Windows are lists of "HH:MM-HH:MM" (start before end) per day: ``every_day``, then
``weekdays`` / ``weekend``, then ``mon`` … ``sun``, the more specific key winning; a day no
key names has no calls. ``closed_dates`` lists local dates without calls. The user's file
replaces the default when it has one, replaces shipped rules of the same name and adds its own.
A bad file raises `WindowsError` with ``FILE:LINE: key: message``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import phonenumbers
from pydantic import BaseModel, ConfigDict, PlainValidator, model_validator

from callkit.layered_toml import load_layers
from callkit.located_model import LocatedValueError, validate_located
from callkit.located_toml import LocatedReader
from callkit.toml_values import optional, text, window
from console.services.outbound.windows import CallingWindows, Span, WindowRule, WindowsError

RESOURCE = "calling_windows.toml"
_DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_GROUPS = {"weekdays": range(5), "weekend": range(5, 7), "every_day": range(7)}


def load_windows(path: str | Path | None = None) -> CallingWindows:
    """The shipped rules, with the user's file at `path` over them (if given)."""
    layers = load_layers("console", RESOURCE, path, _parse, WindowsError)
    shipped, user = layers.shipped, layers.user
    if user is None:
        return CallingWindows(_need_default(shipped), shipped.rules)
    mine = {rule.name for rule in user.rules}
    rules = (*user.rules, *(r for r in shipped.rules if r.name not in mine))
    return CallingWindows(user.default or _need_default(shipped), rules)


@dataclass(frozen=True, slots=True)
class _File:
    default: WindowRule | None
    rules: tuple[WindowRule, ...]


def _need_default(file: _File) -> WindowRule:
    if file.default is None:  # the shipped file is checked by the tests; never reached
        raise WindowsError("the shipped calling windows have no [default]")
    return file.default


def _parse(source: str, text_: str, shipped: bool) -> _File:
    reader = LocatedReader(source, text_, WindowsError)
    parsed = validate_located(_WindowsTable, reader.load(), reader)
    default = None if parsed.default is None else parsed.default.rule(shipped)
    rules = tuple(rule.rule(shipped) for rule in parsed.rules)
    names = [rule.name for rule in rules]
    for n, name in enumerate(names):
        if name in names[:n]:
            raise reader.fail(("rules", n, "name"), f"a second rule named {name!r}")
    return _File(default=default, rules=rules)


# ------------------------------------------------------------------------ value checks


def _spans(value: object) -> tuple[Span, ...]:
    if not isinstance(value, list):
        raise LocatedValueError('must be a list of windows like ["08:00-21:00"] ([] : no calls)')
    spans = []
    for n, item in enumerate(value):
        try:
            start, end = window(item)
            if end <= start:
                raise LocatedValueError(
                    f"{item!r} ends before it starts (a calling window cannot cross midnight)"
                )
        except LocatedValueError as exc:
            raise exc.under(n) from None
        spans.append((start, end))
    return tuple(sorted(spans))


def _regions(value: object) -> frozenset[str]:
    items = value if isinstance(value, list) else None
    if not items:
        raise LocatedValueError('must be a non-empty list of ISO 3166 regions like ["US"]')
    for n, item in enumerate(items):
        if item not in phonenumbers.SUPPORTED_REGIONS:
            raise LocatedValueError(f"unknown region {item!r} (use e.g. US, GB, FR)", (n,))
    return frozenset(items)


def _prefixes(value: object) -> tuple[str, ...]:
    items = value if isinstance(value, list) else None
    if not items:
        raise LocatedValueError('must be a non-empty list of E.164 prefixes like ["+1305"]')
    for n, item in enumerate(items):
        if not (isinstance(item, str) and item[:1] == "+" and item[1:].isdigit()):
            raise LocatedValueError(f'{item!r} is not an E.164 prefix like "+1305"', (n,))
    return tuple(items)


def _dates(value: object) -> frozenset[date]:
    if not isinstance(value, list) or not all(
        isinstance(d, date) and not isinstance(d, datetime) for d in value
    ):
        raise LocatedValueError("must be a list of dates like 2026-12-25")
    return frozenset(value)


_Spans = Annotated[tuple[Span, ...] | None, PlainValidator(optional(_spans))]


class WindowDays(BaseModel):
    """Windows per local weekday: ``every_day``, then ``weekdays`` / ``weekend``, then ``mon``
    … ``sun`` (the more specific key wins; a day no key names has no calls), and
    ``closed_dates`` (local dates without calls). A rule's tables and a campaign's own
    ``[window]`` (console/services/outbound/campaign_rules.py) share it."""

    model_config = ConfigDict(extra="forbid")

    closed_dates: Annotated[frozenset[date], PlainValidator(_dates)] = frozenset()
    every_day: _Spans = None
    weekdays: _Spans = None
    weekend: _Spans = None
    mon: _Spans = None
    tue: _Spans = None
    wed: _Spans = None
    thu: _Spans = None
    fri: _Spans = None
    sat: _Spans = None
    sun: _Spans = None

    @model_validator(mode="after")
    def _has_windows(self) -> WindowDays:
        keys = (*_GROUPS, *_DAY_KEYS)
        if all(getattr(self, key) is None for key in keys):
            raise LocatedValueError("give the windows: every_day, weekdays, weekend or mon … sun")
        return self

    def days(self) -> tuple[tuple[Span, ...], ...]:
        """Seven entries, Monday first (``()``: no calls that day)."""
        days: list[tuple[Span, ...]] = [()] * 7
        for group in ("every_day", "weekdays", "weekend"):  # general first, specific wins
            spans = getattr(self, group)
            if spans is not None:
                for day in _GROUPS[group]:
                    days[day] = spans
        for day, key in enumerate(_DAY_KEYS):
            spans = getattr(self, key)
            if spans is not None:
                days[day] = spans
        return tuple(days)


class _RuleTable(WindowDays):
    """One ``[[rules]]`` table (or ``[default]``: no regions, no prefixes)."""

    name: Annotated[str, PlainValidator(text(60))]
    source: Annotated[str, PlainValidator(text(300))]
    regions: Annotated[frozenset[str] | None, PlainValidator(optional(_regions))] = None
    prefixes: Annotated[tuple[str, ...] | None, PlainValidator(optional(_prefixes))] = None

    @model_validator(mode="after")
    def _one_kind(self) -> _RuleTable:
        if self.regions is not None and self.prefixes is not None:
            raise LocatedValueError(
                "give regions or prefixes, not both (write two rules)", ("prefixes",)
            )
        return self

    def rule(self, shipped: bool) -> WindowRule:
        return WindowRule(
            name=self.name,
            source=self.source,
            days=self.days(),
            regions=self.regions or frozenset(),
            prefixes=self.prefixes or (),
            closed_dates=self.closed_dates,
            shipped=shipped,
        )


class _DefaultTable(_RuleTable):
    @model_validator(mode="after")
    def _covers_everything(self) -> _DefaultTable:
        if self.regions is not None or self.prefixes is not None:
            raise LocatedValueError("the default covers every other number: no regions or prefixes")
        return self


class _RegionRule(_RuleTable):
    @model_validator(mode="after")
    def _covers_something(self) -> _RegionRule:
        if self.regions is None and self.prefixes is None:
            raise LocatedValueError("a rule needs regions or prefixes")
        return self


class _WindowsTable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default: _DefaultTable | None = None
    rules: list[_RegionRule] = []

    @model_validator(mode="before")
    @classmethod
    def _rules_is_a_list(cls, value: Any) -> Any:
        if isinstance(value, dict) and "rules" in value and not isinstance(value["rules"], list):
            raise LocatedValueError("must be [[rules]] tables", ("rules",))
        return value
