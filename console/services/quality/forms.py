"""QA evaluation forms as data: TOML files of sections and weighted questions (docs/quality.md).

A form file names itself (`name`, `version`), gives a `pass_mark` and `[[sections]]`, each with
`[[sections.questions]]`: an id, the question's text, its kind (`yes_no` or `scale`, with
`min`/`max`), a `weight`, whether N/A is allowed (`na`), whether a "no" fails the whole form
(`auto_fail`, yes/no questions only) and an optional `guide` for evaluators. A bad file raises
`FormError` with one ``FILE:LINE: key: message`` line, as the other rule files do
(`callkit.located_model`); reading never raises anything else.

Forms ship in `console/data/qa_forms/`; an evaluator's own forms live in `<data dir>/qa_forms/`
(`FormLibrary`). A form is stored, when first used, by name + version + a hash of its text
(`evaluations.FormStore`), so an evaluation always refers to the exact form it was scored on.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, PlainValidator, model_validator

from callkit.located_model import LocatedValueError, validate_located
from callkit.located_toml import LocatedReader
from callkit.toml_values import boolean, choice, optional, text, whole

YES_NO = "yes_no"
SCALE = "scale"
KINDS = (YES_NO, SCALE)
YES, NO, NA = "yes", "no", "na"
MAX_FILE_BYTES = 256_000  # a form is a page of questions; a bigger file is a mistake
_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


class FormError(ValueError):
    """A form file is invalid; the message is one line starting with ``file:line:``."""


@dataclass(frozen=True, slots=True)
class Question:
    """One question of a form. ``weight`` is its share of the score; scale answers earn
    ``weight * (answer - low) / (high - low)``, yes earns ``weight``, no earns 0."""

    id: str
    text: str
    kind: str  # yes_no | scale
    weight: float
    na_allowed: bool = False
    auto_fail: bool = False  # a "no" makes the whole evaluation 0
    low: int = 0  # scale only: the range of answers
    high: int = 0
    guide: str = ""

    def accepts(self, answer: object) -> bool:
        """Whether ``answer`` is a valid answer ("yes"/"no", a whole number in range, "na")."""
        if answer == NA:
            return self.na_allowed
        if self.kind == YES_NO:
            return answer in (YES, NO)
        return (
            isinstance(answer, int)
            and not isinstance(answer, bool)
            and self.low <= answer <= self.high
        )

    def choices(self) -> str:
        """The answers it takes, in words ("yes, no or n/a", "1-5")."""
        base = "yes or no" if self.kind == YES_NO else f"{self.low}-{self.high}"
        return f"{base} or n/a" if self.na_allowed else base


@dataclass(frozen=True, slots=True)
class Section:
    id: str
    title: str
    questions: tuple[Question, ...]


@dataclass(frozen=True, slots=True)
class Form:
    """A parsed form. ``content_hash``: SHA-256 of the file's text (what was scored on)."""

    name: str
    version: int
    title: str
    pass_mark: float
    sections: tuple[Section, ...]
    content_hash: str
    source: str = ""  # the file it came from (for messages)
    content: str = ""  # the file's text (stored with the evaluations scored on it)

    @property
    def questions(self) -> tuple[Question, ...]:
        return tuple(q for s in self.sections for q in s.questions)

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def section_of(self, question_id: str) -> Section | None:
        return next(
            (s for s in self.sections if any(q.id == question_id for q in s.questions)), None
        )

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"


# ------------------------------------------------------------------------------ the models


def _ident(value: object) -> str:
    word = text(40)(value)
    if not _ID.fullmatch(word):
        raise LocatedValueError(
            f"{word!r} is not an id: use lower-case letters, digits, _ and - (at most 40)"
        )
    return word


def _weight(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise LocatedValueError(f"must be a number from 0 to 100 (got {value!r})")
    return float(value)


def _mark(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise LocatedValueError(f"must be a score from 0 to 100 (got {value!r})")
    return float(value)


_Id = Annotated[str, PlainValidator(_ident)]
_Bool = Annotated[bool, PlainValidator(boolean)]


class _QuestionTable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: _Id
    text: Annotated[str, PlainValidator(text(300))]
    kind: Annotated[str, PlainValidator(choice(KINDS))] = YES_NO
    weight: Annotated[float, PlainValidator(_weight)] = 1.0
    na: _Bool = False
    auto_fail: _Bool = False
    min: Annotated[int | None, PlainValidator(optional(whole(0, 10)))] = None
    max: Annotated[int | None, PlainValidator(optional(whole(1, 10)))] = None
    guide: Annotated[str, PlainValidator(text(500))] = ""

    @model_validator(mode="after")
    def _consistent(self) -> _QuestionTable:
        if self.kind == YES_NO and (self.min is not None or self.max is not None):
            key = "min" if self.min is not None else "max"
            raise LocatedValueError("min and max are for scale questions only", (key,))
        if self.kind == SCALE:
            low, high = self.min if self.min is not None else 1, self.max or 5
            if low >= high:
                raise LocatedValueError(
                    f"min {low} must be below max {high}", ("min" if self.min else "max",)
                )
            if self.auto_fail:
                raise LocatedValueError(
                    "auto_fail is for yes/no questions (a 'no' fails the form)", ("auto_fail",)
                )
        if self.weight == 0 and not self.auto_fail:
            raise LocatedValueError(
                "weight 0 is only for auto_fail questions (a gate that scores nothing)",
                ("weight",),
            )
        return self


class _SectionTable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: _Id
    title: Annotated[str, PlainValidator(text(120))]
    questions: list[_QuestionTable]

    @model_validator(mode="after")
    def _not_empty(self) -> _SectionTable:
        if not self.questions:
            raise LocatedValueError("a section needs at least one question", ("questions",))
        return self


class _FormFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: _Id
    version: Annotated[int, PlainValidator(whole(1, 10_000))]
    title: Annotated[str, PlainValidator(text(120))]
    pass_mark: Annotated[float, PlainValidator(_mark)] = 80.0
    sections: list[_SectionTable]

    @model_validator(mode="after")
    def _unique_and_scored(self) -> _FormFile:
        if not self.sections:
            raise LocatedValueError("a form needs at least one [[sections]]", ("sections",))
        seen_sections: set[str] = set()
        seen: set[str] = set()
        for i, section in enumerate(self.sections):
            if section.id in seen_sections:
                raise LocatedValueError(f"section id {section.id!r} is used twice", (i, "id"))
            seen_sections.add(section.id)
            for j, question in enumerate(section.questions):
                if question.id in seen:
                    raise LocatedValueError(
                        f"question id {question.id!r} is used twice",
                        ("sections", i, "questions", j, "id"),
                    )
                seen.add(question.id)
        if not any(q.weight > 0 for s in self.sections for q in s.questions):
            raise LocatedValueError("every question has weight 0: nothing to score", ())
        return self


def parse_form(source: str, text_: str) -> Form:
    """The form in ``text_`` (read from ``source``); FormError naming ``source:line``."""
    reader = LocatedReader(source, text_, FormError)
    data = reader.load()
    parsed = validate_located(_FormFile, data, reader)
    sections = tuple(
        Section(
            id=s.id,
            title=s.title,
            questions=tuple(
                Question(
                    id=q.id,
                    text=q.text,
                    kind=q.kind,
                    weight=q.weight,
                    na_allowed=q.na,
                    auto_fail=q.auto_fail,
                    low=(q.min if q.min is not None else 1) if q.kind == SCALE else 0,
                    high=(q.max or 5) if q.kind == SCALE else 0,
                    guide=q.guide,
                )
                for q in s.questions
            ),
        )
        for s in parsed.sections
    )
    return Form(
        name=parsed.name,
        version=parsed.version,
        title=parsed.title,
        pass_mark=parsed.pass_mark,
        sections=sections,
        content_hash=content_hash(text_),
        source=source,
        content=text_,
    )


def content_hash(text_: str) -> str:
    """SHA-256 of a form's text, hex: two files with the same name and version must match."""
    return hashlib.sha256(text_.encode("utf-8")).hexdigest()


def read_form(path: Path) -> Form:
    """The form in the file at ``path``; FormError for a missing, unreadable, too big or
    invalid file (one line)."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise FormError(f"{path}:1: the file is {size:,} bytes; a form is at most 256 kB")
        raw = path.read_bytes()
    except OSError as exc:
        raise FormError(f"{path}:1: cannot read: {exc.strerror or exc}") from None
    try:
        text_ = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise FormError(f"{path}:{line}: not UTF-8 text") from None
    return parse_form(str(path), text_)


@dataclass(frozen=True, slots=True)
class FormEntry:
    """A form file in the library: the form, or the one line saying why it does not load."""

    path: str
    form: Form | None
    error: str = ""


def shipped_forms() -> list[FormEntry]:
    """The forms in console/data/qa_forms."""
    entries = []
    folder = resources.files("console").joinpath("data", "qa_forms")
    for item in sorted(folder.iterdir(), key=lambda i: i.name):
        if item.name.endswith(".toml"):
            label = f"console/data/qa_forms/{item.name}"
            try:
                entries.append(FormEntry(label, parse_form(label, item.read_text("utf-8"))))
            except FormError as exc:
                entries.append(FormEntry(label, None, str(exc)))
    return entries


class FormLibrary:
    """The shipped forms and the ``*.toml`` files in ``folder`` (an evaluator's own). A file
    that does not load is listed with its error and used by nobody; nothing else stops."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder

    def entries(self) -> list[FormEntry]:
        entries = shipped_forms()
        if self.folder is not None and self.folder.is_dir():
            for path in sorted(self.folder.glob("*.toml")):
                try:
                    entries.append(FormEntry(str(path), read_form(path)))
                except FormError as exc:
                    entries.append(FormEntry(str(path), None, str(exc)))
        return entries

    def forms(self) -> list[Form]:
        """The forms that load; of two with the same name, the higher version."""
        best: dict[str, Form] = {}
        for entry in self.entries():
            form = entry.form
            if form is not None and (
                form.name not in best or best[form.name].version < form.version
            ):
                best[form.name] = form
        return sorted(best.values(), key=lambda f: f.name)

    def errors(self) -> list[str]:
        return [e.error for e in self.entries() if e.error]


def stored_form(name: str, version: int, content: str) -> Form:
    """A form stored with evaluations (``qa_forms.content``), parsed again from its text."""
    return parse_form(f"stored form {name} v{version}", content)
