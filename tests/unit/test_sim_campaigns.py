"""Customer-first dials in the engine: outcomes drawn by hour of the simulated day and by
audience as the scenario says, AMD's accuracy, and the ``[outbound]`` table's errors."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from callkit.audience import AmdSpec, outcome_shares
from callkit.scenario import ScenarioError, load_scenario, parse_scenario
from telephony_sim.cli import CliError, load_channelvars
from telephony_sim.outbound import OriginateRequest
from tests.unit.sim_helpers import build

CAMPAIGN = """
start = "08:00"
[[queues]]
name = "sales"
[outbound]
answer = 0.5
no_answer = 0.3
busy = 0.1
machine = 0.1
[outbound.hours]
"12-14" = { answer = 0.2, no_answer = 0.5, busy = 0.1, machine = 0.1, failed = 0.1 }
[[outbound.audiences]]
name = "night owls"
prefixes = ["+44"]
answer = 0.1
no_answer = 0.9
[[outbound.audiences]]
name = "the boss"
numbers = ["+1 415 555 0199"]
hours = { "12-14" = { busy = 1 } }
[[outbound.campaigns]]
context = "campaign-7"
queue = "sales"
"""
# Outcome → the campaign counter that records it.
COUNTERS = {
    "answer": "human",
    "noanswer": "noanswer",
    "busy": "busy",
    "machine": "machine",
    "failed": "congestion",
}


def dial_many(seed: int, n: int, at_hour: int) -> dict[str, int]:
    """``n`` customer-first dials to distinct numbers at ``at_hour`` (the scenario starts at
    08:00); what the campaign saw of them."""
    engine, _rec = build(CAMPAIGN, seed=seed)
    engine.run_virtual((at_hour - 8) * 3600)
    for i in range(n):
        number = f"+1212555{i:04d}"
        engine.originate(
            OriginateRequest(f"PJSIP/{number}@trunk", number, "campaign-7", timeout_ms=60_000)
        )
    engine.run_virtual(1)  # every dial starts (fast_originate's thread)
    engine.run_virtual(3600)
    stats = engine.customers.stats["campaign-7"]
    assert stats["dialled"] == n
    return {outcome: stats[counter] for outcome, counter in COUNTERS.items()}


# Each check allows 5.5 binomial standard deviations: a correct simulator fails one with
# probability 3.8e-8, so the 30 checks below (3 seeds x 2 hours x 5 outcomes) together fail
# falsely less than once in 800,000 runs, whatever the seed; a share off by 0.05 at n = 3000
# (about 6 standard deviations at p = 0.5) fails.
@pytest.mark.parametrize("seed", [1, 20, 300])
@pytest.mark.parametrize(
    ("hour", "expected"),
    [
        (9, {"answer": 0.5, "noanswer": 0.3, "busy": 0.1, "machine": 0.1, "failed": 0.0}),
        (13, {"answer": 0.2, "noanswer": 0.5, "busy": 0.1, "machine": 0.1, "failed": 0.1}),
    ],
)
def test_outcomes_follow_the_hour_of_the_simulated_day(
    seed: int, hour: int, expected: dict[str, float]
) -> None:
    n = 3000
    counts = dial_many(seed, n, hour)
    for outcome, p in expected.items():
        sd = math.sqrt(p * (1 - p) / n)
        assert abs(counts[outcome] / n - p) <= 5.5 * sd + 1e-12, (outcome, counts)


def test_audiences_win_over_the_hours_and_the_table() -> None:
    profile = parse_scenario(CAMPAIGN, "campaign.toml").outbound
    assert profile is not None
    owls = outcome_shares(profile, "+44 20 7946 0018", 13)
    assert (owls.answer, owls.no_answer) == (0.1, 0.9)  # their own shares, at any hour
    boss = outcome_shares(profile, "+14155550199", 13)
    assert boss.busy == 1.0  # his hour range
    assert outcome_shares(profile, "+14155550199", 9).answer == 0.5  # else the table's
    assert outcome_shares(profile, "+12125550000", 13).failed == pytest.approx(0.1)


def test_amd_reports_machines_as_people_as_often_as_configured() -> None:
    """A deterministic check of the draw: with machine_as_human = 1 every machine passes."""
    always_wrong = AmdSpec(machine_as_human=1.0, human_as_machine=1.0)
    rng = random.Random(5)
    assert {always_wrong.verdict(True, rng) for _ in range(50)} == {"HUMAN"}
    assert {always_wrong.verdict(False, rng) for _ in range(50)} == {"MACHINE"}
    exact = AmdSpec()
    assert {exact.verdict(True, rng) for _ in range(50)} == {"MACHINE"}


BAD = [
    ('[outbound.hours]\n"9am" = { answer = 1 }\n', 2, "is not an hour range"),
    (
        '[outbound.hours]\n"09-12" = { answer = 0.5 }\n',
        2,
        "answer + no_answer + busy + failed must add up to 1",
    ),
    (
        '[outbound.hours]\n"09-12" = { answer = 1 }\n"11-13" = { answer = 1 }\n',
        3,
        "'11-13' overlaps '09-12' (at 11:00)",
    ),
    ('[[outbound.audiences]]\nname = "x"\nprefixes = ["abc"]\n', 3, "'abc' is not a dial string"),
    ('[[outbound.audiences]]\nname = "x"\n', 1, "an audience needs numbers or prefixes"),
    ('[[outbound.campaigns]]\ncontext = "c"\nqueue = "nope"\n', 3, "no queue named 'nope'"),
    ('[[outbound.campaigns]]\ncontext = "c"\nqueue = "q"\nmachine = "x"\n', 4, "must be one of"),
    (
        '[[outbound.campaigns]]\ncontext = "c"\nqueue = "q"\n[outbound.campaigns.amd]\n'
        "notsure = 0.6\nmachine_as_human = 0.6\n",
        6,
        "notsure + machine_as_human exceed 1",
    ),
    ("[outbound]\nmachine = 0.5\nbusy = 0.6\n", 2, "no_answer + busy + machine + failed"),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD)
def test_bad_outbound_tables_name_the_file_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text + '\n[[queues]]\nname = "q"\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value).startswith(f"{path}:{line}:"), str(info.value)
    assert message in str(info.value)


def test_channelvars_come_from_the_users_files_general_table(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    path.write_text('[general]\nchannelvars = "CAMPAIGN, LEAD"\n[users.a]\nsecret = "s"\n')
    assert load_channelvars(path) == ("CAMPAIGN", "LEAD")
    path.write_text('[general]\nchannelvars = ["CAMPAIGN"]\n[users.a]\nsecret = "s"\n')
    assert load_channelvars(path) == ("CAMPAIGN",)
    path.write_text('[users.a]\nsecret = "s"\n')
    assert load_channelvars(path) == ()
    path.write_text('[general]\nchannelvars = ["CAMPAIGN=1"]\n')
    with pytest.raises(CliError, match="'CAMPAIGN=1' is not a variable name"):
        load_channelvars(path)
    path.write_text('[general]\nchannelvars = "CAMPAIGN"\n')
    assert load_channelvars(path, "LEAD,CAMPAIGN") == ("CAMPAIGN", "LEAD")
    assert load_channelvars(None, " CC_LEAD ") == ("CC_LEAD",)
    with pytest.raises(CliError, match="--channelvars: 'A-B' is not a variable name"):
        load_channelvars(None, "A-B")


def test_the_same_seed_gives_the_same_dials() -> None:
    assert dial_many(7, 200, 9) == dial_many(7, 200, 9)
