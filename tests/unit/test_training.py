"""The training service without a PBX: the library, who is online, runs refused, stopped and
scored from nothing, history and exports. (With the simulator: tests/ui/test_training_runs.py.)
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console.db import Database
from console.models import Agent, ConsoleSession
from console.services.training.scoring import ScoreCard
from console.services.training.training import (
    FAILED,
    SCORED,
    STOPPED,
    ScenarioLibrary,
    Trainee,
    TrainingError,
    TrainingService,
    export_scorecard,
)

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

GOOD = """
name = "my-drill"
description = "A drill of my own"
difficulty = "hard"
[[queues]]
name = "support"
[[calls]]
id = "one"
queue = "support"
[rubric]
[[rubric.criteria]]
id = "answer"
kind = "answer_within"
seconds = 10
"""


class Link:
    """The CTI link's training actions, as the simulator answers them (or refuses)."""

    def __init__(self, refuse: str = "") -> None:
        self.refuse = refuse
        self.started: list[tuple[str, str, str, float]] = []
        self.stopped: list[str] = []

    async def start_training(
        self, interface: str, scenario: str, run_id: str, *, lead: float = 3.0
    ) -> int:
        if self.refuse:
            raise RuntimeError(self.refuse)
        self.started.append((interface, scenario, run_id, lead))
        return 1

    async def stop_training(self, interface: str) -> None:
        self.stopped.append(interface)


@pytest.fixture
async def people(db: Database) -> dict[str, int]:
    async with db.write() as s:
        ann = Agent(login="ann", display_name="Ann Trainee", interface="PJSIP/1001")
        bob = Agent(login="bob", display_name="Bob Away", interface="PJSIP/1002")
        tess = Agent(login="tess", display_name="Tess Trainer", interface="PJSIP/1003")
        ann.heartbeat_at = tess.heartbeat_at = NOW - timedelta(seconds=10)
        bob.heartbeat_at = NOW - timedelta(hours=1)  # his console died
        s.add_all([ann, bob, tess])
        await s.flush()
        for agent in (ann, bob, tess):
            s.add(
                ConsoleSession(
                    id=f"s-{agent.login}",
                    agent_id=agent.id,
                    started_at=NOW - timedelta(minutes=5),
                    details={"interface": agent.interface},
                )
            )
        return {"ann": ann.id, "bob": bob.id, "tess": tess.id}


def service(db: Database, own: Path | None = None) -> TrainingService:
    return TrainingService(db, ScenarioLibrary(own), clock=lambda: NOW)


def test_the_library_lists_trainable_scenarios_first_and_names_a_broken_file(
    tmp_path: Path,
) -> None:
    (tmp_path / "mine.toml").write_text(GOOD)
    (tmp_path / "broken.toml").write_text('name = "x"\n[[queues]]\nnam = "support"\n')
    entries = ScenarioLibrary(tmp_path).entries()
    by_key = {e.key: e for e in entries}
    assert by_key["platinum_billing_dispute"].trainable
    assert by_key["platinum_billing_dispute"].difficulty == "medium"
    assert not by_key["normal_day"].trainable  # no scripted calls: not for training
    mine = by_key[str(tmp_path / "mine.toml")]
    assert (mine.name, mine.source, mine.difficulty, mine.calls) == ("my-drill", "mine", "hard", 1)
    broken = by_key[str(tmp_path / "broken.toml")]
    assert not broken.trainable and "broken.toml:3" in broken.error
    flags = [e.trainable for e in entries]
    assert flags == sorted(flags, reverse=True)


async def test_only_agents_with_a_live_console_are_trainees(
    db: Database, people: dict[str, int]
) -> None:
    trainees = await service(db).trainees(exclude=people["tess"])
    assert [(t.login, t.interface, t.session_id) for t in trainees] == [
        ("ann", "PJSIP/1001", "s-ann")
    ]


async def test_a_refused_run_is_kept_as_failed_with_the_reason(
    db: Database, people: dict[str, int]
) -> None:
    svc = service(db)
    (ann,) = await svc.trainees(exclude=people["tess"])
    with pytest.raises(TrainingError, match="refused the run: No such phone: PJSIP/1001"):
        await svc.start(
            Link(refuse="No such phone: PJSIP/1001"),
            trainer_id=people["tess"],
            trainee=ann,
            scenario_key="unknown_caller",
        )
    (run,) = await svc.runs()
    assert run.status == FAILED and "No such phone" in run.error


async def test_a_scenario_without_scripted_calls_cannot_be_started(
    db: Database, people: dict[str, int]
) -> None:
    svc = service(db)
    (ann,) = await svc.trainees(exclude=people["tess"])
    link = Link()
    with pytest.raises(TrainingError, match="no scripted calls"):
        await svc.start(link, trainer_id=None, trainee=ann, scenario_key="normal_day")
    with pytest.raises(TrainingError, match="no such scenario"):
        await svc.start(link, trainer_id=None, trainee=ann, scenario_key="nonexistent")
    assert link.started == [] and await svc.runs() == []


async def test_start_stop_and_a_run_that_never_reached_the_trainee_scores_zero(
    db: Database, people: dict[str, int], tmp_path: Path
) -> None:
    svc = service(db)
    (ann,) = await svc.trainees(exclude=people["tess"])
    link = Link()
    run = await svc.start(
        link, trainer_id=people["tess"], trainee=ann, scenario_key="unknown_caller", lead=2.0
    )
    assert link.started == [("PJSIP/1001", "unknown_caller", str(run.id), 2.0)]
    assert run.status == "running" and run.trainee_name == "Ann Trainee"
    assert await svc.scorecard(run.id) is None
    stopped = await svc.stop(link, run.id)
    assert stopped.status == STOPPED and link.stopped == ["PJSIP/1001"]
    with pytest.raises(TrainingError, match="not running"):
        await svc.stop(link, run.id)
    card = await svc.score(run.id)
    assert card.total == 0.0 and not card.passed
    assert all(r.evidence == "the call never reached the trainee" for r in card.results)
    assert (await svc.run(run.id)).status == STOPPED  # a stopped run stays stopped, scored
    assert await svc.scorecard(run.id) == card
    history = await svc.history(people["ann"])
    assert [(r.id, r.total, r.passed) for r in history] == [(run.id, 0.0, False)]
    md = export_scorecard(card, run.id, "md", tmp_path / "out")
    js = export_scorecard(card, run.id, "json", tmp_path / "out")
    assert md.name == f"scorecard-run{run.id}-ann-trainee.md" and "FAILED" in md.read_text()
    assert ScoreCard.from_json(js.read_text()) == card
    assert json.loads(js.read_text())["scenario"] == "unknown_caller"
    with pytest.raises(TrainingError, match="unknown export format"):
        export_scorecard(card, run.id, "pdf", tmp_path)
    with pytest.raises(TrainingError, match="no training run 999"):
        await svc.run(999)


async def test_progress_of_a_run_with_no_recording_yet(
    db: Database, people: dict[str, int]
) -> None:
    svc = service(db)
    trainee = Trainee(people["ann"], "ann", "Ann Trainee", "PJSIP/1001", "s-ann", NOW)
    run = await svc.start(Link(), trainer_id=None, trainee=trainee, scenario_key="demo")
    progress = await svc.progress(run.id)
    assert (progress.calls, progress.offered, progress.wrapped) == (2, 0, 0)
    assert not progress.sim_done and not progress.ready_to_score
    card = await svc.score(run.id)
    assert (await svc.run(run.id)).status == SCORED and card.total == 0.0
