"""An evaluation as the QA services return it, the statuses and kinds as stored, and who may
see what (docs/quality.md, "States" and "Who sees what")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased

from console.models import Agent, Interaction, QaEvaluation, QaForm, Queue
from console.models.enums import Role
from console.services.crm.agents import AgentIdentity
from console.services.errors import ServiceError

# Statuses and kinds, as stored.
DRAFT, SUBMITTED, ACKNOWLEDGED, DISPUTED, REVIEWED = (
    "draft",
    "submitted",
    "acknowledged",
    "disputed",
    "reviewed",
)
EVALUATION, CALIBRATION = "evaluation", "calibration"
VISIBLE_TO_AGENT = (SUBMITTED, ACKNOWLEDGED, DISPUTED, REVIEWED)
EVALUATOR_ROLES = (Role.SUPERVISOR, Role.TRAINER)
MAX_COMMENT = 4000
ENTITY = "qa_evaluation"  # audit_log.entity_type


class QaError(ServiceError):
    """A QA request was refused; nothing was changed."""


@dataclass(frozen=True, slots=True)
class Answer:
    question_id: str
    answer: object  # "yes" | "no" | "na" | a whole number | None (not answered yet)
    comment: str = ""


@dataclass(frozen=True, slots=True)
class EvaluationRecord:
    """One evaluation as the QA screens and commands show it."""

    id: int
    form_id: int
    form_name: str
    form_version: int
    interaction_id: int
    linkedid: str
    agent_id: int
    agent_name: str
    team: str
    evaluator_id: int | None
    evaluator_name: str
    kind: str
    status: str
    answers: tuple[Answer, ...]
    comment: str
    score: float | None
    auto_failed: bool
    passed: bool | None
    call_at: datetime
    queue: str
    created_at: datetime
    submitted_at: datetime | None
    acknowledged_at: datetime | None
    disputed_at: datetime | None
    dispute_comment: str
    reviewed_at: datetime | None
    review_comment: str

    @property
    def form_label(self) -> str:
        return f"{self.form_name} v{self.form_version}"

    def answer_of(self, question_id: str) -> Answer | None:
        return next((a for a in self.answers if a.question_id == question_id), None)

    def answer_map(self) -> dict[str, object]:
        return {a.question_id: a.answer for a in self.answers if a.answer is not None}


def is_evaluator(viewer: AgentIdentity) -> bool:
    return viewer.role in EVALUATOR_ROLES


_EVALUATOR = aliased(Agent)
_COLUMNS = (
    QaEvaluation.id,
    QaEvaluation.form_id,
    QaForm.name,
    QaForm.version,
    QaEvaluation.interaction_id,
    QaEvaluation.linkedid,
    QaEvaluation.agent_id,
    Agent.display_name,
    Agent.team,
    QaEvaluation.evaluator_id,
    QaEvaluation.kind,
    QaEvaluation.status,
    QaEvaluation.answers,
    QaEvaluation.comment,
    QaEvaluation.score,
    QaEvaluation.auto_failed,
    QaEvaluation.passed,
    Interaction.offered_at,
    Queue.name,
    QaEvaluation.created_at,
    QaEvaluation.submitted_at,
    QaEvaluation.acknowledged_at,
    QaEvaluation.disputed_at,
    QaEvaluation.dispute_comment,
    QaEvaluation.reviewed_at,
    QaEvaluation.review_comment,
)


def select_records() -> Any:
    return (
        select(*_COLUMNS, _EVALUATOR.display_name)
        .join(QaForm, QaForm.id == QaEvaluation.form_id)
        .join(Interaction, Interaction.id == QaEvaluation.interaction_id)
        .outerjoin(Agent, Agent.id == QaEvaluation.agent_id)
        .outerjoin(Queue, Queue.id == Interaction.queue_id)
        .outerjoin(_EVALUATOR, _EVALUATOR.id == QaEvaluation.evaluator_id)
    )


def record_of(r: Sequence[Any]) -> EvaluationRecord:
    stored = r[12] if isinstance(r[12], dict) else {}
    answers = tuple(
        Answer(qid, v.get("answer"), str(v.get("comment", "")))
        for qid, v in stored.items()
        if isinstance(v, dict)
    )
    return EvaluationRecord(
        id=r[0],
        form_id=r[1],
        form_name=r[2],
        form_version=r[3],
        interaction_id=r[4],
        linkedid=r[5],
        agent_id=r[6],
        agent_name=r[7] or f"agent {r[6]}",
        team=r[8] or "",
        evaluator_id=r[9],
        evaluator_name=r[26] or "",
        kind=r[10],
        status=r[11],
        answers=answers,
        comment=r[13],
        score=r[14],
        auto_failed=bool(r[15]),
        passed=r[16],
        call_at=r[17],
        queue=r[18] or "",
        created_at=r[19],
        submitted_at=r[20],
        acknowledged_at=r[21],
        disputed_at=r[22],
        dispute_comment=r[23],
        reviewed_at=r[24],
        review_comment=r[25],
    )


def may_see(viewer: AgentIdentity, record: EvaluationRecord) -> bool:
    """Evaluators see every evaluation; an agent only their own of record, once submitted."""
    if is_evaluator(viewer):
        return True
    return (
        record.agent_id == viewer.id
        and record.kind == EVALUATION
        and record.status in VISIBLE_TO_AGENT
    )
