"""QA evaluations: draft, answers, submit and score, the agent's acknowledgement or dispute, the
evaluator's re-review (docs/quality.md, "States").

```
draft --submit--> submitted --acknowledge--> acknowledged
                      |
                      +--dispute (agent, comment)--> disputed   (on the evaluator's worklist)
                                                        |
                      acknowledged <--acknowledge-- reviewed <--review (evaluator, reply)--+
```

Who may do what: evaluators are supervisors and trainers; an evaluator never evaluates their own
calls; only the evaluated agent acknowledges or disputes, once per evaluation; only the
evaluator who wrote it re-reviews a dispute. An agent sees only their own evaluations of
record, once submitted; evaluators see all. Each change is one write transaction with its
audit entry; a refused request changes nothing (`QaError`, one line).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from console.models import Interaction, QaEvaluation, QaForm
from console.models.enums import InteractionStatus
from console.services.crm.agents import AgentIdentity
from console.services.errors import free_text, record_id
from console.services.quality.forms import Form, FormError, stored_form
from console.services.quality.records import (
    ACKNOWLEDGED,
    CALIBRATION,
    DISPUTED,
    DRAFT,
    ENTITY,
    EVALUATION,
    MAX_COMMENT,
    REVIEWED,
    SUBMITTED,
    VISIBLE_TO_AGENT,
    EvaluationRecord,
    QaError,
    is_evaluator,
    may_see,
    record_of,
    select_records,
)
from console.services.quality.scoring import ScoringError, missing_answers, score
from console.services.service import DbService


class QaService(DbService):
    """Evaluations: create, answer, submit, acknowledge, dispute, re-review, read."""

    # ------------------------------------------------------------------ forms

    async def store_form(self, form: Form, conn: AsyncConnection | None = None) -> int:
        """The id of ``form`` as stored (stored now if new). A form whose name and version
        are stored with another text is refused: evaluations must keep the form they used."""
        if conn is None:
            async with self._db.write_connection() as own:
                return await self.store_form(form, own)
        row = (
            await conn.execute(
                select(QaForm.id, QaForm.content_hash).where(
                    QaForm.name == form.name, QaForm.version == form.version
                )
            )
        ).first()
        if row is not None:
            if row[1] != form.content_hash:
                raise QaError(
                    f"form {form.label} ({form.source}) differs from the {form.label} "
                    "evaluations were scored on: give it a new version number"
                )
            return int(row[0])
        new_id = await conn.scalar(
            insert(QaForm)
            .values(
                name=form.name,
                version=form.version,
                title=form.title,
                content_hash=form.content_hash,
                content=form.content,
                created_at=self._clock(),
            )
            .returning(QaForm.id)
        )
        assert new_id is not None
        return int(new_id)

    async def form(self, form_id: int) -> Form:
        """A stored form, parsed again from its stored text."""
        async with self._db.session() as session:
            row = (
                await session.execute(
                    select(QaForm.name, QaForm.version, QaForm.content).where(QaForm.id == form_id)
                )
            ).first()
        if row is None:
            raise QaError(f"no form {form_id}")
        try:
            return stored_form(row[0], row[1], row[2])
        except FormError as exc:  # a stored form parsed once: only a changed parser gets here
            raise QaError(str(exc)) from None

    # ------------------------------------------------------------------ evaluating

    async def start(
        self,
        interaction_id: int,
        form: Form,
        evaluator: AgentIdentity,
        *,
        calibration: bool = False,
    ) -> EvaluationRecord:
        """A draft evaluation of the call on ``form`` (or the evaluator's own evaluation of it
        already started, whatever its state). ``calibration``: another evaluator's scoring of a
        call that has (or will have) its evaluation of record."""
        record_id(interaction_id, field="call", error=QaError)
        if not is_evaluator(evaluator):
            raise QaError("only supervisors and trainers evaluate calls")
        async with self._db.write_connection() as conn:
            mine = await conn.scalar(
                select(QaEvaluation.id).where(
                    QaEvaluation.interaction_id == interaction_id,
                    QaEvaluation.evaluator_id == evaluator.id,
                )
            )
            if mine is None:
                call = (
                    await conn.execute(
                        select(
                            Interaction.agent_id, Interaction.status, Interaction.linkedid
                        ).where(Interaction.id == interaction_id)
                    )
                ).first()
                if call is None:
                    raise QaError(f"no call {interaction_id}")
                if call[0] is None or call[1] != InteractionStatus.COMPLETED:
                    raise QaError(f"call {interaction_id} was not handled to the end by an agent")
                if call[0] == evaluator.id:
                    raise QaError("you cannot evaluate your own call")
                kind = CALIBRATION if calibration else EVALUATION
                if not calibration:
                    taken = await conn.scalar(
                        select(func.count())
                        .select_from(QaEvaluation)
                        .where(
                            QaEvaluation.interaction_id == interaction_id,
                            QaEvaluation.kind == EVALUATION,
                        )
                    )
                    if taken:
                        raise QaError(
                            f"call {interaction_id} is already evaluated; "
                            "score it as a calibration instead"
                        )
                form_id = await self.store_form(form, conn)
                now = self._clock()
                try:
                    mine = await conn.scalar(
                        insert(QaEvaluation)
                        .values(
                            form_id=form_id,
                            interaction_id=interaction_id,
                            linkedid=call[2] or "",
                            agent_id=call[0],
                            evaluator_id=evaluator.id,
                            kind=kind,
                            status=DRAFT,
                            answers={},
                            comment="",
                            auto_failed=False,
                            created_at=now,
                            updated_at=now,
                            dispute_comment="",
                            review_comment="",
                        )
                        .returning(QaEvaluation.id)
                    )
                except IntegrityError:  # another console evaluated it meanwhile
                    raise QaError(
                        f"call {interaction_id} was just evaluated by someone else"
                    ) from None
                await self._audit.add(
                    conn,
                    evaluator.id,
                    "create",
                    ENTITY,
                    mine,
                    {"interaction": interaction_id, "form": form.label, "kind": kind},
                )
        assert mine is not None
        return await self.get(int(mine))

    async def save(
        self,
        evaluation_id: int,
        evaluator: AgentIdentity,
        answers: Mapping[str, object],
        *,
        comments: Mapping[str, str] | None = None,
        comment: str | None = None,
    ) -> EvaluationRecord:
        """Save answers (merged into those saved) and comments: by the evaluation's evaluator,
        in a draft or a disputed evaluation (its re-review). Unknown questions or answers out
        of range are refused; missing ones may be answered later."""
        async with self._db.write_connection() as conn:
            row = await self._locked(conn, evaluation_id)
            self._check_evaluator(row, evaluator, (DRAFT, DISPUTED))
            form = await self._form_in(conn, row.form_id)
            stored = dict(row.answers or {})
            for qid, answer in answers.items():
                question = form.question(qid)
                if question is None:
                    raise QaError(f"form {form.label} has no question {qid!r}")
                if answer is None:
                    stored.pop(qid, None)
                    continue
                if not question.accepts(answer):
                    raise QaError(f"{qid}: answer {question.choices()}, not {answer!r}")
                entry = dict(stored.get(qid) or {})
                entry["answer"] = answer
                stored[qid] = entry
            for qid, text in (comments or {}).items():
                if form.question(qid) is None:
                    raise QaError(f"form {form.label} has no question {qid!r}")
                entry = dict(stored.get(qid) or {})
                entry["comment"] = free_text(
                    text, field="the comment", max_length=MAX_COMMENT, error=QaError
                )
                stored[qid] = entry
            stored = {q.id: stored[q.id] for q in form.questions if q.id in stored}  # form order
            values: dict[str, Any] = {"answers": stored, "updated_at": self._clock()}
            if comment is not None:
                values["comment"] = free_text(
                    comment, field="the comment", max_length=MAX_COMMENT, error=QaError
                )
            await conn.execute(
                update(QaEvaluation).where(QaEvaluation.id == evaluation_id).values(**values)
            )
        return await self.get(evaluation_id)

    async def submit(self, evaluation_id: int, evaluator: AgentIdentity) -> EvaluationRecord:
        """Score a draft and submit it: the agent sees it (an evaluation of record)."""
        async with self._db.write_connection() as conn:
            row = await self._locked(conn, evaluation_id)
            self._check_evaluator(row, evaluator, (DRAFT,))
            values = await self._scored(conn, row)
            now = self._clock()
            await conn.execute(
                update(QaEvaluation)
                .where(QaEvaluation.id == evaluation_id)
                .values(status=SUBMITTED, submitted_at=now, updated_at=now, **values)
            )
            await self._audit.add(
                conn, evaluator.id, "submit", ENTITY, evaluation_id, {"score": values["score"]}
            )
        return await self.get(evaluation_id)

    async def review(
        self, evaluation_id: int, evaluator: AgentIdentity, reply: str
    ) -> EvaluationRecord:
        """Close a dispute: the evaluator's reply (required), the answers as saved since
        (`save`), scored again. The agent sees it and may acknowledge it; a reviewed
        evaluation is not disputed again (docs/quality.md)."""
        text = free_text(
            reply, field="the reply", max_length=MAX_COMMENT, required=True, error=QaError
        )
        async with self._db.write_connection() as conn:
            row = await self._locked(conn, evaluation_id)
            self._check_evaluator(row, evaluator, (DISPUTED,))
            values = await self._scored(conn, row)
            now = self._clock()
            await conn.execute(
                update(QaEvaluation)
                .where(QaEvaluation.id == evaluation_id)
                .values(
                    status=REVIEWED, reviewed_at=now, review_comment=text, updated_at=now, **values
                )
            )
            await self._audit.add(
                conn,
                evaluator.id,
                "review",
                ENTITY,
                evaluation_id,
                {"score_before": row.score, "score": values["score"]},
            )
        return await self.get(evaluation_id)

    # ------------------------------------------------------------------ the agent's side

    async def acknowledge(self, evaluation_id: int, agent: AgentIdentity) -> EvaluationRecord:
        """The evaluated agent has read it (submitted or reviewed)."""
        async with self._db.write_connection() as conn:
            row = await self._locked(conn, evaluation_id)
            self._check_agent(row, agent, (SUBMITTED, REVIEWED), "acknowledge")
            now = self._clock()
            await conn.execute(
                update(QaEvaluation)
                .where(QaEvaluation.id == evaluation_id)
                .values(status=ACKNOWLEDGED, acknowledged_at=now, updated_at=now)
            )
            await self._audit.add(conn, agent.id, "acknowledge", ENTITY, evaluation_id)
        return await self.get(evaluation_id)

    async def dispute(
        self, evaluation_id: int, agent: AgentIdentity, comment: str
    ) -> EvaluationRecord:
        """The evaluated agent disagrees (a comment is required): back on the evaluator's
        worklist. Once per evaluation."""
        text = free_text(
            comment,
            field="the dispute comment",
            max_length=MAX_COMMENT,
            required=True,
            error=QaError,
        )
        async with self._db.write_connection() as conn:
            row = await self._locked(conn, evaluation_id)
            self._check_agent(row, agent, (SUBMITTED,), "dispute")
            now = self._clock()
            await conn.execute(
                update(QaEvaluation)
                .where(QaEvaluation.id == evaluation_id)
                .values(status=DISPUTED, disputed_at=now, dispute_comment=text, updated_at=now)
            )
            await self._audit.add(conn, agent.id, "dispute", ENTITY, evaluation_id)
        return await self.get(evaluation_id)

    # ------------------------------------------------------------------ reading

    async def get(
        self, evaluation_id: int, viewer: AgentIdentity | None = None
    ) -> EvaluationRecord:
        """One evaluation; with ``viewer``, only if they may see it."""
        async with self._db.session() as session:
            row = (
                await session.execute(select_records().where(QaEvaluation.id == evaluation_id))
            ).first()
        if row is None:
            raise QaError(f"no evaluation {evaluation_id}")
        record = record_of(row)
        if viewer is not None and not may_see(viewer, record):
            raise QaError(f"no evaluation {evaluation_id}")
        return record

    async def for_agent(self, agent_id: int, *, limit: int = 200) -> list[EvaluationRecord]:
        """The agent's own evaluations of record, once submitted, newest first."""
        stmt = (
            select_records()
            .where(
                QaEvaluation.agent_id == agent_id,
                QaEvaluation.kind == EVALUATION,
                QaEvaluation.status.in_(VISIBLE_TO_AGENT),
            )
            .order_by(QaEvaluation.submitted_at.desc(), QaEvaluation.id.desc())
            .limit(limit)
        )
        return await self._many(stmt)

    async def worklist(self, evaluator_id: int, *, limit: int = 200) -> list[EvaluationRecord]:
        """The evaluator's open work: disputes to re-review first (oldest first), then drafts."""
        stmt = (
            select_records()
            .where(
                QaEvaluation.evaluator_id == evaluator_id,
                QaEvaluation.status.in_((DISPUTED, DRAFT)),
            )
            .order_by(
                (QaEvaluation.status == DRAFT).asc(),
                func.coalesce(QaEvaluation.disputed_at, QaEvaluation.created_at).asc(),
                QaEvaluation.id,
            )
            .limit(limit)
        )
        return await self._many(stmt)

    async def recent(self, *, limit: int = 200) -> list[EvaluationRecord]:
        """Every evaluator's submitted evaluations (and calibrations), newest first."""
        stmt = (
            select_records()
            .where(QaEvaluation.status != DRAFT)
            .order_by(QaEvaluation.submitted_at.desc(), QaEvaluation.id.desc())
            .limit(limit)
        )
        return await self._many(stmt)

    async def for_call(self, interaction_id: int) -> list[EvaluationRecord]:
        """Every evaluation of one call (of record and calibrations), oldest first."""
        stmt = (
            select_records()
            .where(QaEvaluation.interaction_id == interaction_id)
            .order_by(QaEvaluation.created_at, QaEvaluation.id)
        )
        return await self._many(stmt)

    async def _many(self, stmt: Any) -> list[EvaluationRecord]:
        async with self._db.session() as session:
            rows = (await session.execute(stmt)).all()
        return [record_of(r) for r in rows]

    # ------------------------------------------------------------------ checks

    async def _locked(self, conn: AsyncConnection, evaluation_id: int) -> Any:
        record_id(evaluation_id, field="evaluation", error=QaError)
        row = (
            await conn.execute(
                select(
                    QaEvaluation.form_id,
                    QaEvaluation.evaluator_id,
                    QaEvaluation.agent_id,
                    QaEvaluation.kind,
                    QaEvaluation.status,
                    QaEvaluation.answers,
                    QaEvaluation.score,
                )
                .where(QaEvaluation.id == evaluation_id)
                .with_for_update()
            )
        ).first()
        if row is None:
            raise QaError(f"no evaluation {evaluation_id}")
        return row

    @staticmethod
    def _check_evaluator(row: Any, evaluator: AgentIdentity, states: tuple[str, ...]) -> None:
        if row.evaluator_id != evaluator.id:
            raise QaError("only the evaluator who wrote it can change an evaluation")
        if row.status not in states:
            raise QaError(
                f"the evaluation is {row.status}; it can be changed only when {' or '.join(states)}"
            )

    @staticmethod
    def _check_agent(row: Any, agent: AgentIdentity, states: tuple[str, ...], what: str) -> None:
        if row.agent_id != agent.id or row.kind != EVALUATION:
            raise QaError(f"only the evaluated agent can {what} an evaluation")
        if row.status not in states:
            raise QaError(f"the evaluation is {row.status}: it cannot be {what}d now")

    async def _form_in(self, conn: AsyncConnection, form_id: int) -> Form:
        row = (
            await conn.execute(
                select(QaForm.name, QaForm.version, QaForm.content).where(QaForm.id == form_id)
            )
        ).first()
        assert row is not None  # a foreign key
        return stored_form(row[0], row[1], row[2])

    async def _scored(self, conn: AsyncConnection, row: Any) -> dict[str, Any]:
        form = await self._form_in(conn, row.form_id)
        answers = {qid: v.get("answer") for qid, v in (row.answers or {}).items()}
        if missing_answers(form, answers):
            missing = missing_answers(form, answers)
            raise QaError(
                f"answer every question first ({len(missing)} left: {', '.join(missing[:4])})"
            )
        try:
            result = score(form, answers)
        except ScoringError as exc:
            raise QaError(str(exc)) from None
        return {"score": result.total, "auto_failed": result.auto_failed, "passed": result.passed}
