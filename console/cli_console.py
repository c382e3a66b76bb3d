"""`callconsole demo`, `run` and `wallboard`: the commands that open a console against a PBX
(the demo starts the simulator first), and the settings a trainee needs to join a demo."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from console.cli_common import (
    PROG,
    CommandError,
    configured_database,
    say_waiting,
    simulator_missing,
)
from console.cli_data import has_customers, run_seed


async def demo(args: argparse.Namespace) -> int:
    """Seed (first time), start the simulator with bots, open the console as the demo agent."""
    import importlib.util
    import secrets

    try:  # the simulator runs as a child process: say now, in one line, if it cannot
        if importlib.util.find_spec("telephony_sim") is None:
            raise CommandError(simulator_missing(None))
    except ModuleNotFoundError as exc:
        raise CommandError(simulator_missing(exc)) from None

    from console.schema import upgrade
    from console.services.seeding.seeding import SeedPlan
    from console.simproc import start_simulator

    database = configured_database(args)
    try:
        await database.check()
        await upgrade(database, on_wait=say_waiting)
        needs_seed = not await has_customers(database)
    finally:
        await database.dispose()
    if needs_seed:
        await run_seed(args, SeedPlan(customers=args.customers, seed=args.seed))
    database = configured_database(args)
    if database.sqlite_path is None:
        await database.dispose()
        raise CommandError("the demo needs a SQLite database (the simulator reads its numbers)")
    secret = secrets.token_urlsafe(16)  # this demo's own PBX login
    sim_args = ["--scenario", "demo", "--db", str(database.sqlite_path), "--seed", str(args.seed)]
    # The PBX's queue_log beside the database: the supervisor's report screen reads it.
    queue_log = database.sqlite_path.with_name(database.sqlite_path.stem + "-queue_log")
    sim_args += ["--queue-log", str(queue_log)]
    # A campaign's calls carry its variables on every event (manager.conf channelvars).
    sim_args += ["--channelvars", "CC_CAMPAIGN,CC_LEAD"]
    # The secret goes in the child's environment: a command line is readable by `ps`.
    sim = await start_simulator([*sim_args, "--user", "callconsole"], secret=secret)
    join = None
    if args.role == "trainer":  # the trainee joins this demo's PBX from another terminal
        join = write_trainee_settings(database, sim.port, secret)
    elif args.role == "supervisor":  # an agent joins to take the campaign calls
        join = write_trainee_settings(database, sim.port, secret)
        join = replace(join, before="Agent: in another terminal run")
    pbx = ("127.0.0.1", sim.port, "callconsole", secret)
    dialer = None
    try:
        dialer = await start_demo_dialer(
            database, pbx, database.sqlite_path.with_name("dialer.log")
        )
        return await _console(
            args,
            database,
            pbx=pbx,
            login={"supervisor": "super", "trainer": "trainer"}.get(args.role, "demo"),
            password="demo",
            queue_log=queue_log,
            trainee_join=join,
        )
    finally:
        if dialer is not None:
            await dialer.stop()
        await sim.stop()
        await database.dispose()


class DemoDialer:
    """The demo's outbound dialer, in the console's process: it dials the campaigns a
    supervisor starts (docs/outbound.md) and writes its state lines to a log file, not the
    terminal the console draws on."""

    def __init__(self, run: Any, log: Path) -> None:
        import asyncio

        self.run = run
        self.log = log
        self.stopping = asyncio.Event()
        self.task = asyncio.create_task(self._loop())

    def say(self, line: str) -> None:
        import datetime

        try:
            with self.log.open("a", encoding="utf-8") as out:
                out.write(f"{datetime.datetime.now():%H:%M:%S} {line}\n")
        except OSError:
            pass  # a full disk: the dialer goes on without its log

    async def _loop(self) -> None:
        try:
            await self.run.cti.start()
            await self.run.run(self.stopping)
        except Exception as exc:  # the demo goes on without outbound calls
            self.say(f"stopped: {exc}")

    async def stop(self) -> None:
        """No new dial; what it saw written; its leases given back."""
        import asyncio
        import contextlib

        self.stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(self.task), 10)
        except TimeoutError:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.run.cti.close()


async def start_demo_dialer(database: Any, pbx: tuple[str, int, str, Any], log: Path) -> DemoDialer:
    """Start the demo's dialer on its own full-stream AMI session (`build_dialer`)."""
    from console.factory import PbxAddress, build_dialer

    holder: list[DemoDialer] = []
    run = build_dialer(
        database,
        PbxAddress(*pbx),
        site="demo",
        on_state=lambda line: holder[0].say(line) if holder else None,
    )
    holder.append(DemoDialer(run, log))
    return holder[0]


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


async def run(args: argparse.Namespace) -> int:
    """The console against the PBX and database from the settings; starts at the login screen."""
    from console.config import load_settings

    settings = load_settings(args.config, db_url=args.db)
    database = configured_database(args)
    try:
        await database.check()
        from console.schema import upgrade

        await upgrade(database, on_wait=say_waiting)
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
    from console.paths import journal_dir

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
        event_filter=settings.pbx.event_filter,
        agent_state_interface=settings.desk.agent_state_interface.strip(),
        journal_dir=journal_dir(database.url.render_as_string(hide_password=True)),
        record_calls=settings.desk.record_calls,
        recording_pause_seconds=float(settings.desk.recording_pause_seconds),
        show_supervisor_listening=settings.desk.show_supervisor_listening,
        monitor_phone=settings.desk.monitor_phone.strip(),
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


async def wallboard(args: argparse.Namespace) -> int:
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
