"""Scoring a trainee's run of a scenario against its rubric: pure, no database, no clock.

A training run gathers what the trainee did on each scripted call (from the interaction log,
tickets and follow-ups) into a `TraineeRun`; `score` checks every criterion of the scenario's
`Rubric` (callkit.scenario, format in docs/scenarios.md) and returns a `ScoreCard`: each
criterion passed or failed with evidence of what the trainee did and when ("answered after 7 s
(limit 10 s) at 10:02:07"), the weighted total and the verdict, exportable as Markdown or JSON.

Untrusted text (notes, names, codes typed by people) is cleaned with `console.services.text`
before it enters evidence, and Markdown-escaped in the Markdown export.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from console.services.text import clean_text, excerpt

if TYPE_CHECKING:
    from callkit.scenario import Criterion, Rubric

SCORECARD_FORMAT = "callconsole-scorecard"
SCORECARD_VERSION = 1
_PRIORITY_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}


# ---------------------------------------------------------------- facts of a run


@dataclass(frozen=True, slots=True)
class CreatedTicket:
    """A ticket the trainee opened during a call."""

    category: str
    priority: str  # low | normal | high | urgent
    at: datetime


@dataclass(frozen=True, slots=True)
class CreatedFollowUp:
    """A follow-up the trainee created during a call, and where routing sent it."""

    kind: str  # callback | escalation | task
    at: datetime
    queue: str | None = None  # the queue it was routed to
    skill: str | None = None  # the skill it was routed to


@dataclass(frozen=True, slots=True)
class TraineeCall:
    """What happened to one scripted call at the trainee's desk (aware datetimes).

    `offered_at` is when it first rang at the trainee's phone. `abandoned`: the caller hung up
    before the trainee answered (at `ended_at`). The customer fields say which record the call
    ended up linked to: picked or kept from the screen pop, or created (`customer_created`),
    and whether it is the caller's own record (`customer_matches_caller`).
    """

    call_id: str
    offered_at: datetime
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    wrapped_at: datetime | None = None  # when the wrap-up was saved
    hold_seconds: float = 0.0
    wrapup_seconds: float | None = None  # None: the wrap-up was never finished
    disposition: str = ""
    notes: str = ""
    customer_id: int | None = None
    customer_name: str = ""
    customer_created: bool = False
    customer_matches_caller: bool = False
    identified_at: datetime | None = None  # when the customer was picked, kept or created
    tickets: tuple[CreatedTicket, ...] = ()
    followups: tuple[CreatedFollowUp, ...] = ()
    transferred_to: str = ""  # the queue or extension the caller was sent to
    transferred_at: datetime | None = None
    abandoned: bool = False

    def __post_init__(self) -> None:
        if self.hold_seconds < 0 or (self.wrapup_seconds or 0) < 0:
            raise ValueError(f"call {self.call_id!r}: hold and wrap-up seconds must be >= 0")
        if self.answered_at is not None and self.answered_at < self.offered_at:
            raise ValueError(f"call {self.call_id!r}: answered before it was offered")


@dataclass(frozen=True, slots=True)
class TraineeRun:
    """A trainee's run of a scenario: one `TraineeCall` per scripted call that reached them."""

    scenario: str
    trainee: str
    started_at: datetime
    calls: tuple[TraineeCall, ...] = ()

    def __post_init__(self) -> None:
        ids = [c.call_id for c in self.calls]
        if len(set(ids)) != len(ids):
            raise ValueError("a run holds one TraineeCall per scripted call id")

    def call(self, call_id: str) -> TraineeCall | None:
        """The trainee's record of scripted call `call_id`, or None if it never reached them."""
        return next((c for c in self.calls if c.call_id == call_id), None)


# ---------------------------------------------------------------- the score card


@dataclass(frozen=True, slots=True)
class CriterionResult:
    """One criterion on the score card: passed or not, and the evidence."""

    id: str
    kind: str
    label: str
    weight: float
    calls: tuple[str, ...]
    passed: bool
    evidence: str
    at: datetime | None = None  # when the deciding action happened (latest over its calls)


@dataclass(frozen=True, slots=True)
class ScoreCard:
    """A trainee's result: every criterion, the total (0-100) and the verdict."""

    scenario: str
    trainee: str
    started_at: datetime
    pass_mark: float
    total: float  # weighted share of passed criteria x 100, rounded to 1 decimal
    passed: bool  # total >= pass_mark
    results: tuple[CriterionResult, ...]

    def to_json(self) -> str:
        """The card as JSON: fixed keys in a fixed order, ISO 8601 times."""
        data = {
            "format": SCORECARD_FORMAT,
            "version": SCORECARD_VERSION,
            "scenario": self.scenario,
            "trainee": self.trainee,
            "started_at": self.started_at.isoformat(),
            "pass_mark": self.pass_mark,
            "total": self.total,
            "passed": self.passed,
            "criteria": [
                {
                    "id": r.id,
                    "kind": r.kind,
                    "label": r.label,
                    "weight": r.weight,
                    "calls": list(r.calls),
                    "passed": r.passed,
                    "evidence": r.evidence,
                    "at": r.at.isoformat() if r.at else None,
                }
                for r in self.results
            ],
        }
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ScoreCard:
        """A card read back from `to_json` output; ValueError if it is not one."""
        try:
            data = json.loads(text)
            if data.get("format") != SCORECARD_FORMAT or data.get("version") != SCORECARD_VERSION:
                raise ValueError("not a callconsole score card (format/version)")
            results = tuple(
                CriterionResult(
                    id=_clean(r["id"]),
                    kind=_clean(r["kind"]),
                    label=_clean(r["label"], 200),
                    weight=float(r["weight"]),
                    calls=tuple(_clean(c) for c in r["calls"]),
                    passed=bool(r["passed"]),
                    evidence=_clean(r["evidence"], 2000),
                    at=datetime.fromisoformat(r["at"]) if r["at"] else None,
                )
                for r in data["criteria"]
            )
            return cls(
                scenario=_clean(data["scenario"]),
                trainee=_clean(data["trainee"]),
                started_at=datetime.fromisoformat(data["started_at"]),
                pass_mark=float(data["pass_mark"]),
                total=float(data["total"]),
                passed=bool(data["passed"]),
                results=results,
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a valid score card: {exc}") from None

    def to_markdown(self) -> str:
        """The card as a Markdown document (every text from people or files escaped)."""
        verdict = "PASSED" if self.passed else "FAILED"
        lines = [
            f"# Score card: {_md(self.scenario)}",
            "",
            f"- Trainee: {_md(self.trainee)}",
            f"- Started: {self.started_at.isoformat(sep=' ', timespec='seconds')}",
            f"- Pass mark: {_number(self.pass_mark)}",
            f"- **Total: {self.total:.1f} / 100 ({verdict})**",
            "",
            "| # | Criterion | Call | Weight | Result | Evidence |",
            "|--:|---|---|--:|---|---|",
        ]
        for n, r in enumerate(self.results, 1):
            result = "pass" if r.passed else "**FAIL**"
            lines.append(
                f"| {n} | {_md(r.label)} ({_md(r.id)}) | {_md(', '.join(r.calls))} "
                f"| {_number(r.weight)} | {result} | {_md(r.evidence)} |"
            )
        return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- scoring


def score(rubric: Rubric, run: TraineeRun, *, tz: tzinfo | None = None) -> ScoreCard:
    """Check every criterion of `rubric` against `run` (times in evidence shown in `tz`).

    A criterion passes when each scripted call it applies to satisfies it; a call that never
    reached the trainee fails it. Total = passed weight / all weight x 100, rounded half up to
    one decimal; the trainee passes when that rounded total is at least the pass mark.
    """
    if not rubric.criteria or rubric.total_weight <= 0:
        raise ValueError("a rubric needs at least one criterion with a positive weight")

    def clock(at: datetime) -> str:
        return (at.astimezone(tz) if tz is not None else at).strftime("%H:%M:%S")

    results = tuple(_judge(c, run, clock) for c in rubric.criteria)
    earned = sum(r.weight for r in results if r.passed)
    raw = 100.0 * earned / rubric.total_weight
    total = float(Decimal(repr(raw)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
    return ScoreCard(
        scenario=_clean(run.scenario),
        trainee=_clean(run.trainee),
        started_at=run.started_at,
        pass_mark=rubric.pass_mark,
        total=total,
        passed=total >= rubric.pass_mark,
        results=results,
    )


Clock = Callable[[datetime], str]
Verdict = tuple[bool, str, datetime | None]


def _judge(c: Criterion, run: TraineeRun, clock: Clock) -> CriterionResult:
    verdicts: list[tuple[str, Verdict]] = []
    for call_id in c.calls:
        call = run.call(call_id)
        if call is None:
            verdicts.append((call_id, (False, "the call never reached the trainee", None)))
        else:
            verdicts.append((call_id, _CHECKS[c.kind](c, call, clock)))
    if not verdicts:
        evidence = "applies to no scripted call"
    elif len(verdicts) == 1:
        evidence = verdicts[0][1][1]
    else:
        evidence = "; ".join(f"{_clean(call_id)}: {v[1]}" for call_id, v in verdicts)
    times = [v[2] for _id, v in verdicts if v[2] is not None]
    return CriterionResult(
        id=_clean(c.id),
        kind=c.kind,
        label=_clean(c.label, 200),
        weight=c.weight,
        calls=tuple(_clean(call_id) for call_id in c.calls),
        passed=bool(verdicts) and all(v[0] for _id, v in verdicts),
        evidence=evidence,
        at=max(times) if times else None,
    )


def _disposition(c: Criterion, call: TraineeCall, clock: Clock) -> Verdict:
    wanted = " or ".join(c.codes)
    if not call.disposition:
        return False, f"no disposition saved (wanted {wanted})", None
    when = f" at {clock(call.wrapped_at)}" if call.wrapped_at else ""
    evidence = f"disposition {_clean(call.disposition)}{when} (wanted {wanted})"
    return call.disposition in c.codes, evidence, call.wrapped_at


def _ticket_created(c: Criterion, call: TraineeCall, clock: Clock) -> Verdict:
    floor = _PRIORITY_RANK.get(c.priority, 0)
    wanted = c.category + (f", priority {c.priority} or higher" if c.priority else "")
    for t in call.tickets:
        if (
            t.category.strip().casefold() == c.category.strip().casefold()
            and _PRIORITY_RANK.get(t.priority, -1) >= floor
        ):
            return True, f"opened a {_ticket(t)} ticket at {clock(t.at)}", t.at
    if not call.tickets:
        return False, f"no ticket opened (wanted {wanted})", None
    opened = ", ".join(f"{_ticket(t)} at {clock(t.at)}" for t in call.tickets)
    return False, f"opened {opened}; none is {wanted}", call.tickets[-1].at


def _followup_created(c: Criterion, call: TraineeCall, clock: Clock) -> Verdict:
    same_kind = [f for f in call.followups if f.kind == c.followup]
    for f in same_kind:
        if not c.routed_to or c.routed_to in (f.queue, f.skill):
            return True, f"{c.followup} follow-up {_route(f)} at {clock(f.at)}", f.at
    if same_kind:
        f = same_kind[-1]
        evidence = f"{c.followup} follow-up {_route(f)} at {clock(f.at)}, not to {c.routed_to}"
        return False, evidence, f.at
    others = ", ".join(f"{_clean(f.kind)} at {clock(f.at)}" for f in call.followups)
    return (
        False,
        f"no {c.followup} follow-up created" + (f" (created: {others})" if others else ""),
        None,
    )


def _identity(c: Criterion, call: TraineeCall, clock: Clock) -> Verdict:
    who = f"customer #{call.customer_id} {_clean(call.customer_name)}".rstrip()
    when = f" at {clock(call.identified_at)}" if call.identified_at else ""
    at = call.identified_at
    if c.outcome == "customer_created":
        if call.customer_created:
            return True, f"created {who}{when}", at
        if call.customer_id is not None:
            return False, f"linked existing {who}{when} instead of creating the caller", at
        return False, "no customer created or linked", None
    if call.customer_created:
        return False, f"created a new {who}{when} instead of confirming the caller's record", at
    if call.customer_id is None:
        return False, "no customer linked to the call", None
    if call.customer_matches_caller:
        return True, f"confirmed {who} (the caller){when}", at
    return False, f"linked {who}{when}, who is not the caller", at


def _answer_within(c: Criterion, call: TraineeCall, clock: Clock) -> Verdict:
    if call.answered_at is None:
        return False, _unanswered(call, clock), call.ended_at
    wait = (call.answered_at - call.offered_at).total_seconds()
    limit = _seconds(c.seconds)
    evidence = f"answered after {_seconds(wait)} (limit {limit}) at {clock(call.answered_at)}"
    return wait <= c.seconds, evidence, call.answered_at


def _hold_at_most(c: Criterion, call: TraineeCall, clock: Clock) -> Verdict:
    if call.answered_at is None:
        return False, _unanswered(call, clock), call.ended_at
    ended = f", call ended at {clock(call.ended_at)}" if call.ended_at else ""
    evidence = (
        f"on hold {_seconds(call.hold_seconds)} in total (limit {_seconds(c.seconds)}){ended}"
    )
    return call.hold_seconds <= c.seconds, evidence, call.ended_at


def _wrapup_at_most(c: Criterion, call: TraineeCall, clock: Clock) -> Verdict:
    if call.answered_at is None:
        return False, _unanswered(call, clock), call.ended_at
    if call.wrapup_seconds is None:
        ended = f" (call ended at {clock(call.ended_at)})" if call.ended_at else ""
        return False, f"wrap-up never finished{ended}", call.ended_at
    when = f" at {clock(call.wrapped_at)}" if call.wrapped_at else ""
    evidence = f"wrapped up in {_seconds(call.wrapup_seconds)} (limit {_seconds(c.seconds)}){when}"
    return call.wrapup_seconds <= c.seconds, evidence, call.wrapped_at


def _note_keywords(c: Criterion, call: TraineeCall, clock: Clock) -> Verdict:
    if not call.notes.strip():
        return False, "no notes written", call.wrapped_at
    notes = call.notes.casefold()

    def said(keyword: str) -> bool:  # "twice|double charged": any phrasing counts
        return any(alt.strip().casefold() in notes for alt in keyword.split("|"))

    found = [k.replace("|", " or ") for k in c.keywords if said(k)]
    missing = [k.replace("|", " or ") for k in c.keywords if not said(k)]
    passed = bool(found) if c.any_keyword else not missing
    when = f" saved at {clock(call.wrapped_at)}" if call.wrapped_at else ""
    evidence = f"notes{when} mention {_words(found) or 'none of the keywords'}"
    if missing:
        evidence += f", missing {_words(missing)}"
    evidence += f": \u201c{excerpt(call.notes, 60)}\u201d"
    return passed, evidence, call.wrapped_at


def _transferred_to(c: Criterion, call: TraineeCall, clock: Clock) -> Verdict:
    if not call.transferred_to:
        return False, f"not transferred (wanted {c.targets[0]})", None
    when = f" at {clock(call.transferred_at)}" if call.transferred_at else ""
    passed = call.transferred_to in c.targets
    evidence = f"transferred to {_clean(call.transferred_to)}{when}"
    return passed, evidence + ("" if passed else f" (wanted {c.targets[0]})"), call.transferred_at


def _not_abandoned(c: Criterion, call: TraineeCall, clock: Clock) -> Verdict:
    if call.answered_at is not None:
        return True, f"answered at {clock(call.answered_at)}", call.answered_at
    return False, _unanswered(call, clock), call.ended_at


_CHECKS: dict[str, Callable[[Criterion, TraineeCall, Clock], Verdict]] = {
    "disposition": _disposition,
    "ticket_created": _ticket_created,
    "followup_created": _followup_created,
    "identity": _identity,
    "answer_within": _answer_within,
    "hold_at_most": _hold_at_most,
    "wrapup_at_most": _wrapup_at_most,
    "note_keywords": _note_keywords,
    "transferred_to": _transferred_to,
    "not_abandoned": _not_abandoned,
}


# ---------------------------------------------------------------- wording


def _unanswered(call: TraineeCall, clock: Clock) -> str:
    """Why a call that reached the trainee has no answer time."""
    rang = f"rang at {clock(call.offered_at)}"
    if call.abandoned and call.ended_at is not None:
        waited = (call.ended_at - call.offered_at).total_seconds()
        return f"never answered: {rang}, the caller hung up {_seconds(waited)} later"
    if call.abandoned:
        return f"never answered: {rang}, the caller hung up"
    return f"never answered by the trainee ({rang})"


def _ticket(t: CreatedTicket) -> str:
    return f"{_clean(t.category, 40)} ({_clean(t.priority, 20)})"


def _route(f: CreatedFollowUp) -> str:
    where = [
        f"queue {_clean(f.queue)}" if f.queue else "",
        f"skill {_clean(f.skill)}" if f.skill else "",
    ]
    joined = " with ".join(w for w in where if w)
    return f"routed to {joined}" if joined else "not routed"


def _words(words: list[str]) -> str:
    return ", ".join(f'"{_clean(w)}"' for w in words)


def _seconds(value: float) -> str:
    """Seconds for people: "7 s", "7.25 s"; rounded up at 0.01 s, so an over-limit value never
    reads as the limit itself."""
    shown = math.ceil(value * 100 - 1e-6) / 100
    return f"{_number(shown)} s"


def _number(value: float) -> str:
    """7.0 → "7", 7.25 → "7.25"."""
    return str(int(value)) if value == int(value) else f"{value:.2f}".rstrip("0")


def _clean(value: object, length: int = 80) -> str:
    """Untrusted text as one safe line (no controls, no bidi overrides), at most `length`."""
    return clean_text(value, single_line=True, max_length=length)


# Characters with a meaning in CommonMark / GFM inline text and table cells.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|&~])")


def _md(text: str) -> str:
    """Plain text for a Markdown line or table cell: one line, markup characters escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _clean(text, 2000))
