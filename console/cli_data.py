"""`callconsole db`, `seed`, `routing` and `report`: the commands that work on the database
alone, without a PBX or a terminal UI."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any

from console.cli_common import PROG, CommandError, configured_database, say_waiting


async def db(args: argparse.Namespace) -> int:
    """`db upgrade` / `db current`."""
    from console.schema import schema_state, upgrade

    database = configured_database(args)
    try:
        await database.check()
        if args.db_command == "upgrade":
            state = await upgrade(database, on_wait=say_waiting)
            print(f"{database.url.render_as_string(hide_password=True)}: schema at {state.current}")
        else:
            state = await schema_state(database)
            status = "current" if state.is_current else f"behind (newest is {state.head})"
            print(f"schema revision {state.current or 'none'}: {status}")
        return 0
    finally:
        await database.dispose()


async def routing(args: argparse.Namespace) -> int:
    """`routing check FILE` / `routing explain ID`."""
    if args.routing_command == "explain":
        return await _routing_explain(args)
    return _routing_check(args)


async def _routing_explain(args: argparse.Namespace) -> int:
    """Print the stored decision, the rules' verdicts now and the eligible agents."""
    from rich.console import Console
    from rich.text import Text

    from console.config import load_settings
    from console.services.routing.router import Router, RoutingError
    from console.services.routing.routing_rules import RulesError
    from console.services.routing.rules_file import load_rules

    settings = load_settings(args.config, db_url=args.db)
    try:
        own_rules = settings.files.routing_rules
        rules = load_rules(str(own_rules) if own_rules else None)
    except RulesError as exc:
        raise CommandError(f"routing rules: {exc}") from None
    database = configured_database(args)
    try:
        await database.check()
        try:
            why = await Router(database, rules).explain(args.followup_id)
        except RoutingError as exc:
            raise CommandError(str(exc)) from None
    finally:
        await database.dispose()
    out = Console(highlight=False, soft_wrap=True)
    stored = why.stored
    head = f"follow-up {why.followup_id}: {why.status}, escalation level {why.escalation_level}"
    out.print(Text(head))
    if stored.get("rule"):
        out.print(Text(f"routed by rule {stored['rule']!r} ({stored.get('source', '?')})"))
        for reason in stored.get("reasons", []):
            out.print(Text(f"  because {reason}"))
        out.print(Text(f"  assigned: {stored.get('assigned_why', '-')}"))
        out.print(Text(f"  eligible then: {stored.get('eligible', '?')} agents"))
    else:
        out.print(Text("not routed by a rule yet"))
    out.print(Text("the rules now:"))
    for trace in why.trace:
        mark = "match" if trace.matched else "no"
        out.print(Text(f"  {mark:5} {trace.rule} ({trace.source}): {trace.detail}"))
    ready = sum(m.available for m in why.eligible)
    out.print(Text(f"eligible now: {len(why.eligible)} agents, {ready} available"))
    for member in why.eligible[:10]:
        state = "available" if member.available else "away"
        out.print(Text(f"  {member.name} ({state}, {member.load} open)"))
    return 0


def _routing_check(args: argparse.Namespace) -> int:
    """`routing check FILE`: the file's rules with the defaults, or its first error (exit 2)."""
    from console.services.routing.routing_rules import RulesError
    from console.services.routing.rules_file import load_rules

    try:
        rules = load_rules(args.file)
    except RulesError as exc:
        print(exc, file=sys.stderr)  # "file:line: message", as editors expect
        return 2
    own = sum(not rule.shipped for rule in rules.rules)
    noun = "rule" if own == 1 else "rules"
    print(f"{args.file}: {own} {noun} OK (+ defaults: {len(rules.rules) - own})")
    for warning in rules.warnings():
        print(warning, file=sys.stderr)
    return 0


async def report(args: argparse.Namespace) -> int:
    """`report`: a usage problem (no queue_log, unreadable file, empty period) exits 2."""
    if args.by.startswith("campaign"):
        return await _campaign_results(args)
    if args.by.startswith("evaluation"):
        from console.cli_quality import report as qa_report

        return await qa_report(args)
    from rich.console import Console

    from console.config import load_settings
    from console.schema import schema_state
    from console.services.supervision.reports import (
        GroupBy,
        ReportError,
        ReportService,
        to_csv,
        to_json,
    )
    from console.widgets.report_table import print_table

    settings = load_settings(args.config, db_url=args.db)
    queue_log = args.queue_log or settings.files.queue_log
    database = configured_database(args)
    try:
        await database.check()
        if not (await schema_state(database)).is_current:
            raise CommandError(
                f"{database.url.render_as_string(hide_password=True)}: the schema is not "
                f"current; run `{PROG} db upgrade` first"
            )
        service = ReportService(database, queue_log, settings.metric_definitions())
        end = args.end if args.end is not None else datetime.now()
        try:
            report = await service.build(args.start, end, GroupBy(args.by))
        except ReportError as exc:
            print(f"{PROG} report: error: {exc}", file=sys.stderr)
            return 2
    finally:
        await database.dispose()
    warning = report.stats.message()
    if warning is not None:
        print(f"{PROG} report: warning: {warning}", file=sys.stderr)
    if args.format == "csv":
        sys.stdout.write(to_csv(report))
    elif args.format == "json":
        print(to_json(report))
    else:
        console = Console(highlight=False)
        if not console.is_terminal:  # into a file or a pipe: don't wrap at 80 columns
            console.width = 160
        print_table(report, console)
    return 0


async def _campaign_results(args: argparse.Namespace) -> int:
    """`report --by campaign|campaign-agent|campaign-hour`: the campaigns' dials of the period
    (no queue_log needed)."""
    from rich.console import Console

    from console.schema import schema_state
    from console.services.outbound.results import CampaignResults, ResultsBy, to_csv, to_json
    from console.widgets.report_table import print_results

    start = args.start.astimezone()  # a time without a zone is local time
    end = (args.end if args.end is not None else datetime.now()).astimezone()
    if end <= start:
        print(f"{PROG} report: error: the period is empty: its end must be later than its start",
              file=sys.stderr)  # fmt: skip
        return 2
    by = ResultsBy(args.by.removeprefix("campaign-") if "-" in args.by else "campaign")
    database = configured_database(args)
    try:
        await database.check()
        if not (await schema_state(database)).is_current:
            raise CommandError(
                f"{database.url.render_as_string(hide_password=True)}: the schema is not "
                f"current; run `{PROG} db upgrade` first"
            )
        results = await CampaignResults(database).report(by, start, end)
    finally:
        await database.dispose()
    if args.format == "csv":
        sys.stdout.write(to_csv(results))
    elif args.format == "json":
        print(to_json(results))
    else:
        console = Console(highlight=False)
        if not console.is_terminal:
            console.width = 160
        print_results(results, console)
    return 0


async def seed(args: argparse.Namespace) -> int:
    """`seed`: fill an empty database (the plan from the arguments)."""
    from console.services.seeding.seeding import SeedPlan, parse_locales

    plan_args: dict[str, Any] = dict(
        customers=args.customers,
        seed=args.seed,
        locales=parse_locales(args.locale),
        agents=max(1, args.agents),
    )
    if args.as_of is not None:
        plan_args["as_of"] = args.as_of
    return await run_seed(args, SeedPlan(**plan_args))


async def has_customers(database: Any) -> bool:
    """Whether the database holds any customer (the demo seeds only when not)."""
    from sqlalchemy import func, select

    from console.models import Customer

    async with database.session() as session:
        count = await session.scalar(select(func.count()).select_from(Customer))
    return bool(count)


async def run_seed(args: argparse.Namespace, plan: Any) -> int:
    """Seed the database with `plan`, showing each stage's progress on stderr."""
    import threading

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from console.services.seeding.seeding import seed_database

    console = Console(stderr=True)
    database = configured_database(args)
    try:
        await database.check()
        # The bar appears with the first stage, so a refusal (a database holding data, a lock)
        # is the command's only line.
        progress = Progress(
            TextColumn("{task.description:<20}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        tasks: list[Any] = []
        first = threading.Lock()  # stages report from the seeding threads

        def report(stage: str, done: int, total: int) -> None:
            with first:
                if not tasks:
                    progress.start()
                    tasks.append(progress.add_task(stage, total=total))
            progress.update(tasks[0], description=stage, completed=done, total=total)

        try:
            summary = await seed_database(database, plan, report)
        finally:
            progress.stop()
        counts = ", ".join(f"{n:,} {name.replace('_', ' ')}" for name, n in summary.counts.items())
        size = f", {summary.database_bytes / 1e6:,.1f} MB" if summary.database_bytes else ""
        print(f"seeded {counts} in {summary.seconds:.1f} s{size}")
        return 0
    finally:
        await database.dispose()
