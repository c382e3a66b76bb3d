"""`callconsole training …`: the scenario library, a trainee's history, score cards, and
scenario files made from recorded calls. Usage problems print one line and exit 2."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROG = "callconsole"


def add_parser(commands: Any, positive_int: Callable[[str], int]) -> None:
    """Register `training` and its actions on the main parser's subcommands."""
    training = commands.add_parser("training", help="trainer: scenarios, history, score cards")
    actions = training.add_subparsers(dest="training_command", metavar="ACTION", required=True)
    actions.add_parser("scenarios", help="the scenario library: difficulty, calls, rubric")
    history = actions.add_parser("history", help="a trainee's runs and scores, newest first")
    history.add_argument("--agent", required=True, metavar="LOGIN", help="the trainee's login")
    history.add_argument("--format", choices=("table", "json"), default="table")
    card = actions.add_parser("scorecard", help="a scored run's card (masked)")
    card.add_argument("run", type=positive_int, metavar="RUN", help="training run id")
    card.add_argument("--format", choices=("md", "json"), default="md")
    card.add_argument("--output", type=Path, metavar="FILE", help="write here, not stdout")
    export = actions.add_parser(
        "export-scenario",
        help="a training scenario from a recorded call (customer data masked)",
    )
    export.add_argument("call", metavar="LINKEDID", help="the recorded call's Linkedid")
    export.add_argument("--name", default="", help="scenario name (default: from-call-<id>)")
    export.add_argument("--output", type=Path, metavar="FILE", help="write here, not stdout")
    export.add_argument("--seed", type=int, default=1, help="seed of the fake caller identity")


def add_replay_parser(commands: Any, positive_int: Callable[[str], int], when: Any) -> None:
    """Register `replay`: a recorded call, shift or training run, masked, read-only."""
    replay = commands.add_parser(
        "replay",
        help="replay a recorded call, an agent's shift or a training run (customer data masked)",
        description="A read-only console view at 0.5x-16x: space play/pause, +/- speed, "
        ". step, arrows seek, 0-9 jump, Esc quit. Customer data is always masked here; "
        "a trainer with the unmask permission can replay a run unmasked from their console.",
    )
    what = replay.add_mutually_exclusive_group(required=True)
    what.add_argument("--call", metavar="LINKEDID", help="one call (every console that had it)")
    what.add_argument("--agent", metavar="LOGIN", help="an agent's shift (with --from/--to)")
    what.add_argument("--run", type=positive_int, metavar="ID", help="a training run")
    replay.add_argument("--from", dest="start", type=when, metavar="DATE|DATETIME")
    replay.add_argument("--to", dest="end", type=when, metavar="DATE|DATETIME")
    replay.add_argument("--speed", type=float, default=1.0, help="0.5, 1, 2, 4, 8 or 16")
    replay.add_argument("--headless-seconds", type=float, default=None, help=argparse.SUPPRESS)


class UsageError(Exception):
    """One line for the user; exit status 2."""


async def run(args: argparse.Namespace, open_database: Callable[[], Any]) -> int:
    """Run one `training` action."""
    action = args.training_command
    if action == "scenarios":
        return _scenarios(args)
    database = open_database()
    try:
        await database.check()
        from console.schema import schema_state

        if not (await schema_state(database)).is_current:
            raise UsageError(f"the schema is not current; run `{PROG} db upgrade` first")
        if action == "history":
            return await _history(args, database)
        if action == "scorecard":
            return await _scorecard(args, database)
        return await _export_scenario(args, database)
    except UsageError as exc:
        print(f"{PROG} training: error: {exc}", file=sys.stderr)
        return 2
    finally:
        await database.dispose()


def _library() -> Any:
    from console.paths import data_dir
    from console.services.training.training import ScenarioLibrary

    return ScenarioLibrary(data_dir() / "scenarios")


def _scenarios(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table()
    table.add_column("scenario", no_wrap=True)
    for heading in ("level", "calls", "criteria", "pass", "from"):
        table.add_column(heading, no_wrap=True)
    table.add_column("description", ratio=1)
    for e in _library().entries():
        about = Text(e.error, style="red") if e.error else Text(e.description)
        table.add_row(
            Text(e.name),
            e.difficulty or "-",
            str(e.calls),
            str(e.criteria),
            f"{e.pass_mark:g}" if e.criteria else "-",
            e.source,
            about,
        )
    Console().print(table)
    return 0


async def _history(args: argparse.Namespace, database: Any) -> int:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text
    from sqlalchemy import select

    from console.models import Agent
    from console.services.training.training import TrainingService

    async with database.session() as session:
        agent_id = await session.scalar(select(Agent.id).where(Agent.login == args.agent))
    if agent_id is None:
        raise UsageError(f"no agent with login {args.agent!r}")
    runs = await TrainingService(database, _library()).history(agent_id)
    if args.format == "json":
        rows = [
            {
                "run": r.id,
                "scenario": r.scenario_name,
                "difficulty": r.difficulty,
                "started_at": (r.started_at or r.created_at).isoformat(),
                "status": r.status,
                "total": r.total,
                "passed": r.passed,
            }
            for r in runs
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    table = Table("run", "started", "scenario", "level", "status", "total", "verdict")
    for r in runs:
        verdict = "-" if r.passed is None else ("passed" if r.passed else "failed")
        table.add_row(
            str(r.id),
            (r.started_at or r.created_at).astimezone().strftime("%Y-%m-%d %H:%M"),
            Text(r.scenario_name),
            r.difficulty,
            r.status,
            "-" if r.total is None else f"{r.total:.1f}",
            verdict,
        )
    Console().print(table)
    return 0


async def _scorecard(args: argparse.Namespace, database: Any) -> int:
    from console.services.training.training import TrainingError, TrainingService

    try:
        card = await TrainingService(database, _library()).scorecard(args.run)
    except TrainingError as exc:
        raise UsageError(str(exc)) from None
    if card is None:
        raise UsageError(f"run {args.run} is not scored yet")
    _write(card.to_markdown() if args.format == "md" else card.to_json(), args.output)
    return 0


async def _export_scenario(args: argparse.Namespace, database: Any) -> int:
    from console.services.errors import ServiceError
    from console.services.training.scenario_export import scenario_from_call
    from console.services.training.session_log import SessionLog

    records = await SessionLog(database).for_call(args.call)
    if not records:
        raise UsageError(f"nothing recorded for call {args.call!r}")
    name = args.name or "from-call-" + (re.sub(r"[^A-Za-z0-9]+", "-", args.call).strip("-") or "x")
    try:
        text = scenario_from_call(records, name=name, mask=True, seed=args.seed)
    except ServiceError as exc:
        raise UsageError(str(exc)) from None
    _write(text, args.output)
    return 0


async def replay(args: argparse.Namespace, open_database: Callable[[], Any]) -> int:
    """`replay`: load the records, mask them, open the read-only view (exit 2: bad request)."""
    database = open_database()
    try:
        await database.check()
        try:
            source, title = await _replay_source(args, database)
        except UsageError as exc:
            print(f"{PROG} replay: error: {exc}", file=sys.stderr)
            return 2
    finally:
        await database.dispose()
    from console.app import ReplayApp

    app = ReplayApp(source, title=title, speed=args.speed)
    if args.headless_seconds is None:
        await app.run_async()
        return 0
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("space")
        await pilot.pause(args.headless_seconds)
        summary = app.summary()
    print(summary)  # outside the app: inside, Textual captures stdout
    return 0


async def _replay_source(args: argparse.Namespace, database: Any) -> tuple[Any, str]:
    import asyncio
    from datetime import UTC, datetime, timedelta
    from functools import partial

    from sqlalchemy import select

    from console.models import Agent
    from console.services.training.masking import Masker
    from console.services.training.replay import Replay
    from console.services.training.replay_sources import ReplaySources
    from console.services.training.training import TrainingError, TrainingService

    sources = ReplaySources(database)
    start = end = None
    names: tuple[str, ...] = ()
    if args.call:
        records = await sources.call(args.call)
        title = f"Call {args.call}"
    elif args.agent:
        async with database.session() as session:
            agent_id = await session.scalar(select(Agent.id).where(Agent.login == args.agent))
        if agent_id is None:
            raise UsageError(f"no agent with login {args.agent!r}")
        end = args.end or datetime.now(UTC)
        start = args.start or end - timedelta(hours=8)
        if start.tzinfo is None or end.tzinfo is None:
            start, end = start.astimezone(UTC), end.astimezone(UTC)
        if start >= end:
            raise UsageError("--from must be before --to")
        records = await sources.shift(agent_id, start, end)
        if args.start is None:  # the last 8 hours: start where the agent's records start
            start = min((r.at for r in records if r.at >= start), default=start)
        names = await sources.agent_names(agent_id)
        title = f"Shift of {args.agent}, {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
    else:
        try:
            run = await TrainingService(database).run(args.run)
        except TrainingError as exc:
            raise UsageError(str(exc)) from None
        if not run.session_id:
            raise UsageError(f"run {run.id} has no recorded trainee session")
        start = run.started_at or run.created_at
        end = run.scored_at or run.finished_at or datetime.now(UTC)  # through the wrap-ups
        records = await sources.session(run.session_id, start=start, end=end)
        names = await sources.agent_names(run.trainee_id)
        title = f"Run {run.id}: {run.scenario_name} · {run.trainee_name}"
    if not records:
        raise UsageError("nothing recorded there")
    build = partial(Replay, records, masker=Masker(), start=start, end=end, agent_names=names)
    return await asyncio.to_thread(build), title


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    print(f"written {output}", file=sys.stderr)
