"""Trainers' runs over a real AMI socket: SimTraining start/stop against the real simulator
(virtual clock, advanced by the test), its refusals, the ScriptedCall TrainingRun header and
the TrainingStarted / TrainingFinished events; then the console's client and tracker on top."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from callkit.ami_frames import Message
from callkit.scenario import parse_scenario
from console.cti.ami import AmiClient, AmiError, AmiUnsupported, EventStream
from console.cti.protocol import (
    CallEnded,
    CallOffered,
    CtiEvent,
    LinkState,
    LinkStateChanged,
    TrainingChanged,
)
from console.cti.tracker import CallTracker
from telephony_sim.ami_server import AmiServer
from telephony_sim.clock import VirtualClock
from telephony_sim.engine import Engine, SimError
from tests.integration.ami_support import USERS, FakeEngine, RawClient, assert_sim_only, serving

TRAINEE = "PJSIP/1001"
FLOOR = """
name = "floor"
[[queues]]
name = "support"
extension = "600"
[[agents]]
interface = "PJSIP/1001"
name = "Trainee"
kind = "phone"
queues = ["support"]
[[agents]]
interface = "PJSIP/2001"
name = "Bot 2001"
queues = ["support"]
"""
DRILL = """
name = "drill"
[[queues]]
name = "support"
extension = "600"
[[calls]]
id = "refund"
at = "30s"
queue = "support"
number = "+14155550111"
hangup_after = 10
transcript = [{ at = "1s", text = "I want my money back." }]
"""


@pytest.fixture
def drill(tmp_path: Path) -> str:
    path = tmp_path / "drill.toml"
    path.write_text(DRILL, encoding="utf-8")
    return str(path)


@pytest.fixture
async def engine() -> Engine:
    return Engine(parse_scenario(FLOOR, "floor.toml"), seed=3, clock=VirtualClock())


@pytest.fixture
async def server(engine: Engine, tmp_path: Path) -> AsyncIterator[AmiServer]:
    async with serving(engine, (SimError,), scenario_dirs=[tmp_path]) as ami:
        yield ami


@pytest.fixture
async def client(server: AmiServer) -> AsyncIterator[RawClient]:
    raw = await RawClient.connect(server.port)
    await raw.login(events="on")
    try:
        yield raw
    finally:
        await raw.close()


def user_event(kind: str) -> Callable[[Message], bool]:
    return lambda m: m.get("Event") == "UserEvent" and m.get("UserEvent") == kind


async def start(client: RawClient, drill: str, *extra: tuple[str, str]) -> list[Message]:
    """Send SimTraining start; every message up to and including its response."""
    await client.send(
        ("Action", "SimTraining"),
        ("ActionID", "tr-1"),
        ("Interface", TRAINEE),
        ("Scenario", drill),
        ("RunId", "run-42"),
        *extra,
    )
    return await client.read_until(lambda m: "Response" in m)


async def test_a_run_plays_its_call_with_the_run_id_and_reports_start_and_finish(
    client: RawClient, engine: Engine, drill: str
) -> None:
    *events, response = await start(client, drill, ("Lead", "2"))
    assert response.pairs == (
        ("Response", "Success"),
        ("ActionID", "tr-1"),
        ("Message", "Training started"),
        ("Calls", "1"),
    )
    (started,) = [m for m in events if user_event("TrainingStarted")(m)]
    assert started.pairs == (
        ("Event", "UserEvent"),
        ("UserEvent", "TrainingStarted"),
        ("RunId", "run-42"),
        ("Scenario", "drill"),
        ("Interface", TRAINEE),
        ("Calls", "1"),
    )  # not on a channel

    engine.run_virtual(3)
    seen = await client.read_until(lambda m: m.get("Event") == "AgentCalled")
    (script,) = [m for m in seen if user_event("ScriptedCall")(m)]
    assert (script.get("Script"), script.get("TrainingRun")) == ("refund", "run-42")
    assert script.get("CallerIDNum") == "+14155550111"
    assert seen[-1].get("Interface") == TRAINEE  # the bot is never rung for it

    answered = await client.action(
        ("Action", "SimPhone"), ("Interface", TRAINEE), ("Command", "answer")
    )
    assert answered.get("Message") == "Phone command accepted"
    engine.run_virtual(15)
    rest = await client.read_until(user_event("TrainingFinished"))
    assert [m.get("Text") for m in rest if user_event("Transcript")(m)] == ["I want my money back."]
    hangups = [m for m in rest if m.get("Event") == "Hangup"]
    assert script.get("Uniqueid") in {m.get("Uniqueid") for m in hangups}
    assert rest[-1].pairs[1:] == (
        ("UserEvent", "TrainingFinished"),
        ("RunId", "run-42"),
        ("Scenario", "drill"),
        ("Interface", TRAINEE),
        ("Calls", "1"),
        ("Reason", "done"),
    )


async def test_stop_ends_the_run_before_its_calls_and_only_once(
    client: RawClient, engine: Engine, drill: str
) -> None:
    *_events, response = await start(client, drill, ("Lead", "60"))
    assert response.get("Response") == "Success"
    again = await client.action(
        ("Action", "SimTraining"),
        ("Interface", TRAINEE),
        ("Scenario", "demo"),
        ("RunId", "other"),
    )
    assert (again.get("Response"), again.get("Message")) == (
        "Error",
        "A training run is already active on PJSIP/1001: run-42",
    )
    await client.send(("Action", "SimTraining"), ("Command", "Stop"), ("Interface", TRAINEE))
    *events, stopped = await client.read_until(lambda m: "Response" in m)
    assert (stopped.get("Response"), stopped.get("Message")) == ("Success", "Training stopped")
    (finished,) = [m for m in events if user_event("TrainingFinished")(m)]
    assert (finished.get("RunId"), finished.get("Reason")) == ("run-42", "stopped")
    engine.run_virtual(120)
    gone = await client.action(
        ("Action", "SimTraining"), ("Command", "stop"), ("Interface", TRAINEE)
    )
    assert (gone.get("Response"), gone.get("Message")) == (
        "Error",
        "No training run on PJSIP/1001",
    )
    # The call never came: nothing scripted was sent meanwhile.
    await client.send(("Action", "Ping"))
    quiet = await client.read_until(lambda m: m.get("Ping") == "Pong")
    assert not [m for m in quiet if user_event("ScriptedCall")(m)]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            [("Command", "explode"), ("Interface", TRAINEE)],
            "Unknown SimTraining command: explode (use one of start, stop)",
        ),
        ([("Scenario", "{drill}"), ("RunId", "r")], "Need 'Interface' and 'Scenario' parameters."),
        ([("Interface", TRAINEE), ("RunId", "r")], "Need 'Interface' and 'Scenario' parameters."),
        ([("Command", "stop")], "Need 'Interface' parameter."),
        ([("Command", "stop"), ("Interface", TRAINEE)], "No training run on PJSIP/1001"),
        ([("Interface", TRAINEE), ("Scenario", "{drill}")], "Need 'RunId' parameter."),
        (
            [("Interface", TRAINEE), ("Scenario", "{drill}"), ("RunId", "x" * 65)],
            "Invalid RunId: at most 64 characters",
        ),
        (
            [("Interface", TRAINEE), ("Scenario", "{drill}"), ("RunId", "r"), ("Lead", "soon")],
            "Invalid Lead: 'soon' is not a number",
        ),
        (
            [("Interface", TRAINEE), ("Scenario", "{drill}"), ("RunId", "r"), ("Lead", "inf")],
            "Invalid Lead: 'inf' is not a number",
        ),
        (
            [("Interface", TRAINEE), ("Scenario", "{drill}"), ("RunId", "r"), ("Lead", "-1")],
            "Invalid Lead: must be between 0 and 3600 seconds",
        ),
        (
            [("Interface", TRAINEE), ("Scenario", "{drill}"), ("RunId", "r"), ("Lead", "3601")],
            "Invalid Lead: must be between 0 and 3600 seconds",
        ),
        (
            [("Interface", "PJSIP/9999"), ("Scenario", "{drill}"), ("RunId", "r")],
            "No such phone: PJSIP/9999",
        ),
        (
            [("Interface", "PJSIP/2001"), ("Scenario", "{drill}"), ("RunId", "r")],
            "PJSIP/2001 is a bot, not a desk phone",
        ),
        (
            [("Interface", TRAINEE), ("Scenario", "normal_day"), ("RunId", "r")],
            "Scenario normal_day has no scripted calls",
        ),
        (
            [("Interface", TRAINEE), ("Scenario", "no_such_thing"), ("RunId", "r")],
            "no_such_thing:1: no such scenario file or shipped scenario (shipped: ",
        ),
        (
            [("Interface", TRAINEE), ("Scenario", "{broken}"), ("RunId", "r")],
            "{broken}:4: ",
        ),
        # Outside the scenario folders: one refusal, whether the file exists or not, and
        # nothing read (an AMI user must not probe the simulator host's files).
        (
            [("Interface", TRAINEE), ("Scenario", "/etc/hostname"), ("RunId", "r")],
            "/etc/hostname: not an allowed scenario (use a shipped scenario's name",
        ),
        (
            [("Interface", TRAINEE), ("Scenario", "/etc/no-such.toml"), ("RunId", "r")],
            "/etc/no-such.toml: not an allowed scenario (use a shipped scenario's name",
        ),
        (
            [("Interface", TRAINEE), ("Scenario", "{tmp}/../outside.toml"), ("RunId", "r")],
            "{tmp}/../outside.toml: not an allowed scenario",
        ),
    ],
)
async def test_refusals_get_one_clear_error_and_the_server_keeps_going(
    client: RawClient,
    engine: Engine,
    drill: str,
    tmp_path: Path,
    fields: list[tuple[str, str]],
    message: str,
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('name = "b"\n[[queues]]\nname = "q"\nstrategy = "roundrobin"\n', "utf-8")
    paths = {"drill": drill, "broken": str(broken), "tmp": str(tmp_path)}
    (tmp_path.parent / "outside.toml").write_text('name = "secret-looking"\n', "utf-8")
    filled = [(k, v.format(**paths)) for k, v in fields]
    response = await client.action(("Action", "SimTraining"), ("ActionID", "bad"), *filled)
    assert response.pairs[:2] == (("Response", "Error"), ("ActionID", "bad"))
    assert response.get("Message").startswith(message.format(**paths)), response.get("Message")
    assert not engine.training.runs
    pong = await client.action(("Action", "Ping"))
    assert pong.get("Ping") == "Pong"


async def test_sim_training_is_listed_only_where_the_engine_has_it(client: RawClient) -> None:
    await assert_sim_only(client, "SimTraining", ("Interface", TRAINEE))


# The console's client and tracker ----------------------------------------------------------


async def next_of(stream: EventStream, predicate: Callable[[CtiEvent], bool]) -> CtiEvent:
    async with asyncio.timeout(5):
        async for event in stream:
            if predicate(event):
                return event
    raise AssertionError("the stream ended")


async def test_the_console_client_starts_and_stops_a_run_and_sees_it(
    server: AmiServer, engine: Engine, drill: str
) -> None:
    ((user, secret),) = USERS.items()
    client = AmiClient("127.0.0.1", server.port, user, secret, tracker=CallTracker(TRAINEE))
    stream = client.events()
    try:
        await client.start()
        await client.wait_connected()
        assert client.capabilities.sim_training and client.capabilities.sim_phone
        assert await client.start_training(TRAINEE, drill, "run-7", lead=0.5) == 1
        started = await next_of(stream, lambda e: isinstance(e, TrainingChanged))
        assert isinstance(started, TrainingChanged)
        assert (started.run_id, started.scenario, started.state, started.calls) == (
            "run-7",
            "drill",
            "started",
            1,
        )
        engine.run_virtual(1)
        offered = await next_of(stream, lambda e: isinstance(e, CallOffered))
        assert isinstance(offered, CallOffered)
        assert (offered.script, offered.training_run) == ("refund", "run-7")
        await client.stop_training(TRAINEE)
        ended = await next_of(stream, lambda e: isinstance(e, CallEnded))
        assert isinstance(ended, CallEnded) and ended.uniqueid == offered.uniqueid
        stopped = await next_of(stream, lambda e: isinstance(e, TrainingChanged))
        assert isinstance(stopped, TrainingChanged) and stopped.state == "stopped"
        with pytest.raises(AmiError, match=r"^No training run on PJSIP/1001$"):
            await client.stop_training(TRAINEE)
        with pytest.raises(AmiError, match=r"^Scenario normal_day has no scripted calls$"):
            await client.start_training(TRAINEE, "normal_day", "run-8")
    finally:
        await client.close()


async def test_the_console_client_without_sim_training(drill: str) -> None:
    async with serving(FakeEngine()) as fake:
        ((user, secret),) = USERS.items()
        client = AmiClient("127.0.0.1", fake.port, user, secret)
        stream = client.events()
        try:
            await client.start()
            await client.wait_connected()
            up = await next_of(stream, lambda e: isinstance(e, LinkStateChanged))
            assert isinstance(up, LinkStateChanged) and up.state is LinkState.CONNECTED
            assert not client.capabilities.sim_training
            with pytest.raises(AmiUnsupported):
                await client.start_training(TRAINEE, drill, "run-1")
            with pytest.raises(AmiUnsupported):
                await client.stop_training(TRAINEE)
        finally:
            await client.close()
