"""Reading routing rules files: pydantic models of the TOML, then the `RuleSet`.

Defaults ship in `console/data/routing_defaults.toml`; a user file replaces rules of the same
name and adds its own before the defaults (`load_rules`). A bad file raises `RulesError` with
``FILE:LINE: rule 'name': key: message`` (see docs/routing.md for the format).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainValidator, model_validator

from callkit.layered_toml import load_layers
from callkit.located_model import LocatedValueError, validate_located
from callkit.located_toml import KeyPath, LocatedReader, locate_key, text_problem
from callkit.toml_values import (
    boolean,
    choice,
    clock,
    optional,
    strings,
    table_keys,
    text,
    timespan,
    whole,
)

# Aliased: a model field named `window` would shadow it in the class body.
from callkit.toml_values import window as time_window
from console.services.routing.routing_rules import (
    AGENT_REFS,
    DAYS,
    KINDS,
    LIFECYCLES,
    ORIGINS,
    ROLE_REFS,
    STRATEGIES,
    TIERS,
    AgentRef,
    BusinessHours,
    Condition,
    EscalationStep,
    RetryPolicy,
    RoleRef,
    Rule,
    RulesError,
    RuleSet,
    Strategy,
    Target,
)


def load_rules(path: str | None = None) -> RuleSet:
    """The shipped defaults, overridden by the user's file at `path` (if given)."""
    layers = load_layers("console", "routing_defaults.toml", path, _parse, RulesError)
    return _merge(layers.shipped, layers.user)


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


# ------------------------------------------------------------------------ value checks

_TEXT_CONDITIONS: dict[str, tuple[str, ...] | None] = {
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


def _conditions(value: object) -> tuple[Condition, ...]:
    """A rule's `when`, in the order written (explain reports the first that fails)."""
    conditions = []
    for key, raw in table_keys(value, _WHEN_KEYS).items():
        try:
            if key == "time":
                conditions.append(Condition(key, window=time_window(raw)))
            elif key == "business_hours":
                conditions.append(Condition(key, (boolean(raw),)))
            elif key == "priority":
                conditions.append(Condition(key, _priorities(raw)))
            else:
                conditions.append(Condition(key, strings(_TEXT_CONDITIONS[key])(raw)))
        except LocatedValueError as exc:
            raise exc.under(key) from None
    return tuple(conditions)


def _priorities(value: object) -> tuple[int, ...]:
    """1..5 as a number, a list, or a range { min, max }."""
    if isinstance(value, dict):
        bounds = table_keys(value, ("min", "max"))
        if not bounds:
            raise LocatedValueError("give min and/or max")
        ends = []
        for key, default in (("min", 1), ("max", 5)):
            try:
                ends.append(whole(1, 5)(bounds.get(key, default)))
            except LocatedValueError as exc:
                raise exc.under(key) from None
        lo, hi = ends
        if lo > hi:
            raise LocatedValueError(f"min {lo} is above max {hi}")
        return tuple(range(lo, hi + 1))
    items = value if isinstance(value, list) else [value]
    if not items:
        raise LocatedValueError("must not be an empty list")
    return tuple(sorted({whole(1, 5)(v) for v in items}))


def _spacing(value: object) -> tuple[timedelta, ...]:
    if not isinstance(value, list):
        return (timespan(value),)
    if not value:
        raise LocatedValueError("must not be an empty list")
    spaced = []
    for n, item in enumerate(value):
        try:
            spaced.append(timespan(item))
        except LocatedValueError as exc:
            raise exc.under(n) from None
    return tuple(spaced)


def _zone(value: object) -> str:
    name = text()(value)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise LocatedValueError(f"unknown timezone {name!r} (use e.g. Europe/London)") from None
    return name


def _holidays(value: object) -> frozenset[date]:
    if not isinstance(value, list) or not all(
        isinstance(d, date) and not isinstance(d, datetime) for d in value
    ):
        raise LocatedValueError("must be a list of dates like 2025-12-25")
    return frozenset(value)


def _list_of(message: str) -> BeforeValidator:
    def check(value: object) -> object:
        if not isinstance(value, list):
            raise LocatedValueError(message)
        return value

    return BeforeValidator(check)


_Text = Annotated[str | None, PlainValidator(optional(text()))]
_Bool = Annotated[bool, PlainValidator(boolean)]
_Priority = Annotated[int | None, PlainValidator(optional(whole(1, 5)))]
_Span = Annotated[timedelta | None, PlainValidator(optional(timespan))]


# ------------------------------------------------------------------------ the file's models


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Hours(_Table):
    days: Annotated[tuple[str, ...], PlainValidator(strings(DAYS))] = DAYS[:5]
    start: Annotated[time, PlainValidator(clock)] = time(9)
    end: Annotated[time, PlainValidator(clock)] = time(17)
    holidays: Annotated[frozenset[date], PlainValidator(_holidays)] = frozenset()

    @model_validator(mode="after")
    def _ends_after_start(self) -> _Hours:
        if self.end <= self.start:
            raise LocatedValueError("business hours must end after they start", ("end",))
        return self

    def hours(self) -> BusinessHours:
        days = frozenset(DAYS.index(d) for d in self.days)
        return BusinessHours(days, self.start, self.end, self.holidays)


class _Settings(_Table):
    timezone: Annotated[str | None, PlainValidator(optional(_zone))] = None
    business_hours: _Hours | None = None
    due_in: _Span = None


class _Target(_Table):
    queue: _Text = None
    skill: _Text = None
    min_level: Annotated[int, PlainValidator(whole(1, 10))] = 1
    agent: Annotated[AgentRef | None, PlainValidator(optional(choice(AGENT_REFS)))] = None
    only: _Bool = False
    role: Annotated[RoleRef | None, PlainValidator(optional(choice(ROLE_REFS)))] = None

    @model_validator(mode="before")
    @classmethod
    def _not_empty(cls, value: Any) -> Any:
        if value == {}:
            raise LocatedValueError("empty target (give queue, skill, agent or role)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> _Target:
        given = self.model_fields_set
        if "min_level" in given and self.skill is None:
            raise LocatedValueError("min_level needs a skill", ("min_level",), line_only=True)
        if "only" in given and self.agent is None:
            raise LocatedValueError("only needs an agent", ("only",), line_only=True)
        if self.role is not None and (self.queue or self.skill or self.agent):
            message = "a role target takes no queue, skill or agent"
            raise LocatedValueError(message, ("role",), line_only=True)
        if self.agent is not None and not self.only and not (self.queue or self.skill):
            raise LocatedValueError(
                f"agent {self.agent!r} needs a fallback queue or skill, or only = true"
            )
        return self

    def target(self) -> Target:
        return Target(self.queue, self.skill, self.min_level, self.agent, self.only, self.role)


class _RuleTarget(_Target):
    same_queue: _Bool = False  # the follow-up's origin queue when known

    @model_validator(mode="after")
    def _queue_for_same_queue(self) -> _RuleTarget:
        if self.same_queue and self.queue is None:
            raise LocatedValueError("same_queue needs a queue for follow-ups without one")
        return self


class _Retry(_Table):
    attempts: Annotated[int, PlainValidator(whole(1, 20))] = 3
    spacing: Annotated[tuple[timedelta, ...], PlainValidator(_spacing)] = (timedelta(minutes=30),)
    window: Annotated[tuple[time, time] | None, PlainValidator(optional(time_window))] = None


class _Step(_Table):
    after: Annotated[timedelta, PlainValidator(timespan)]
    to: _Target
    priority: _Priority = None


class _RuleEntry(_Table):
    name: Annotated[str, PlainValidator(text(80))]
    enabled: _Bool = True
    when: Annotated[tuple[Condition, ...], PlainValidator(_conditions)] = ()
    target: _RuleTarget | None = None
    strategy: Annotated[Strategy, PlainValidator(choice(STRATEGIES))] = "least_loaded"
    priority: _Priority = None
    due_in: _Span = None
    retry: _Retry | None = None
    escalate: Annotated[
        tuple[_Step, ...], _list_of("must be a list of { after, to, priority } tables")
    ] = ()

    @model_validator(mode="before")
    @classmethod
    def _named(cls, value: Any) -> Any:
        if isinstance(value, dict) and "name" not in value:
            raise LocatedValueError("needs a name")
        return value

    @model_validator(mode="after")
    def _complete(self) -> _RuleEntry:
        if self.target is None and self.enabled:
            raise LocatedValueError("needs a target (queue, skill, agent or role)")
        no_skill = self.target is None or self.target.skill is None
        if self.strategy == "best_skill" and no_skill and self.enabled:
            raise LocatedValueError("best_skill needs a skill in the target", ("strategy",))
        for n, (before, step) in enumerate(zip(self.escalate, self.escalate[1:], strict=False)):
            if step.after <= before.after:
                message = "must be later than the step before"
                raise LocatedValueError(message, ("escalate", n + 1, "after"))
        return self


class _RulesFile(_Table):
    settings: _Settings = _Settings()
    rule: Annotated[list[_RuleEntry], _list_of("use [[rule]] tables, one per rule")] = []
    replace_defaults: _Bool = False

    @model_validator(mode="after")
    def _own_rules(self) -> _RulesFile:
        if self.replace_defaults and not any(r.enabled for r in self.rule):
            message = "replace_defaults = true needs rules of its own"
            raise LocatedValueError(message, ("replace_defaults",))
        return self


# ------------------------------------------------------------------------ the reader


class _Reader(LocatedReader):
    """Validates one rules file; errors name the file, the line of the bad key and the rule."""

    def __init__(self, source: str, text: str) -> None:
        super().__init__(source, text, RulesError)
        self._entries: list[Any] = []

    def key_name(self, path: KeyPath) -> str:
        """Keys inside a rule are named from the rule (the context says which rule)."""
        return super().key_name(path[2:] if path[:1] == ("rule",) else path)

    def fail(self, path: KeyPath, message: str, at: KeyPath | None = None) -> ValueError:
        """As LocatedReader.fail, with the rule the key is in: "rule 'vip': " or "rule #2: "."""
        self.context = ""
        if path[:1] == ("rule",) and len(path) > 1 and isinstance(path[1], int):
            index = path[1]
            entry = self._entries[index] if index < len(self._entries) else None
            name = entry.get("name") if isinstance(entry, dict) else None
            named = name is not None and text_problem(name, 80) is None
            self.context = f"rule {name!r}: " if named else f"rule #{index + 1}: "
        return super().fail(path, message, at)

    def parse(self, *, shipped: bool) -> _File:
        """The whole file, validated."""
        data = self.load()
        entries = data.get("rule")
        self._entries = entries if isinstance(entries, list) else []
        model = validate_located(_RulesFile, data, self)
        seen: dict[str, int] = {}
        rules = []
        for i, entry in enumerate(model.rule):
            if entry.name in seen:
                first = locate_key(self.text, ("rule", seen[entry.name]))
                raise self.fail(("rule", i, "name"), f"duplicate name (also at line {first})")
            seen[entry.name] = i
            rules.append(self._rule(entry, i, shipped))
        settings = model.settings
        return _File(
            rules=tuple(rules),
            timezone=settings.timezone,
            business_hours=None
            if settings.business_hours is None
            else settings.business_hours.hours(),
            due_in=settings.due_in,
            replace_defaults=model.replace_defaults,
        )

    def _rule(self, entry: _RuleEntry, i: int, shipped: bool) -> Rule:
        target = Target() if entry.target is None else entry.target.target()
        conditions = entry.when
        if target.agent is not None and target.agent_only:
            conditions += (Condition("agent", (target.agent,)),)
        retry = entry.retry
        return Rule(
            name=entry.name,
            source=f"{self.source}:{locate_key(self.text, ('rule', i))}",
            target=target,
            conditions=conditions,
            strategy=entry.strategy,
            priority=entry.priority,
            due_in=entry.due_in,
            retry=RetryPolicy()
            if retry is None
            else RetryPolicy(retry.attempts, retry.spacing, retry.window),
            escalation=tuple(
                EscalationStep(s.after, s.to.target(), s.priority) for s in entry.escalate
            ),
            same_queue=entry.target is not None and entry.target.same_queue,
            enabled=entry.enabled,
            shipped=shipped,
        )
