"""Calling windows in the callee's local time: may this number be called at this instant?

The time zone comes from the number (phonenumbers' timezone data, by prefix). A number whose
prefix spans several zones (a US toll-free number, an Australian mobile) must be inside the
window in every one of them: the most restrictive reading. A number with no known zone
("Etc/Unknown", or a zone this machine's tz database lacks) is never inside a window.

The rules are per region (ISO 3166, the number's own region: a Guernsey number is GG, not GB),
plus optional rules by E.164 prefix (a US state's area codes) that restrict further. A number
covered by no region rule gets the default. Local times come from `zoneinfo`, so a spring-forward
or fall-back day is read exactly as the callee's clock reads it. The rules are read from TOML
by `windows_file.load_windows`; docs/outbound.md gives their sources.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import NumberParseException
from phonenumbers import timezone as phone_timezones

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
UNKNOWN_ZONE = "Etc/Unknown"
SEARCH_DAYS = 15  # how far ahead `next_open` looks (a week plus a run of closed dates)


class WindowsError(ValueError):
    """A calling-windows file is invalid; the message starts with ``file:line:``."""


Span = tuple[time, time]  # start inclusive, end exclusive, start < end (no crossing midnight)


@dataclass(frozen=True, slots=True)
class WindowRule:
    """When calls are allowed in the places a rule covers, by local weekday (0 = Monday)."""

    name: str
    source: str  # the statute or reason, for docs and decision details
    days: tuple[tuple[Span, ...], ...]  # seven entries, Monday first; () = no calls that day
    regions: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()  # E.164 prefixes ("+1305"), for rules narrower than a region
    closed_dates: frozenset[date] = frozenset()  # local dates without calls (public holidays)
    shipped: bool = True

    def allows(self, local: datetime) -> bool:
        """Whether the wall-clock time `local` (in the callee's zone) is inside the window."""
        if local.date() in self.closed_dates:
            return False
        now = local.time()
        return any(start <= now < end for start, end in self.days[local.weekday()])

    def describe_day(self, weekday: int) -> str:
        """The day's windows as "08:00-21:00" (or "no calls")."""
        spans = self.days[weekday]
        if not spans:
            return "no calls"
        return ", ".join(f"{s:%H:%M}-{e:%H:%M}" for s, e in spans)


@dataclass(frozen=True, slots=True)
class WindowCheck:
    """The answer for one number at one instant."""

    open: bool
    detail: str  # what was checked, in words (goes to the decision log)
    zones: tuple[str, ...]  # the candidate zones ( () when unknown)
    next_open: datetime | None = None  # when it opens (only when closed and found)


@dataclass(frozen=True, slots=True)
class CallingWindows:
    """Every window rule, and the default for numbers no region rule covers."""

    default: WindowRule
    rules: tuple[WindowRule, ...] = ()
    _by_region: dict[str, tuple[WindowRule, ...]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        for rule in self.rules:
            for region in rule.regions:
                self._by_region[region] = (*self._by_region.get(region, ()), rule)

    def rules_for(self, e164: str, region: str | None) -> tuple[WindowRule, ...]:
        """The rules a number must satisfy: its region's (else the default), then its prefixes'."""
        own = self._by_region.get(region or "", ()) or (self.default,)
        narrower = tuple(r for r in self.rules if any(e164.startswith(p) for p in r.prefixes))
        return own + narrower

    def check(self, e164: str, now: datetime, region: str | None = None) -> WindowCheck:
        """Whether `e164` may be called at the aware instant `now`, in every zone it may be in."""
        if now.tzinfo is None:
            raise ValueError("naive datetime; pass an aware (UTC) datetime")
        zones = zones_for_number(e164)
        rules = self.rules_for(e164, region if region is not None else region_of(e164))
        if not zones:
            return WindowCheck(False, f"the time zone of {e164} is unknown", ())
        for zone_name, zone in zones:
            local = now.astimezone(zone)
            for rule in rules:
                if not rule.allows(local):
                    return WindowCheck(
                        False,
                        _closed_detail(rule, local, zone_name, len(zones)),
                        tuple(name for name, _ in zones),
                        self._next_open(zones, rules, now),
                    )
        names = tuple(name for name, _ in zones)
        shown = names[0] if len(names) == 1 else f"all {len(names)} zones of the number"
        return WindowCheck(True, f"inside {_names(rules)} in {shown}", names)

    def _next_open(
        self,
        zones: Sequence[tuple[str, ZoneInfo]],
        rules: Sequence[WindowRule],
        now: datetime,
    ) -> datetime | None:
        """The first instant after `now` inside every rule in every zone (None: not within
        `SEARCH_DAYS`). Each window's start in each zone is a candidate; the earliest that
        passes the full check wins."""
        candidates: set[datetime] = set()
        for _, zone in zones:
            first = now.astimezone(zone).date()
            for offset in range(SEARCH_DAYS):
                day = first + timedelta(days=offset)
                for rule in rules:
                    for start, _end in rule.days[day.weekday()]:
                        at = datetime.combine(day, start, tzinfo=zone)
                        # A start inside a spring-forward gap names no instant: fold 0 reads it
                        # with the old offset, which may land before the window; the check
                        # below skips it, and the next candidate is tried.
                        candidates.add(at.astimezone(now.tzinfo))
        for at in sorted(c for c in candidates if c > now):
            local = [(at.astimezone(zone)) for _, zone in zones]
            if all(rule.allows(t) for t in local for rule in rules):
                return at
        return None


def _names(rules: Sequence[WindowRule]) -> str:
    return " and ".join(rule.name for rule in rules)


def _closed_detail(rule: WindowRule, local: datetime, zone: str, count: int) -> str:
    when = f"{DAY_NAMES[local.weekday()]} {local:%Y-%m-%d %H:%M}"
    where = zone if count == 1 else f"{zone} (one of {count} zones of the number)"
    if local.date() in rule.closed_dates:
        return f"{when} in {where}: {local.date()} is closed under {rule.name}"
    window = rule.describe_day(local.weekday())
    return f"{when} in {where} is outside {rule.name} ({window})"


@lru_cache(maxsize=65_536)
def zones_for_number(e164: str) -> tuple[tuple[str, ZoneInfo], ...]:
    """The number's candidate zones, loaded; () when any is unknown (never inside a window).

    One zone this machine cannot load makes the whole answer unknown: the call cannot be shown
    to be inside the window there."""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return ()
    names = phone_timezones.time_zones_for_number(number)
    if not names or UNKNOWN_ZONE in names:
        return ()
    loaded = []
    for name in names:
        try:
            loaded.append((name, ZoneInfo(name)))
        except (ZoneInfoNotFoundError, ValueError):
            return ()
    return tuple(loaded)


@lru_cache(maxsize=65_536)
def region_of(e164: str) -> str | None:
    """The ISO 3166 region of an E.164 number (None when phonenumbers cannot tell)."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except NumberParseException:
        return None
