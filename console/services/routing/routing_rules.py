"""Follow-up routing rules as data: which queue, skill or agent a follow-up goes to, and how.

A rules file (TOML) holds ordered rules; the first whose conditions all hold decides. Files
are read by `console.services.routing.rules_file` (`load_rules`); see docs/routing.md.

This module is pure: no database, no clock of its own. The router
(`console.services.routing.router`)
gathers the `FollowUpFacts` from the database and applies the `RouteDecision`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, TypeVar, cast
from zoneinfo import ZoneInfo

from callkit.json_safe import json_safe

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
