"""Scoring an evaluation against its form: pure (docs/quality.md, "Score").

- A question's points: yes = its weight, no = 0; a scale answer ``v`` in [low, high] earns
  ``weight * (v - low) / (high - low)``. N/A takes the question out: neither its points nor its
  weight count.
- The score is ``100 * earned / possible`` over the questions not N/A (100 when every scored
  question is N/A: nothing was marked down).
- A "no" to an `auto_fail` question makes the score 0 whatever else was earned (the form
  fails); the score before it (`raw`) is kept for coaching.
- Sections show the same ratio over their own questions (None when all N/A).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from console.services.quality.forms import NA, NO, YES, YES_NO, Form, Question


class ScoringError(ValueError):
    """Answers that cannot be scored (missing or invalid); one line."""


@dataclass(frozen=True, slots=True)
class QuestionScore:
    question_id: str
    answer: object  # "yes" | "no" | "na" | a whole number
    earned: float  # points (0 when N/A)
    possible: float  # the weight, 0 when N/A
    failed: bool  # an auto-fail question answered "no"


@dataclass(frozen=True, slots=True)
class SectionScore:
    section_id: str
    title: str
    earned: float
    possible: float

    @property
    def percent(self) -> float | None:
        return None if self.possible == 0 else 100.0 * self.earned / self.possible


@dataclass(frozen=True, slots=True)
class Score:
    total: float  # 0-100, after auto-fail
    raw: float  # 0-100, before auto-fail
    auto_failed: bool
    failed_items: tuple[str, ...]  # the auto-fail questions answered "no"
    passed: bool
    sections: tuple[SectionScore, ...]
    questions: tuple[QuestionScore, ...]


def points(question: Question, answer: object) -> tuple[float, float]:
    """(earned, possible) for one answer; (0, 0) for N/A."""
    if answer == NA:
        return 0.0, 0.0
    if question.kind == YES_NO:
        return (question.weight if answer == YES else 0.0), question.weight
    assert isinstance(answer, int)
    share = (answer - question.low) / (question.high - question.low)
    return question.weight * share, question.weight


def percent_of_question(answer: object, question: Question) -> float | None:
    """How much of one question an answer meets, 0-100, whatever its weight (None: N/A)."""
    if answer == NA:
        return None
    if question.kind == YES_NO:
        return 100.0 if answer == YES else 0.0
    assert isinstance(answer, int)
    return 100.0 * (answer - question.low) / (question.high - question.low)


def missing_answers(form: Form, answers: Mapping[str, object]) -> list[str]:
    """The ids of the questions without a valid answer, in form order."""
    return [q.id for q in form.questions if not q.accepts(answers.get(q.id))]


def score(form: Form, answers: Mapping[str, object]) -> Score:
    """The evaluation's score; ScoringError when a question has no valid answer."""
    missing = missing_answers(form, answers)
    if missing:
        shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
        raise ScoringError(f"{len(missing)} question(s) not answered: {shown}")
    questions: list[QuestionScore] = []
    sections: list[SectionScore] = []
    failed: list[str] = []
    for section in form.sections:
        s_earned = s_possible = 0.0
        for question in section.questions:
            answer = answers[question.id]
            earned, possible = points(question, answer)
            is_failed = question.auto_fail and answer == NO
            if is_failed:
                failed.append(question.id)
            questions.append(QuestionScore(question.id, answer, earned, possible, is_failed))
            s_earned += earned
            s_possible += possible
        sections.append(SectionScore(section.id, section.title, s_earned, s_possible))
    earned = sum(s.earned for s in sections)
    possible = sum(s.possible for s in sections)
    raw = 100.0 if possible == 0 else 100.0 * earned / possible
    total = 0.0 if failed else raw
    return Score(
        total=round(total, 2),
        raw=round(raw, 2),
        auto_failed=bool(failed),
        failed_items=tuple(failed),
        passed=total >= form.pass_mark,
        sections=tuple(sections),
        questions=tuple(questions),
    )
