"""The wallboard benchmark's world: 20 queues, 500 bots, a flat day of traffic at 85 % load.

Written as a scenario TOML so the simulator is started exactly as a user would start it
(``python -m telephony_sim serve --scenario FILE --speed S``).
"""

from __future__ import annotations

from pathlib import Path

QUEUES, BOTS = 20, 500
AHT, LOAD = 180.0, 0.85


def scenario_toml(queues: int = QUEUES, bots: int = BOTS) -> str:
    """The scenario text: ``bots`` bots spread evenly over ``queues`` queues."""
    per_queue = bots // queues
    per_hour = LOAD * per_queue / AHT * 3600.0
    lines = [
        'name = "wallboard_bench"',
        f'description = "{queues} queues, {bots} bots, {LOAD:.0%} load"',
        'start = "00:00"',
        'duration = "24h"',
        "",
        "[callers]",
        "unknown_share = 0.2",
        "",
    ]
    for qi in range(queues):
        lines += [
            "[[queues]]",
            f'name = "q{qi + 1:02d}"',
            f'extension = "{700 + qi}"',
            'strategy = "leastrecent"',
            "timeout = 15",
            "retry = 2",
            "wrapuptime = 5",
            "service_level = 20",
            "",
            "[queues.traffic]",
            f"profile = [{', '.join([f'{per_hour:.1f}'] * 24)}]",
            f'handle_time = {{ dist = "exponential", mean = {AHT:g} }}',
            'patience = { dist = "exponential", mean = 120 }',
            "",
        ]
    for qi in range(queues):
        lines += [
            "[[bot_pools]]",
            f"count = {per_queue}",
            f"first = {4000 + qi * 100}",
            f'queues = ["q{qi + 1:02d}"]',
            "[bot_pools.bot]",
            'answer_delay = { dist = "uniform", low = 1, high = 4 }',
            "miss_share = 0.02",
            "hold_share = 0.2",
            'hold_time = { dist = "exponential", mean = 20 }',
            "break_share = 0.02",
            'break_time = { dist = "exponential", mean = 300 }',
            'break_reasons = ["Break", "Coffee"]',
            "",
        ]
    return "\n".join(lines)


def write_scenario(path: Path, queues: int = QUEUES, bots: int = BOTS) -> Path:
    """Write the scenario to ``path``; returns it."""
    path.write_text(scenario_toml(queues, bots), encoding="utf-8")
    return path
