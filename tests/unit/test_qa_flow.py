"""QA of real calls end to end on SQLite: a seeded sample (checked against a plain recount),
an evaluation scored, a calibration by two evaluators (spread per question, agreed score), the
agent's dispute back on the evaluator's worklist and its re-review; who may do and see what;
the reports against an independent recount."""

from __future__ import annotations

import hashlib
import statistics
from collections import defaultdict
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from console.db import Database
from console.models import AuditLog, Interaction
from console.models.enums import InteractionStatus
from console.services.quality.calibration import calibrate
from console.services.quality.callview import CallViews
from console.services.quality.evaluations import QaService
from console.services.quality.forms import NA, NO, SCALE, YES, parse_form, shipped_forms
from console.services.quality.records import QaError
from console.services.quality.reports import QaReportBy, QaReports
from console.services.quality.sampling import CallFilter, CallSampler
from tests.quality_support import CUSTOMER, PHONE, T0, build_world, record_transcript

FORM = shipped_forms()[0].form
assert FORM is not None
PERIOD = CallFilter(start=T0, end=T0 + timedelta(days=21))


def missed(n: int) -> bool:
    """Whether world.calls[n] is a missed call (tests/quality_support.py: 12 calls an agent,
    the 7th of each 7 missed)."""
    return (n % 12) % 7 == 6


def perfect() -> dict[str, object]:
    return {q.id: (q.high if q.kind == SCALE else YES) for q in FORM.questions}


async def _all_calls(db: Database) -> list[tuple[int, int, object, int, str]]:
    async with db.session() as session:
        rows = (
            await session.execute(
                select(
                    Interaction.id,
                    Interaction.agent_id,
                    Interaction.offered_at,
                    Interaction.talk_seconds + Interaction.hold_seconds,
                    Interaction.disposition,
                ).where(Interaction.status == InteractionStatus.COMPLETED)
            )
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_a_sample_is_n_per_agent_per_iso_week_reproducibly(db: Database) -> None:
    world = await build_world(db)
    sampler = CallSampler(db)
    wanted = replace(PERIOD, per_agent_week=2, seed=7)
    sample = await sampler.calls(wanted)
    # Plain recount: group by agent and ISO week, lowest sha256("seed:id") first.
    groups: dict[tuple[int, int, int], list[int]] = defaultdict(list)
    for call_id, agent, at, _, _ in await _all_calls(db):
        iso = at.isocalendar()  # type: ignore[attr-defined]
        groups[(agent, iso[0], iso[1])].append(call_id)
    expected = set()
    for ids in groups.values():
        ids.sort(key=lambda i: hashlib.sha256(f"7:{i}".encode()).digest())
        expected |= set(ids[:2])
    assert {c.interaction_id for c in sample} == expected
    assert len(groups) == 9 and len(expected) == 18  # 3 agents x 3 weeks, 2 each
    assert await sampler.calls(wanted) == sample  # same seed, same sample
    assert {c.interaction_id for c in await sampler.calls(replace(wanted, seed=8))} != expected
    # Filters: one agent, a queue, a disposition, a duration range.
    ann = await sampler.calls(replace(PERIOD, agents=("ann",), queues=("billing",)))
    assert ann and {(c.agent_login, c.queue) for c in ann} == {("ann", "billing")}
    short = await sampler.calls(replace(PERIOD, max_seconds=200, dispositions=("sale",)))
    assert short and all(c.seconds <= 200 and c.disposition == "sale" for c in short)
    # A call already evaluated is not offered again.
    qa = QaService(db)
    first = sample[0]
    draft = await qa.start(first.interaction_id, FORM, world.lead)
    again = await sampler.calls(wanted)
    assert first.interaction_id not in {c.interaction_id for c in again}
    assert draft.status == "draft"
    with pytest.raises(QaError, match="the period is empty"):
        await sampler.calls(replace(PERIOD, end=T0))


async def test_sample_score_calibrate_dispute_and_re_review(db: Database) -> None:
    world = await build_world(db)
    ann, lead, second = world.agents[0], world.lead, world.second
    qa = QaService(db)
    # The next day, the evaluator samples yesterday's calls and picks one of Ann's.
    [call] = await CallSampler(db).calls(
        replace(PERIOD, agents=("ann",), end=T0 + timedelta(days=1), per_agent_week=1)
    )
    await record_transcript(
        db, ann.id, call.linkedid, [f"Hi, this is {CUSTOMER}, my number is 415-555-0101."]
    )
    view = await CallViews(db).view(call.interaction_id)
    assert view.transcript and view.recorded
    shown = repr(view)
    assert CUSTOMER not in shown and "Grace" not in shown and "555-0101" not in shown
    assert PHONE not in shown

    draft = await qa.start(call.interaction_id, FORM, lead)
    answers = perfect() | {"identity": NA, "listening": 3, "hold": NO}
    await qa.save(draft.id, lead, {"greeting": YES}, comments={"greeting": "Warm."})
    await qa.save(draft.id, lead, answers, comment="Good call; work on hold etiquette.")
    with pytest.raises(QaError, match="only the evaluator"):
        await qa.save(draft.id, second, {"greeting": NO})
    with pytest.raises(QaError, match="empathy: answer 1-5 or n/a"):
        await qa.save(draft.id, lead, {"empathy": 9})
    assert (await qa.get(draft.id)).answer_of("greeting").comment == "Warm."  # type: ignore[union-attr]
    # Agents see nothing of a draft.
    assert await qa.for_agent(ann.id) == []
    with pytest.raises(QaError, match="no evaluation"):
        await qa.get(draft.id, ann)
    submitted = await qa.submit(draft.id, lead)
    # Plain recount: 85 possible (identity N/A), 85 - 7.5 (listening 3 of 5) - 5 (hold no)
    assert submitted.score == pytest.approx(100 * (85 - 7.5 - 5) / 85, abs=0.01)
    assert submitted.status == "submitted" and submitted.passed is True

    # Calibration: a second evaluator scores the same call; the spread shows per question.
    with pytest.raises(QaError, match="already evaluated"):
        await qa.start(call.interaction_id, FORM, second)
    other = await qa.start(call.interaction_id, FORM, second, calibration=True)
    theirs = perfect() | {"identity": YES, "listening": 5, "hold": YES, "empathy": 2}
    await qa.save(other.id, second, theirs)
    other = await qa.submit(other.id, second)
    assert other.kind == "calibration"
    cal = calibrate(FORM, await qa.for_call(call.interaction_id))
    assert cal.evaluators == ("Sue", "Tim")
    by_q = {q.question_id: q for q in cal.questions}
    assert by_q["listening"].shares.values == (50.0, 100.0)
    assert by_q["listening"].shares.spread == 50.0
    assert by_q["listening"].shares.stdev == pytest.approx(25.0)
    assert by_q["identity"].shares.na == 1 and by_q["identity"].shares.spread == 0.0
    assert by_q["empathy"].shares.agreed == statistics.median([100.0, 25.0])
    assert by_q["greeting"].shares.spread == 0.0
    assert cal.agreed_score == pytest.approx(statistics.median([submitted.score, other.score]))
    assert cal.deviations[0] == pytest.approx(submitted.score - cal.agreed_score)  # type: ignore[operator]
    # The agent never sees the calibration.
    assert [e.id for e in await qa.for_agent(ann.id)] == [submitted.id]
    with pytest.raises(QaError):
        await qa.get(other.id, ann)

    # The agent disputes: it goes back on the evaluator's worklist, first.
    with pytest.raises(QaError, match="must not be empty"):
        await qa.dispute(submitted.id, ann, "  ")
    with pytest.raises(QaError, match="only the evaluated agent"):
        await qa.dispute(submitted.id, world.agents[1], "not mine")
    disputed = await qa.dispute(submitted.id, ann, "I did ask before the hold, at 1:20.")
    assert disputed.status == "disputed"
    later = await qa.start(world.calls[29], FORM, lead)  # another draft on the list
    worklist = await qa.worklist(lead.id)
    assert [e.id for e in worklist] == [submitted.id, later.id]
    assert worklist[0].dispute_comment.startswith("I did ask")
    with pytest.raises(QaError, match="must not be empty"):
        await qa.review(submitted.id, lead, "")
    await qa.save(submitted.id, lead, {"hold": YES})
    reviewed = await qa.review(submitted.id, lead, "Right, I missed it: hold corrected.")
    assert reviewed.status == "reviewed"
    assert reviewed.score == pytest.approx(100 * (85 - 7.5) / 85, abs=0.01)
    assert [e.id for e in await qa.worklist(lead.id)] == [later.id]
    with pytest.raises(QaError, match="cannot be disputed now"):
        await qa.dispute(submitted.id, ann, "again")
    done = await qa.acknowledge(submitted.id, ann)
    assert done.status == "acknowledged" and done.acknowledged_at is not None
    # Every change is audited.
    async with db.session() as session:
        actions = (
            await session.scalars(
                select(AuditLog.action)
                .where(AuditLog.entity_type == "qa_evaluation", AuditLog.entity_id == submitted.id)
                .order_by(AuditLog.id)
            )
        ).all()
    assert actions == ["create", "submit", "dispute", "review", "acknowledge"]


async def test_who_may_evaluate_what(db: Database) -> None:
    world = await build_world(db)
    qa = QaService(db)
    with pytest.raises(QaError, match="only supervisors and trainers"):
        await qa.start(world.calls[0], FORM, world.agents[1])
    missed = world.calls[6]  # i % 7 == 6: a missed call
    with pytest.raises(QaError, match="not handled to the end"):
        await qa.start(missed, FORM, world.lead)
    with pytest.raises(QaError, match="no call"):
        await qa.start(999_999, FORM, world.lead)
    draft = await qa.start(world.calls[0], FORM, world.lead)
    assert (await qa.start(world.calls[0], FORM, world.lead)).id == draft.id  # resumed
    with pytest.raises(QaError, match="answer every question first"):
        await qa.submit(draft.id, world.lead)
    # The same name and version with another text is refused: evaluations keep their form.
    assert FORM is not None
    changed = parse_form("mine.toml", FORM.content.replace("pass_mark = 80", "pass_mark = 70"))
    with pytest.raises(QaError, match="give it a new version number"):
        await qa.start(world.calls[1], changed, world.lead)
    bumped = parse_form("mine.toml", changed.content.replace("version = 1", "version = 2"))
    assert (await qa.start(world.calls[1], bumped, world.lead)).form_version == 2


async def test_report_figures_match_a_recount(db: Database) -> None:
    world = await build_world(db)
    qa = QaService(db)
    clock_at = [T0]
    qa = QaService(db, clock=lambda: clock_at[0])
    made = []
    for n, call in enumerate(world.calls[:30]):
        if missed(n):
            continue
        clock_at[0] = T0 + timedelta(days=n % 14, hours=1)
        evaluator = world.lead if n % 2 else world.second
        draft = await qa.start(call, FORM, evaluator)
        answers = perfect() | {"listening": 1 + n % 5, "disclosure": NO if n % 9 == 0 else YES}
        await qa.save(draft.id, evaluator, answers)
        made.append(await qa.submit(draft.id, evaluator))
    report = await QaReports(db).report(QaReportBy.AGENT, T0, T0 + timedelta(days=30))
    for row in report.rows:
        mine = [e for e in made if e.agent_name == row.key]
        scores = [e.score for e in mine]
        assert row.counts.evaluations == len(mine)  # type: ignore[union-attr]
        assert row.counts.average == pytest.approx(sum(scores) / len(scores))  # type: ignore[union-attr,arg-type]
        assert row.counts.auto_failed == sum(e.auto_failed for e in mine)  # type: ignore[union-attr]
        assert row.counts.passed == sum(e.score >= 80 for e in mine)  # type: ignore[union-attr,operator]
    assert report.total.counts.evaluations == len(made)  # type: ignore[union-attr]
    weeks = await QaReports(db).report(QaReportBy.WEEK, T0, T0 + timedelta(days=30))
    assert [r.key for r in weeks.rows] == ["2026-W45", "2026-W46"]
    teams = await QaReports(db).report(QaReportBy.TEAM, T0, T0 + timedelta(days=30))
    assert {r.key for r in teams.rows} == {"red", "blue"}
    questions = await QaReports(db).report(QaReportBy.QUESTION, T0, T0 + timedelta(days=30))
    listening = next(r for r in questions.rows if r.key == "standard v1: listening")
    expected = [100 * (1 + n % 5 - 1) / 4 for n in range(30) if not missed(n)]
    assert listening.counts.average == pytest.approx(sum(expected) / len(expected))  # type: ignore[union-attr]
    disclosure = next(r for r in questions.rows if r.key == "standard v1: disclosure")
    assert disclosure.counts.noes == sum(1 for n in range(30) if not missed(n) and n % 9 == 0)  # type: ignore[union-attr]


async def test_the_replay_is_masked_and_unmasking_is_the_trainers_rule(db: Database) -> None:
    from sqlalchemy import update

    from console.models import Agent
    from console.services.quality.desk import QaDesk
    from console.services.training.masking import MaskingError

    world = await build_world(db)
    await record_transcript(db, world.agents[0].id, "l0-0", [f"{CUSTOMER} on {PHONE}"])
    desk = QaDesk(db, world.lead)
    replay = await desk.replay("l0-0", interaction_id=world.calls[0])
    assert replay.masked
    with pytest.raises(MaskingError, match="not allowed to unmask"):
        await desk.replay("l0-0", interaction_id=world.calls[0], unmask_reason="check ID")
    async with db.write_connection() as conn:
        await conn.execute(update(Agent).where(Agent.id == world.lead.id).values(can_unmask=True))
    allowed = QaDesk(db, replace(world.lead, can_unmask=True))
    raw = await allowed.replay("l0-0", interaction_id=world.calls[0], unmask_reason="check ID")
    assert not raw.masked
    async with db.session() as session:
        audit = (
            await session.execute(
                select(AuditLog.action, AuditLog.entity_type, AuditLog.entity_id).where(
                    AuditLog.action == "unmask"
                )
            )
        ).all()
    assert audit == [("unmask", "interaction", world.calls[0])]
