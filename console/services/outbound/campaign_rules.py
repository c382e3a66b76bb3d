"""A campaign's dialling rules, from its file: attempts, its own calling window, the do-not-call
lists it obeys, and where and how its calls are placed.

The campaign file's tables (all optional)::

    dnc_lists = ["us-national"]       # imported lists it obeys, besides "internal" (opt-outs,
                                      # always obeyed); default: every list

    [attempts]                        # console.services.outbound.attempts
    max = 4
    per_period = { attempts = 4, within = "30d" }

    [attempts.spacing]                # wait after each outcome (default: attempts.py's table)
    busy = "15m"
    no_answer = "3h"

    [window]                          # the campaign's own hours, in the callee's local time,
    weekdays = ["10:00-19:00"]        # on top of the legal window (calling_windows.toml)
    sat = ["10:00-14:00"]

    [dial]
    trunk = "trunk"                   # Channel: PJSIP/<number>@<trunk>
    ring_timeout = "30s"              # Originate Timeout: how long the customer's phone rings
    context = "campaign-7"            # the campaign dialplan (AMD, Queue(), abandon message);
    exten = ""                        #   Exten: the number dialled unless given
    queue_timeout = 2                 # no context: Application Queue(<queue>,,,,2)
    preview_context = "from-internal" # preview: the agent's phone dials the number there

They are stored in ``campaigns.rules`` as plain JSON (`rules_json`) and read back by the dialer
with `rules_of`. Errors in a file are ``FILE:LINE: key: message`` like the rest of the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainValidator, model_validator

from callkit.located_model import LocatedValueError
from callkit.located_toml import seconds_of
from callkit.toml_values import text, timespan, whole
from console.models.enums import AttemptOutcome
from console.models.outbound import INTERNAL_DNC
from console.services.outbound.attempts import DEFAULT_SPACING, DONE_OUTCOMES, AttemptRules
from console.services.outbound.windows import CallingWindows, Span, WindowRule
from console.services.outbound.windows_file import WindowDays

#: Outcomes whose spacing a campaign may set (the others end the record).
SPACED = tuple(o.value for o in AttemptOutcome if o not in DONE_OUTCOMES)
_NAME = re.compile(r"[A-Za-z0-9_.+\-]{1,60}")
CAMPAIGN_WINDOW = "campaign window"


class CampaignRulesError(ValueError):
    """Stored rules that no longer read (edited by hand); one line."""


def _name(what: str) -> Any:
    def check(value: object) -> str:
        if not isinstance(value, str) or not _NAME.fullmatch(value):
            raise LocatedValueError(
                f"must be a {what} name: letters, digits, _ . + - (got {value!r})"
            )
        return value

    return PlainValidator(check)


def _spacing(value: object) -> dict[str, timedelta]:
    if not isinstance(value, dict):
        raise LocatedValueError("must be a table of outcome = duration")
    out = {}
    for key, raw in value.items():
        if key not in SPACED:
            raise LocatedValueError(f"unknown outcome {key!r} (use {', '.join(SPACED)})", (key,))
        try:
            out[key] = timespan(raw)
        except LocatedValueError as exc:
            raise exc.under(key) from None
    return out


def _seconds(lo: float, hi: float) -> Any:
    def check(value: object) -> float:
        seconds = seconds_of(value)
        if seconds is None or not lo <= seconds <= hi:
            raise LocatedValueError(f"must be a duration from {lo:g}s to {hi:g}s (got {value!r})")
        return seconds

    return PlainValidator(check)


def dnc_list_names(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise LocatedValueError('must be a list of do-not-call list names like ["us-national"]')
    names = []
    for n, item in enumerate(value):
        try:
            names.append(text(60)(item))
        except LocatedValueError as exc:
            raise exc.under(n) from None
    return tuple(names)


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PerPeriod(_Table):
    """At most ``attempts`` dials of one record within any ``within``."""

    attempts: Annotated[int, PlainValidator(whole(1, 100))]
    within: Annotated[timedelta, PlainValidator(timespan)]


class AttemptsTable(_Table):
    """``[attempts]``: the attempt rules (docs/outbound.md, "Attempts")."""

    max: Annotated[int, PlainValidator(whole(1, 50))] = 6
    spacing: Annotated[dict[str, timedelta], PlainValidator(_spacing)] = {}
    per_period: PerPeriod | None = None

    def rules(self) -> AttemptRules:
        spacing = dict(DEFAULT_SPACING)
        spacing.update({AttemptOutcome(k): v for k, v in self.spacing.items()})
        per = self.per_period
        period = None if per is None else (per.attempts, per.within)
        return AttemptRules(max_attempts=self.max, spacing=spacing, per_period=period)

    def as_json(self) -> dict[str, Any]:
        per = self.per_period
        return {
            "max": self.max,
            "spacing": {k: v.total_seconds() for k, v in self.spacing.items()},
            "per_period": None if per is None else [per.attempts, per.within.total_seconds()],
        }


class DialTable(_Table):
    """``[dial]``: where the campaign's calls are placed and what runs once they answer."""

    trunk: Annotated[str, _name("trunk")] = "trunk"
    tech: Annotated[str, _name("channel technology")] = "PJSIP"
    ring_timeout: Annotated[float, _seconds(5, 120)] = 30.0
    context: Annotated[str, _name("dialplan context")] | None = None
    exten: Annotated[str, _name("extension")] | None = None
    queue_timeout: Annotated[float, _seconds(1, 60)] = 2.0
    preview_context: Annotated[str, _name("dialplan context")] = "from-internal"

    @model_validator(mode="after")
    def _exten_needs_context(self) -> DialTable:
        if self.exten is not None and self.context is None:
            raise LocatedValueError("exten needs a context (or leave both out)", ("exten",))
        return self

    def target(self) -> DialTarget:
        return DialTarget(
            trunk=self.trunk,
            tech=self.tech,
            ring_timeout_ms=int(self.ring_timeout * 1000),
            context=self.context or "",
            exten=self.exten or "",
            queue_timeout=self.queue_timeout,
            preview_context=self.preview_context,
        )


def window_json(days: WindowDays) -> dict[str, Any]:
    """A campaign ``[window]`` as stored: seven days of ["HH:MM", "HH:MM"] spans, closed dates."""
    return {
        "days": [[[f"{s:%H:%M}", f"{e:%H:%M}"] for s, e in spans] for spans in days.days()],
        "closed": sorted(d.isoformat() for d in days.closed_dates),
    }


def rules_json(
    attempts: AttemptsTable,
    window: WindowDays | None,
    dnc_lists: Sequence[str] | None,
    dial: DialTable,
) -> dict[str, Any]:
    """The dialling rules as `campaigns.rules` stores them (beside the dispositions)."""
    return {
        "attempts": attempts.as_json(),
        "window": None if window is None else window_json(window),
        "dnc_lists": None if dnc_lists is None else sorted(set(dnc_lists)),
        "dial": dial.model_dump(),
    }


@dataclass(frozen=True, slots=True)
class DialTarget:
    """How one campaign's Originates are written (docs/cti.md, "Customer-first Originate")."""

    trunk: str = "trunk"
    tech: str = "PJSIP"
    ring_timeout_ms: int = 30_000
    context: str = ""  # "" : no campaign dialplan; the answered leg runs Queue() itself
    exten: str = ""  # "" : the number dialled
    queue_timeout: float = 2.0
    preview_context: str = "from-internal"

    def customer_first(
        self, number: str, queue: str, caller_id: str, variables: Sequence[str]
    ) -> dict[str, str | list[str]]:
        """The fields of a progressive or predictive dial: the customer first, through the
        trunk; on a live answer the campaign dialplan (or Queue() with its timeout)."""
        fields: dict[str, str | list[str]] = {"Channel": f"{self.tech}/{number}@{self.trunk}"}
        if self.context:
            fields |= {"Context": self.context, "Exten": self.exten or number, "Priority": "1"}
        else:
            fields |= {"Application": "Queue", "Data": f"{queue},,,,{self.queue_timeout:g}"}
        return fields | self._common(caller_id, variables)

    def agent_first(
        self, interface: str, number: str, caller_id: str, variables: Sequence[str]
    ) -> dict[str, str | list[str]]:
        """The fields of a preview dial: the agent's phone first, then the number."""
        fields: dict[str, str | list[str]] = {
            "Channel": interface,
            "Context": self.preview_context,
            "Exten": number,
            "Priority": "1",
        }
        return fields | self._common(caller_id, variables)

    def _common(self, caller_id: str, variables: Sequence[str]) -> dict[str, str | list[str]]:
        fields: dict[str, str | list[str]] = {
            "Timeout": str(self.ring_timeout_ms),
            "Async": "true",
            "Variable": list(variables),
        }
        if caller_id:
            fields["CallerID"] = caller_id
        return fields


@dataclass(frozen=True, slots=True)
class CampaignRules:
    """What the dialer applies to one campaign's dials."""

    attempts: AttemptRules = field(default_factory=AttemptRules)
    window: WindowRule | None = None  # the campaign's own hours (None: the legal ones only)
    dnc_lists: frozenset[str] | None = None  # None: every list
    dial: DialTarget = field(default_factory=DialTarget)

    def windows(self, legal: CallingWindows) -> CallingWindows:
        """The legal windows plus the campaign's own, which applies to every number (its
        prefix ``+``), in every zone of the number like the legal rules."""
        if self.window is None:
            return legal
        return CallingWindows(legal.default, (*legal.rules, self.window))

    def obeys(self, source: str) -> bool:
        """Whether this campaign obeys the DNC list ``source`` (the internal list always)."""
        return self.dnc_lists is None or source == INTERNAL_DNC or source in self.dnc_lists


def rules_of(raw: Mapping[str, Any] | None) -> CampaignRules:
    """The rules stored by `rules_json` (absent parts: the defaults). Raises
    `CampaignRulesError` when a stored value no longer reads."""
    raw = raw or {}
    try:
        attempts = _attempts_of(raw.get("attempts"))
        window = _window_of(raw.get("window"))
        lists = raw.get("dnc_lists")
        dnc_lists = None if lists is None else frozenset(str(x) for x in lists)
        dial = DialTable.model_validate(raw.get("dial") or {}).target()
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise CampaignRulesError(f"the campaign's stored rules do not read: {exc}") from None
    return CampaignRules(attempts, window, dnc_lists, dial)


def _attempts_of(raw: Any) -> AttemptRules:
    if not raw:
        return AttemptRules()
    spacing = dict(DEFAULT_SPACING)
    for key, seconds in (raw.get("spacing") or {}).items():
        spacing[AttemptOutcome(key)] = timedelta(seconds=float(seconds))
    per = raw.get("per_period")
    period = None if per is None else (int(per[0]), timedelta(seconds=float(per[1])))
    return AttemptRules(max_attempts=int(raw.get("max", 6)), spacing=spacing, per_period=period)


def _window_of(raw: Any) -> WindowRule | None:
    if not raw:
        return None
    days: list[tuple[Span, ...]] = []
    for spans in raw["days"]:
        days.append(tuple((time.fromisoformat(s), time.fromisoformat(e)) for s, e in spans))
    if len(days) != 7:
        raise ValueError("a window needs seven days")
    return WindowRule(
        name=CAMPAIGN_WINDOW,
        source="the campaign's own hours",
        days=tuple(days),
        prefixes=("+",),  # every number
        closed_dates=frozenset(date.fromisoformat(d) for d in raw.get("closed", ())),
        shipped=False,
    )
