"""What one predictive pacing decision costs (issue 18: "pacing decisions cost ≤ 1 ms each").

    python bench/pacing.py [--agents 50,200] [--decisions 20000] [--seed N]

For each campaign size, draws random moments (agents ready / talking / wrapping up, dials in
flight, live-answer rates 5–60 %, horizons 5–40 s, talk 30–600 s, wrap-up 0–120 s, a 30-day
abandon record anywhere from clean to over the cap) and times
`console.services.outbound.pacing.decide` on each with `time.perf_counter_ns`. Prints p50,
p99 and the worst decision per size, then the worst p99 last.
"""

from __future__ import annotations

import argparse
import random
import time

from console.models.enums import DialMode
from console.services.outbound.pacing import AgentsNow, CampaignRates, decide


def moment(rng: random.Random, agents: int) -> tuple[AgentsNow, int, CampaignRates]:
    ready = rng.randint(0, agents // 5)
    wrapping = rng.randint(0, agents - ready)
    talking = agents - ready - wrapping
    rates = CampaignRates(
        live_rate=rng.uniform(0.05, 0.6),
        horizon=rng.uniform(5, 40),
        talk=rng.uniform(30, 600),
        wrap=rng.uniform(0, 120),
        live_30d=rng.randint(0, 50_000),
        abandoned_30d=rng.randint(0, 2_000),
    )
    return AgentsNow(ready, talking, wrapping), rng.randint(0, agents), rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", default="50,200")
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    worst_p99 = 0.0
    for agents in (int(a) for a in args.agents.split(",")):
        cases = [moment(rng, agents) for _ in range(args.decisions)]
        took: list[float] = []
        for now, in_flight, rates in cases:
            start = time.perf_counter_ns()
            decide(DialMode.PREDICTIVE, now, in_flight, rates)
            took.append((time.perf_counter_ns() - start) / 1e6)
        took.sort()
        p50, p99 = took[len(took) // 2], took[int(len(took) * 0.99)]
        worst_p99 = max(worst_p99, p99)
        print(
            f"{agents} agents: {len(took)} decisions, p50 {p50:.3f} ms, p99 {p99:.3f} ms, "
            f"worst {took[-1]:.3f} ms"
        )
    print(f"predictive pacing decision p99: {worst_p99:.3f} ms (target 1 ms)")


if __name__ == "__main__":
    main()
