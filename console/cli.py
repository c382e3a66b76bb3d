"""`callconsole` command line: demo, seed, db, routing, report, sim.

Every command turns expected failures (bad arguments, unusable databases, bad settings) into one
line on stderr and a non-zero exit, never a traceback. Slow imports are deferred into the
command that needs them so `callconsole --help` stays fast.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

PROG = "callconsole"


class CommandError(Exception):
    """An expected failure; the message is printed as one line."""


def _non_negative_int(raw: str) -> int:
    try:
        value = int(raw.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {raw!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _positive_int(raw: str) -> int:
    value = _non_negative_int(raw)
    if value == 0:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _iso_date(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2026-11-01, got {raw!r}") from None


def _date_or_time(raw: str) -> datetime:
    """``2026-11-01`` (midnight) or ``2026-11-01T08:30`` / ``2026-11-01 08:30[+01:00]``."""
    try:
        return datetime.fromisoformat(raw.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a date like 2026-11-01 or a time like 2026-11-01T08:30, got {raw!r}"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used by the tests)."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="A terminal contact-center agent console."
    )
    parser.add_argument("--db", metavar="URL", help="database URL (default: SQLite in user data)")
    parser.add_argument("--config", metavar="FILE", type=Path, help="settings TOML file")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo",
        help="seed a small CRM if empty, start the simulator with bots, open the console",
    )
    demo.add_argument("--customers", type=_non_negative_int, default=2000)
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument(
        "--as",
        dest="role",
        choices=("agent", "supervisor", "trainer"),
        default="agent",
        help="log in as the demo agent (default), the demo supervisor (wallboard b, grid g) "
        "or the demo trainer (scenarios, runs, score cards)",
    )
    # Smoke checks and CI: run without a terminal for N seconds, then print what happened.
    demo.add_argument("--headless-seconds", type=float, default=None, help=argparse.SUPPRESS)

    run = commands.add_parser("run", help="the console against the configured PBX and database")
    run.add_argument("--agent", default="", metavar="ID", help="agent id to log in as")

    seed = commands.add_parser("seed", help="fill an empty database with realistic data")
    seed.add_argument("--customers", type=_non_negative_int, required=True, metavar="N")
    seed.add_argument("--seed", type=int, default=1, metavar="S", help="same seed → same rows")
    seed.add_argument(
        "--locale", default="en_US,zh_CN", help="comma-separated Faker locales (en_US,zh_CN,en_GB)"
    )
    seed.add_argument("--as-of", type=_iso_date, help="the 'today' of the data (default: today)")
    seed.add_argument("--agents", type=_non_negative_int, default=40)

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_commands.add_parser("upgrade", help="migrate the database to the newest schema")
    db_commands.add_parser("current", help="show the schema revision")

    routing = commands.add_parser("routing", help="follow-up routing rules")
    routing_commands = routing.add_subparsers(
        dest="routing_command", metavar="ACTION", required=True
    )
    check = routing_commands.add_parser(
        "check", help="validate a rules file (on top of the shipped defaults)"
    )
    check.add_argument("file", metavar="FILE", help="routing rules TOML file")
    explain = routing_commands.add_parser(
        "explain", help="how a follow-up was routed: the rule, why, who was eligible"
    )
    explain.add_argument("followup_id", metavar="ID", type=_positive_int, help="follow-up id")

    report = commands.add_parser(
        "report",
        help="queue figures from the queue_log, FCR from the interactions (docs/metrics.md)",
        description="Rows for [--from, --to): a call counts in the period it entered the queue. "
        "Times without a zone are local time.",
    )
    report.add_argument(
        "--from", dest="start", type=_date_or_time, required=True, metavar="DATE|DATETIME"
    )
    report.add_argument(
        "--to",
        dest="end",
        type=_date_or_time,
        metavar="DATE|DATETIME",
        help="end of the period, not included (default: now)",
    )
    report.add_argument("--by", choices=("queue", "agent", "day", "hour"), default="queue")
    report.add_argument("--format", choices=("table", "csv", "json"), default="table")
    report.add_argument(
        "--queue-log", type=Path, metavar="PATH", help="the PBX's queue_log (default: settings)"
    )

    # Supervisors: the wallboard alone, for a wall TV (no login, no database).
    wallboard = commands.add_parser(
        "wallboard", help="the live wallboard against the configured PBX (for a wall TV)"
    )
    wallboard.add_argument(
        "--large", action="store_true", help="large-screen mode: big digits, few figures"
    )
    wallboard.add_argument("--headless-seconds", type=float, default=None, help=argparse.SUPPRESS)

    from console.cli_training import add_parser as add_training
    from console.cli_training import add_replay_parser as add_replay

    add_training(commands, _positive_int)
    add_replay(commands, _positive_int, _date_or_time)

    commands.add_parser(
        "sim", help="the simulated PBX (telephony_sim); `callconsole sim --help`", add_help=False
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `callconsole` script."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["sim"]:  # hand everything after `sim` to the simulator's own CLI
        try:
            from telephony_sim.cli import main as sim_main
        except ModuleNotFoundError as exc:
            if not _is_simulator(exc.name):
                raise
            print(f"{PROG}: error: {_simulator_missing(exc)}", file=sys.stderr)
            return 1
        return sim_main(args_list[1:])
    args = build_parser().parse_args(args_list)
    handlers: dict[str, Callable[[argparse.Namespace], Coroutine[Any, Any, int]]] = {
        "demo": _demo,
        "run": _run,
        "seed": _seed,
        "db": _db,
        "routing": _routing,
        "report": _report,
        "wallboard": _wallboard,
        "training": _training,
        "replay": _replay,
    }
    try:
        return asyncio.run(handlers[args.command](args))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # expected kinds become one line; anything else is a bug
        from console.config import SettingsError
        from console.db import DatabaseError
        from console.services.seeding.seeding import SeedError
        from console.simproc import SimulatorError

        expected = CommandError | DatabaseError | SettingsError | SeedError | SimulatorError
        if isinstance(exc, expected):
            print(f"{PROG}: error: {exc}", file=sys.stderr)
            return 1
        raise


def _is_simulator(module: str | None) -> bool:
    return module is not None and (module == "telephony_sim" or module.startswith("telephony_sim."))


def _simulator_missing(exc: ModuleNotFoundError | None) -> str:
    """One line for `sim` and `demo` when the simulator package cannot be imported."""
    detail = f"{exc}; " if exc is not None else ""
    return (
        f"the simulator (telephony_sim) is not installed: {detail}`{PROG} sim` and "
        f"`{PROG} demo` need it; `{PROG} run` works against a real Asterisk without it"
    )


def _open(args: argparse.Namespace) -> Any:
    from console.config import load_settings
    from console.db import open_database
    from console.paths import default_database_url

    settings = load_settings(args.config, db_url=args.db)
    return open_database(
        settings.database.url.get_secret_value(),
        synchronous=settings.database.sqlite_synchronous,
        busy_timeout_ms=settings.database.sqlite_busy_timeout_ms,
        # Only the default location is created; a given path's folder must already exist.
        create_dir=settings.database.url.get_secret_value() == default_database_url(),
    )


async def _db(args: argparse.Namespace) -> int:
    from console.schema import schema_state, upgrade

    database = _open(args)
    try:
        await database.check()
        if args.db_command == "upgrade":
            state = await upgrade(database)
            print(f"{database.url.render_as_string(hide_password=True)}: schema at {state.current}")
        else:
            state = await schema_state(database)
            status = "current" if state.is_current else f"behind (newest is {state.head})"
            print(f"schema revision {state.current or 'none'}: {status}")
        return 0
    finally:
        await database.dispose()


async def _routing(args: argparse.Namespace) -> int:
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
    database = _open(args)
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


async def _report(args: argparse.Namespace) -> int:
    """`report`: a usage problem (no queue_log, unreadable file, empty period) exits 2."""
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
    database = _open(args)
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


async def _seed(args: argparse.Namespace) -> int:
    from console.services.seeding.seeding import SeedPlan, parse_locales

    plan_args: dict[str, Any] = dict(
        customers=args.customers,
        seed=args.seed,
        locales=parse_locales(args.locale),
        agents=max(1, args.agents),
    )
    if args.as_of is not None:
        plan_args["as_of"] = args.as_of
    return await _run_seed(args, SeedPlan(**plan_args))


async def _demo(args: argparse.Namespace) -> int:
    """Seed (first time), start the simulator with bots, open the console as the demo agent."""
    import importlib.util
    import secrets

    try:  # the simulator runs as a child process: say now, in one line, if it cannot
        if importlib.util.find_spec("telephony_sim") is None:
            raise CommandError(_simulator_missing(None))
    except ModuleNotFoundError as exc:
        raise CommandError(_simulator_missing(exc)) from None

    from console.schema import upgrade
    from console.services.seeding.seeding import SeedPlan
    from console.simproc import start_simulator

    database = _open(args)
    try:
        await database.check()
        await upgrade(database)
        needs_seed = not await _has_customers(database)
    finally:
        await database.dispose()
    if needs_seed:
        await _run_seed(args, SeedPlan(customers=args.customers, seed=args.seed))
    database = _open(args)
    if database.sqlite_path is None:
        await database.dispose()
        raise CommandError("the demo needs a SQLite database (the simulator reads its numbers)")
    secret = secrets.token_urlsafe(16)  # this demo's own PBX login
    sim_args = ["--scenario", "demo", "--db", str(database.sqlite_path), "--seed", str(args.seed)]
    # The PBX's queue_log beside the database: the supervisor's report screen reads it.
    queue_log = database.sqlite_path.with_name(database.sqlite_path.stem + "-queue_log")
    sim_args += ["--queue-log", str(queue_log)]
    # The secret goes in the child's environment: a command line is readable by `ps`.
    sim = await start_simulator([*sim_args, "--user", "callconsole"], secret=secret)
    join = None
    if args.role == "trainer":  # the trainee joins this demo's PBX from another terminal
        join = write_trainee_settings(database, sim.port, secret)
    try:
        return await _console(
            args,
            database,
            pbx=("127.0.0.1", sim.port, "callconsole", secret),
            login={"supervisor": "super", "trainer": "trainer"}.get(args.role, "demo"),
            password="demo",
            queue_log=queue_log,
            trainee_join=join,
        )
    finally:
        await sim.stop()
        await database.dispose()


async def _training(args: argparse.Namespace) -> int:
    from console.cli_training import run

    return await run(args, lambda: _open(args))


def write_trainee_settings(database: Any, port: int, secret: str) -> Any:
    """Write the settings a trainee's console needs to join the demo's PBX and database;
    returns the command that starts it, absolute paths only (another terminal has another
    working directory, maybe no virtualenv active)."""
    import json

    from console.services.training.training import TraineeJoin

    db_path = Path(database.sqlite_path).absolute()
    path = db_path.with_name("demo-trainee.toml")
    url = f"sqlite:///{db_path}"
    lines = ["[database]", f"url = {json.dumps(url)}", "", "[pbx]", 'host = "127.0.0.1"']
    lines += [f"port = {port}", 'user = "callconsole"', f"secret = {json.dumps(secret)}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)  # it holds this demo's PBX password
    return TraineeJoin(
        argv=(*own_command(), "--config", str(path), "run", "--agent", "demo"),
        after="Password demo; then F6 to go ready.",
    )


def own_command() -> tuple[str, ...]:
    """How to start this callconsole from any terminal: the ``callconsole`` script of the
    running interpreter's environment, else ``python -m console`` with that interpreter."""
    python = Path(sys.executable).absolute()
    script = python.with_name(PROG)
    if script.is_file() and os.access(script, os.X_OK):
        return (str(script),)
    return (str(python), "-m", "console")


async def _replay(args: argparse.Namespace) -> int:
    from console.cli_training import replay

    return await replay(args, lambda: _open(args))


async def _run(args: argparse.Namespace) -> int:
    """The console against the PBX and database from the settings; starts at the login screen."""
    from console.config import load_settings

    settings = load_settings(args.config, db_url=args.db)
    database = _open(args)
    try:
        await database.check()
        from console.schema import upgrade

        await upgrade(database)
        pbx = (settings.pbx.host, settings.pbx.port, settings.pbx.user, settings.pbx.secret)
        return await _console(args, database, pbx=pbx, login=args.agent)
    finally:
        await database.dispose()


async def _console(
    args: argparse.Namespace,
    database: Any,
    *,
    pbx: tuple[str, int, str, Any],
    login: str,
    password: str | None = None,
    queue_log: Path | None = None,
    trainee_join: Any = None,
) -> int:
    """Open the console: logged in already when a password is given (the demo)."""
    from console.app import CallConsoleApp
    from console.config import load_settings
    from console.factory import ConsoleContext, PbxAddress

    settings = load_settings(args.config, db_url=args.db)
    from console.services.desk.dispositions import DEFAULT_CATALOG, Disposition, DispositionCatalog

    catalog = DEFAULT_CATALOG
    if settings.desk.dispositions is not None:
        catalog = DispositionCatalog(
            tuple(Disposition(**d.model_dump()) for d in settings.desk.dispositions)
        )
    from console.services.routing.routing_rules import RulesError
    from console.services.routing.rules_file import load_rules

    try:
        own_rules = settings.files.routing_rules
        rules = load_rules(str(own_rules) if own_rules else None)
    except RulesError as exc:
        raise CommandError(f"routing rules: {exc}") from None
    context = ConsoleContext(
        db=database,
        pbx=PbxAddress(*pbx),
        region=settings.crm.default_region,
        wrap_limit_seconds=float(settings.desk.wrap_up_seconds),
        dispositions=catalog,
        rules=rules,
        definitions=settings.metric_definitions(),
        targets=_queue_targets(settings),
        queue_log=queue_log or settings.files.queue_log,
        trainee_join=trainee_join,
        agent_interface=settings.desk.agent_interface.strip(),
        missed_call_not_ready=settings.desk.missed_call_not_ready,
        ring_bell=settings.desk.ring_bell,
        atxfer_threeway=settings.pbx.atxfer_threeway,
        agent_state_interface=settings.desk.agent_state_interface.strip(),
    )
    runtime = None
    if password is not None:
        agent = await context.agents.authenticate(login, password)
        if agent is None:
            raise CommandError(f"the demo agent {login!r} is missing from the database")
        runtime = await context.session_for(agent)
        runtime.options.start_ready = True  # the demo agent takes calls at once
    app = CallConsoleApp(context, runtime=runtime, login=login)
    headless = getattr(args, "headless_seconds", None)
    if headless is None:
        await app.run_async()
        return 0
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(headless)
        print(app.summary())
    return 0


def _queue_targets(settings: Any) -> Any:
    """The per-queue targets of the settings (a bad file is one line)."""
    from console.services.supervision.queue_targets import TargetsError, load_targets

    try:
        return load_targets(settings.files.queue_targets)
    except TargetsError as exc:
        raise CommandError(f"queue targets: {exc}") from None


async def _wallboard(args: argparse.Namespace) -> int:
    """`wallboard [--large]`: the board alone against the configured PBX; no login."""
    import logging

    from console.app import WallboardApp
    from console.config import load_settings
    from console.cti.ami import AmiAuthError
    from console.cti.protocol import LinkState
    from console.factory import PbxAddress, build_live

    settings = load_settings(args.config, db_url=args.db)
    pbx = PbxAddress(settings.pbx.host, settings.pbx.port, settings.pbx.user, settings.pbx.secret)
    live = build_live(
        pbx, definitions=settings.metric_definitions(), targets=_queue_targets(settings)
    )
    quiet = logging.getLogger("console.cti.ami")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # a failed first attempt is this command's one line
    try:
        await live.cti.start()
    except AmiAuthError as exc:
        raise CommandError(str(exc)) from None
    finally:
        quiet.setLevel(level)
    if live.cti.link_state.state is not LinkState.CONNECTED:
        detail = live.cti.link_state.detail
        await live.cti.close()
        raise CommandError(detail)
    app = WallboardApp(live, large=args.large, started=True)
    if args.headless_seconds is None:
        await app.run_async()
        return 0
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(args.headless_seconds)
        print(app.summary())
    return 0


async def _has_customers(database: Any) -> bool:
    from sqlalchemy import func, select

    from console.models import Customer

    async with database.session() as session:
        count = await session.scalar(select(func.count()).select_from(Customer))
    return bool(count)


async def _run_seed(args: argparse.Namespace, plan: Any) -> int:
    import threading

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from console.services.seeding.seeding import seed_database

    console = Console(stderr=True)
    database = _open(args)
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


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
