"""Supervisor actions over real AMI: they reach the simulator and change what its bots do."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from callkit.scenario import parse_scenario
from console.factory import PbxAddress, build_live
from console.services.supervision.live import LiveViews
from console.services.supervision.live_feed import SupervisorError
from console.services.supervision.live_types import AgentActivity, AgentLive
from telephony_sim.clock import VirtualClock
from telephony_sim.engine import Engine
from tests.pbx import Pbx, running_pbx
from tests.ui.conftest import FAST

FIRST, SECOND = "PJSIP/3001", "PJSIP/3002"
SPEED = 20.0  # simulated seconds per real second
# "linear": the first bot is rung whenever it is free, the second only when it is not.
SCENARIO = """
name = "supervisor-tests"
[[queues]]
name = "support"
extension = "601"
strategy = "linear"
timeout = 10
retry = 1
[[agents]]
interface = "PJSIP/3001"
name = "Bot 3001"
kind = "bot"
queues = ["support"]
[agents.bot]
answer_delay = 1
[[agents]]
interface = "PJSIP/3002"
name = "Bot 3002"
kind = "bot"
queues = ["support"]
[agents.bot]
answer_delay = 1
"""


async def until(check: Callable[[], object], within: float = 5.0) -> None:
    async with asyncio.timeout(within):
        while not check():  # noqa: ASYNC110 - polling what the board shows is the point
            await asyncio.sleep(0.02)


class Connects:
    """Which interface answered each call (AgentConnect), as the simulator sent it."""

    def __init__(self, pbx: Pbx) -> None:
        self.interfaces: list[str] = []
        pbx.engine.add_listener(self)

    def __call__(self, name: str, fields: list[tuple[str, str]]) -> None:
        if name == "AgentConnect":
            self.interfaces.append(dict(fields)["Interface"])


@asynccontextmanager
async def supervising(pbx: Pbx) -> AsyncIterator[LiveViews]:
    live = build_live(PbxAddress("127.0.0.1", pbx.port, "agent", "s3cret"), timings=FAST)
    await live.cti.start()
    await live.cti.wait_connected()
    feed = asyncio.create_task(live.feed.run())
    try:
        await until(lambda: live.feed.reconciles >= 1)  # the bots were members before we came
        yield live
    finally:
        feed.cancel()
        await live.cti.close()


def agent(live: LiveViews, interface: str) -> AgentLive:
    return next(a for a in live.board.snapshot().agents if a.interface == interface)


async def answered(pbx: Pbx, connects: Connects, count: int, handle: float = 20.0) -> list[str]:
    """Ring ``count`` calls one after another, each answered before the next; who took them."""
    start = len(connects.interfaces)
    for i in range(count):
        pbx.engine.inbound("support", f"+1415555{i:04d}", "Caller", handle_time=handle)
        await until(lambda n=i: len(connects.interfaces) >= start + n + 1)
    return connects.interfaces[start:]


async def test_not_ready_ready_and_log_out_change_who_takes_calls() -> None:
    async with running_pbx(SCENARIO, speed=SPEED) as pbx, supervising(pbx) as live:
        connects = Connects(pbx)
        assert await answered(pbx, connects, 1) == [FIRST]  # linear: the first bot first
        await until(lambda: agent(live, FIRST).activity is AgentActivity.AVAILABLE)

        await live.actions.force_not_ready(FIRST, "coaching")
        await until(lambda: agent(live, FIRST).activity is AgentActivity.NOT_READY)
        assert agent(live, FIRST).reason == "coaching"
        membership = pbx.engine.acd.queues["support"].members[FIRST]
        assert (membership.paused, membership.paused_reason) == (True, "coaching")
        # While paused the first bot gets nothing, even though it is first in line.
        assert await answered(pbx, connects, 3, handle=2.0) == [SECOND] * 3
        await until(lambda: agent(live, SECOND).handled == 3)
        assert agent(live, FIRST).handled == 1

        await live.actions.make_ready(FIRST)
        await until(lambda: agent(live, FIRST).activity is AgentActivity.AVAILABLE)
        assert await answered(pbx, connects, 1, handle=2.0) == [FIRST]  # back in line

        await live.actions.log_out(FIRST, "support")
        await until(lambda: agent(live, FIRST).activity is AgentActivity.LOGGED_OUT)
        assert FIRST not in pbx.engine.acd.queues["support"].members
        assert await answered(pbx, connects, 2, handle=2.0) == [SECOND] * 2
        queue = live.board.snapshot().queues[0]
        assert queue.logged_in == 1

        # The PBX's refusals are one clear line, and change nothing.
        with pytest.raises(SupervisorError, match="refused by the PBX: Unable to remove"):
            await live.actions.log_out(FIRST, "support")
        with pytest.raises(SupervisorError, match="reason must not be empty"):
            await live.actions.force_not_ready(SECOND, " ")
        assert agent(live, SECOND).activity is not AgentActivity.NOT_READY


def break_engine() -> Engine:
    """One bot that goes on a 60 s break after every call, in virtual time."""
    toml = SCENARIO.split("[[agents]]")[0] + (
        '[[agents]]\ninterface = "PJSIP/3001"\nname = "Bot 3001"\nkind = "bot"\n'
        'queues = ["support"]\n[agents.bot]\nanswer_delay = 1\nbreak_share = 1.0\n'
        "break_time = 60\n"
    )
    return Engine(parse_scenario(toml, "breaks.toml"), seed=1, clock=VirtualClock())


def test_a_supervisors_pause_outlasts_the_bots_own_break() -> None:
    engine = break_engine()
    member = engine.acd.queues["support"].members[FIRST]
    engine.inbound("support", "+14155550100", handle_time=10)
    engine.run_virtual(20)
    assert (member.paused, member.paused_reason) == (True, "Break")  # its own break
    engine.queue_pause(FIRST, True, None, "coaching")  # the supervisor, during the break
    engine.run_virtual(120)  # the break is long over
    assert (member.paused, member.paused_reason) == (True, "coaching")
    engine.inbound("support", "+14155550101", handle_time=10)
    engine.run_virtual(30)
    assert engine.figures("support").answered == 1  # nobody took the second call
    engine.queue_pause(FIRST, False)  # ready
    engine.run_virtual(30)
    assert engine.figures("support").answered == 2


def test_the_end_of_a_break_the_supervisor_cut_short_changes_nothing_later() -> None:
    engine = break_engine()
    member = engine.acd.queues["support"].members[FIRST]
    engine.inbound("support", "+14155550100", handle_time=10)
    engine.run_virtual(20)  # on its first break (until about t = 71)
    engine.queue_pause(FIRST, False)  # the supervisor: ready now
    engine.inbound("support", "+14155550101", handle_time=20)
    engine.run_virtual(40)  # second call done at about t = 42: a second break, to about 102
    assert (member.paused, member.paused_reason) == (True, "Break")
    engine.run_virtual(20)  # t = 80: the first break's end has passed
    assert member.paused  # it did not cut the second break short
    engine.inbound("support", "+14155550102", handle_time=10)
    engine.run_virtual(10)
    assert engine.figures("support").answered == 2
    engine.run_virtual(40)  # the second break ends: the waiting caller is answered
    assert engine.figures("support").answered == 3
