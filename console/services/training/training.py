"""Training: the scenario library, runs played to a trainee, their score cards and history.

A trainer picks a scenario from the library (the simulator's shipped scenarios and the
trainer's own, e.g. made from a recorded call), picks a trainee whose console is logged in,
and starts a run: a `training_runs` row, then the simulator's `SimTraining` action plays the
scenario's scripted calls to the trainee's phone (docs/cti.md). The trainee's console records
everything as usual (console.services.training.recording); `progress` follows the run through that
recording, and `score` rebuilds what the trainee did (`console.services.training.trainee_run`),
checks
the scenario's rubric (`console.services.training.scoring`) and stores the card with the run.

Score cards are masked before they are stored or shown: their evidence can quote notes and
name the customer, and trainer views and exports never show customer data.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import select, update

from callkit.scenario import Scenario, load_scenario, shipped_scenarios
from callkit.scenario_reader import ScenarioError
from console.db import Database
from console.models import Agent, ConsoleSession, Customer, FollowUp, Interaction, TrainingRun
from console.models.queue import Queue
from console.services.errors import ServiceError
from console.services.routing.presence import FRESH_FOR
from console.services.text import clean_text
from console.services.training.masking import Masker
from console.services.training.scoring import CriterionResult, ScoreCard, score
from console.services.training.session_log import (
    Recorded,
    RecordedAction,
    RecordedEvent,
    SessionLog,
)
from console.services.training.trainee_run import (
    FollowUpFacts,
    InteractionFacts,
    ScriptedCallInfo,
    build_trainee_run,
    run_calls,
)

RUNNING, FINISHED, STOPPED, FAILED, SCORED = "running", "finished", "stopped", "failed", "scored"
_DIFFICULTY_ORDER = {"easy": 0, "medium": 1, "hard": 2}
# The run starts on the trainer's clock, its records carry the trainee console's: allow this.
CLOCK_SKEW = timedelta(minutes=2)


class TrainingError(ServiceError):
    """A training request that cannot be done (one clear line)."""


class TrainingLink(Protocol):
    """What a run needs of the CTI link: a `console.cti.link.CtiLink` with SimTraining."""

    async def start_training(
        self, interface: str, scenario: str, run_id: str, *, lead: float = ...
    ) -> int: ...

    async def stop_training(self, interface: str) -> None: ...


# ---------------------------------------------------------------- the library


@dataclass(frozen=True, slots=True)
class ScenarioEntry:
    """One scenario as the trainer's list shows it."""

    key: str  # what the simulator is given: a shipped name or a file path
    name: str
    description: str
    difficulty: str
    calls: int  # scripted calls
    criteria: int  # rubric criteria (0: no rubric)
    pass_mark: float
    source: str  # "shipped" | "mine"
    error: str = ""  # the file does not load: why (file:line)

    @property
    def trainable(self) -> bool:
        """It can be played to a trainee and scored: scripted calls, a rubric, no error."""
        return not self.error and self.calls > 0 and self.criteria > 0


class ScenarioLibrary:
    """The shipped scenarios and the `.toml` files of the trainer's own folder."""

    def __init__(self, own_dir: Path | None = None) -> None:
        self.own_dir = own_dir

    def entries(self) -> list[ScenarioEntry]:
        """Every scenario: trainable ones first, then by difficulty and name."""
        found = [self._entry(name, "shipped") for name in shipped_scenarios()]
        if self.own_dir is not None and self.own_dir.is_dir():
            found += [self._entry(str(p), "mine") for p in sorted(self.own_dir.glob("*.toml"))]
        return sorted(
            found,
            key=lambda e: (
                not e.trainable,
                _DIFFICULTY_ORDER.get(e.difficulty, 9),
                e.name.casefold(),
            ),
        )

    def load(self, key: str) -> Scenario:
        """The scenario behind a library key; TrainingError (file:line) if it does not load."""
        try:
            return load_scenario(key)
        except ScenarioError as exc:
            raise TrainingError(str(exc)) from None

    def _entry(self, key: str, source: str) -> ScenarioEntry:
        label = Path(key).stem if source == "mine" else key
        try:
            scenario = load_scenario(key)
        except ScenarioError as exc:
            return ScenarioEntry(key, label, "", "", 0, 0, 0.0, source, error=str(exc))
        rubric = scenario.rubric
        return ScenarioEntry(
            key=key,
            name=clean_text(scenario.name or label, max_length=120, single_line=True),
            description=clean_text(scenario.description, max_length=300, single_line=True),
            difficulty=scenario.difficulty,
            calls=len(scenario.calls),
            criteria=len(rubric.criteria) if rubric else 0,
            pass_mark=rubric.pass_mark if rubric else 0.0,
            source=source,
        )


# ---------------------------------------------------------------- runs


@dataclass(frozen=True, slots=True)
class TraineeJoin:
    """How a trainee's console joins the trainer's PBX and database: a command to run in
    another terminal (`argv`, absolute paths), with a line before and after it."""

    argv: tuple[str, ...]
    before: str = "Trainee: in another terminal run"
    after: str = ""


@dataclass(frozen=True, slots=True)
class Trainee:
    """An agent whose console is logged in now, who can be given a run."""

    agent_id: int
    login: str
    name: str
    interface: str
    session_id: str
    since: datetime


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A training run as lists and history show it."""

    id: int
    scenario: str
    scenario_name: str
    difficulty: str
    trainee_id: int
    trainee_name: str
    trainer_id: int | None
    session_id: str | None
    interface: str
    status: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    scored_at: datetime | None
    total: float | None
    passed: bool | None
    error: str


@dataclass(frozen=True, slots=True)
class RunProgress:
    """How far a run has got, read from the trainee's recording."""

    run: RunRecord
    calls: int  # scripted calls in the scenario
    offered: int  # rang at the trainee
    wrapped: int  # wrap-up saved (or the call never needed one: missed)
    sim_done: bool  # the simulator reported the run finished or stopped

    @property
    def ready_to_score(self) -> bool:
        return self.sim_done and self.wrapped >= self.offered


def _record(row: TrainingRun) -> RunRecord:
    return RunRecord(
        id=row.id,
        scenario=row.scenario,
        scenario_name=row.scenario_name,
        difficulty=row.difficulty,
        trainee_id=row.trainee_id,
        trainee_name=row.trainee_name,
        trainer_id=row.trainer_id,
        session_id=row.trainee_session_id,
        interface=row.interface,
        status=row.status,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        scored_at=row.scored_at,
        total=row.total,
        passed=row.passed,
        error=row.error,
    )


class TrainingService:
    """Starts, follows, stops and scores training runs; the history of each trainee."""

    def __init__(
        self,
        db: Database,
        library: ScenarioLibrary | None = None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        region: str = "US",
    ) -> None:
        self._db = db
        self.library = library or ScenarioLibrary()
        self._clock = clock
        self._masker = Masker(region)

    async def trainees(self, *, exclude: int | None = None) -> list[Trainee]:
        """Agents with a live console (a fresh heartbeat and an open session), by name."""
        fresh = self._clock() - FRESH_FOR
        stmt = (
            select(Agent, ConsoleSession)
            .join(ConsoleSession, ConsoleSession.agent_id == Agent.id)
            .where(
                Agent.active.is_(True),
                Agent.heartbeat_at >= fresh,
                ConsoleSession.ended_at.is_(None),
            )
            .order_by(Agent.display_name, ConsoleSession.started_at.desc())
        )
        async with self._db.session() as session:
            rows = (await session.execute(stmt)).all()
        seen: dict[int, Trainee] = {}
        for agent, sess in rows:
            if agent.id == exclude or agent.id in seen:
                continue  # the newest open session of each agent
            interface = sess.details.get("interface") if sess.details else None
            seen[agent.id] = Trainee(
                agent_id=agent.id,
                login=agent.login,
                name=clean_text(agent.display_name, max_length=120, single_line=True),
                interface=interface if isinstance(interface, str) else agent.interface,
                session_id=sess.id,
                since=sess.started_at,
            )
        return list(seen.values())

    async def start(
        self,
        link: TrainingLink,
        *,
        trainer_id: int | None,
        trainee: Trainee,
        scenario_key: str,
        lead: float = 3.0,
    ) -> RunRecord:
        """Record a run and ask the simulator to play it; a refusal marks the run failed and
        raises TrainingError with the simulator's reason."""
        scenario = self.library.load(scenario_key)
        if not scenario.calls or scenario.rubric is None:
            raise TrainingError(
                f"{scenario.name}: no scripted calls or no rubric: nothing to train and score"
            )
        now = self._clock()
        async with self._db.write() as session:
            row = TrainingRun(
                scenario=scenario_key,
                scenario_name=scenario.name,
                difficulty=scenario.difficulty,
                trainee_id=trainee.agent_id,
                trainee_name=trainee.name,
                trainer_id=trainer_id,
                trainee_session_id=trainee.session_id,
                interface=trainee.interface,
                status=RUNNING,
                created_at=now,
                started_at=now,
                details={"lead": lead, "calls": len(scenario.calls)},
            )
            session.add(row)
            await session.flush()
            run_id = row.id
        try:
            await link.start_training(trainee.interface, scenario_key, str(run_id), lead=lead)
        except Exception as exc:  # the simulator's one-line reason, kept with the run
            reason = clean_text(str(exc) or type(exc).__name__, max_length=400, single_line=True)
            await self._set(run_id, status=FAILED, error=reason, finished_at=self._clock())
            raise TrainingError(f"the simulator refused the run: {reason}") from None
        return await self.run(run_id)

    async def stop(self, link: TrainingLink, run_id: int) -> RunRecord:
        """End a running run early (the simulator cancels the calls not yet played)."""
        run = await self.run(run_id)
        if run.status != RUNNING:
            raise TrainingError(f"run {run_id} is not running ({run.status})")
        try:
            await link.stop_training(run.interface)
        except Exception as exc:  # e.g. the run had already ended on the simulator
            reason = clean_text(str(exc), max_length=200, single_line=True)
            if "no training" not in reason.casefold():
                raise TrainingError(f"could not stop run {run_id}: {reason}") from None
        await self._set(run_id, status=STOPPED, finished_at=self._clock())
        return await self.run(run_id)

    async def run(self, run_id: int) -> RunRecord:
        """One run; TrainingError if there is none."""
        async with self._db.session() as session:
            row = await session.get(TrainingRun, run_id)
            if row is None:
                raise TrainingError(f"no training run {run_id}")
            return _record(row)

    async def runs(self, *, limit: int = 50) -> list[RunRecord]:
        """The latest runs, newest first."""
        stmt = select(TrainingRun).order_by(TrainingRun.id.desc()).limit(limit)
        async with self._db.session() as session:
            return [_record(r) for r in (await session.scalars(stmt)).all()]

    async def history(self, trainee_id: int) -> list[RunRecord]:
        """A trainee's runs, newest first."""
        stmt = (
            select(TrainingRun)
            .where(TrainingRun.trainee_id == trainee_id)
            .order_by(TrainingRun.created_at.desc(), TrainingRun.id.desc())
        )
        async with self._db.session() as session:
            return [_record(r) for r in (await session.scalars(stmt)).all()]

    async def progress(self, run_id: int) -> RunProgress:
        """Calls offered and wrapped so far, and whether the simulator is done with the run;
        a run the simulator finished is marked finished."""
        run = await self.run(run_id)
        scenario = self.library.load(run.scenario)
        records = await self._records(run)
        linked = run_calls(records, str(run_id))
        sim_done = any(
            isinstance(r, RecordedEvent)
            and r.event_type == "TrainingChanged"
            and r.payload.get("run_id") == str(run_id)
            and r.payload.get("state") in ("finished", "stopped")
            for r in records
        )
        facts = await self._interactions(run, list(linked.values()))
        # A wrap-up counts once its `wrap_up_saved` is in the recording: the recorder writes in
        # order, so everything the trainee did before it (tickets…) is readable too.
        saved = {
            r.interaction_id
            for r in records
            if isinstance(r, RecordedAction) and r.kind == "wrap_up_saved"
        }
        wrapped = 0
        for linkedid in linked.values():
            handled = [f for f in facts if f.linkedid == linkedid and f.answered_at is not None]
            if not handled or any(f.id in saved for f in handled):
                wrapped += 1  # never answered: nothing to wrap up
        if sim_done and run.status == RUNNING:
            await self._set(run_id, status=FINISHED, finished_at=self._clock())
            run = await self.run(run_id)
        return RunProgress(run, len(scenario.calls), len(linked), wrapped, sim_done)

    async def score(self, run_id: int) -> ScoreCard:
        """Score the run against its scenario's rubric and store the (masked) card."""
        run = await self.run(run_id)
        scenario = self.library.load(run.scenario)
        if scenario.rubric is None:
            raise TrainingError(f"{scenario.name} has no rubric")
        records = await self._records(run)
        linked = run_calls(records, str(run_id))
        facts = await self._interactions(run, list(linked.values()))
        trainee_run = build_trainee_run(
            scenario=scenario.name,
            trainee=run.trainee_name,
            run_id=str(run_id),
            started_at=run.started_at or run.created_at,
            calls=[ScriptedCallInfo(c.id, c.customer_id) for c in scenario.calls],
            records=records,
            interactions=facts,
            followups=await self._followups([f.id for f in facts]),
        )
        card = self._mask(score(scenario.rubric, trainee_run), facts)
        now = self._clock()
        status = run.status if run.status in (STOPPED, FAILED) else SCORED
        await self._set(
            run_id,
            status=status,
            scored_at=now,
            finished_at=run.finished_at or now,
            total=card.total,
            passed=card.passed,
            scorecard=card.to_json(),
        )
        return card

    async def scorecard(self, run_id: int) -> ScoreCard | None:
        """The stored card of a scored run, or None."""
        async with self._db.session() as session:
            row = await session.get(TrainingRun, run_id)
        if row is None:
            raise TrainingError(f"no training run {run_id}")
        return ScoreCard.from_json(row.scorecard) if row.scorecard else None

    # ------------------------------------------------------------ helpers

    def _mask(self, card: ScoreCard, facts: Sequence[InteractionFacts]) -> ScoreCard:
        """The card with customer names, numbers, emails and free text masked in evidence."""
        known = {f.customer_name for f in facts if f.customer_name}
        results = tuple(
            CriterionResult(
                id=r.id,
                kind=r.kind,
                label=r.label,
                weight=r.weight,
                calls=r.calls,
                passed=r.passed,
                evidence=self._masker.text(r.evidence, known),
                at=r.at,
            )
            for r in card.results
        )
        return ScoreCard(
            scenario=card.scenario,
            trainee=card.trainee,  # the trainee is staff, not a customer: not masked
            started_at=card.started_at,
            pass_mark=card.pass_mark,
            total=card.total,
            passed=card.passed,
            results=results,
        )

    async def _records(self, run: RunRecord) -> list[Recorded]:
        """The trainee's records since the run began (a whole shift's are not needed: the
        trainer's screen asks every couple of seconds)."""
        if not run.session_id:
            return []
        since = (run.started_at or run.created_at) - CLOCK_SKEW
        return list(await SessionLog(self._db).for_session(run.session_id, since=since))

    async def _interactions(
        self, run: RunRecord, linkedids: Sequence[str]
    ) -> list[InteractionFacts]:
        if not linkedids:
            return []
        stmt = (
            select(Interaction, Customer.display_name)
            .outerjoin(Customer, Customer.id == Interaction.customer_id)
            .where(Interaction.linkedid.in_(linkedids), Interaction.agent_id == run.trainee_id)
            .order_by(Interaction.offered_at, Interaction.id)
        )
        async with self._db.session() as session:
            rows = (await session.execute(stmt)).all()
        return [
            InteractionFacts(
                id=i.id,
                linkedid=i.linkedid or "",
                offered_at=i.offered_at,
                answered_at=i.answered_at,
                wrapped_at=i.wrapped_at,
                wrap_seconds=i.wrap_seconds,
                disposition=i.disposition,
                notes=i.notes,
                customer_id=i.customer_id,
                customer_name=name or "",
                transferred_to=i.transferred_to,
            )
            for i, name in rows
        ]

    async def _followups(self, interaction_ids: Sequence[int]) -> list[FollowUpFacts]:
        if not interaction_ids:
            return []
        stmt = (
            select(FollowUp, Queue.name)
            .outerjoin(Queue, Queue.id == FollowUp.target_queue_id)
            .where(FollowUp.interaction_id.in_(interaction_ids))
        )
        async with self._db.session() as session:
            rows = (await session.execute(stmt)).all()
        return [
            FollowUpFacts(
                interaction_id=f.interaction_id or 0,
                kind=str(f.kind),
                created_at=f.created_at,
                queue=queue or "",
                skill=f.target_skill or "",
            )
            for f, queue in rows
        ]

    async def _set(self, run_id: int, **values: object) -> None:
        async with self._db.write() as session:
            await session.execute(
                update(TrainingRun).where(TrainingRun.id == run_id).values(**values)
            )


def export_scorecard(card: ScoreCard, run_id: int, fmt: str, directory: Path) -> Path:
    """Write the card as Markdown (`md`) or JSON (`json`) into `directory`; returns the path."""
    if fmt not in ("md", "json"):
        raise TrainingError(f"unknown export format {fmt!r} (use md or json)")
    slug = re.sub(r"[^A-Za-z0-9]+", "-", card.trainee).strip("-").lower() or "trainee"
    path = directory / f"scorecard-run{run_id}-{slug}.{fmt}"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path.write_text(card.to_markdown() if fmt == "md" else card.to_json(), encoding="utf-8")
    except OSError as exc:
        raise TrainingError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


async def save_scenario_from_call(db: Database, linkedid: str, folder: Path, name: str) -> Path:
    """A training scenario made from the recorded call `linkedid`, customer data masked
    (console.services.training.scenario_export), written as `<folder>/<name>.toml` (never over
    another
    file: `-2`, `-3`… are added). TrainingError with one line if it cannot be made."""
    from console.services.training.scenario_export import scenario_from_call

    records = await SessionLog(db).for_call(linkedid)
    if not records:
        raise TrainingError(f"nothing recorded for call {linkedid}")
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "from-call"
    try:
        text = scenario_from_call(records, name=slug, mask=True)
    except ServiceError as exc:
        raise TrainingError(str(exc)) from None
    return await asyncio.to_thread(_write_new, folder, slug, text)


def _write_new(folder: Path, slug: str, text: str) -> Path:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path, n = folder / f"{slug}.toml", 1
        while path.exists():
            n += 1
            path = folder / f"{slug}-{n}.toml"
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise TrainingError(
            f"cannot write the scenario in {folder}: {exc.strerror or exc}"
        ) from None
    return path
