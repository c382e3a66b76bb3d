"""Member selection: each app_queue strategy, penalties, skills — who gets rung."""

from __future__ import annotations

import pytest

from tests.unit.sim_helpers import bot, build, call, queue

ABC = bot(2001, '["q"]') + bot(2002, '["q"]') + bot(2003, '["q"]')


def test_linear_always_rings_the_first_free_member_in_order() -> None:
    calls = "".join(call(t) for t in (0, 20, 40, 60))
    engine, rec = build(queue(strategy="linear") + ABC + calls)
    engine.run_virtual(100)
    assert rec.connected() == ["PJSIP/2001"] * 4


def test_rrmemory_goes_round_from_the_last_member_rung() -> None:
    calls = "".join(call(t) for t in (0, 20, 40, 60))
    engine, rec = build(queue(strategy="rrmemory") + ABC + calls)
    engine.run_virtual(100)
    assert rec.connected() == ["PJSIP/2001", "PJSIP/2002", "PJSIP/2003", "PJSIP/2001"]


# A takes three short calls early, B one long call that ends late: at t=200 the strategies
# disagree — leastrecent picks A (idle longer), fewestcalls picks B (fewer calls).
HISTORY = (
    call(0, handle=5) + call(1, handle=100) + call(10, handle=5) + call(20, handle=5) + call(200)
)
AB = bot(2001, '["q"]') + bot(2002, '["q"]')


def test_leastrecent_picks_the_member_idle_longest() -> None:
    engine, rec = build(queue(strategy="leastrecent") + AB + HISTORY)
    engine.run_virtual(300)
    assert rec.connected() == ["PJSIP/2001", "PJSIP/2002", "PJSIP/2001", "PJSIP/2001", "PJSIP/2001"]


def test_fewestcalls_picks_the_member_with_fewest_completed_calls() -> None:
    engine, rec = build(queue(strategy="fewestcalls") + AB + HISTORY)
    engine.run_virtual(300)
    assert rec.connected()[-1] == "PJSIP/2002"
    assert rec.connected()[:4] == ["PJSIP/2001", "PJSIP/2002", "PJSIP/2001", "PJSIP/2001"]


def test_ringall_rings_everyone_and_the_first_to_answer_wins() -> None:
    agents = bot(2001, '["q"]', delay=3) + bot(2002, '["q"]', delay=1)
    engine, rec = build(queue(strategy="ringall") + agents + call(0))
    engine.run_virtual(30)
    assert rec.called() == ["PJSIP/2001", "PJSIP/2002"]
    assert rec.connected() == ["PJSIP/2002"]
    ((_t, connect),) = rec.named("AgentConnect")
    assert connect["RingTime"] == "1"
    loser_hangups = [f for _t, f in rec.named("Hangup") if f["Channel"].startswith("PJSIP/2001-")]
    assert [(f["Cause"], f["Cause-txt"]) for f in loser_hangups] == [("26", "Answered elsewhere")]
    # apps/app_queue.c: wait_for_answer() cancels the loser once, hangupcalls() once more.
    cancel = [f for _t, f in rec.named("DialEnd") if f["DialStatus"] == "CANCEL"]
    assert [f["DestChannel"].split("-")[0] for f in cancel] == ["PJSIP/2001", "PJSIP/2001"]
    # ...and the winner's DialEnd ANSWER comes first.
    statuses = [f["DialStatus"] for _t, f in rec.named("DialEnd")]
    assert statuses == ["ANSWER", "CANCEL", "CANCEL"]


def test_random_spreads_calls_and_repeats_under_the_same_seed() -> None:
    calls = "".join(call(t * 20) for t in range(30))
    four = ABC + bot(2004, '["q"]')

    def picks(seed: int) -> list[str]:
        engine, rec = build(queue(strategy="random") + four + calls, seed=seed)
        engine.run_virtual(700)
        return rec.connected()

    first = picks(1)
    assert len(first) == 30
    assert len(set(first)) == 4
    assert picks(1) == first
    assert picks(2) != first


@pytest.mark.parametrize(
    "strategy", ["ringall", "linear", "rrmemory", "leastrecent", "fewestcalls", "random"]
)
def test_lower_penalty_first_higher_only_when_none_lower_is_free(strategy: str) -> None:
    agents = bot(2001, '[{ queue = "q", penalty = 2 }]') + bot(
        2002, '[{ queue = "q", penalty = 0 }]'
    )
    # First call keeps the penalty-0 member busy for 100 s; the second must go to penalty 2.
    calls = call(0, handle=100) + call(10, handle=5) + call(200)
    engine, rec = build(queue(strategy=strategy) + agents + calls)
    engine.run_virtual(300)
    assert rec.called() == ["PJSIP/2002", "PJSIP/2001", "PJSIP/2002"]


def test_skills_only_members_with_the_required_level_are_rung() -> None:
    agents = (
        bot(2001, '["q"]', extra="skills = { billing = 1 }")
        + bot(2002, '["q"]', extra="skills = { billing = 3 }")
        + bot(2003, '["q"]')
    )
    calls = call(0, handle=5) + call(20, handle=5)
    engine, rec = build(queue(strategy="linear", extra="skills = { billing = 2 }") + agents + calls)
    engine.run_virtual(60)
    assert rec.called() == ["PJSIP/2002", "PJSIP/2002"]
