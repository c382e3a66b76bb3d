"""`callconsole dnc …`: the do-not-call lists from the command line (docs/outbound.md).

`add`, `remove` and `check` take numbers in any form, read as the settings' default region
unless they start with +; `import` reads a national registry file into a named list, bad
lines reported as ``FILE:LINE: reason`` on stderr without stopping it; `list` shows the lists,
or one list's numbers. Bad arguments, numbers and files are one line and exit 1.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from console.cli_common import PROG, CommandError, configured_database


def add_parser(commands: Any, when: Callable[[str], datetime]) -> None:
    """Register `dnc` and its actions on the main parser's subcommands."""
    dnc = commands.add_parser(
        "dnc",
        help="do-not-call lists: add, remove, check, import, list",
        description="Numbers nobody may dial. The internal list holds opt-outs; imported lists "
        "(a national registry) have names. Times without a zone are local time.",
    )
    actions = dnc.add_subparsers(dest="dnc_command", metavar="ACTION", required=True)
    region = {"metavar": "XX", "help": "region of national numbers (default: settings)"}

    add = actions.add_parser("add", help="put a number on a list (default: internal)")
    add.add_argument("number", metavar="NUMBER")
    add.add_argument("--reason", default="", help="why (shown in every skip it causes)")
    add.add_argument("--list", dest="source", default="internal", metavar="NAME")
    add.add_argument(
        "--expires", type=when, metavar="DATE|DATETIME", help="until then (default: until removed)"
    )
    add.add_argument("--region", **region)

    remove = actions.add_parser("remove", help="take a number off a list (default: internal)")
    remove.add_argument("number", metavar="NUMBER")
    remove.add_argument("--list", dest="source", default="internal", metavar="NAME")
    remove.add_argument("--region", **region)

    check = actions.add_parser("check", help="which lists block these numbers now")
    check.add_argument("numbers", nargs="+", metavar="NUMBER")
    check.add_argument("--region", **region)

    load = actions.add_parser(
        "import",
        help="read a national DNC file into a named list",
        description="Lines of 'area code,number' (the US FTC download: 10 digits in all) or "
        "one number per line; blank lines and # comments are skipped. Bad lines are reported "
        "with their line numbers and skipped.",
    )
    load.add_argument("file", type=Path, metavar="FILE")
    load.add_argument("--list", dest="source", required=True, metavar="NAME")
    load.add_argument(
        "--replace", action="store_true", help="the list becomes exactly this file's numbers"
    )
    load.add_argument("--expires", type=when, metavar="DATE|DATETIME")
    load.add_argument("--region", **region)

    show = actions.add_parser("list", help="the lists and their sizes, or one list's numbers")
    show.add_argument("--list", dest="source", metavar="NAME", help="show this list's numbers")
    show.add_argument("--limit", type=int, default=100, metavar="N")


async def run(args: argparse.Namespace) -> int:
    """Run one `dnc` action."""
    import phonenumbers

    from console.config import load_settings
    from console.schema import schema_state
    from console.services.outbound.dnc import DncError, DncService

    settings = load_settings(args.config, db_url=args.db)
    region = (getattr(args, "region", None) or settings.crm.default_region).upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise CommandError(f"unknown region {region!r} (use an ISO 3166 code such as US, GB, FR)")
    database = configured_database(args)
    try:
        await database.check()
        if not (await schema_state(database)).is_current:
            raise CommandError(
                f"{database.url.render_as_string(hide_password=True)}: the schema is not "
                f"current; run `{PROG} db upgrade` first"
            )
        service = DncService(database, region=region)
        try:
            done: int = await _ACTIONS[args.dnc_command](service, args)
            return done
        except DncError as exc:
            raise CommandError(str(exc)) from None
    finally:
        await database.dispose()


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name for this uid (a container)
        return "cli"


def _expiry(value: datetime | None) -> datetime | None:
    """A --expires value as an aware time (no zone given: this machine's local time)."""
    return None if value is None else value.astimezone()


def _describe(entry: Any) -> str:
    reason = f" — {entry.reason}" if entry.reason else ""
    until = f", until {entry.expires_at:%Y-%m-%d %H:%M} UTC" if entry.expires_at else ""
    added = f"added {entry.added_at:%Y-%m-%d} by {entry.added_by or '?'}"
    return f"{entry.source} ({added}{until}){reason}"


async def _add(service: Any, args: argparse.Namespace) -> int:
    entry = await service.add(
        args.number,
        source=args.source,
        reason=args.reason,
        added_by=_who(),
        expires_at=_expiry(args.expires),
    )
    print(f"{entry.e164}: on {_describe(entry)}")
    return 0


async def _remove(service: Any, args: argparse.Namespace) -> int:
    e164 = service.e164(args.number)
    if not await service.remove(e164, source=args.source):
        raise CommandError(f"{e164} is not on the list {args.source!r}")
    print(f"{e164}: removed from {args.source}")
    return 0


async def _check(service: Any, args: argparse.Namespace) -> int:
    numbers = [service.e164(number) for number in args.numbers]  # all valid, or one error
    for e164 in numbers:
        entries = await service.check(e164)
        if not entries:
            print(f"{e164}: on no do-not-call list")
        for entry in entries:
            print(f"{e164}: on {_describe(entry)}")
    return 0


async def _import(service: Any, args: argparse.Namespace) -> int:
    report = await service.import_file(
        args.file,
        args.source,
        replace=args.replace,
        expires_at=_expiry(args.expires),
        added_by=_who(),
    )
    for bad in report.bad:
        print(f"{args.file}:{bad.line}: {bad.reason}: {bad.text!r}", file=sys.stderr)
    if report.bad_count > len(report.bad):
        more = report.bad_count - len(report.bad)
        print(f"{args.file}: … and {more:,} more bad lines", file=sys.stderr)
    removed = f", {report.removed:,} removed" if args.replace else ""
    print(
        f"{report.source}: {report.numbers:,} numbers read from {report.lines:,} lines, "
        f"{report.added:,} new{removed}; {report.bad_count:,} bad lines skipped"
    )
    return 0


async def _list(service: Any, args: argparse.Namespace) -> int:
    if args.source is None:
        lists = await service.lists()
        if not lists:
            print("no do-not-call lists yet")
        for found in lists:
            noun = "number" if found.numbers == 1 else "numbers"
            print(f"{found.source}: {found.numbers:,} {noun}")
        return 0
    for entry in await service.entries(source=args.source, limit=max(1, args.limit)):
        print(f"{entry.e164}: {_describe(entry)}")
    return 0


_ACTIONS: dict[str, Callable[[Any, argparse.Namespace], Any]] = {
    "add": _add,
    "remove": _remove,
    "check": _check,
    "import": _import,
    "list": _list,
}
