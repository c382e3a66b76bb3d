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
    from console.services.training import ScenarioLibrary

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
    from console.services.training import TrainingService

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
    from console.services.training import TrainingError, TrainingService

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
    from console.services.recording import SessionLog
    from console.services.scenario_export import scenario_from_call

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


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    print(f"written {output}", file=sys.stderr)
