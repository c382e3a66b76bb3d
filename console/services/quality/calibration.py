"""Calibration: several evaluators score the same call; how far apart they are, question by
question, and the agreed score (docs/quality.md, "Calibration").

Each answer is put on one scale, the share of the question met (0-100: yes 100, no 0, a scale
answer its place in the range; N/A left out). Per question: every evaluator's share, the
spread (max - min), the population standard deviation and the agreed share, the median. The
agreed score is the median of the evaluators' scores; each evaluator's distance from it says
who scores high or low. Only submitted evaluations count (drafts are not anyone's verdict yet),
and only those on the form of the call's evaluation of record (else the first one's form).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from console.services.quality.forms import Form
from console.services.quality.records import DRAFT, EVALUATION, EvaluationRecord
from console.services.quality.scoring import percent_of_question


@dataclass(frozen=True, slots=True)
class Spread:
    """Numbers from several evaluators: each one's, and how they agree."""

    values: tuple[float | None, ...]  # per evaluator, in `Calibration.evaluators` order
    low: float | None
    high: float | None
    spread: float | None  # high - low
    stdev: float | None  # population standard deviation
    agreed: float | None  # the median
    na: int  # evaluators who answered N/A

    @staticmethod
    def of(values: Sequence[float | None]) -> Spread:
        present = [v for v in values if v is not None]
        if not present:
            return Spread(tuple(values), None, None, None, None, None, len(values))
        low, high = min(present), max(present)
        return Spread(
            values=tuple(values),
            low=low,
            high=high,
            spread=high - low,
            stdev=statistics.pstdev(present),
            agreed=statistics.median(present),
            na=len(values) - len(present),
        )


@dataclass(frozen=True, slots=True)
class QuestionSpread:
    question_id: str
    text: str
    section: str
    answers: tuple[object, ...]  # per evaluator, as given
    shares: Spread


@dataclass(frozen=True, slots=True)
class Calibration:
    """One call's calibration on one form."""

    interaction_id: int
    form_label: str
    evaluators: tuple[str, ...]
    evaluation_ids: tuple[int, ...]
    questions: tuple[QuestionSpread, ...]
    scores: Spread  # the evaluators' total scores; `agreed` is the agreed score
    deviations: tuple[float | None, ...]  # each evaluator's score minus the agreed score

    @property
    def agreed_score(self) -> float | None:
        return self.scores.agreed


def calibrate(form: Form, evaluations: Sequence[EvaluationRecord]) -> Calibration:
    """The calibration of the submitted evaluations in ``evaluations`` made on ``form``."""
    used = [
        e
        for e in evaluations
        if e.status != DRAFT and e.form_name == form.name and e.form_version == form.version
    ]
    used.sort(key=lambda e: (e.kind != EVALUATION, e.submitted_at or e.created_at, e.id))
    questions = []
    for section in form.sections:
        for question in section.questions:
            answers = tuple(
                (a.answer if (a := e.answer_of(question.id)) is not None else None) for e in used
            )
            shares = [
                None if answer is None else percent_of_question(answer, question)
                for answer in answers
            ]
            questions.append(
                QuestionSpread(
                    question.id, question.text, section.title, answers, Spread.of(shares)
                )
            )
    scores = Spread.of([e.score for e in used])
    agreed = scores.agreed
    return Calibration(
        interaction_id=used[0].interaction_id if used else 0,
        form_label=form.label,
        evaluators=tuple(e.evaluator_name or f"evaluator {e.evaluator_id}" for e in used),
        evaluation_ids=tuple(e.id for e in used),
        questions=tuple(questions),
        scores=scores,
        deviations=tuple(
            None if e.score is None or agreed is None else e.score - agreed for e in used
        ),
    )


def calibration_form_id(evaluations: Sequence[EvaluationRecord]) -> int | None:
    """The form a call's calibration is on: its evaluation of record's, else the first's."""
    submitted = [e for e in evaluations if e.status != DRAFT]
    of_record = [e for e in submitted if e.kind == EVALUATION]
    chosen = of_record or submitted
    return chosen[0].form_id if chosen else None
