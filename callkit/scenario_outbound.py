"""A scenario's ``[outbound]`` table: the dialled customers' behaviour and the campaigns'
dialplans, as pydantic models of the TOML (the value types are callkit.specs.OutboundProfile
and callkit.audience). Errors name ``file:line: key`` as the rest of the scenario format does
(callkit.scenario_file validates the whole file)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field, PlainValidator, ValidationInfo, model_validator

from callkit.audience import (
    MACHINE_ACTIONS,
    NOTSURE_ACTIONS,
    AmdSpec,
    Audience,
    CampaignSpec,
    HourShares,
    Shares,
    dial_key,
)
from callkit.located_model import LocatedValueError
from callkit.scenario_reader import Table, boolean, dist, duration, share, string
from callkit.specs import Dist, OutboundProfile

_HOURS = re.compile(r"(\d{1,2})-(\d{1,2})")
_SHARE_KEYS = ("answer", "no_answer", "busy", "machine", "failed")
_DIAL = re.compile(r"\+?[0-9*#]+")


def _ring_seconds(value: object, info: ValidationInfo) -> tuple[float, float]:
    """``[low, high]`` durations (a single duration: always that long)."""
    key = info.field_name
    if not isinstance(value, list):
        seconds = duration(value)
        return seconds, seconds
    if len(value) != 2:
        raise LocatedValueError(f"{key} must be [low, high] (seconds or durations)")
    ends = []
    for n, item in enumerate(value):
        try:
            ends.append(duration(item))
        except LocatedValueError as exc:
            raise exc.under(n) from None
    low, high = ends
    if high < low:
        raise LocatedValueError(f"{key}: high must not be below low", (1,))
    return low, high


def _positive_seconds(value: object, info: ValidationInfo) -> float:
    seconds = duration(value)
    if seconds <= 0:
        raise LocatedValueError(f"{info.field_name} must be positive")
    return seconds


def _names(value: object, info: ValidationInfo) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise LocatedValueError(f"{info.field_name} must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def _dial_strings(value: object, info: ValidationInfo) -> tuple[str, ...]:
    """Numbers or prefixes: digits with an optional leading + (spaces and dashes ignored)."""
    names = _names(value, info)
    for n, item in enumerate(names):
        if not _DIAL.fullmatch(dial_key(item)):
            raise LocatedValueError(f"{item!r} is not a dial string", (n,))
    return tuple(dial_key(item) for item in names)


def _one_of(options: tuple[str, ...]) -> Any:
    def check(value: object, info: ValidationInfo) -> str:
        word = string(value, info)
        if word not in options:
            raise LocatedValueError(f"{info.field_name} must be one of {', '.join(options)}")
        return word

    return PlainValidator(check)


_MaybeShare = Annotated[float | None, PlainValidator(share)]
_Share = Annotated[float, PlainValidator(share)]
_Seconds = Annotated[float, PlainValidator(_positive_seconds)]
_Range = Annotated[tuple[float, float], PlainValidator(_ring_seconds)]
_MaybeRange = Annotated[tuple[float, float] | None, PlainValidator(_ring_seconds)]
_Str = Annotated[str, PlainValidator(string)]


class _Shares(Table):
    """The five shares; ``answer`` left out takes what the others leave."""

    answer: _MaybeShare = None
    no_answer: _Share = 0.0
    busy: _Share = 0.0
    machine: _Share = 0.0
    failed: _Share = 0.0

    @model_validator(mode="after")
    def _add_up(self) -> _Shares:
        names = [k for k in _SHARE_KEYS if k != "machine" or "machine" in self.model_fields_set]
        rest = self.no_answer + self.busy + self.machine + self.failed
        if self.answer is not None and abs(self.answer + rest - 1.0) > 1e-6:
            raise LocatedValueError(
                f"{' + '.join(names)} must add up to 1 (they add up to {self.answer + rest:g})"
            )
        if self.answer is None and rest > 1.0 + 1e-6:
            last = [k for k in _SHARE_KEYS[1:] if k in self.model_fields_set][-1]
            message = f"{' + '.join(names[1:])} must not exceed 1 (they add up to {rest:g})"
            raise LocatedValueError(message, (last,))
        return self

    def shares(self) -> Shares:
        rest = self.no_answer + self.busy + self.machine + self.failed
        answer = self.answer if self.answer is not None else max(0.0, 1.0 - rest)
        return Shares(answer, self.no_answer, self.busy, self.machine, self.failed)

    def given(self) -> bool:
        """Whether the table sets any share (else it inherits the outbound table's)."""
        return bool(self.model_fields_set & set(_SHARE_KEYS))


class _HourEntry(_Shares):
    not_a_table = "an hour range needs a table of shares, e.g. { answer = 0.5, no_answer = 0.5 }"


def _hours(value: object) -> tuple[HourShares, ...]:
    """``{ "09-12" = { answer = 0.5, … }, … }``: ranges of whole hours, not overlapping."""
    if not isinstance(value, dict):
        raise LocatedValueError('hours must be a table of "HH-HH" = { shares } entries')
    out: list[HourShares] = []
    covered: dict[int, str] = {}
    for key, entry in value.items():
        m = _HOURS.fullmatch(str(key))
        start, end = (int(m.group(1)), int(m.group(2))) if m else (-1, -1)
        if not m or start > 23 or end > 24 or start == end:
            raise LocatedValueError(
                f'{key!r} is not an hour range (use "09-12": from 09:00 to 12:00)', (key,)
            )
        try:
            shares = _HourEntry.model_validate(entry)
        except LocatedValueError as exc:
            raise exc.under(key) from None
        except Exception as exc:  # pydantic's ValidationError around a LocatedValueError
            cause = _located(exc)
            raise (cause.under(key) if cause else LocatedValueError(str(exc), (key,))) from None
        hours = HourShares(start, end % 24 if end == 24 else end, shares.shares())
        for hour in range(24):
            if hours.covers(hour):
                if hour in covered:
                    message = f"{key!r} overlaps {covered[hour]!r} (at {hour:02d}:00)"
                    raise LocatedValueError(message, (key,))
                covered[hour] = str(key)
        out.append(hours)
    return tuple(out)


def _located(exc: Exception) -> LocatedValueError | None:
    """The LocatedValueError behind a nested model's pydantic ValidationError, with its path."""
    errors = getattr(exc, "errors", None)
    if errors is None:
        return None
    for error in errors():
        cause = (error.get("ctx") or {}).get("error")
        loc = tuple(p for p in error["loc"] if isinstance(p, str | int))
        if isinstance(cause, LocatedValueError):
            return cause.under(*loc)
        if error["type"] == "extra_forbidden" and loc:
            allowed = ", ".join(sorted(_HourEntry.model_fields))
            return LocatedValueError(f"unknown key {loc[-1]!r} (expected one of {allowed})", loc)
    return None


_Hours = Annotated[tuple[HourShares, ...], PlainValidator(_hours)]


class _Audience(_Shares):
    not_a_table = "audiences must be [[outbound.audiences]] tables"
    required = ("name",)

    name: _Str = ""
    numbers: Annotated[tuple[str, ...], PlainValidator(_dial_strings)] = ()
    prefixes: Annotated[tuple[str, ...], PlainValidator(_dial_strings)] = ()
    hours: _Hours = ()
    ring_seconds: _MaybeRange = None
    talk_time: Annotated[Dist | None, PlainValidator(dist())] = None

    @model_validator(mode="after")
    def _someone(self) -> _Audience:
        if not self.numbers and not self.prefixes:
            raise LocatedValueError("an audience needs numbers or prefixes")
        return self

    def audience(self) -> Audience:
        return Audience(
            self.name,
            frozenset(self.numbers),
            self.prefixes,
            self.shares() if self.given() else None,
            self.hours,
            self.ring_seconds,
            self.talk_time,
        )


class _Amd(Table):
    not_a_table = "amd must be a table"

    enabled: Annotated[bool, PlainValidator(boolean)] = True
    human_as_machine: _Share = 0.0
    machine_as_human: _Share = 0.0
    notsure: _Share = 0.0
    hangup: _Share = 0.0

    @model_validator(mode="after")
    def _within_one(self) -> _Amd:
        for wrong in ("human_as_machine", "machine_as_human"):
            total = self.notsure + getattr(self, wrong) + (self.hangup if wrong[0] == "h" else 0)
            if total > 1.0 + 1e-6:
                raise LocatedValueError(f"notsure + {wrong} exceed 1 ({total:g})", (wrong,))
        return self

    def spec(self) -> AmdSpec:
        return AmdSpec(
            self.enabled, self.human_as_machine, self.machine_as_human, self.notsure, self.hangup
        )


class _Campaign(Table):
    not_a_table = "campaigns must be [[outbound.campaigns]] tables"
    required = ("context", "queue")

    context: _Str = ""
    queue: _Str = ""
    queue_timeout: _Seconds = 2.0
    amd: _Amd = Field(default_factory=_Amd)
    machine: Annotated[str, _one_of(MACHINE_ACTIONS)] = "message"
    message: _Str = "campaign-message"
    message_seconds: _Seconds = 20.0
    safe_harbor: _Str = "safe-harbor"
    safe_harbor_seconds: _Seconds = 6.0
    notsure: Annotated[str, _one_of(NOTSURE_ACTIONS)] = "queue"
    failed_extension: Annotated[bool, PlainValidator(boolean)] = False

    def spec(self) -> CampaignSpec:
        return CampaignSpec(
            self.context,
            self.queue,
            self.queue_timeout,
            self.amd.spec(),
            self.machine,
            self.message,
            self.message_seconds,
            self.safe_harbor,
            self.safe_harbor_seconds,
            self.notsure,
            self.failed_extension,
        )


def _tables(key: str) -> Any:
    def check(value: object) -> object:
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise LocatedValueError(f"use [[outbound.{key}]] tables")
        return value

    from pydantic import BeforeValidator

    return BeforeValidator(check)


class OutboundTable(_Shares):
    """The ``[outbound]`` table."""

    not_a_table = "outbound must be a table"

    ring_seconds: _Range = (3.0, 10.0)
    no_answer_seconds: Annotated[float | None, PlainValidator(_positive_seconds)] = None
    machine_ring_seconds: _Range = (12.0, 20.0)
    talk_time: Annotated[Dist, PlainValidator(dist())] = Field(
        default_factory=lambda: Dist("exponential", 180.0)
    )
    hours: _Hours = ()
    audiences: Annotated[list[_Audience], _tables("audiences")] = []
    campaigns: Annotated[list[_Campaign], _tables("campaigns")] = []
    trunks: Annotated[tuple[str, ...], PlainValidator(_names)] = ("trunk",)

    def profile(self) -> OutboundProfile:
        shares = self.shares()
        return OutboundProfile(
            shares.answer,
            shares.no_answer,
            shares.busy,
            shares.failed,
            self.ring_seconds,
            self.no_answer_seconds,
            shares.machine,
            self.machine_ring_seconds,
            self.talk_time,
            self.hours,
            tuple(a.audience() for a in self.audiences),
            tuple(c.spec() for c in self.campaigns),
            self.trunks,
        )
