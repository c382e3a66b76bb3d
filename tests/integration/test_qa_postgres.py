"""The QA queries on PostgreSQL give what they give on SQLite: the same seeded sample, the
evaluation of record kept unique, a dispute back on the worklist, the report's figures."""

from __future__ import annotations

from datetime import timedelta

import pytest

from console.db import Database
from console.services.quality.evaluations import QaService
from console.services.quality.forms import NO, SCALE, YES, shipped_forms
from console.services.quality.records import QaError
from console.services.quality.reports import QaReportBy, QaReports
from console.services.quality.sampling import CallFilter, CallSampler
from tests.quality_support import T0, build_world

FORM = shipped_forms()[0].form
PERIOD = CallFilter(start=T0, end=T0 + timedelta(days=21), per_agent_week=2, seed=5)


async def _run(db: Database) -> tuple[list[int], list[tuple[str, float | None]]]:
    world = await build_world(db)
    assert FORM is not None
    sample = await CallSampler(db).calls(PERIOD)
    qa = QaService(db, clock=lambda: T0 + timedelta(days=22))
    first = sample[0].interaction_id
    draft = await qa.start(first, FORM, world.lead)
    answers = {q.id: (q.low if q.kind == SCALE else YES) for q in FORM.questions}
    await qa.save(draft.id, world.lead, answers | {"disclosure": NO})
    await qa.submit(draft.id, world.lead)
    with pytest.raises(QaError, match="already evaluated"):
        await qa.start(first, FORM, world.second)
    agent = next(a for a in world.agents if a.id == sample[0].agent_id)
    await qa.dispute(draft.id, agent, "disclosure was given")
    assert [e.id for e in await qa.worklist(world.lead.id)] == [draft.id]
    assert first not in {c.interaction_id for c in await CallSampler(db).calls(PERIOD)}
    report = await QaReports(db).report(QaReportBy.AGENT, T0, T0 + timedelta(days=30))
    return [c.interaction_id for c in sample], [(r.key, r.counts.average) for r in report.rows]  # type: ignore[union-attr]


async def test_postgres_matches_sqlite(db: Database, pg_db: Database) -> None:
    assert await _run(pg_db) == await _run(db)
