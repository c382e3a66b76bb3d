"""Training rubrics in scenario files: what a trainee's run is scored on (docs/scenarios.md).

`[rubric]` has a `pass_mark` and `[[rubric.criteria]]` tables; each criterion has an id, a kind,
a weight, an optional scripted `call` and its kind's parameters. They are validated when the
scenario loads (`RubricTable`, with the scenario's calls and queues as pydantic validation
context), with errors as ``file:line: message``; console/services/training/scoring.py scores
a run.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainValidator, ValidationInfo, model_validator

from callkit.located_model import LocatedValueError
from callkit.scenario_reader import (
    Table,
    TextCheck,
    boolean,
    duration,
    number,
    number_named,
    string,
)

if TYPE_CHECKING:
    from callkit.specs import QueueSpec, ScriptedCall

DIFFICULTIES = ("easy", "medium", "hard")
#: What a rubric criterion can check about one scripted call (docs/scenarios.md, "Rubric").
CRITERION_KINDS = (
    "disposition",
    "ticket_created",
    "followup_created",
    "identity",
    "answer_within",
    "hold_at_most",
    "wrapup_at_most",
    "note_keywords",
    "transferred_to",
    "not_abandoned",
)
# Closed vocabularies of the console (console.models.enums), repeated here so a misspelt value
# is an error at load: the simulator does not import console.models.
FOLLOWUP_KINDS = ("callback", "escalation", "task")
TICKET_PRIORITIES = ("low", "normal", "high", "urgent")  # in rising order
IDENTITY_OUTCOMES = ("confirmed", "customer_created")


@dataclass(frozen=True)
class Criterion:
    """One line of a rubric: what a good trainee does on scripted calls, and its weight.

    `calls` are the scripted call ids it applies to (every scripted call when the file names
    none); it passes only when each of them satisfies it. Only the fields of its `kind` are set.
    """

    id: str
    kind: str
    label: str
    calls: tuple[str, ...]
    weight: float = 1.0
    codes: tuple[str, ...] = ()  # disposition: any of these codes
    category: str = ""  # ticket_created
    priority: str = ""  # ticket_created: at least this priority ("" = any)
    followup: str = ""  # followup_created: callback | escalation | task
    routed_to: str = ""  # followup_created: the queue or skill it was routed to ("" = any)
    outcome: str = ""  # identity: confirmed | customer_created
    seconds: float = 0.0  # answer_within, hold_at_most, wrapup_at_most: the limit (inclusive)
    keywords: tuple[str, ...] = ()  # note_keywords
    any_keyword: bool = False  # note_keywords: one keyword is enough (default: all)
    targets: tuple[str, ...] = ()  # transferred_to: accepted targets (queue name + extension)


@dataclass(frozen=True)
class Rubric:
    """How a trainee's run of a scenario is scored: weighted criteria and a pass mark (0-100)."""

    criteria: tuple[Criterion, ...]
    pass_mark: float = 80.0

    @property
    def total_weight(self) -> float:
        """The sum of the criteria's weights (the denominator of the score)."""
        return sum(c.weight for c in self.criteria)


_KIND_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "disposition": (("code",), ()),
    "ticket_created": (("category",), ("priority",)),
    "followup_created": (("followup",), ("routed_to",)),
    "identity": (("outcome",), ()),
    "answer_within": (("seconds",), ()),
    "hold_at_most": (("seconds",), ()),
    "wrapup_at_most": (("seconds",), ()),
    "note_keywords": (("keywords",), ("any",)),
    "transferred_to": (("to",), ()),
    "not_abandoned": ((), ()),
}


_CRITERION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,59}")
_DISPOSITION_CODE = re.compile(r"[a-z0-9_]{1,40}")  # as console.config.DispositionSetting
_EXTENSION = re.compile(r"[0-9*#+]{1,20}")


def describe_criterion(c: Criterion) -> str:
    """A criterion in words, its label when the file gives none ("On hold 60 s at most")."""
    if c.kind == "disposition":
        return "Disposition " + " or ".join(c.codes)
    if c.kind == "ticket_created":
        wanted = f", priority {c.priority} or higher" if c.priority else ""
        return f"Ticket opened in category {c.category}{wanted}"
    if c.kind == "followup_created":
        routed = f", routed to {c.routed_to}" if c.routed_to else ""
        return f"{c.followup.capitalize()} follow-up created{routed}"
    if c.kind == "identity":
        if c.outcome == "confirmed":
            return "Caller's customer record confirmed"
        return "Customer record created for the caller"
    if c.kind == "answer_within":
        return f"Answered within {c.seconds:g} s of ringing"
    if c.kind == "hold_at_most":
        return f"On hold {c.seconds:g} s at most"
    if c.kind == "wrapup_at_most":
        return f"Wrap-up done within {c.seconds:g} s"
    if c.kind == "note_keywords":
        shown = ", ".join(k.replace("|", " or ") for k in c.keywords)
        return f"Notes mention {'any' if c.any_keyword else 'all'} of: {shown}"
    if c.kind == "transferred_to":
        return f"Transferred to {c.targets[0]}"
    return "Caller did not hang up before being answered"


@dataclass(frozen=True, slots=True)
class RubricContext:
    """What a rubric is validated against: the scenario's scripted calls and queues."""

    calls: tuple[ScriptedCall, ...]
    queues: tuple[QueueSpec, ...]


def _context(info: ValidationInfo) -> RubricContext:
    context = info.context
    if not isinstance(context, RubricContext):
        raise TypeError("a rubric is validated with context=RubricContext(calls, queues)")
    return context


def _text(limit: int) -> TextCheck:
    """A single-line string of 1 to ``limit`` printable characters."""

    def check(value: object, info: ValidationInfo) -> str:
        word = string(value, info)
        if not word.strip() or len(word) > limit or not word.isprintable():
            raise LocatedValueError(
                f"{info.field_name!r} must be 1 to {limit} printable characters"
            )
        return word

    return check


def _choice(options: tuple[str, ...]) -> TextCheck:
    """One of ``options`` ("unknown priority 'x' (use low, …)")."""

    def check(value: object, info: ValidationInfo) -> str:
        word = string(value, info)
        if word not in options:
            raise LocatedValueError(
                f"unknown {info.field_name} {word!r} (use {', '.join(options)})"
            )
        return word

    return check


def _criterion_id(value: object, info: ValidationInfo) -> str:
    word = _text(60)(value, info)
    if not _CRITERION_ID.fullmatch(word):
        raise LocatedValueError("id must be letters, digits and _ . : - (at most 60)")
    return word


def _weight(value: object, info: ValidationInfo) -> float:
    weight = number(0.0, 1000.0)(value, info)
    if weight <= 0:
        raise LocatedValueError("weight must be greater than 0")
    return weight


def _codes(value: object) -> tuple[str, ...]:
    codes = value if isinstance(value, list) else [value]
    if not codes or not all(isinstance(x, str) and _DISPOSITION_CODE.fullmatch(x) for x in codes):
        raise LocatedValueError("code must be a disposition code (a-z, 0-9, _) or a list of them")
    return tuple(dict.fromkeys(codes))


def _seconds(value: object, info: ValidationInfo) -> float:
    """A limit in seconds; only hold_at_most may be 0."""
    seconds = duration(value)
    kind = info.data.get("kind")
    if not math.isfinite(seconds) or (seconds <= 0 and kind != "hold_at_most"):
        floor = ">= 0" if kind == "hold_at_most" else "> 0"
        raise LocatedValueError(f"seconds must be a finite duration {floor}")
    return seconds


def _keywords(value: object) -> tuple[str, ...]:
    """Each keyword is a word, or a list of phrasings any of which counts
    (["twice", "double charged"]); kept as one "twice|double charged" entry."""
    entries = [w if isinstance(w, list) else [w] for w in value] if isinstance(value, list) else []
    if not entries or not all(
        alts
        and all(
            isinstance(w, str) and w.strip() and len(w) <= 60 and w.isprintable() and "|" not in w
            for w in alts
        )
        for alts in entries
    ):
        raise LocatedValueError(
            "keywords must be a non-empty list of words (or lists of phrasings)"
        )
    return tuple("|".join(w.strip() for w in alts) for alts in entries)


def _scripted_call(value: object, info: ValidationInfo) -> str:
    """The id of one of the scenario's scripted calls."""
    call_id = string(value, info)
    calls = _context(info).calls
    if all(c.id != call_id for c in calls):
        ids = ", ".join(c.id for c in calls)
        raise LocatedValueError(f"no scripted call {call_id!r} (the calls are {ids})")
    return call_id


def _kind(value: object, info: ValidationInfo) -> str:
    return string(value, info)  # known to be one of CRITERION_KINDS (_CriterionEntry._keys)


_Text = Annotated[str | None, PlainValidator(_text(80))]


class _CriterionEntry(BaseModel):
    """One ``[[rubric.criteria]]`` table; the keys allowed depend on its kind."""

    model_config = ConfigDict(extra="forbid")

    kind: Annotated[str, PlainValidator(_kind)]
    id: Annotated[str, PlainValidator(_criterion_id)]
    weight: Annotated[float, PlainValidator(_weight)] = 1.0
    call: Annotated[str | None, PlainValidator(_scripted_call)] = None
    label: Annotated[str | None, PlainValidator(_text(120))] = None
    code: Annotated[tuple[str, ...], PlainValidator(_codes)] = ()
    category: Annotated[str | None, PlainValidator(_text(40))] = None
    priority: Annotated[str, PlainValidator(_choice(TICKET_PRIORITIES))] = ""
    followup: Annotated[str, PlainValidator(_choice(FOLLOWUP_KINDS))] = ""
    routed_to: _Text = None
    outcome: Annotated[str, PlainValidator(_choice(IDENTITY_OUTCOMES))] = ""
    seconds: Annotated[float, PlainValidator(_seconds)] = 0.0
    keywords: Annotated[tuple[str, ...], PlainValidator(_keywords)] = ()
    any: Annotated[bool, PlainValidator(boolean)] = False
    to: _Text = None

    @model_validator(mode="before")
    @classmethod
    def _keys(cls, value: Any) -> Any:
        """The kind first: it says which keys the criterion takes and needs."""
        if not isinstance(value, dict):
            raise LocatedValueError("must be a table")
        kind = value.get("kind")
        if kind is None:
            raise LocatedValueError("'kind' is required")
        if not isinstance(kind, str):
            raise LocatedValueError("'kind' must be a string", ("kind",))
        if kind not in CRITERION_KINDS:
            message = f"unknown kind {kind!r} (use {', '.join(CRITERION_KINDS)})"
            raise LocatedValueError(message, ("kind",))
        required, optional = _KIND_KEYS[kind]
        allowed = {"id", "kind", "weight", "call", "label", *required, *optional}
        for key in value:
            if key not in allowed:
                expected = ", ".join(sorted(allowed))
                raise LocatedValueError(f"unknown key {key!r} (expected one of {expected})", (key,))
        for key in ("id", *required):
            if key not in value:
                raise LocatedValueError(f"a criterion of kind {kind!r} needs {key!r}")
        return value

    @model_validator(mode="after")
    def _fits_the_scenario(self, info: ValidationInfo) -> _CriterionEntry:
        """The call exists; an identity outcome fits its callers; a transfer target exists."""
        context = _context(info)
        calls = self.scored(context)
        if self.kind == "identity":
            for call in calls:
                if (call.customer_id is not None) != (self.outcome == "confirmed"):
                    hint = (
                        "its caller is a known customer (use 'confirmed')"
                        if call.customer_id is not None
                        else "it has no customer_id, an unknown caller (use 'customer_created')"
                    )
                    message = f"{self.outcome!r} does not fit call {call.id!r}: {hint}"
                    raise LocatedValueError(message, ("outcome",))
        if self.kind == "transferred_to":
            self.targets(context)
        return self

    def scored(self, context: RubricContext) -> tuple[ScriptedCall, ...]:
        """The scripted calls it applies to: its ``call``, or every one."""
        if self.call is None:
            return context.calls
        return tuple(c for c in context.calls if c.id == self.call)[:1]  # _scripted_call

    def targets(self, context: RubricContext) -> tuple[str, ...]:
        """What `to` accepts: a queue by name or extension (either then matches), or an
        extension."""
        to = str(self.to)
        for q in context.queues:
            if to in (q.name, q.extension):
                return tuple(dict.fromkeys(t for t in (to, q.name, q.extension) if t))
        if not _EXTENSION.fullmatch(to):
            message = f"{to!r} is neither a queue of this scenario nor an extension"
            raise LocatedValueError(message, ("to",))
        return (to,)

    def criterion(self, context: RubricContext) -> Criterion:
        """The validated `Criterion`, labelled in words when the file gives no label."""
        params: dict[str, Any] = {}
        if self.kind == "disposition":
            params = {"codes": self.code}
        elif self.kind == "ticket_created":
            params = {"category": self.category, "priority": self.priority}
        elif self.kind == "followup_created":
            params = {"followup": self.followup, "routed_to": self.routed_to or ""}
        elif self.kind == "identity":
            params = {"outcome": self.outcome}
        elif self.kind in ("answer_within", "hold_at_most", "wrapup_at_most"):
            params = {"seconds": self.seconds}
        elif self.kind == "note_keywords":
            params = {"keywords": self.keywords, "any_keyword": self.any}
        elif self.kind == "transferred_to":
            params = {"targets": self.targets(context)}
        calls = tuple(c.id for c in self.scored(context))
        label = self.label or ""
        criterion = Criterion(self.id, self.kind, label, calls, self.weight, **params)
        return criterion if label else replace(criterion, label=describe_criterion(criterion))


class RubricTable(Table):
    """A scenario's ``[rubric]``; validate with ``context=RubricContext(calls, queues)``."""

    not_a_table = "rubric must be a table ([rubric])"

    pass_mark: Annotated[float, PlainValidator(number(0.0, 100.0))] = 80.0
    criteria: list[_CriterionEntry] = []

    @classmethod
    def check_table(cls, value: dict[str, Any], info: ValidationInfo) -> None:
        """In the order the file was always checked: the pass mark, then criteria are tables,
        there is one at least, and calls for them to score (before any criterion is read)."""
        try:
            number_named(value.get("pass_mark", 80.0), "pass_mark", 0.0, 100.0)
        except LocatedValueError as exc:
            raise exc.under("pass_mark") from None
        items = value.get("criteria", [])
        if not isinstance(items, list) or not all(isinstance(v, dict) for v in items):
            raise LocatedValueError("use [[rubric.criteria]] tables", ("criteria",))
        if not items:
            raise LocatedValueError("a [rubric] needs at least one [[rubric.criteria]] table")
        if not _context(info).calls:
            raise LocatedValueError("a rubric scores scripted calls: add [[calls]] to the scenario")

    @model_validator(mode="after")
    def _unique_ids(self) -> RubricTable:
        for i, entry in enumerate(self.criteria):
            if any(other.id == entry.id for other in self.criteria[:i]):
                message = f"duplicate criterion id {entry.id!r}"
                raise LocatedValueError(message, ("criteria", i, "id"))
        return self

    def rubric(self, context: RubricContext) -> Rubric:
        """The validated `Rubric`."""
        return Rubric(tuple(e.criterion(context) for e in self.criteria), self.pass_mark)
