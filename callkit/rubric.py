"""Training rubrics in scenario files: what a trainee's run is scored on (docs/scenarios.md).

`[rubric]` has a `pass_mark` and `[[rubric.criteria]]` tables; each criterion has an id, a kind,
a weight, an optional scripted `call` and its kind's parameters. They are validated when the
scenario loads, with errors as ``file:line: message``; console/services/training/scoring.py scores
a run.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from callkit.scenario_reader import TomlReader

if TYPE_CHECKING:
    from callkit.scenario import Path_, QueueSpec, ScriptedCall

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
_CRITERIA_HEADER = re.compile(r"^\s*\[\[\s*rubric\.criteria\s*\]\]", re.MULTILINE)


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


def _text(r: TomlReader, table: dict[str, Any], key: str, path: Path_, limit: int) -> str:
    """A required single-line string of 1 to `limit` printable characters."""
    value = r.string(table, key, path)
    if not value.strip() or len(value) > limit or not value.isprintable():
        raise r.fail((*path, key), f"{key!r} must be 1 to {limit} printable characters")
    return value


def _choice(r: TomlReader, table: dict[str, Any], key: str, path: Path_, options: Any) -> str:
    value = r.string(table, key, path)
    if value not in options:
        raise r.fail((*path, key), f"unknown {key} {value!r} (use {', '.join(options)})")
    return value


def _transfer_targets(
    r: TomlReader, c: dict[str, Any], path: Path_, queues: list[QueueSpec]
) -> tuple[str, ...]:
    """What `to` accepts: a queue by name or extension (either then matches), or an extension."""
    to = _text(r, c, "to", path, 80)
    for q in queues:
        if to in (q.name, q.extension):
            return tuple(dict.fromkeys(t for t in (to, q.name, q.extension) if t))
    if not _EXTENSION.fullmatch(to):
        raise r.fail((*path, "to"), f"{to!r} is neither a queue of this scenario nor an extension")
    return (to,)


def _criterion_params(
    r: TomlReader,
    c: dict[str, Any],
    path: Path_,
    kind: str,
    calls: dict[str, ScriptedCall],
    queues: list[QueueSpec],
) -> dict[str, Any]:
    """The kind-specific fields of a `Criterion`, validated."""
    if kind == "disposition":
        codes = c["code"] if isinstance(c["code"], list) else [c["code"]]
        if not codes or not all(
            isinstance(x, str) and _DISPOSITION_CODE.fullmatch(x) for x in codes
        ):
            raise r.fail(
                (*path, "code"), "code must be a disposition code (a-z, 0-9, _) or a list of them"
            )
        return {"codes": tuple(dict.fromkeys(codes))}
    if kind == "ticket_created":
        wanted = _choice(r, c, "priority", path, TICKET_PRIORITIES) if "priority" in c else ""
        return {"category": _text(r, c, "category", path, 40), "priority": wanted}
    if kind == "followup_created":
        routed = _text(r, c, "routed_to", path, 80) if "routed_to" in c else ""
        return {"followup": _choice(r, c, "followup", path, FOLLOWUP_KINDS), "routed_to": routed}
    if kind == "identity":
        outcome = _choice(r, c, "outcome", path, IDENTITY_OUTCOMES)
        for call in calls.values():
            if (call.customer_id is not None) != (outcome == "confirmed"):
                hint = (
                    "its caller is a known customer (use 'confirmed')"
                    if call.customer_id is not None
                    else "it has no customer_id, an unknown caller (use 'customer_created')"
                )
                raise r.fail(
                    (*path, "outcome"), f"{outcome!r} does not fit call {call.id!r}: {hint}"
                )
        return {"outcome": outcome}
    if kind in ("answer_within", "hold_at_most", "wrapup_at_most"):
        seconds = r.duration(c["seconds"], (*path, "seconds"))
        if not math.isfinite(seconds) or (seconds <= 0 and kind != "hold_at_most"):
            floor = ">= 0" if kind == "hold_at_most" else "> 0"
            raise r.fail((*path, "seconds"), f"seconds must be a finite duration {floor}")
        return {"seconds": seconds}
    if kind == "note_keywords":
        # Each keyword is a word, or a list of phrasings any of which counts
        # (["twice", "double charged"]); kept as one "twice|double charged" entry.
        words = c["keywords"]
        entries = (
            [w if isinstance(w, list) else [w] for w in words] if isinstance(words, list) else []
        )
        if not entries or not all(
            alts
            and all(
                isinstance(w, str)
                and w.strip()
                and len(w) <= 60
                and w.isprintable()
                and "|" not in w
                for w in alts
            )
            for alts in entries
        ):
            raise r.fail(
                (*path, "keywords"),
                "keywords must be a non-empty list of words (or lists of phrasings)",
            )
        joined = tuple("|".join(w.strip() for w in alts) for alts in entries)
        return {"keywords": joined, "any_keyword": r.boolean(c, "any", path, False)}
    if kind == "transferred_to":
        return {"targets": _transfer_targets(r, c, path, queues)}
    return {}


def _criterion(
    r: TomlReader,
    c: dict[str, Any],
    path: Path_,
    calls: list[ScriptedCall],
    queues: list[QueueSpec],
) -> Criterion:
    kind = r.string(c, "kind", path)
    if kind not in CRITERION_KINDS:
        raise r.fail((*path, "kind"), f"unknown kind {kind!r} (use {', '.join(CRITERION_KINDS)})")
    required, optional = _KIND_KEYS[kind]
    r.check_keys(c, {"id", "kind", "weight", "call", "label", *required, *optional}, path)
    for key in ("id", *required):
        if key not in c:
            raise r.fail(path, f"a criterion of kind {kind!r} needs {key!r}")
    criterion_id = _text(r, c, "id", path, 60)
    if not _CRITERION_ID.fullmatch(criterion_id):
        raise r.fail((*path, "id"), "id must be letters, digits and _ . : - (at most 60)")
    weight = r.number(c, "weight", path, 1.0, 0.0, 1000.0)
    if weight <= 0:
        raise r.fail((*path, "weight"), "weight must be greater than 0")
    by_id = {call.id: call for call in calls}
    if "call" in c:
        call_id = r.string(c, "call", path)
        if call_id not in by_id:
            raise r.fail(
                (*path, "call"),
                f"no scripted call {call_id!r} (the calls are {', '.join(by_id)})",
            )
        by_id = {call_id: by_id[call_id]}
    params = _criterion_params(r, c, path, kind, by_id, queues)
    label = _text(r, c, "label", path, 120) if "label" in c else ""
    criterion = Criterion(criterion_id, kind, label, tuple(by_id), weight, **params)
    return criterion if label else replace(criterion, label=describe_criterion(criterion))


def parse_rubric(
    r: TomlReader, data: dict[str, Any], calls: list[ScriptedCall], queues: list[QueueSpec]
) -> Rubric | None:
    if "rubric" not in data:
        return None
    table = data["rubric"]
    if not isinstance(table, dict):
        raise r.fail(("rubric",), "rubric must be a table ([rubric])")
    r.check_keys(table, {"pass_mark", "criteria"}, ("rubric",))
    pass_mark = r.number(table, "pass_mark", ("rubric",), 80.0, 0.0, 100.0)
    items = table.get("criteria", [])
    if not isinstance(items, list) or not all(isinstance(v, dict) for v in items):
        raise r.fail(("rubric", "criteria"), "use [[rubric.criteria]] tables")
    if not items:
        raise r.fail(("rubric",), "a [rubric] needs at least one [[rubric.criteria]] table")
    if not calls:
        raise r.fail(("rubric",), "a rubric scores scripted calls: add [[calls]] to the scenario")
    # locate_key finds array-of-tables by their dotted header; inline arrays by key path.
    arrays = _CRITERIA_HEADER.search(r.text) is not None
    criteria: list[Criterion] = []
    for i, c in enumerate(items):
        path: Path_ = ("rubric.criteria", i) if arrays else ("rubric", "criteria", i)
        criterion = _criterion(r, c, path, calls, queues)
        if any(other.id == criterion.id for other in criteria):
            raise r.fail((*path, "id"), f"duplicate criterion id {criterion.id!r}")
        criteria.append(criterion)
    return Rubric(tuple(criteria), pass_mark)
