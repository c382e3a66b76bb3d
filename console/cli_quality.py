"""`callconsole qa …`: check a QA form file, sample calls to evaluate, list evaluations; and
`report --by evaluation[-agent|-team|-form|-question]` (docs/quality.md). Usage problems print
one line and exit 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from console.cli_common import PROG, CommandError, configured_database


def add_parser(commands: Any, positive_int: Callable[[str], int], when: Any) -> None:
    """Register `qa` and its actions on the main parser's subcommands."""
    qa = commands.add_parser("qa", help="QA evaluations of real calls: forms, samples, lists")
    actions = qa.add_subparsers(dest="qa_command", metavar="ACTION", required=True)
    forms = actions.add_parser("forms", help="the evaluation forms")
    form_actions = forms.add_subparsers(dest="forms_command", metavar="ACTION", required=True)
    check = form_actions.add_parser("check", help="validate a form file (file:line errors)")
    check.add_argument("file", type=Path, metavar="FILE")
    form_actions.add_parser("list", help="the shipped forms and yours, with any errors")
    sample = actions.add_parser(
        "sample",
        help="calls to evaluate: every match, or a random N per agent per ISO week",
        description="Completed, answered calls in [--from, --to) not yet evaluated. The same "
        "--seed gives the same sample. Times without a zone are local time.",
    )
    sample.add_argument("--from", dest="start", type=when, metavar="DATE|DATETIME")
    sample.add_argument("--to", dest="end", type=when, metavar="DATE|DATETIME")
    sample.add_argument("--agent", action="append", default=[], metavar="LOGIN")
    sample.add_argument("--queue", action="append", default=[], metavar="NAME")
    sample.add_argument("--disposition", action="append", default=[], metavar="CODE")
    sample.add_argument("--min-seconds", type=int, metavar="S", help="talk + hold at least")
    sample.add_argument("--max-seconds", type=int, metavar="S", help="talk + hold at most")
    sample.add_argument("--per-agent-week", type=positive_int, metavar="N")
    sample.add_argument("--seed", type=int, default=1)
    listing = actions.add_parser("list", help="submitted evaluations, newest first")
    listing.add_argument("--agent", metavar="LOGIN", help="one agent's evaluations of record")
    listing.add_argument("--format", choices=("table", "json"), default="table")


async def run(args: argparse.Namespace) -> int:
    """Run one `qa` action."""
    if args.qa_command == "forms":
        return _forms(args)
    database = configured_database(args)
    try:
        await database.check()
        from console.schema import schema_state

        if not (await schema_state(database)).is_current:
            raise CommandError(f"the schema is not current; run `{PROG} db upgrade` first")
        if args.qa_command == "sample":
            return await _sample(args, database)
        return await _list(args, database)
    finally:
        await database.dispose()


def _forms(args: argparse.Namespace) -> int:
    from console.services.quality.forms import FormError, FormLibrary, read_form

    if args.forms_command == "list":
        from console.paths import data_dir

        for entry in FormLibrary(data_dir() / "qa_forms").entries():
            if entry.form is None:
                print(entry.error, file=sys.stderr)
            else:
                form = entry.form
                print(f"{form.label}: {form.title} ({len(form.questions)} questions) {entry.path}")
        return 0
    try:
        form = read_form(args.file)
    except FormError as exc:
        print(exc, file=sys.stderr)  # "file:line: message", as editors expect
        return 2
    fails = sum(q.auto_fail for q in form.questions)
    print(
        f"{args.file}: form {form.label} OK: {len(form.sections)} sections, "
        f"{len(form.questions)} questions ({fails} auto-fail), pass mark {form.pass_mark:g}"
    )
    return 0


def _period(
    start: datetime | None, end: datetime | None, days: int = 7
) -> tuple[datetime, datetime]:
    stop = (end or datetime.now(UTC)).astimezone()
    begin = start.astimezone() if start is not None else stop - timedelta(days=days)
    return begin.astimezone(UTC), stop.astimezone(UTC)


async def _sample(args: argparse.Namespace, database: Any) -> int:
    from console.services.quality.records import QaError
    from console.services.quality.sampling import CallFilter, CallSampler

    start, end = _period(args.start, args.end)
    wanted = CallFilter(
        start=start,
        end=end,
        agents=tuple(args.agent),
        queues=tuple(args.queue),
        dispositions=tuple(args.disposition),
        min_seconds=args.min_seconds,
        max_seconds=args.max_seconds,
        per_agent_week=args.per_agent_week,
        seed=args.seed,
        tz=datetime.now().astimezone().tzinfo or UTC,
    )
    try:
        calls = await CallSampler(database).calls(wanted)
    except QaError as exc:
        print(f"{PROG} qa: error: {exc}", file=sys.stderr)
        return 2
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(f"{len(calls)} calls to evaluate"), title_justify="left")
    for head in ("call", "when", "agent", "queue", "duration", "disposition", "linkedid"):
        table.add_column(head)
    for c in calls:
        table.add_row(
            Text(str(c.interaction_id)),
            Text(f"{c.offered_at.astimezone():%Y-%m-%d %H:%M}"),
            Text(c.agent_login),
            Text(c.queue),
            Text(f"{c.seconds // 60}m{c.seconds % 60:02d}s"),
            Text(c.disposition),
            Text(c.linkedid),
        )
    Console(highlight=False).print(table)
    return 0


async def _list(args: argparse.Namespace, database: Any) -> int:
    import json

    from sqlalchemy import select

    from console.models import Agent
    from console.services.quality.evaluations import QaService

    qa = QaService(database)
    if args.agent:
        async with database.session() as session:
            agent_id = await session.scalar(select(Agent.id).where(Agent.login == args.agent))
        if agent_id is None:
            print(f"{PROG} qa: error: no agent with login {args.agent!r}", file=sys.stderr)
            return 2
        records = await qa.for_agent(agent_id)
    else:
        records = await qa.recent()
    if args.format == "json":
        print(
            json.dumps(
                [
                    {
                        "id": e.id,
                        "call": e.interaction_id,
                        "agent": e.agent_name,
                        "evaluator": e.evaluator_name,
                        "form": e.form_label,
                        "kind": e.kind,
                        "status": e.status,
                        "score": e.score,
                        "auto_failed": e.auto_failed,
                        "submitted_at": e.submitted_at.isoformat() if e.submitted_at else None,
                    }
                    for e in records
                ],
                indent=2,
            )
        )
        return 0
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(f"{len(records)} evaluations"), title_justify="left")
    for head in ("id", "call", "agent", "evaluator", "form", "kind", "status", "score"):
        table.add_column(head)
    for e in records:
        score = (
            "-" if e.score is None else f"{e.score:.1f}" + (" (auto-fail)" if e.auto_failed else "")
        )
        table.add_row(
            *(Text(str(v)) for v in (e.id, e.interaction_id, e.agent_name, e.evaluator_name)),
            *(Text(v) for v in (e.form_label, e.kind, e.status, score)),
        )
    Console(highlight=False).print(table)
    return 0


async def report(args: argparse.Namespace) -> int:
    """`report --by evaluation[-agent|-team|-form|-question]`: the period's evaluations of
    record (docs/quality.md, "Reports")."""
    from console.schema import schema_state
    from console.services.quality.records import QaError
    from console.services.quality.reports import (
        QaReportBy,
        QaReports,
        cells,
        columns,
        to_csv,
        to_json,
    )

    start = args.start.astimezone()
    end = (args.end if args.end is not None else datetime.now()).astimezone()
    by = QaReportBy(args.by.removeprefix("evaluation-") if "-" in args.by else "week")
    database = configured_database(args)
    try:
        await database.check()
        if not (await schema_state(database)).is_current:
            raise CommandError(
                f"{database.url.render_as_string(hide_password=True)}: the schema is not "
                f"current; run `{PROG} db upgrade` first"
            )
        try:
            result = await QaReports(database).report(by, start, end, start.tzinfo or UTC)
        except QaError as exc:
            print(f"{PROG} report: error: {exc}", file=sys.stderr)
            return 2
    finally:
        await database.dispose()
    for note in result.notes:
        print(f"{PROG} report: warning: {note}", file=sys.stderr)
    if args.format == "csv":
        sys.stdout.write(to_csv(result))
    elif args.format == "json":
        print(to_json(result))
    else:
        from rich import box
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table(title=Text(result.describe()), title_justify="left", box=box.SIMPLE_HEAD)
        table.add_column(by.value.capitalize(), no_wrap=True)
        for head in columns(result):
            table.add_column(head, justify="right", no_wrap=True)
        for row in result.rows:
            table.add_row(Text(row.key), *(Text(c) for c in cells(row)))
        table.add_section()
        table.add_row(
            Text("Total", style="bold"), *(Text(c, style="bold") for c in cells(result.total))
        )
        console = Console(highlight=False)
        if not console.is_terminal:
            console.width = 160
        console.print(table)
    return 0
