"""Command line: ``python -m telephony_sim serve | replay | run``.

``main(argv)`` is also what ``callconsole sim`` calls. Wrong arguments get argparse's usage line
and exit status 2; runtime problems (port in use, unreadable file, bad scenario) get one line
``telephony_sim: error: …`` on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import signal
import sqlite3
import sys
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from telephony_sim.ami_actions import default_scenario_dirs
from telephony_sim.ami_server import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEMO_USER,
    AmiServer,
    PublishingEngine,
    engine_server,
)
from telephony_sim.headless import format_text, parse_duration, run_report
from telephony_sim.recorder import Recorder, RecordingError, check_recording, replay, replay_server

if TYPE_CHECKING:
    from callkit.scenario import Scenario
    from telephony_sim.clock import VirtualClock
    from telephony_sim.engine import Engine
    from telephony_sim.queue_log import QueueLog

PROG = "telephony_sim"
log = logging.getLogger(__name__)


class CliError(Exception):
    """A runtime problem reported as one ``telephony_sim: error: …`` line."""


class ServableEngine(PublishingEngine, Protocol):
    """What ``serve`` needs from the engine: actions, events, and running on its clock."""

    async def run(self, stop_event: asyncio.Event) -> None: ...


@dataclass(frozen=True)
class ServeOptions:
    """Where and how the AMI server listens."""

    host: str
    port: int
    users: dict[str, str]
    record: Path | None = None
    scenario_dirs: tuple[Path, ...] = ()  # more folders SimTraining may read scenarios from


# Arguments ---------------------------------------------------------------------------------


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0: {text!r}")
    return value


def _whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high`` (inclusive)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be {low} or more, got {value}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"must be {high} or less, got {value}")
        return value

    return parse


_port = _whole_number(0, 65_535)
_count = _whole_number(0)


def _add_listen_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on")
    parser.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help=f"AMI port (default {DEFAULT_PORT}; 0 picks a free one and prints it)",
    )
    parser.add_argument(
        "--scenario-dir",
        type=Path,
        action="append",
        metavar="DIR",
        help="a folder SimTraining may read scenario files from (repeatable; the callconsole "
        "data folder's scenarios/ always)",
    )
    parser.add_argument("--user", help="AMI user name (needs --secret)")
    parser.add_argument("--secret", help="secret for --user")
    parser.add_argument(
        "--config",
        type=Path,
        help="TOML file of AMI users: [users.NAME] secret = '…' "
        f"(default: user {DEMO_USER[0]!r}, secret {DEMO_USER[1]!r})",
    )
    parser.add_argument(
        "--channelvars",
        default="",
        metavar="NAME,NAME",
        help="channel variables every event carries as ChanVariable (manager.conf's "
        "[general] channelvars; added to the --config file's)",
    )


def _add_world_arguments(parser: argparse.ArgumentParser) -> None:
    # What is simulated: shared by serve and run.
    parser.add_argument("--scenario", help="scenario name or TOML file (default: steady traffic)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--bots", type=_count, default=0, metavar="N", help="add N virtual agents to every queue"
    )
    parser.add_argument("--db", type=Path, help="SQLite CRM database to draw caller numbers from")
    parser.add_argument("--queue-log", type=Path, help="write an Asterisk-style queue_log here")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every sub-command."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="A simulated PBX/ACD that speaks Asterisk AMI."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the simulator as an AMI server")
    _add_listen_arguments(serve)
    _add_world_arguments(serve)
    pace = serve.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=_positive_float, default=1.0, help="time scale (default 1)")
    pace.add_argument("--virtual", action="store_true", help="virtual time, as fast as possible")
    serve.add_argument("--record", type=Path, help="write every frame sent to this file (JSONL)")
    serve.add_argument(
        "--recordings",
        type=Path,
        metavar="DIR",
        help="where MixMonitor writes its recordings (transcripts; default: the callconsole "
        "data folder's sim-recordings/); File names outside it are refused",
    )

    play = commands.add_parser("replay", help="serve a recording back over AMI")
    play.add_argument("file", type=Path, help="a recording made with serve --record")
    play.add_argument("--speed", type=_positive_float, default=1.0, help="time scale (default 1)")
    _add_listen_arguments(play)

    run = commands.add_parser("run", help="headless statistics run in virtual time")
    _add_world_arguments(run)
    run.add_argument(
        "--virtual", action="store_true", default=True, help="virtual time (always, for a run)"
    )
    run.add_argument("--duration", type=parse_duration, help="e.g. 8h (default: the scenario's)")
    run.add_argument("--report", choices=("json", "text"), default="text")
    return parser


# Users -------------------------------------------------------------------------------------


#: Where ``--user``'s secret may come from instead of ``--secret``, which ``ps`` would show.
SECRET_ENV = "TELEPHONY_SIM_SECRET"


def load_users(config: Path | None, user: str | None, secret: str | None) -> dict[str, str]:
    """AMI users from ``--config`` and/or ``--user`` with ``--secret`` or, kept off the
    command line, the TELEPHONY_SIM_SECRET environment variable; the demo user if none."""
    users: dict[str, str] = {}
    if config is not None:
        users.update(_users_from_toml(config))
    if user is not None and secret is None:
        secret = os.environ.get(SECRET_ENV)
    if (user is None) != (secret is None):
        raise CliError(f"--user needs --secret (or {SECRET_ENV} in the environment)")
    if user is not None and secret is not None:
        if not user.strip() or not secret:
            raise CliError("--user and --secret must not be empty")
        users[user.strip()] = secret
    return users or {DEMO_USER[0]: DEMO_USER[1]}


def _read_config(path: Path) -> dict[str, object]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CliError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CliError(f"{path}: not a UTF-8 text file") from None
    except tomllib.TOMLDecodeError as exc:
        raise CliError(f"{path}: {exc}") from None


def load_channelvars(config: Path | None, extra: str = "") -> tuple[str, ...]:
    """manager.conf's ``[general] channelvars`` from the users file: ``channelvars =
    "CAMPAIGN,LEAD"`` (as manager.conf writes it) or a list of names; then ``extra`` (the
    ``--channelvars`` option, same form); none by default."""
    out: tuple[str, ...] = ()
    if config is not None:
        general = _read_config(config).get("general", {})
        if not isinstance(general, dict):
            raise CliError(f"{config}: [general] must be a table")
        value = general.get("channelvars", ())
        names = value.split(",") if isinstance(value, str) else value
        if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
            raise CliError(
                f'{config}: [general] channelvars must be "NAME,NAME" or a list of names'
            )
        out = _variable_names(names, f"{config}: [general] channelvars")
    more = _variable_names(extra.split(","), "--channelvars")
    return out + tuple(n for n in more if n not in out)


def _variable_names(names: Sequence[str], where: str) -> tuple[str, ...]:
    out = tuple(n.strip() for n in names if n.strip())
    bad = [n for n in out if not n.replace("_", "").isalnum()]
    if bad:
        raise CliError(f"{where}: {bad[0]!r} is not a variable name")
    return out


def load_noload(config: Path | None) -> tuple[str, ...]:
    """modules.conf's ``noload`` lines from the users file: ``[modules] noload =
    ["app_chanspy.so", "app_mixmonitor.so"]`` makes a PBX without ChanSpy or MixMonitor."""
    if config is None:
        return ()
    modules = _read_config(config).get("modules", {})
    if not isinstance(modules, dict):
        raise CliError(f"{config}: [modules] must be a table")
    value = modules.get("noload", ())
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        raise CliError(f"{config}: [modules] noload must be a module name or a list of them")
    return tuple(n.strip() for n in names if n.strip())


def default_recordings_dir() -> Path:
    """Where MixMonitor writes by default: the callconsole data folder's sim-recordings/."""
    import platformdirs

    return Path(platformdirs.user_data_dir("callconsole", appauthor=False)) / "sim-recordings"


def _users_from_toml(path: Path) -> dict[str, str]:
    data = _read_config(path)
    table = data.get("users")
    if not isinstance(table, dict) or not table:
        raise CliError(f"{path}: needs a [users.NAME] table with a secret")
    users: dict[str, str] = {}
    for name, entry in table.items():
        secret = entry.get("secret") if isinstance(entry, dict) else None
        if not isinstance(secret, str) or not secret:
            raise CliError(f"{path}: [users.{name}] needs secret = '…'")
        users[name] = secret
    return users


# Commands ----------------------------------------------------------------------------------


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # e.g. Windows
            loop.add_signal_handler(sig, stop.set)


async def _listen(server: AmiServer, host: str) -> int:
    try:
        port = await server.start()
    except OSError as exc:
        raise CliError(f"cannot listen on {host}:{server.port}: {exc.strerror or exc}") from None
    # Printed on stdout (and flushed) so scripts using --port 0 can read the port.
    print(f"{PROG}: AMI listening on {host}:{port}", flush=True)
    return port


async def serve_engine(
    engine: ServableEngine,
    engine_errors: tuple[type[Exception], ...],
    options: ServeOptions,
    stop: asyncio.Event,
    *,
    now: Callable[[], float] | None = None,
) -> None:
    """Run ``engine`` behind an AMI server until ``stop`` is set."""
    recorder = None
    if options.record is not None:
        try:
            recorder = Recorder(options.record, now=now) if now else Recorder(options.record)
        except OSError as exc:
            raise CliError(f"{options.record}: cannot write: {exc.strerror or exc}") from None
    server = engine_server(
        engine,
        engine_errors,
        options.users,
        host=options.host,
        port=options.port,
        recorder=recorder,
        scenario_dirs=[*default_scenario_dirs(), *options.scenario_dirs],
    )
    try:
        await _listen(server, options.host)
        # What set-up built (the scenario, the CRM's numbers, the engine) lives as long as the
        # process: out of the garbage collector's way. A full collection walking it stalled
        # every session's frames for 100 ms and more at 200 consoles (docs/seats.md).
        gc.freeze()
        await engine.run(stop)
    finally:
        await server.close()
        if recorder is not None:
            recorder.close()


@dataclass(frozen=True)
class World:
    """What serve and run simulate: the scenario (with ``--bots`` added) and CRM numbers."""

    scenario: Scenario
    numbers: list[str]
    customer_numbers: dict[int, str]


def load_world(args: argparse.Namespace) -> World:
    """The scenario named by ``--scenario`` with ``--bots`` more bots, and ``--db``'s numbers."""
    from callkit.scenario import default_scenario, load_scenario, with_bots
    from callkit.scenario_reader import ScenarioError

    try:
        scenario = load_scenario(args.scenario) if args.scenario else default_scenario()
    except ScenarioError as exc:
        raise CliError(str(exc)) from None
    scenario = with_bots(scenario, args.bots)
    if args.db is None:
        return World(scenario, [], {})
    return World(scenario, *_crm_numbers(args.db, scenario))


def _crm_numbers(db: Path, scenario: Scenario) -> tuple[list[str], dict[int, str]]:
    """Caller numbers from the CRM database, and the numbers of scripted calls' customers."""
    from telephony_sim.traffic import load_customer_number, load_numbers_from_sqlite

    if not db.is_file():
        raise CliError(f"{db}: no such CRM database file")
    try:
        numbers = load_numbers_from_sqlite(db)
        customers: dict[int, str] = {}
        for call in scenario.calls:
            if call.customer_id is not None and call.customer_id not in customers:
                number = load_customer_number(db, call.customer_id)
                if number is not None:
                    customers[call.customer_id] = number
    except sqlite3.Error as exc:
        raise CliError(f"{db}: cannot read caller numbers: {exc}") from None
    return numbers, customers


@contextlib.contextmanager
def _queue_log(path: Path | None) -> Iterator[QueueLog | None]:
    from telephony_sim.queue_log import QueueLog

    if path is None:
        yield None
        return
    try:
        queue_log = QueueLog(path)
    except OSError as exc:
        raise CliError(f"{path}: cannot write: {exc.strerror or exc}") from None
    try:
        yield queue_log
    finally:
        queue_log.close()


def _build_engine(
    world: World,
    seed: int,
    clock: VirtualClock,
    queue_log: QueueLog | None,
    crm_db: Path | None = None,
    recordings_dir: Path | None = None,
    noload: tuple[str, ...] = (),
) -> Engine:
    from telephony_sim.engine import Engine, SimError

    try:
        return Engine(
            world.scenario,
            seed=seed,
            clock=clock,
            numbers=world.numbers,
            customer_numbers=world.customer_numbers,
            queue_log=queue_log,
            crm_db=crm_db,  # training runs (SimTraining) look their customers up there
            recordings_dir=recordings_dir,
            noload=noload,
        )
    except SimError as exc:
        raise CliError(str(exc)) from None


async def _serve(args: argparse.Namespace) -> None:
    from telephony_sim.clock import RealTimeClock, VirtualClock
    from telephony_sim.engine import SimError

    users = load_users(args.config, args.user, args.secret)
    clock = VirtualClock() if args.virtual else RealTimeClock(args.speed)
    world = load_world(args)
    with _queue_log(args.queue_log) as queue_log:
        if not args.virtual:
            # A PBX in real time stamps queue_log lines and Uniqueids with the wall clock, as
            # Asterisk does, so reports on its queue_log cover today, not the scenario's epoch.
            world = replace(world, scenario=replace(world.scenario, epoch=int(time.time())))
        recordings = args.recordings or default_recordings_dir()
        noload = load_noload(args.config)
        engine = _build_engine(world, args.seed, clock, queue_log, args.db, recordings, noload)
        engine.set_manager_vars(load_channelvars(args.config, args.channelvars))
        stop = asyncio.Event()
        _stop_on_signals(stop)
        options = ServeOptions(
            args.host, args.port, users, args.record, tuple(args.scenario_dir or ())
        )
        await serve_engine(engine, (SimError,), options, stop, now=clock.now)


def _run(args: argparse.Namespace) -> None:
    from telephony_sim.clock import VirtualClock

    world = load_world(args)
    duration = args.duration if args.duration is not None else world.scenario.duration
    with _queue_log(args.queue_log) as queue_log:
        engine = _build_engine(world, args.seed, VirtualClock(), queue_log)
        report = run_report(engine, duration)
    if args.report == "json":
        print(json.dumps(report, indent=2, allow_nan=False, default=str))
    else:
        print(format_text(report))


async def _replay(args: argparse.Namespace) -> None:
    users = load_users(args.config, args.user, args.secret)
    events = check_recording(args.file)  # a bad file fails before anyone connects
    server = replay_server(users, host=args.host, port=args.port)
    stop = asyncio.Event()
    _stop_on_signals(stop)
    try:
        await _listen(server, args.host)
        print(f"{PROG}: {events} events to replay at speed {args.speed:g}", flush=True)
        player = asyncio.create_task(replay(args.file, server, speed=args.speed))
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({player, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if player.done():
            player.result()  # surface a RecordingError found mid-file
            print(f"{PROG}: end of recording; still serving (Ctrl+C to stop)", flush=True)
            await stopper
        player.cancel()
        stopper.cancel()
    finally:
        await server.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)  # exits with status 2 and a usage line on bad arguments
    logging.basicConfig(level=logging.WARNING, format=f"{PROG}: %(message)s")
    try:
        if args.command == "serve":
            asyncio.run(_serve(args))
        elif args.command == "replay":
            asyncio.run(_replay(args))
        else:
            _run(args)
    except (CliError, RecordingError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
