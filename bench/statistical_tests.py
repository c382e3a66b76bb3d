"""The simulation-vs-formula tests over many seeds: their largest |z| and failures.

    python bench/statistical_tests.py [--seeds 40]

Runs the checks of tests/unit/test_sim_erlang.py — Erlang C against the simulator's M/M/c
queue, Erlang A against its M/M/N+M queue (callers with patience) — for base seeds 0..N-1
and prints the largest |z| and standard error of each figure and how many seeds would have
failed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.unit import test_sim_erlang as sim_test


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=40)
    seeds = range(parser.parse_args().seeds)
    worst: dict[str, float] = {}
    a_failed = 0
    largest_a_se: dict[str, float] = {}
    for seed in seeds:
        for name, (z, se) in sim_test.mmnm_scores(seed).items():
            worst[f"erlang A {name}"] = max(worst.get(f"erlang A {name}", 0.0), abs(z))
            largest_a_se[name] = max(largest_a_se.get(name, 0.0), se)
            a_failed += abs(z) >= sim_test.Z_LIMIT or se >= sim_test.MMNM_SE_LIMITS[name]
    shown = ", ".join(f"{name} {se:.4f}" for name, se in largest_a_se.items())
    print(
        f"Erlang A vs the simulator's M/M/N+M, {len(seeds)} seeds: {a_failed} would fail "
        f"(largest SE: {shown})"
    )
    sim_failed = 0
    largest_se = [0.0, 0.0]
    for seed in seeds:
        p_z, w_z, p_se, w_se = sim_test.mmc_scores(seed)
        worst["sim P(wait)"] = max(worst.get("sim P(wait)", 0.0), abs(p_z))
        worst["sim mean wait"] = max(worst.get("sim mean wait", 0.0), abs(w_z))
        largest_se = [max(largest_se[0], p_se), max(largest_se[1], w_se)]
        sim_failed += abs(p_z) >= sim_test.Z_LIMIT or abs(w_z) >= sim_test.Z_LIMIT
        sim_failed += p_se >= 0.03 or w_se >= 2.7
    print(
        f"Erlang C vs the simulator's M/M/c, {len(seeds)} seeds: {sim_failed} would fail "
        f"(largest SE: P(wait) {largest_se[0]:.4f}, wait {largest_se[1]:.2f} s)"
    )
    for name, z in worst.items():
        print(f"  largest |z| {name}: {z:.2f}")


if __name__ == "__main__":
    main()
