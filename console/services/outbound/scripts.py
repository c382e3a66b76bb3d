"""A campaign's script: what the agent reads, with the customer's fields filled in, and the
survey questions it asks, branching on the answers.

The script is TOML (a campaign file's ``[script]`` table, or a file of its own)::

    text = "Hello {first_name}, this is {agent} from Acme about your {tier} membership."
    closing = "Thank you for your time, {first_name}."

    [[questions]]
    id = "satisfied"
    text = "Are you satisfied with our service?"
    kind = "yes_no"
    next = { no = "why" }          # an answer's next question; "end" ends the survey

    [[questions]]
    id = "why"
    text = "What could we do better?"
    kind = "text"

    [[questions]]
    id = "score"
    text = "From 1 to 10, how likely are you to recommend us?"
    kind = "scale"
    low = 1
    high = 10

Without ``next`` (or for an answer it does not name) a question is followed by the one after
it (``then`` changes that default). Kinds: ``yes_no``, ``choice`` (``choices``), ``scale``
(``low``–``high``), ``number``, ``text``. A script must always end: a question leading back to
one already asked is refused, as are unknown fields, ids and answers, each as
``FILE:LINE: key: message``.

Customer data is untrusted: a field is substituted as plain text (control codes and escape
sequences removed, one line), and screens show the result without markup.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, model_validator

from callkit.located_model import LocatedValueError, validate_located
from callkit.located_toml import LocatedReader
from console.services.text import clean_text

#: The fields a script may name, and what each holds.
FIELDS = {
    "name": "the customer's name",
    "first_name": "a person's first name (an organisation's name)",
    "tier": "the customer's tier (platinum, gold, iron, lead)",
    "language": "the customer's language code",
    "lifetime_value": "the customer's lifetime value with its currency",
    "agent": "the agent's name",
    "campaign": "the campaign's name",
}
END = "end"
YES, NO = "yes", "no"


class ScriptError(ValueError):
    """A script file that cannot be used; the message names file, line and key."""


def _template(value: object) -> str:
    if not isinstance(value, str):
        raise LocatedValueError("must be text")
    if len(value) > 4000:
        raise LocatedValueError("at most 4000 characters")
    if clean_text(value) != value:
        raise LocatedValueError("control characters or escape sequences are not allowed")
    body = value
    try:
        names = [f for _lit, f, _spec, _conv in string.Formatter().parse(body) if f is not None]
    except ValueError as exc:  # a lone { or }
        raise LocatedValueError(f"{exc} (write {{{{ and }}}} for braces)") from None
    unknown = [n for n in names if n not in FIELDS]
    if unknown:
        raise LocatedValueError(
            f"unknown field {{{unknown[0]}}} (known: {', '.join(sorted(FIELDS))})"
        )
    return body


_Template = Annotated[str, PlainValidator(_template)]
_Id = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Question(_Table):
    """One survey question."""

    id: _Id
    text: _Template
    kind: Literal["yes_no", "choice", "scale", "number", "text"] = "text"
    choices: tuple[str, ...] = ()
    low: int = 1
    high: int = 5
    next: dict[str, str] = Field(default_factory=dict)
    then: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        if self.kind == "choice" and not self.choices:
            raise LocatedValueError("a choice question needs choices", ("choices",))
        if self.kind != "choice" and self.choices:
            raise LocatedValueError("only a choice question has choices", ("choices",))
        if self.kind == "scale" and self.high <= self.low:
            raise LocatedValueError("high must be above low", ("high",))
        for answer in self.next:
            if self.check(answer) is None:
                raise LocatedValueError(f"{answer!r} is not an answer to this question", ("next",))
        return self

    def check(self, raw: str) -> str | None:
        """``raw`` as this question stores it, or None when it is not an answer to it."""
        value = clean_text(raw, single_line=True, max_length=1000).strip()
        if not value:
            return None
        if self.kind == "yes_no":
            low = value.lower()
            return YES if low in ("y", "yes") else NO if low in ("n", "no") else None
        if self.kind == "choice":
            by_fold = {c.casefold(): c for c in self.choices}
            return by_fold.get(value.casefold())
        if self.kind in ("scale", "number"):
            try:
                number = int(value)
            except ValueError:
                return None
            if self.kind == "scale" and not self.low <= number <= self.high:
                return None
            return str(number)
        return value


class CampaignScript(_Table):
    """The agent's text and the survey's questions."""

    text: _Template = ""
    closing: _Template = ""
    questions: tuple[Question, ...] = ()

    @model_validator(mode="after")
    def _flows(self) -> CampaignScript:
        ids = [q.id for q in self.questions]
        for i, q in enumerate(self.questions):
            if q.id in ids[:i]:
                raise LocatedValueError(
                    f"question id {q.id!r} is used twice", ("questions", i, "id")
                )
            for key, target in [*(("next", t) for t in q.next.values()), ("then", q.then)]:
                if target is not None and target != END and target not in ids:
                    raise LocatedValueError(
                        f"no question {target!r} (use one of {', '.join(ids)} or {END!r})",
                        ("questions", i, key),
                    )
        for i, q in enumerate(self.questions):
            if self._reaches(q.id, q.id):
                raise LocatedValueError(
                    f"question {q.id!r} can lead back to itself: a survey must end",
                    ("questions", i, "id"),
                )
        return self

    def _after(self, qid: str) -> set[str]:
        index = next(i for i, q in enumerate(self.questions) if q.id == qid)
        q = self.questions[index]
        default = q.then or (
            self.questions[index + 1].id if index + 1 < len(self.questions) else END
        )
        return {*q.next.values(), default} - {END}

    def _reaches(self, start: str, goal: str) -> bool:
        seen: set[str] = set()
        todo = list(self._after(start))
        while todo:
            qid = todo.pop()
            if qid == goal:
                return True
            if qid not in seen:
                seen.add(qid)
                todo.extend(self._after(qid))
        return False

    def question(self, qid: str) -> Question:
        for q in self.questions:
            if q.id == qid:
                return q
        raise KeyError(qid)

    def first(self) -> str | None:
        """The first question's id (None: no survey)."""
        return self.questions[0].id if self.questions else None

    def next_after(self, qid: str, answer: str) -> str | None:
        """The question after ``qid`` answered ``answer`` (as `Question.check` gave it), or
        None when the survey is over."""
        index = next(i for i, q in enumerate(self.questions) if q.id == qid)
        q = self.questions[index]
        target = q.next.get(answer)
        if target is None:
            target = q.then or (
                self.questions[index + 1].id if index + 1 < len(self.questions) else END
            )
        return None if target == END else target

    def unanswered(self, answers: Mapping[str, str]) -> str | None:
        """The first question on the survey's path that ``answers`` (question id → answer as
        `Question.check` stores it) leaves without an answer; None when they reach its end
        (a script without questions has nothing to answer)."""
        qid = self.first()
        while qid is not None:
            answer = answers.get(qid)
            if answer is None:
                return qid
            qid = self.next_after(qid, answer)  # the flow always ends (checked on load)
        return None


def load_script(source: str, body: str) -> CampaignScript:
    """The script in TOML text ``body`` (``source`` names it in errors)."""
    reader = LocatedReader(source, body, ScriptError)
    return validate_located(CampaignScript, reader.load(), reader)


@dataclass(frozen=True, slots=True)
class ScriptFields:
    """What a script's fields are filled with for one call."""

    name: str
    first_name: str
    tier: str
    language: str
    lifetime_value: str
    agent: str
    campaign: str

    def as_map(self) -> Mapping[str, str]:
        return {k: getattr(self, k) for k in FIELDS}


def render(template: str, fields: ScriptFields) -> str:
    """``template`` with each field replaced by its value as plain, single-line text."""
    values = {
        k: clean_text(v, single_line=True, max_length=200) for k, v in fields.as_map().items()
    }
    out: list[str] = []
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            out.append(values.get(name, ""))
    return "".join(out)
