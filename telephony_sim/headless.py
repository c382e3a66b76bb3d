"""``telephony_sim run``: a headless statistics run in virtual time.

    python -m telephony_sim run --scenario normal_day --virtual --duration 8h --seed 7 --report json

reports, per queue, offered, answered, abandoned, service level at the threshold, ASA, AHT,
longest wait and occupancy (definitions: docs/metrics.md). No AMI listener is attached, so no
event frame is ever built. The command line itself is in cli.py.
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from telephony_sim.engine import Engine


def parse_duration(text: str) -> float:
    """``8h``, ``90m``, ``1h30m``, ``3600`` → seconds (argparse type)."""
    from callkit.located_toml import parse_duration as seconds_in

    seconds = seconds_in(text)
    if seconds is None:
        raise argparse.ArgumentTypeError(f"bad duration {text!r} (e.g. 8h, 90m, 3600)")
    return seconds


def run_report(engine: Engine, duration: float) -> dict[str, Any]:
    """Run ``engine`` (on a virtual clock) for ``duration`` seconds; the JSON-ready report."""
    started = time.perf_counter()
    engine.run_virtual(duration)
    wall = time.perf_counter() - started
    return {
        "scenario": engine.scenario.name,
        "seed": engine.seed,
        "duration_s": duration,
        "wall_s": round(wall, 3),
        "queues": engine.stats(),
    }


def _fmt(value: Any, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "pct":
        return f"{100 * value:5.1f}%"
    if kind == "s":
        return f"{value:7.1f}s"
    return str(value)


def format_text(report: dict[str, Any]) -> str:
    """The report as a fixed-width table, one row per queue."""
    head = (
        f"{'queue':<12}{'offered':>8}{'answered':>9}{'abandon':>8}{'SL':>8}{'(T)':>6}"
        f"{'ASA':>9}{'AHT':>9}{'longest':>9}{'occup.':>8}"
    )
    rows = [f"scenario {report['scenario']}, seed {report['seed']}", head, "-" * len(head)]
    for name, s in report["queues"].items():
        rows.append(
            f"{name[:11]:<12}{s['offered']:>8}{s['answered']:>9}{s['abandoned']:>8}"
            f"{_fmt(s['service_level'], 'pct'):>8}{int(s['service_level_threshold']):>5}s"
            f"{_fmt(s['asa'], 's'):>9}{_fmt(s['aht'], 's'):>9}{_fmt(s['longest_wait'], 's'):>9}"
            f"{_fmt(s['occupancy'], 'pct'):>8}"
        )
    rows.append(f"virtual {report['duration_s'] / 3600:.2f} h in {report['wall_s']:.2f} s wall")
    return "\n".join(rows)
