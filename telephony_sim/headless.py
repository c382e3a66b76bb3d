"""``telephony_sim run``: a headless statistics run in virtual time.

    python -m telephony_sim run --scenario normal_day --virtual --duration 8h --seed 7 --report json

prints, per queue, offered, answered, abandoned, service level at the threshold, ASA, AHT,
longest wait and occupancy (definitions: docs/metrics.md). No AMI listener is attached, so no
event frame is ever built.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from telephony_sim.scenario_reader import ScenarioError


def parse_duration(text: str) -> float:
    """``8h``, ``90m``, ``1h30m``, ``3600`` → seconds (argparse type)."""
    from telephony_sim.scenario_reader import TomlReader

    try:
        return TomlReader("--duration", "").duration(text, ())
    except ScenarioError:
        raise argparse.ArgumentTypeError(f"bad duration {text!r} (e.g. 8h, 90m, 3600)") from None


def add_run_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the ``run`` sub-command on the simulator's command line."""
    run = subparsers.add_parser("run", help="headless statistics run in virtual time")
    run.add_argument("--scenario", help="scenario file or shipped name (default: steady traffic)")
    run.add_argument(
        "--virtual", action="store_true", default=True, help="virtual time (always, for a run)"
    )
    run.add_argument("--duration", type=parse_duration, help="e.g. 8h (default: the scenario's)")
    run.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    run.add_argument("--report", choices=("json", "text"), default="text")
    run.add_argument("--bots", type=int, default=0, help="add N bots to every queue")
    run.add_argument("--db", type=Path, help="CRM SQLite file to draw callers' numbers from")
    run.add_argument("--queue-log", type=Path, help="write an Asterisk-style queue_log here")


def _fmt(value: Any, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "pct":
        return f"{100 * value:5.1f}%"
    if kind == "s":
        return f"{value:7.1f}s"
    return str(value)


def format_text(stats: dict[str, dict[str, Any]], duration: float, wall: float) -> str:
    """A fixed-width table, one row per queue."""
    head = (
        f"{'queue':<12}{'offered':>8}{'answered':>9}{'abandon':>8}{'SL':>8}{'(T)':>6}"
        f"{'ASA':>9}{'AHT':>9}{'longest':>9}{'occup.':>8}"
    )
    rows = [head, "-" * len(head)]
    for name, s in stats.items():
        rows.append(
            f"{name[:11]:<12}{s['offered']:>8}{s['answered']:>9}{s['abandoned']:>8}"
            f"{_fmt(s['service_level'], 'pct'):>8}{int(s['service_level_threshold']):>5}s"
            f"{_fmt(s['asa'], 's'):>9}{_fmt(s['aht'], 's'):>9}{_fmt(s['longest_wait'], 's'):>9}"
            f"{_fmt(s['occupancy'], 'pct'):>8}"
        )
    rows.append(f"virtual {duration / 3600:.2f} h in {wall:.2f} s wall")
    return "\n".join(rows)


def run_command(args: argparse.Namespace) -> int:
    """Run the scenario headless and print the report; 0 on success, 1 with a message if not."""
    from telephony_sim.clock import VirtualClock
    from telephony_sim.engine import Engine, SimError
    from telephony_sim.queue_log import QueueLog
    from telephony_sim.scenarios import default_scenario, load_scenario, with_bots
    from telephony_sim.traffic import load_customer_number, load_numbers_from_sqlite

    try:
        scenario = load_scenario(args.scenario) if args.scenario else default_scenario()
        if args.bots:
            scenario = with_bots(scenario, args.bots)
        numbers: list[str] = []
        customers: dict[int, str] = {}
        if args.db is not None:
            if not args.db.is_file():
                raise ValueError(f"{args.db}: no such CRM database file")
            numbers = load_numbers_from_sqlite(args.db)
            for call in scenario.calls:
                if call.customer_id is not None:
                    found = load_customer_number(args.db, call.customer_id)
                    if found is not None:
                        customers[call.customer_id] = found
        queue_log = QueueLog(args.queue_log) if args.queue_log is not None else None
    except (ScenarioError, ValueError, OSError, sqlite3.Error) as exc:
        print(f"telephony_sim run: error: {exc}", file=sys.stderr)
        return 1
    duration = args.duration if args.duration is not None else scenario.duration
    try:
        engine = Engine(
            scenario,
            seed=args.seed,
            clock=VirtualClock(),
            numbers=numbers,
            customer_numbers=customers,
            queue_log=queue_log,
        )
        t0 = time.perf_counter()
        engine.run_virtual(duration)
        wall = time.perf_counter() - t0
    except SimError as exc:
        print(f"telephony_sim run: error: {exc}", file=sys.stderr)
        return 1
    finally:
        if queue_log is not None:
            queue_log.close()
    stats = engine.stats()
    if args.report == "json":
        doc = {
            "scenario": scenario.name,
            "seed": args.seed,
            "duration_s": duration,
            "wall_s": round(wall, 3),
            "queues": stats,
        }
        print(json.dumps(doc, indent=2, allow_nan=False, default=str))
    else:
        print(f"scenario {scenario.name}, seed {args.seed}")
        print(format_text(stats, duration, wall))
    return 0
