"""Scenario files: every shipped one loads and runs; bad files give file:line errors;
same seed + scenario → the same event stream."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from callkit.scenario import (
    ADDED_BOT,
    ScenarioError,
    default_scenario,
    load_scenario,
    parse_scenario,
    shipped_scenarios,
    with_bots,
)
from callkit.specs import CallerMix
from telephony_sim.clock import VirtualClock
from telephony_sim.engine import Engine
from telephony_sim.traffic import (
    ArrivalProcess,
    CallerIdSource,
    format_number,
    load_numbers_from_sqlite,
)

REQUIRED = {
    "normal_day",
    "spike_with_abandons",
    "platinum_billing_dispute",
    "angry_repeat_caller",
    "unknown_caller",
    "callback_request",
    "transfer_to_tier2",
}


def stream(name: str, seed: int, seconds: float = 3600) -> list[tuple[str, list[tuple[str, str]]]]:
    engine = Engine(load_scenario(name), seed=seed, clock=VirtualClock())
    events: list[tuple[str, list[tuple[str, str]]]] = []
    engine.add_listener(lambda n, f: events.append((n, list(f))))
    engine.run_virtual(seconds)
    return events


def test_the_required_scenarios_are_shipped() -> None:
    assert set(shipped_scenarios()) >= REQUIRED


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_each_shipped_scenario_runs_a_virtual_hour(name: str) -> None:
    scenario = load_scenario(name)
    engine = Engine(scenario, seed=7, clock=VirtualClock())
    names: set[str] = set()
    engine.add_listener(lambda n, _f: names.add(n))
    engine.run_virtual(3600)
    assert "QueueCallerJoin" in names
    stats = engine.stats()
    assert sum(int(s["offered"] or 0) for s in stats.values()) >= 1
    if scenario.calls:
        assert "UserEvent" in names  # ScriptedCall marker (and transcripts once answered)


def test_scripted_transcript_lines_follow_the_answer() -> None:
    engine = Engine(load_scenario("angry_repeat_caller"), seed=1, clock=VirtualClock())
    got: list[tuple[float, dict[str, str]]] = []
    engine.add_listener(
        lambda n, f: got.append((engine.clock.now(), dict(f))) if n == "UserEvent" else None
    )
    engine.run_virtual(32)
    engine.phone("PJSIP/1001", "answer")
    engine.run_virtual(60)
    kinds = [f["UserEvent"] for _t, f in got]
    assert kinds == ["ScriptedCall"] + ["Transcript"] * 4
    assert got[0][1]["Expect"] == "acknowledge_history,update_ticket,escalate,schedule_callback"
    assert [t - 32 for t, _f in got[1:]] == [1, 6, 15, 30]
    assert got[1][1]["Text"].startswith("This is the third time")


def test_same_seed_same_stream_different_seed_different_stream() -> None:
    first = stream("normal_day", seed=11)
    assert len(first) > 1000
    assert stream("normal_day", seed=11) == first
    assert stream("normal_day", seed=12) != first


def test_adding_a_queue_does_not_reshuffle_another_queues_calls() -> None:
    base = default_scenario()
    extra = parse_scenario(
        """
[[queues]]
name = "support"
extension = "600"
strategy = "rrmemory"
wrapuptime = 10
[queues.traffic]
rate = 120
handle_time = { dist = "lognormal", mean = 180, sd = 90 }
patience = { dist = "exponential", mean = 120 }
[[queues]]
name = "other"
[queues.traffic]
rate = 50
[[bot_pools]]
count = 10
queues = ["support"]
[[bot_pools]]
count = 3
first = 4001
queues = ["other"]
"""
    )

    def joins(scenario: object) -> list[str]:
        engine = Engine(scenario, seed=3, clock=VirtualClock())  # type: ignore[arg-type]
        out: list[str] = []
        engine.add_listener(
            lambda n, f: (
                out.append(dict(f)["CallerIDNum"])
                if n == "QueueCallerJoin" and dict(f)["Queue"] == "support"
                else None
            )
        )
        engine.run_virtual(1800)
        return out

    assert joins(extra) == joins(base)[: len(joins(extra))]
    assert len(joins(extra)) > 30


def test_default_scenario_and_with_bots() -> None:
    scenario = with_bots(default_scenario(), 5)
    assert len(scenario.agents) == 15
    assert len({a.interface for a in scenario.agents}) == 15
    added = scenario.agents[10:]
    assert [a.name for a in added] == [f"Bot {n}" for n in range(5001, 5006)]
    assert all(a.kind == "bot" and a.profile == ADDED_BOT for a in added)
    with pytest.raises(ValueError):
        with_bots(default_scenario(), -1)


def test_added_bots_have_the_skills_their_queues_require() -> None:
    # normal_day's billing queue needs billing >= 1: the added bots must be able to take it.
    scenario = with_bots(load_scenario("normal_day"), 2)
    bots = scenario.agents[-2:]
    assert all(a.skills == {"billing": 1} for a in bots)
    assert all({q for q, _penalty in a.queues} == {"support", "billing"} for a in bots)
    engine = Engine(scenario, seed=2, clock=VirtualClock())
    connected: set[tuple[str, str]] = set()
    engine.add_listener(
        lambda n, f: (
            connected.add((dict(f)["Queue"], dict(f)["Interface"])) if n == "AgentConnect" else None
        )
    )
    engine.run_virtual(4 * 3600)
    assert {("billing", a.interface) for a in bots} <= connected


BAD_CASES = [
    ('name = "x"\n[[queues]\nname = "q"\n', 2, "TOML syntax error"),
    ('name = "x"\n\n[[queues]]\nname = "q"\nstrategy = "roundrobin"\n', 5, "unknown strategy"),
    ('[[queues]]\nname = "a"\n\n[[queues]]\nname = "b"\nstrategyy = "linear"\n', 6, "unknown key"),
    ('[[queues]]\nname = "a"\noverflow = "queue:zzz"\n', 3, "overflow to unknown queue"),
    ('[[queues]]\nname = "a"\nmax_wait = "ten minutes"\n', 3, "bad duration"),
    (
        '[[queues]]\nname = "a"\n[queues.traffic]\nrate = 5\n'
        'patience = { dist = "gamma", mean = 3 }\n',
        5,
        "unknown distribution",
    ),
    ('[[queues]]\nname = "a"\n[[calls]]\nat = 5\nqueue = "b"\n', 5, "no queue named"),
    ('[[queues]]\nname = "a"\n[queues.traffic]\nprofile = [1, 2]\n', 4, "24 hourly"),
    ('start = "25:00"\n[[queues]]\nname = "a"\n', 1, "time of day"),
    ('name = "x"\n', 1, "at least one"),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD_CASES)
def test_bad_scenario_files_report_file_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value).startswith(f"{path}:{line}:")
    assert message in str(info.value)


def test_missing_scenario_names_the_shipped_ones() -> None:
    with pytest.raises(ScenarioError, match="normal_day"):
        load_scenario("no_such_scenario")


def test_hourly_profile_drives_arrivals() -> None:
    rates = [0.0] * 24
    rates[9] = 3600.0  # one per second, 09:00–10:00 only
    process = ArrivalProcess(rates, 8 * 3600.0, random.Random(1))
    times = []
    t = 0.0
    while (nxt := process.next_after(t)) is not None and nxt < 2 * 86400:
        times.append(nxt)
        t = nxt
    day1 = [x for x in times if x < 86400]
    assert all(3600 <= x < 7200 for x in day1)
    assert 3400 < len(day1) < 3800
    assert ArrivalProcess([0.0] * 24, 0, random.Random(1)).next_after(0) is None


def test_caller_ids_mix_known_unknown_withheld_malformed_and_spellings() -> None:
    known = ["+442079460018", "+14155550123"]
    mix = CallerMix(unknown_share=0.2, withheld_share=0.1, malformed_share=0.1)
    source = CallerIdSource(known, mix, random.Random(5))
    drawn = [source.draw()[0] for _ in range(4000)]
    withheld = sum(d in ("anonymous", "<unknown>") for d in drawn) / len(drawn)
    assert 0.08 < withheld < 0.12
    assert {"+442079460018", "442079460018", "00442079460018", "02079460018"} <= set(drawn)
    assert "+44 20 7946 0018" in drawn
    assert not any("\r" in d or "\n" in d for d in drawn)
    assert format_number("+14155550123", "national") == "4155550123"
    assert format_number("+14155550123", "spaced") == "+1 415 555 0123"


def test_numbers_come_read_only_from_the_crm_database(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "crm.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE phone_numbers (id INTEGER PRIMARY KEY, customer_id INT, e164 TEXT)")
    conn.executemany(
        "INSERT INTO phone_numbers (customer_id, e164) VALUES (?, ?)",
        [(1, "+14155550101"), (2, "+14155550102"), (3, "+14155550103")],
    )
    conn.commit()
    conn.close()
    assert load_numbers_from_sqlite(path, 2) == ["+14155550101", "+14155550102"]


def test_patience_none_never_abandons() -> None:
    scenario = parse_scenario(
        '[[queues]]\nname = "q"\n[queues.traffic]\nrate = 600\npatience = "none"\n'
    )
    assert math.isinf(scenario.queues[0].traffic.patience.sampler(random.Random(1))())  # type: ignore[union-attr]
    engine = Engine(scenario, seed=1, clock=VirtualClock())
    engine.run_virtual(3600)
    stats = engine.stats()["q"]
    assert stats["abandoned"] == 0 and int(stats["waiting"] or 0) > 100


@pytest.mark.parametrize(("e164", "region"), [("+14155550123", "US"), ("+442079460018", "GB")])
def test_every_spelling_normalises_back_to_the_crm_number(e164: str, region: str) -> None:
    from console.services.crm.phones import normalise

    for style in ("e164", "plain", "intl00", "national", "spaced"):
        spelled = format_number(e164, style)
        assert normalise(spelled, region).e164 == e164, (style, spelled)


def test_generated_unknown_numbers_are_valid() -> None:
    from console.services.crm.phones import normalise
    from telephony_sim.traffic import generate_us_number

    rng = random.Random(9)
    assert all(normalise(generate_us_number(rng), "US").is_valid for _ in range(500))
