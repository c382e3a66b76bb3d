"""`callconsole segment …` and `callconsole campaign …`: outbound campaigns from the shell.

    callconsole segment count --tier gold --no-contact-days 90 --country US
    callconsole segment save "Gold, quiet" --tier gold --no-contact-days 90
    callconsole segment preview "Gold, quiet"
    callconsole campaign create winback.toml
    callconsole campaign list | start NAME | pause NAME | stop NAME | report NAME
    callconsole dialer [--site NAME] [--tick S] [--lease S] [--drain S]

Usage problems and refused requests print one line and exit 2; nothing half-done is kept.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from console.cli_common import PROG, CommandError, configured_database

_CRITERIA = (
    # option, criteria key, repeatable, type
    ("--tier", "tiers", True, str),
    ("--lifecycle", "lifecycles", True, str),
    ("--language", "languages", True, str),
    ("--country", "countries", True, str),
    ("--tag-any", "tags_any", True, str),
    ("--tag-all", "tags_all", True, str),
    ("--recency-min", "recency_min", False, int),
    ("--frequency-min", "frequency_min", False, int),
    ("--monetary-min", "monetary_min", False, int),
    ("--no-contact-days", "no_contact_days", False, int),
    ("--contact-within-days", "contact_within_days", False, int),
    ("--open-tickets", "open_tickets", False, str),
    ("--min-lifetime-value", "min_lifetime_value", False, int),
    ("--consent", "consent", True, str),
)


def add_parsers(commands: Any) -> None:
    """Register `segment` and `campaign` on the main parser's subcommands."""
    segment = commands.add_parser("segment", help="CRM segments for outbound campaigns")
    actions = segment.add_subparsers(dest="segment_command", metavar="ACTION", required=True)
    count = actions.add_parser("count", help="how many customers the criteria select")
    _criteria_options(count)
    save = actions.add_parser("save", help="save (or replace) a segment by name")
    save.add_argument("name")
    _criteria_options(save)
    preview = actions.add_parser("preview", help="a saved segment's first customers")
    preview.add_argument("name")
    preview.add_argument("--limit", type=int, default=20)
    actions.add_parser("list", help="the saved segments and their sizes now")

    campaign = commands.add_parser("campaign", help="outbound campaigns")
    verbs = campaign.add_subparsers(dest="campaign_command", metavar="ACTION", required=True)
    create = verbs.add_parser("create", help="a campaign from a TOML file (docs/outbound.md)")
    create.add_argument("file", type=Path)
    verbs.add_parser("list", help="every campaign, its status and list")
    for verb, text in (
        ("start", "run a campaign (the first start builds its list)"),
        ("pause", "pause a running campaign"),
        ("stop", "stop a campaign (its list and results are kept)"),
        ("report", "a campaign's list, dials, results by agent and hour, and survey answers"),
    ):
        verbs.add_parser(verb, help=text).add_argument("name")

    dialer = commands.add_parser(
        "dialer",
        help="run the outbound dialer: places running campaigns' calls (Ctrl-C stops it)",
    )
    dialer.add_argument("--site", default="main", help="this site's name, shown in its leases")
    dialer.add_argument(
        "--tick", type=_seconds(0.1, 10), default=1.0, help="seconds between rounds (1)"
    )
    dialer.add_argument(
        "--lease",
        type=_seconds(3, 300),
        default=15.0,
        help="seconds another dialer waits before taking over from one that died (15)",
    )
    dialer.add_argument(
        "--drain",
        type=_seconds(0, 3600),
        default=60.0,
        help="on Ctrl-C, seconds to go on following the calls in flight, placing no new "
        "ones (60; 0: stop at once; a second Ctrl-C stops at once)",
    )


def _seconds(lo: float, hi: float) -> Any:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be from {lo:g} to {hi:g} seconds")
        return value

    return parse


def _criteria_options(parser: argparse.ArgumentParser) -> None:
    for option, key, repeat, kind in _CRITERIA:
        if repeat:
            parser.add_argument(option, dest=key, action="append", metavar="VALUE")
        else:
            parser.add_argument(option, dest=key, type=kind, metavar="N" if kind is int else "X")


def _criteria(args: argparse.Namespace) -> Any:
    from console.services.outbound.segments import SegmentCriteria

    data = {key: getattr(args, key) for _o, key, _r, _k in _CRITERIA if getattr(args, key)}
    return SegmentCriteria.parse(data)


async def segment(args: argparse.Namespace) -> int:
    from console.services.outbound.segments import SegmentError, SegmentService

    return await _with_service(args, SegmentService, SegmentError, _segment)


async def _segment(args: argparse.Namespace, service: Any) -> int:
    action = args.segment_command
    if action == "count":
        print(f"{await service.count(_criteria(args)):,} customers")
    elif action == "save":
        criteria = _criteria(args)
        await service.save(args.name, criteria, agent_id=None)
        print(
            f"saved segment {args.name.strip()!r}: {await service.count(criteria):,} customers now"
        )
    elif action == "preview":
        saved = await service.get(args.name)
        for m in await service.preview(saved.criteria, limit=max(args.limit, 1)):
            print(f"{m.customer_id:>8}  {m.name[:40]:<40}  {m.tier:<9} {m.phone:<16} {m.country}")
    else:
        for saved in await service.all():
            size = await service.count(saved.criteria)
            print(f"{saved.name[:40]:<40} {size:>9,}  {saved.criteria.as_json()}")
    return 0


async def campaign(args: argparse.Namespace) -> int:
    from console.services.outbound.campaigns import CampaignError, CampaignService
    from console.services.outbound.segments import SegmentError

    return await _with_service(args, CampaignService, (CampaignError, SegmentError), _campaign)


async def _campaign(args: argparse.Namespace, service: Any) -> int:
    from console.services.outbound.campaigns import CampaignFileError, load_campaign_file

    action = args.campaign_command
    if action == "create":
        try:
            body = args.file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"{args.file}: cannot read it: {exc}") from None
        try:
            spec = load_campaign_file(str(args.file), body)
        except CampaignFileError as exc:
            raise CommandError(str(exc)) from None
        campaign_id = await service.create(spec, agent_id=None)
        print(f"created campaign {spec.name!r} (id {campaign_id}, {spec.mode}, draft)")
    elif action == "list":
        for c in await service.summaries():
            print(
                f"{c.name[:40]:<40} {c.status:<9} {c.mode:<11} {c.purpose:<12} "
                f"list {c.leads:>7,}  pending {c.pending:>7,}  dials {c.dials:>7,}"
            )
    elif action == "start":
        size = await service.start(args.name, agent_id=None)
        print(f"{args.name.strip()!r} running: {size:,} on its list")
    elif action in ("pause", "stop"):
        await getattr(service, action)(args.name, agent_id=None)
        print(f"{args.name.strip()!r} {'paused' if action == 'pause' else 'stopped'}")
    else:
        report = await service.report(args.name)
        print(f"{report.name}: {report.status}, {report.dials:,} dials")
        for status, n in sorted(report.leads_by_status.items()):
            print(f"  list {status:<10} {n:>8,}")
        for outcome, n in sorted(report.dials_by_outcome.items()):
            print(f"  dial {outcome:<10} {n:>8,}")
        await _results(service, args.name)
    return 0


async def dialer(args: argparse.Namespace) -> int:
    """`dialer`: the dialer loop, headless, against the configured PBX and database; one line
    per campaign state change; Ctrl-C (or SIGTERM) stops it cleanly: no new dial, what it saw
    written, its leases given back."""
    import asyncio
    import contextlib
    import logging
    import signal

    from console.config import load_settings
    from console.cti.ami import AmiAuthError
    from console.cti.protocol import LinkState
    from console.factory import PbxAddress, build_dialer
    from console.schema import schema_state
    from console.services.outbound.dialer import DialerSettings

    settings = load_settings(args.config, db_url=args.db)
    database = configured_database(args)
    try:
        await database.check()
        if not (await schema_state(database)).is_current:
            raise CommandError(
                f"{database.url.render_as_string(hide_password=True)}: the schema is not "
                f"current; run `{PROG} db upgrade` first"
            )
        pbx = PbxAddress(
            settings.pbx.host, settings.pbx.port, settings.pbx.user, settings.pbx.secret
        )

        def say(line: str) -> None:
            print(f"{PROG} dialer: {line}", flush=True)

        run = build_dialer(
            database,
            pbx,
            site=args.site,
            settings=DialerSettings(tick=args.tick, lease_seconds=args.lease),
            on_state=say,
        )
        quiet = logging.getLogger("console.cti.ami")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)  # the link's state is this command's own line
        try:
            await run.cti.start()
        except AmiAuthError as exc:
            raise CommandError(str(exc)) from None
        finally:
            quiet.setLevel(level)
        state = run.cti.link_state
        say(f"{run.owner}: PBX {pbx.host}:{pbx.port} {state.state.value}")
        if state.state is not LinkState.CONNECTED:
            say(f"{state.detail}; retrying in the background")
        stop, hurry = asyncio.Event(), asyncio.Event()

        def signalled() -> None:  # the first stops new dials; the second stops at once
            if stop.is_set():
                hurry.set()
                return
            stop.set()
            if args.drain and run.unended():
                say(f"stopping: following the calls in flight for up to {args.drain:g} s "
                    "(Ctrl-C again to stop now)")  # fmt: skip

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows
                loop.add_signal_handler(sig, signalled)
        try:
            await run.run(stop, drain=args.drain, hurry=hurry)
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)
            await run.cti.close()
        say("stopped")
        return 0
    finally:
        await database.dispose()


async def _results(service: Any, name: str) -> None:
    """The campaign's results over its whole life (docs/metrics.md, "Campaign results"): the
    totals, by agent and by hour, then its survey's answers."""
    from rich.console import Console

    from console.services.outbound.results import (
        DEFINITIONS,
        CampaignResults,
        ResultsBy,
        percent,
        revenue_text,
    )
    from console.services.outbound.surveys import SurveyService
    from console.widgets.report_table import results_table

    campaign_id = next(c.id for c in await service.summaries() if c.name == name.strip())
    results = CampaignResults(service.db)
    by_agent = await results.report(ResultsBy.AGENT, campaign_id=campaign_id)
    total = by_agent.total.counts
    print(
        f"  results: {total.dialled:,} dialled, {total.connected:,} connected, "
        f"{total.contacts:,} contacts ({percent(total.contact_rate)}), "
        f"{total.right_party:,} right-party ({percent(total.right_party_rate)}), "
        f"{total.conversions:,} conversions ({percent(total.conversion_rate)} of right-party), "
        f"{total.surveys:,} surveys completed; revenue {revenue_text(total.revenue)}"
    )
    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = 160
    if total.dialled:
        console.print(results_table(by_agent))
        console.print(results_table(await results.report(ResultsBy.HOUR, campaign_id=campaign_id)))
        console.print(DEFINITIONS, style="dim", markup=False, highlight=False)
    questions = await SurveyService(service.db).results(campaign_id)
    for q in questions:
        given = ", ".join(f"{answer} {n:,}" for answer, n in q.answers)
        print(f"  survey {q.id}: {q.answered:,} answered" + (f" ({given})" if given else ""))


async def _with_service(args: argparse.Namespace, cls: Any, errors: Any, body: Any) -> int:
    from console.schema import schema_state

    database = configured_database(args)
    try:
        await database.check()
        if not (await schema_state(database)).is_current:
            raise CommandError(
                f"{database.url.render_as_string(hide_password=True)}: the schema is not "
                f"current; run `{PROG} db upgrade` first"
            )
        try:
            return int(await body(args, cls(database)))
        except errors as exc:
            print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
            return 2
        except CommandError as exc:
            print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
            return 2
    finally:
        await database.dispose()
