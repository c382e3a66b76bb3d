"""Command line: ``python -m telephony_sim serve | replay | run``.

``main(argv)`` is also what ``callconsole sim`` calls. Wrong arguments get argparse's usage line
and exit status 2; runtime problems (port in use, unreadable file, bad scenario) get one line
``telephony_sim: error: …`` on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sqlite3
import sys
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from telephony_sim.ami_actions import EngineActions, EngineLike
from telephony_sim.ami_server import DEFAULT_HOST, DEFAULT_PORT, DEMO_USER, AmiServer
from telephony_sim.recorder import Recorder, RecordingError, check_recording, replay, replay_server

if TYPE_CHECKING:
    from telephony_sim.scenarios import Scenario

PROG = "telephony_sim"
log = logging.getLogger(__name__)


class CliError(Exception):
    """A runtime problem reported as one ``telephony_sim: error: …`` line."""


class ServableEngine(EngineLike, Protocol):
    """What ``serve`` needs from the engine beyond the AMI actions."""

    def add_listener(self, fn: Callable[[str, list[tuple[str, str]]], None]) -> None: ...
    async def run(self, stop_event: asyncio.Event) -> None: ...


@dataclass(frozen=True)
class ServeOptions:
    """Where and how the AMI server listens."""

    host: str
    port: int
    users: dict[str, str]
    record: Path | None = None


# Arguments ---------------------------------------------------------------------------------


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0: {text!r}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65_535:
        raise argparse.ArgumentTypeError(f"port must be 0..65535: {text!r}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text!r}")
    return value


def _add_listen_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on")
    parser.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help=f"AMI port (default {DEFAULT_PORT}; 0 picks a free one and prints it)",
    )
    parser.add_argument("--user", help="AMI user name (needs --secret)")
    parser.add_argument("--secret", help="secret for --user")
    parser.add_argument(
        "--config",
        type=Path,
        help="TOML file of AMI users: [users.NAME] secret = '…' "
        f"(default: user {DEMO_USER[0]!r}, secret {DEMO_USER[1]!r})",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every sub-command."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="A simulated PBX/ACD that speaks Asterisk AMI."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the simulator as an AMI server")
    _add_listen_arguments(serve)
    serve.add_argument("--scenario", help="scenario name or TOML file (default: steady day)")
    serve.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    pace = serve.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=_positive_float, default=1.0, help="time scale (default 1)")
    pace.add_argument("--virtual", action="store_true", help="virtual time, as fast as possible")
    serve.add_argument("--bots", type=_count, default=None, help="number of virtual agents")
    serve.add_argument("--db", type=Path, help="SQLite CRM database to draw caller numbers from")
    serve.add_argument("--record", type=Path, help="write every frame sent to this file (JSONL)")
    serve.add_argument("--queue-log", type=Path, help="write an Asterisk-style queue_log here")

    play = commands.add_parser("replay", help="serve a recording back over AMI")
    play.add_argument("file", type=Path, help="a recording made with serve --record")
    play.add_argument("--speed", type=_positive_float, default=1.0, help="time scale (default 1)")
    _add_listen_arguments(play)

    _add_run_command(commands)
    return parser


def _add_run_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    # The headless statistics run lives with the engine; it registers its own arguments.
    try:
        from telephony_sim.headless import add_run_command
    except ModuleNotFoundError as exc:
        if exc.name != "telephony_sim.headless":
            raise
        return  # engine side not built yet: serve and replay still work
    add_run_command(commands)


# Users -------------------------------------------------------------------------------------


def load_users(config: Path | None, user: str | None, secret: str | None) -> dict[str, str]:
    """AMI users from ``--config`` and/or ``--user/--secret``; the demo user if neither."""
    users: dict[str, str] = {}
    if config is not None:
        users.update(_users_from_toml(config))
    if (user is None) != (secret is None):
        raise CliError("--user and --secret go together")
    if user is not None and secret is not None:
        if not user.strip() or not secret:
            raise CliError("--user and --secret must not be empty")
        users[user.strip()] = secret
    return users or {DEMO_USER[0]: DEMO_USER[1]}


def _users_from_toml(path: Path) -> dict[str, str]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CliError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CliError(f"{path}: not a UTF-8 text file") from None
    except tomllib.TOMLDecodeError as exc:
        raise CliError(f"{path}: {exc}") from None
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
    server = AmiServer(
        EngineActions(engine, engine_errors).actions(),
        options.users,
        host=options.host,
        port=options.port,
        recorder=recorder,
    )
    engine.add_listener(server.publish_event)
    try:
        await _listen(server, options.host)
        await engine.run(stop)
    finally:
        await server.close()
        if recorder is not None:
            recorder.close()


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


async def _serve(args: argparse.Namespace) -> None:
    from telephony_sim.clock import RealTimeClock, VirtualClock
    from telephony_sim.engine import Engine, SimError
    from telephony_sim.queue_log import QueueLog
    from telephony_sim.scenario_reader import ScenarioError
    from telephony_sim.scenarios import default_scenario, load_scenario

    users = load_users(args.config, args.user, args.secret)
    if args.bots is not None:
        # Refuse rather than silently ignore until the engine facade takes a bot count
        # (today bots come from the scenario's agents and bot_pools).
        raise CliError("--bots: not supported by this engine yet; set bots in the scenario")
    clock = VirtualClock() if args.virtual else RealTimeClock(args.speed)
    try:
        scenario = load_scenario(args.scenario) if args.scenario else default_scenario()
    except ScenarioError as exc:
        raise CliError(str(exc)) from None
    numbers, customers = _crm_numbers(args.db, scenario) if args.db else ([], {})
    queue_log = None
    if args.queue_log is not None:
        try:
            queue_log = QueueLog(args.queue_log)
        except OSError as exc:
            raise CliError(f"{args.queue_log}: cannot write: {exc.strerror or exc}") from None
    try:
        try:
            engine = Engine(
                scenario,
                seed=args.seed,
                clock=clock,
                numbers=numbers,
                customer_numbers=customers,
                queue_log=queue_log,
            )
        except SimError as exc:
            raise CliError(str(exc)) from None
        stop = asyncio.Event()
        _stop_on_signals(stop)
        options = ServeOptions(args.host, args.port, users, args.record)
        await serve_engine(engine, (SimError,), options, stop, now=clock.now)
    finally:
        if queue_log is not None:
            queue_log.close()


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
            from telephony_sim.headless import run_command

            return run_command(args)
    except (CliError, RecordingError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
