"""Follow-up routing rules as data: which queue, skill or agent a follow-up goes to, and how.

A rules file (TOML) holds ordered rules; the first whose conditions all hold decides. Defaults
ship in `console/data/routing_defaults.toml`; a user file replaces rules of the same name and
adds its own before the defaults. See docs/routing.md for the format.

This module is pure: no database, no clock of its own. The router
(`console.services.routing.router`)
gathers the `FollowUpFacts` from the database and applies the `RouteDecision`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, TypeVar, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callkit.json_safe import json_safe
from callkit.layered_toml import load_layers
from callkit.located_toml import KeyPath, LocatedReader, locate_key

Strategy = Literal["least_loaded", "round_robin", "best_skill", "sticky"]
STRATEGIES: tuple[Strategy, ...] = ("least_loaded", "round_robin", "best_skill", "sticky")
# A rule's agent target names a person by their relation to the follow-up.
AgentRef = Literal["account_owner", "handled_by"]
AGENT_REFS: tuple[AgentRef, ...] = ("account_owner", "handled_by")
# Escalation targets beyond queues/skills/agents: people by role.
RoleRef = Literal["team_lead", "supervisor"]
ROLE_REFS: tuple[RoleRef, ...] = ("team_lead", "supervisor")
# Closed vocabularies (as in console.models.enums), so a misspelt value is an error at load.
KINDS = ("callback", "escalation", "task")
TIERS = ("platinum", "gold", "iron", "lead")
LIFECYCLES = ("prospect", "new", "growing", "mature", "declining", "churned")
ORIGINS = ("agent", "abandoned", "overflow", "disposition", "escalation")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_AGENT_WORDS = {"account_owner": "account owner", "handled_by": "agent who took the call"}
_ROLE_WORDS = {"team_lead": "team lead", "supervisor": "supervisor"}
_LONGEST = timedelta(days=366)
_T = TypeVar("_T")


class RulesError(ValueError):
    """A rules file is invalid; the message starts with ``file:line:``."""


@dataclass(frozen=True, slots=True)
class FollowUpFacts:
    """What a rule can match on, gathered by the router for one follow-up."""

    kind: str  # callback | escalation | task
    priority: int  # 1 (most urgent) … 5, as requested
    at: datetime  # when the follow-up is routed (aware UTC); time-of-day rules use the rules' tz
    ticket_category: str | None = None
    tier: str | None = None  # platinum | gold | iron | lead
    language: str | None = None
    lifecycle: str | None = None
    origin_queue: str | None = None  # the queue of the interaction it came from
    disposition: str | None = None  # that interaction's disposition
    origin: str = "agent"  # agent | abandoned | overflow | disposition | escalation
    account_owner_id: int | None = None  # the customer's account owner
    handled_by_id: int | None = None  # the agent who took the call


@dataclass(frozen=True, slots=True)
class Target:
    """Where work goes: a queue, a skill set (with minimum levels), a person, or a role."""

    queue: str | None = None
    skill: str | None = None  # an agent skill, with a minimum level
    min_level: int = 1  # 1-10
    agent: AgentRef | None = None
    agent_only: bool = False  # only that agent, never the pool (needs `agent`)
    role: RoleRef | None = None

    def describe(self) -> str:
        """One line for people: "queue billing", "skill support >= 5", "account owner only"."""
        pool = []
        if self.queue:
            pool.append(f"queue {self.queue}")
        if self.skill:
            level = f" >= {self.min_level}" if self.min_level > 1 else ""
            pool.append(f"skill {self.skill}{level}")
        if self.role:
            pool.append(_ROLE_WORDS[self.role])
        where = " with ".join(pool)
        if self.agent is None:
            return where or "nowhere"
        person = _AGENT_WORDS[self.agent]
        return f"{person} only" if self.agent_only or not where else f"{person}, else {where}"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """A callback's dialling policy: how many attempts, how far apart, within what hours."""

    attempts: int = 3
    spacing: tuple[timedelta, ...] = (timedelta(minutes=30),)  # last value repeats
    window: tuple[time, time] | None = None  # local calling window [start, end)

    def next_attempt(self, after: datetime, attempt: int, tz: str) -> datetime | None:
        """When attempt number `attempt` (1-based, the next one) may be dialled, or None when
        the attempts are used up; pushed into the calling window if outside it."""
        if attempt < 1:
            raise ValueError(f"attempts are numbered from 1, not {attempt}")
        if after.utcoffset() is None:
            raise ValueError("`after` must be timezone-aware")
        if attempt > self.attempts:
            return None
        when = after
        if attempt > 1:
            when += self.spacing[min(attempt - 2, len(self.spacing) - 1)]
        if self.window is None:
            return when
        zone = ZoneInfo(tz)
        local = when.astimezone(zone)
        start, end = self.window
        if _in_window(local.time(), start, end):
            return when
        # Wall-clock arithmetic in the zone, so a DST change keeps the opening at its hour.
        opening = datetime.combine(local.date(), start, zone)
        if opening <= local:
            opening = datetime.combine(local.date() + timedelta(days=1), start, zone)
        return opening.astimezone(after.tzinfo)


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """Overdue by `after` → the follow-up is re-targeted to `to` (and its priority raised)."""

    after: timedelta
    to: Target
    priority: int | None = None


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """What the first matching rule says, and why it matched."""

    rule: str
    source: str  # "file:line" of the rule
    target: Target
    strategy: Strategy
    priority: int
    due_in: timedelta  # SLA: must be done within this of routing
    retry: RetryPolicy
    escalation: tuple[EscalationStep, ...]
    reasons: tuple[str, ...]  # each condition that held, in words ("tier is gold")

    def as_json(self) -> dict[str, object]:
        """A JSON-safe snapshot (stored on the follow-up; read back by `from_json`): its
        fields by name, durations in seconds, the calling window as ["HH:MM", "HH:MM"]."""
        snapshot: dict[str, object] = json_safe(self)
        return snapshot

    @classmethod
    def from_json(cls, data: dict[str, object]) -> RouteDecision:
        """The decision `as_json` stored; ValueError if `data` is not one."""
        retry = _get(data, "retry", dict)
        window = _get_optional(retry, "window", list)
        if window is not None and len(window) != 2:
            raise ValueError("stored route decision: 'window' needs a start and an end")
        return cls(
            rule=_get(data, "rule", str),
            source=_get(data, "source", str),
            target=_target_from_json(_get(data, "target", dict)),
            strategy=_one_of(_get(data, "strategy", str), STRATEGIES),
            priority=_get(data, "priority", int),
            due_in=_duration_json(data.get("due_in")),
            retry=RetryPolicy(
                attempts=_get(retry, "attempts", int),
                spacing=tuple(_duration_json(s) for s in _get(retry, "spacing", list)),
                window=None if window is None else (_time_json(window[0]), _time_json(window[1])),
            ),
            escalation=tuple(
                EscalationStep(
                    after=_duration_json(step.get("after")),
                    to=_target_from_json(_get(step, "to", dict)),
                    priority=_get_optional(step, "priority", int),
                )
                for step in (_as(s, dict, "escalation") for s in _get(data, "escalation", list))
            ),
            reasons=tuple(_as(r, str, "reasons") for r in _get(data, "reasons", list)),
        )


@dataclass(frozen=True, slots=True)
class RuleTrace:
    """One rule's verdict for `explain`: matched, or the first condition that failed."""

    rule: str
    source: str
    matched: bool
    detail: str  # "matched: kind is callback, tier is gold" / "tier is iron, not gold/platinum"


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """When the contact center is open, in the rules' timezone."""

    days: frozenset[int] = frozenset(range(5))  # 0 = Monday
    start: time = time(9)
    end: time = time(17)
    holidays: frozenset[date] = frozenset()

    def contains(self, local: datetime) -> bool:
        """Whether the local wall-clock time `local` is within business hours."""
        return (
            local.weekday() in self.days
            and local.date() not in self.holidays
            and self.start <= local.time() < self.end
        )


@dataclass(frozen=True, slots=True)
class Condition:
    """One test of a rule's `when`: the fact `key` is any of `values` (or within `window`)."""

    key: str  # a `when` key, or "agent" (the rule's only-this-agent target must exist)
    values: tuple[str | int | bool, ...] = ()
    window: tuple[time, time] = (time(0), time(0))  # for key "time"

    def check(self, facts: FollowUpFacts, rules: RuleSet) -> tuple[bool, str]:
        """Whether it holds for `facts`, and that in words."""
        if self.key == "time":
            now = rules.local(facts.at).time()
            inside = _in_window(now, *self.window)
            where = "within" if inside else "outside"
            return inside, f"local time {now:%H:%M} is {where} {_window_text(self.window)}"
        if self.key == "business_hours":
            inside = rules.in_business_hours(facts.at)
            return inside == self.values[0], f"{'within' if inside else 'outside'} business hours"
        if self.key == "agent":
            ref = str(self.values[0])
            known = getattr(facts, f"{ref}_id") is not None
            return known, f"{'has' if known else 'no'} {_AGENT_WORDS[ref]}"
        actual = (
            DAYS[rules.local(facts.at).weekday()]
            if self.key == "days"
            else getattr(facts, self.key)
        )
        label = "day" if self.key == "days" else self.key.replace("_", " ")
        if actual in self.values:
            return True, f"{label} is {actual}"
        shown = "unknown" if actual is None else actual
        return False, f"{label} is {shown}, not {_any_of(self.values)}"


@dataclass(frozen=True, slots=True)
class Rule:
    """One validated `[[rule]]`: conditions that must all hold, and what to do then."""

    name: str
    source: str  # "file:line" of its [[rule]] header
    target: Target
    conditions: tuple[Condition, ...] = ()
    strategy: Strategy = "least_loaded"
    priority: int | None = None  # None: keep the follow-up's own
    due_in: timedelta | None = None  # None: the rule set's default SLA
    retry: RetryPolicy = RetryPolicy()
    escalation: tuple[EscalationStep, ...] = ()
    same_queue: bool = False  # the follow-up's origin queue when known, else `target.queue`
    enabled: bool = True  # a disabled user rule removes the default of the same name
    shipped: bool = False  # from the shipped defaults

    @property
    def matches_everything(self) -> bool:
        """A catch-all: no conditions at all."""
        return not self.conditions


@dataclass(frozen=True)
class RuleSet:
    """Loaded, validated rules in evaluation order, plus the calendar they use."""

    rules: tuple[Rule, ...] = field(default=())
    timezone: str = "UTC"
    business_hours: BusinessHours = BusinessHours()
    due_in: timedelta = timedelta(days=1)  # SLA of rules that set none

    def route(self, facts: FollowUpFacts) -> RouteDecision:
        """The first matching rule's decision; RulesError when no rule matches."""
        for rule in self.rules:
            held, words = self._check(rule, facts)
            if held:
                target = rule.target
                if rule.same_queue and facts.origin_queue:
                    target = replace(target, queue=facts.origin_queue)
                return RouteDecision(
                    rule=rule.name,
                    source=rule.source,
                    target=target,
                    strategy=rule.strategy,
                    priority=facts.priority if rule.priority is None else rule.priority,
                    due_in=self.due_in if rule.due_in is None else rule.due_in,
                    retry=rule.retry,
                    escalation=rule.escalation,
                    reasons=words,
                )
        raise RulesError(
            f"no rule matched the {facts.kind} follow-up (priority {facts.priority}); "
            "end the rules with one that matches everything"
        )

    def escalation_due(
        self, at: datetime, *, disposition: str | None = None, handled_by_id: int | None = None
    ) -> timedelta:
        """How long an escalation raised now (by an agent's wrap-up) has: its rule's SLA."""
        facts = FollowUpFacts(
            kind="escalation",
            priority=2,
            at=at,
            disposition=disposition,
            handled_by_id=handled_by_id,
        )
        return self.route(facts).due_in

    def explain(self, facts: FollowUpFacts) -> list[RuleTrace]:
        """Each rule's verdict in order, up to and including the first match."""
        traces = []
        for rule in self.rules:
            held, words = self._check(rule, facts)
            detail = f"matched: {', '.join(words)}" if held else words[0]
            traces.append(RuleTrace(rule.name, rule.source, held, detail))
            if held:
                break
        return traces

    def in_business_hours(self, at: datetime) -> bool:
        """Whether the aware time `at` falls within business hours in the rules' timezone."""
        return self.business_hours.contains(self.local(at))

    def local(self, at: datetime) -> datetime:
        """`at` (aware) as wall-clock time in the rules' timezone."""
        if at.utcoffset() is None:
            raise ValueError("routing times must be timezone-aware")
        return at.astimezone(ZoneInfo(self.timezone))

    def warnings(self) -> list[str]:
        """Legal but suspicious: rules that can fall through, or that are never reached."""
        if not self.rules:
            return ["warning: no rules, so no follow-up is routed"]
        catch_all = next((r for r in self.rules if r.matches_everything), None)
        if catch_all is None:
            return [
                f"{self.rules[-1].source}: warning: no rule matches everything, "
                "so a follow-up that matches none is not routed"
            ]
        after = self.rules[self.rules.index(catch_all) + 1 :]
        return [
            f"{r.source}: warning: rule {r.name!r} is never reached "
            f"(rule {catch_all.name!r} before it matches everything)"
            for r in after
        ]

    def _check(self, rule: Rule, facts: FollowUpFacts) -> tuple[bool, tuple[str, ...]]:
        """(True, what held) or (False, (the first condition that failed,))."""
        held = []
        for condition in rule.conditions:
            ok, words = condition.check(facts, self)
            if not ok:
                return False, (words,)
            held.append(words)
        return True, tuple(held) or ("matches everything",)


def load_rules(path: str | None = None) -> RuleSet:
    """The shipped defaults, overridden by the user's file at `path` (if given)."""
    layers = load_layers("console", "routing_defaults.toml", path, _parse, RulesError)
    return _merge(layers.shipped, layers.user)


# ---------------------------------------------------------------- loading


@dataclass(frozen=True, slots=True)
class _File:
    """One parsed rules file; None settings are left to the defaults."""

    rules: tuple[Rule, ...]
    timezone: str | None = None
    business_hours: BusinessHours | None = None
    due_in: timedelta | None = None
    replace_defaults: bool = False


def _parse(source: str, text: str, shipped: bool) -> _File:
    return _Reader(source, text).parse(shipped=shipped)


def _merge(defaults: _File, user: _File | None) -> RuleSet:
    """User rules replace defaults of the same name in place; new ones go first."""
    if user is None:
        rules = list(defaults.rules)
    elif user.replace_defaults:
        rules = list(user.rules)
    else:
        replacing = {r.name: r for r in user.rules}
        known = {r.name for r in defaults.rules}
        rules = [r for r in user.rules if r.name not in known]
        rules += [replacing.get(r.name, r) for r in defaults.rules]
    own = defaults if user is None else user
    return RuleSet(
        rules=tuple(r for r in rules if r.enabled),
        timezone=own.timezone or defaults.timezone or "UTC",
        business_hours=own.business_hours or defaults.business_hours or BusinessHours(),
        due_in=own.due_in or defaults.due_in or timedelta(days=1),
    )


_TOP_KEYS = ("settings", "rule", "replace_defaults")
_SETTINGS_KEYS = ("timezone", "business_hours", "due_in")
_HOURS_KEYS = ("days", "start", "end", "holidays")
_RULE_KEYS = "name enabled when target strategy priority due_in retry escalate".split()
_TEXT_CONDITIONS = {
    "kind": KINDS,
    "ticket_category": None,
    "tier": TIERS,
    "language": None,
    "lifecycle": LIFECYCLES,
    "origin_queue": None,
    "disposition": None,
    "origin": ORIGINS,
    "days": DAYS,
}
_WHEN_KEYS = (*_TEXT_CONDITIONS, "priority", "business_hours", "time")
_TARGET_KEYS = ("queue", "skill", "min_level", "agent", "only", "role")
_RETRY_KEYS = ("attempts", "spacing", "window")
_STEP_KEYS = ("after", "to", "priority")


class _Reader(LocatedReader):
    """Validates one rules file; errors name the file and the line of the bad key."""

    def __init__(self, source: str, text: str) -> None:
        super().__init__(source, text, RulesError)

    def key_name(self, path: KeyPath) -> str:
        """Keys inside a rule are named from the rule (the context says which rule)."""
        return super().key_name(path[2:] if path[:1] == ("rule",) else path)

    def parse(self, *, shipped: bool) -> _File:
        """The whole file, validated."""
        data = self.load()
        self.table(data, (), _TOP_KEYS)
        settings = self.table(data.get("settings", {}), ("settings",), _SETTINGS_KEYS)
        entries = data.get("rule", [])
        if not isinstance(entries, list):
            raise self.fail(("rule",), "use [[rule]] tables, one per rule")
        rules: list[Rule] = []
        seen: dict[str, int] = {}
        for i, entry in enumerate(entries):
            rule = self.rule_entry(entry, i, shipped)
            if rule.name in seen:
                first = locate_key(self.text, ("rule", seen[rule.name]))
                raise self.fail(("rule", i, "name"), f"duplicate name (also at line {first})")
            seen[rule.name] = i
            rules.append(rule)
            self.context = ""
        replace_all = self.boolean(data.get("replace_defaults", False), ("replace_defaults",))
        if replace_all and not any(r.enabled for r in rules):
            raise self.fail(("replace_defaults",), "replace_defaults = true needs rules of its own")
        zone, hours, due_in = (settings.get(k) for k in _SETTINGS_KEYS)
        return _File(
            rules=tuple(rules),
            timezone=None if zone is None else self.zone(zone),
            business_hours=None if hours is None else self.hours(hours),
            due_in=None if due_in is None else self.timespan(due_in, ("settings", "due_in")),
            replace_defaults=replace_all,
        )

    # ------------------------------------------------------------ values

    def timespan(self, value: object, path: KeyPath) -> timedelta:
        """A duration more than 0 and at most 366 days."""
        seconds = self.duration(value, path)
        if not 0 < seconds <= _LONGEST.total_seconds():
            raise self.fail(path, f"must be more than 0 and at most 366d (got {value!r})")
        return timedelta(seconds=seconds)

    def zone(self, value: object) -> str:
        """An IANA timezone name known to zoneinfo."""
        path = ("settings", "timezone")
        name = self.string(value, path)
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail(path, f"unknown timezone {name!r} (use e.g. Europe/London)") from None
        return name

    def hours(self, value: object) -> BusinessHours:
        """The [settings] business_hours table."""
        path: KeyPath = ("settings", "business_hours")
        hours = self.table(value, path, _HOURS_KEYS)
        days = self.strings(hours.get("days", list(DAYS[:5])), (*path, "days"), DAYS)
        start = self.clock(hours.get("start", "09:00"), (*path, "start"))
        end = self.clock(hours.get("end", "17:00"), (*path, "end"))
        if end <= start:
            raise self.fail((*path, "end"), "business hours must end after they start")
        holidays = hours.get("holidays", [])
        if not isinstance(holidays, list) or not all(
            isinstance(d, date) and not isinstance(d, datetime) for d in holidays
        ):
            raise self.fail((*path, "holidays"), "must be a list of dates like 2025-12-25")
        return BusinessHours(
            frozenset(DAYS.index(d) for d in days), start, end, frozenset(holidays)
        )

    # ------------------------------------------------------------ rules

    def rule_entry(self, entry: object, i: int, shipped: bool) -> Rule:
        """One [[rule]] table."""
        path: KeyPath = ("rule", i)
        self.context = f"rule #{i + 1}: "
        table = self.table(entry, path, _RULE_KEYS)
        if "name" not in table:
            raise self.fail(path, "needs a name")
        name = self.string(table["name"], (*path, "name"), limit=80)
        self.context = f"rule {name!r}: "
        enabled = self.boolean(table.get("enabled", True), (*path, "enabled"))
        conditions = self.when(table.get("when", {}), (*path, "when"))
        target, same_queue = Target(), False
        if "target" in table:
            target, same_queue = self.target(table["target"], (*path, "target"), rule=True)
        elif enabled:
            raise self.fail(path, "needs a target (queue, skill, agent or role)")
        if target.agent is not None and target.agent_only:
            conditions += (Condition("agent", (target.agent,)),)
        strategy = self.choice(
            table.get("strategy", "least_loaded"), (*path, "strategy"), STRATEGIES
        )
        if strategy == "best_skill" and target.skill is None and enabled:
            raise self.fail((*path, "strategy"), "best_skill needs a skill in the target")
        priority, due_in, retry = table.get("priority"), table.get("due_in"), table.get("retry")
        return Rule(
            name=name,
            source=f"{self.source}:{locate_key(self.text, path)}",
            target=target,
            conditions=conditions,
            strategy=strategy,
            priority=None
            if priority is None
            else self.integer(priority, (*path, "priority"), 1, 5),
            due_in=None if due_in is None else self.timespan(due_in, (*path, "due_in")),
            retry=RetryPolicy() if retry is None else self.retry(retry, path),
            escalation=self.escalation(table.get("escalate", []), (*path, "escalate")),
            same_queue=same_queue,
            enabled=enabled,
            shipped=shipped,
        )

    def when(self, value: object, path: KeyPath) -> tuple[Condition, ...]:
        """The conditions, in the order written (explain reports the first that fails)."""
        conditions = []
        for key, raw in self.table(value, path, _WHEN_KEYS).items():
            where = (*path, key)
            if key == "time":
                conditions.append(Condition(key, window=self.window(raw, where)))
            elif key == "business_hours":
                conditions.append(Condition(key, (self.boolean(raw, where),)))
            elif key == "priority":
                conditions.append(Condition(key, self.priorities(raw, where)))
            else:
                conditions.append(
                    Condition(key, tuple(self.strings(raw, where, _TEXT_CONDITIONS[key])))
                )
        return tuple(conditions)

    def priorities(self, value: object, path: KeyPath) -> tuple[int, ...]:
        """1..5 as a number, a list, or a range { min, max }."""
        if isinstance(value, dict):
            bounds = self.table(value, path, ("min", "max"))
            if not bounds:
                raise self.fail(path, "give min and/or max")
            lo = self.integer(bounds.get("min", 1), (*path, "min"), 1, 5)
            hi = self.integer(bounds.get("max", 5), (*path, "max"), 1, 5)
            if lo > hi:
                raise self.fail(path, f"min {lo} is above max {hi}")
            return tuple(range(lo, hi + 1))
        items = value if isinstance(value, list) else [value]
        if not items:
            raise self.fail(path, "must not be an empty list")
        return tuple(sorted({self.integer(v, path, 1, 5) for v in items}))

    def target(self, value: object, path: KeyPath, *, rule: bool) -> tuple[Target, bool]:
        """A target table; `same_queue` only in a rule's own target."""
        keys = (*_TARGET_KEYS, "same_queue") if rule else _TARGET_KEYS
        t = self.table(value, path, keys)
        if not t:
            raise self.fail(path, "empty target (give queue, skill, agent or role)")
        queue = self.string(t["queue"], (*path, "queue")) if "queue" in t else None
        skill = self.string(t["skill"], (*path, "skill")) if "skill" in t else None
        level = self.integer(t.get("min_level", 1), (*path, "min_level"), 1, 10)
        agent = self.choice(t["agent"], (*path, "agent"), AGENT_REFS) if "agent" in t else None
        only = self.boolean(t.get("only", False), (*path, "only"))
        role = self.choice(t["role"], (*path, "role"), ROLE_REFS) if "role" in t else None
        same_queue = self.boolean(t.get("same_queue", False), (*path, "same_queue"))
        if "min_level" in t and skill is None:
            raise self.fail(path, "min_level needs a skill", (*path, "min_level"))
        if "only" in t and agent is None:
            raise self.fail(path, "only needs an agent", (*path, "only"))
        if role is not None and (queue or skill or agent):
            raise self.fail(path, "a role target takes no queue, skill or agent", (*path, "role"))
        if same_queue and queue is None:
            raise self.fail(path, "same_queue needs a queue for follow-ups without one")
        if agent is not None and not only and not (queue or skill):
            raise self.fail(
                path, f"agent {agent!r} needs a fallback queue or skill, or only = true"
            )
        target = Target(queue, skill, level, agent, only, role)
        return target, same_queue

    def retry(self, value: object, rule: KeyPath) -> RetryPolicy:
        """The retry table of a callback rule."""
        path = (*rule, "retry")
        t = self.table(value, path, _RETRY_KEYS)
        raw, at = t.get("spacing", "30m"), (*path, "spacing")
        if isinstance(raw, list):
            spacing = tuple(self.timespan(s, (*at, n)) for n, s in enumerate(raw))
        else:
            spacing = (self.timespan(raw, at),)
        if not spacing:
            raise self.fail(at, "must not be an empty list")
        return RetryPolicy(
            attempts=self.integer(t.get("attempts", 3), (*path, "attempts"), 1, 20),
            spacing=spacing,
            window=self.window(t["window"], (*path, "window")) if "window" in t else None,
        )

    def escalation(self, value: object, path: KeyPath) -> tuple[EscalationStep, ...]:
        """Escalation steps, each later than the one before."""
        if not isinstance(value, list):
            raise self.fail(path, "must be a list of { after, to, priority } tables")
        steps: list[EscalationStep] = []
        for n, item in enumerate(value):
            step = (*path, n)
            t = self.table(item, step, _STEP_KEYS)
            for key in ("after", "to"):
                if key not in t:
                    raise self.fail(step, f"needs {key!r}")
            after = self.timespan(t["after"], (*step, "after"))
            if steps and after <= steps[-1].after:
                raise self.fail((*step, "after"), "must be later than the step before")
            to, _ = self.target(t["to"], (*step, "to"), rule=False)
            level = (
                self.integer(t["priority"], (*step, "priority"), 1, 5) if "priority" in t else None
            )
            steps.append(EscalationStep(after, to, level))
        return tuple(steps)


# ---------------------------------------------------------------- helpers


def _in_window(now: time, start: time, end: time) -> bool:
    """[start, end) on the clock; a window with end < start crosses midnight."""
    return start <= now < end if start < end else (now >= start or now < end)


def _window_text(window: tuple[time, time]) -> str:
    return f"{window[0]:%H:%M}-{window[1]:%H:%M}"


def _any_of(values: Iterable[object]) -> str:
    items = [str(v) for v in values]
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def _target_from_json(data: dict[str, Any]) -> Target:
    agent = _get_optional(data, "agent", str)
    role = _get_optional(data, "role", str)
    return Target(
        queue=_get_optional(data, "queue", str),
        skill=_get_optional(data, "skill", str),
        min_level=_get(data, "min_level", int),
        agent=None if agent is None else _one_of(agent, AGENT_REFS),
        agent_only=_get(data, "agent_only", bool),
        role=None if role is None else _one_of(role, ROLE_REFS),
    )


def _as(value: object, kind: type[_T], key: str) -> _T:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"stored route decision: bad {key!r}: {value!r}")
    return value


def _get(data: dict[str, Any], key: str, kind: type[_T]) -> _T:
    return _as(data.get(key), kind, key)


def _get_optional(data: dict[str, Any], key: str, kind: type[_T]) -> _T | None:
    value = data.get(key)
    return None if value is None else _as(value, kind, key)


def _one_of(value: str, options: Sequence[_T]) -> _T:
    if value not in options:
        raise ValueError(f"stored route decision: unknown value {value!r}")
    return cast(_T, value)


def _duration_json(value: object) -> timedelta:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"stored route decision: bad duration {value!r}")
    return timedelta(seconds=value)


def _time_json(value: object) -> time:
    try:
        return time.fromisoformat(_as(value, str, "window"))
    except ValueError:
        raise ValueError(f"stored route decision: bad time {value!r}") from None
