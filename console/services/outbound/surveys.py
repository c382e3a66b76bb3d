"""Survey answers: stored per campaign, customer and question, and counted per campaign.

An answer is checked against the campaign's own script (`console.services.outbound.scripts`)
before it is stored; asking again (a second call to the same customer) replaces the earlier
answer to that question, so the results count each customer once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from console.models import Campaign, SurveyAnswer
from console.services.errors import ServiceError
from console.services.outbound.scripts import CampaignScript
from console.services.service import DbService


class SurveyError(ServiceError):
    """Answers refused; one line for the user."""


@dataclass(frozen=True, slots=True)
class QuestionResult:
    """One question's answers over a campaign: how many customers answered, and how many gave
    each answer (text answers are counted, not listed)."""

    id: str
    text: str
    kind: str
    answered: int
    answers: tuple[tuple[str, int], ...]  # most given first


def checked_answers(script: CampaignScript, answers: Mapping[str, str]) -> dict[str, str]:
    """``answers`` (question id → answer as typed) as the script's questions store them;
    ValueError (one line) for a question the script lacks or a value that is no answer."""
    out = {}
    for qid, raw in answers.items():
        try:
            question = script.question(qid)
        except KeyError:
            raise ValueError(f"the campaign's script has no question {qid!r}") from None
        value = question.check(raw)
        if value is None:
            raise ValueError(f"{raw!r} is not an answer to {qid!r}")
        out[qid] = value
    return out


async def store_answers(
    conn: AsyncConnection,
    campaign_id: int,
    customer_id: int,
    answers: Mapping[str, str],
    *,
    interaction_id: int | None,
    at: datetime,
) -> None:
    """Store checked answers in ``conn``'s transaction, each replacing the customer's earlier
    answer to that question (the results count each customer once)."""
    if not answers:
        return
    await conn.execute(
        delete(SurveyAnswer).where(
            SurveyAnswer.campaign_id == campaign_id,
            SurveyAnswer.customer_id == customer_id,
            SurveyAnswer.question.in_(list(answers)),
        )
    )
    await conn.execute(
        insert(SurveyAnswer),
        [
            {
                "campaign_id": campaign_id,
                "customer_id": customer_id,
                # A provisional (journaled, negative) id is not a row yet: none.
                "interaction_id": interaction_id if interaction_id and interaction_id > 0 else None,
                "question": qid,
                "answer": value,
                "answered_at": at,
            }
            for qid, value in answers.items()
        ],
    )


async def stored_answers(
    conn: AsyncConnection | AsyncSession, campaign_id: int, customer_id: int
) -> dict[str, str]:
    """The customer's answers to the campaign's questions so far."""
    rows = await conn.execute(
        select(SurveyAnswer.question, SurveyAnswer.answer).where(
            SurveyAnswer.campaign_id == campaign_id, SurveyAnswer.customer_id == customer_id
        )
    )
    return {str(q): str(a) for q, a in rows.all()}


class SurveyService(DbService):
    """Record a call's survey answers; the campaign's results per question."""

    async def _script(
        self, conn: AsyncConnection | AsyncSession, campaign_id: int
    ) -> CampaignScript:
        raw = await conn.scalar(select(Campaign.script).where(Campaign.id == campaign_id))
        if raw is None:
            raise SurveyError(f"no campaign {campaign_id}")
        try:
            return CampaignScript.model_validate_json(raw or "{}")
        except ValidationError as exc:
            problem = exc.errors()[0]["msg"]
            raise SurveyError(f"the campaign's script does not read: {problem}") from None

    async def record(
        self,
        campaign_id: int,
        customer_id: int,
        answers: Mapping[str, str],
        *,
        interaction_id: int | None = None,
        agent_id: int | None = None,
    ) -> int:
        """Store ``answers`` (question id → answer as the agent typed it); returns how many."""
        if not answers:
            return 0
        now = self._clock()
        async with self._db.write_connection() as conn:
            script = await self._script(conn, campaign_id)
            try:
                checked = checked_answers(script, answers)
            except ValueError as exc:
                raise SurveyError(str(exc)) from None
            await store_answers(
                conn, campaign_id, customer_id, checked, interaction_id=interaction_id, at=now
            )
            await self._audit.add(
                conn, agent_id, "survey", "customer", customer_id,
                {"campaign": campaign_id, "questions": sorted(answers)},
            )  # fmt: skip
        return len(checked)

    async def results(self, campaign_id: int) -> list[QuestionResult]:
        """Every question of the campaign's script, in order, with its answers so far."""
        async with self._db.session() as conn:
            script = await self._script(conn, campaign_id)
            rows = (
                await conn.execute(
                    select(SurveyAnswer.question, SurveyAnswer.answer, func.count())
                    .where(SurveyAnswer.campaign_id == campaign_id)
                    .group_by(SurveyAnswer.question, SurveyAnswer.answer)
                )
            ).all()
        per: dict[str, Counter[str]] = {}
        for qid, answer, n in rows:
            per.setdefault(qid, Counter())[answer] += int(n)
        out = []
        for q in script.questions:
            counts = per.get(q.id, Counter())
            shown = () if q.kind == "text" else tuple(counts.most_common())
            out.append(QuestionResult(q.id, q.text, q.kind, sum(counts.values()), shown))
        return out
