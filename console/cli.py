"""`callconsole` command line: the argument parser and `main`, which hands each command to its
module — cli_console (demo, run, wallboard), cli_data (db, seed, routing, report), cli_training
(training, replay), cli_dnc (dnc), cli_outbound (segment, campaign, dialer) — and `sim` to the
simulator's own CLI.

Every command turns expected failures (bad arguments, unusable databases, bad settings) into one
line on stderr and a non-zero exit, never a traceback. Slow imports are deferred into the
command that needs them so `callconsole --help` stays fast.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from console import cli_console, cli_data
from console.cli_common import PROG, CommandError, configured_database, simulator_missing


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
        help="queue figures from the queue_log, FCR from the interactions; campaign results "
        "(--by campaign, campaign-agent, campaign-hour) from the dials (docs/metrics.md); QA "
        "scores (--by evaluation: per week, evaluation-agent, -team, -form, -question)",
        description="Rows for [--from, --to): a call counts in the period it entered the queue, "
        "a campaign's dial in the period it was placed. Times without a zone are local time.",
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
    report.add_argument(
        "--by",
        choices=(
            "queue",
            "agent",
            "day",
            "hour",
            "campaign",
            "campaign-agent",
            "campaign-hour",
            "evaluation",
            "evaluation-agent",
            "evaluation-team",
            "evaluation-form",
            "evaluation-question",
        ),
        default="queue",
    )
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

    from console.cli_dnc import add_parser as add_dnc
    from console.cli_outbound import add_parsers as add_outbound
    from console.cli_quality import add_parser as add_qa
    from console.cli_training import add_parser as add_training
    from console.cli_training import add_replay_parser as add_replay

    add_training(commands, _positive_int)
    add_replay(commands, _positive_int, _date_or_time)
    add_dnc(commands, _date_or_time)
    add_outbound(commands)
    add_qa(commands, _positive_int, _date_or_time)

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
            print(f"{PROG}: error: {simulator_missing(exc)}", file=sys.stderr)
            return 1
        return sim_main(args_list[1:])
    args = build_parser().parse_args(args_list)
    handlers: dict[str, Callable[[argparse.Namespace], Coroutine[Any, Any, int]]] = {
        "demo": cli_console.demo,
        "run": cli_console.run,
        "seed": cli_data.seed,
        "db": cli_data.db,
        "routing": cli_data.routing,
        "report": cli_data.report,
        "wallboard": cli_console.wallboard,
        "training": _training,
        "replay": _replay,
        "segment": _segment,
        "campaign": _campaign,
        "dialer": _dialer,
        "dnc": _dnc,
        "qa": _qa,
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


async def _training(args: argparse.Namespace) -> int:
    from console.cli_training import run

    return await run(args, lambda: configured_database(args))


async def _segment(args: argparse.Namespace) -> int:
    from console.cli_outbound import segment

    return await segment(args)


async def _campaign(args: argparse.Namespace) -> int:
    from console.cli_outbound import campaign

    return await campaign(args)


async def _dialer(args: argparse.Namespace) -> int:
    from console.cli_outbound import dialer

    return await dialer(args)


async def _replay(args: argparse.Namespace) -> int:
    from console.cli_training import replay

    return await replay(args, lambda: configured_database(args))


async def _qa(args: argparse.Namespace) -> int:
    from console.cli_quality import run

    return await run(args)


async def _dnc(args: argparse.Namespace) -> int:
    from console.cli_dnc import run

    return await run(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
