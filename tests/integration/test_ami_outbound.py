"""Callbacks over a real AMI socket: SimOutbound scripts what the dialled customer does, then an
Async Originate, answered with SimPhone, ends the way app_dial reports it (DialEnd, Hangups)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from callkit.ami_frames import Message
from callkit.scenario import parse_scenario
from telephony_sim.clock import VirtualClock
from telephony_sim.engine import Engine, SimError
from tests.integration.ami_support import RawClient, assert_sim_only, serving

SCENARIO = """
name = "callbacks"
[[queues]]
name = "support"
extension = "600"
[[agents]]
interface = "PJSIP/1001"
name = "Trainee"
kind = "phone"
queues = ["support"]
"""
NUMBER = "+14155550100"


@pytest.fixture
async def engine() -> Engine:
    return Engine(parse_scenario(SCENARIO, "callbacks.toml"), seed=1, clock=VirtualClock())


@pytest.fixture
async def client(engine: Engine) -> AsyncIterator[RawClient]:
    async with serving(engine, (SimError,)) as server:
        raw = await RawClient.connect(server.port)
        await raw.login(events="off")
        try:
            yield raw
        finally:
            await raw.close()


def agent_hangup(message: Message) -> bool:
    return message.get("Event") == "Hangup" and message.get("Channel").startswith("PJSIP/1001-")


async def call_back(
    client: RawClient,
    engine: Engine,
    timeout_ms: int,
    until: Callable[[Message], bool] = agent_hangup,
) -> list[Message]:
    """Originate (Async) to NUMBER, answer the agent's phone a second later, let the dial end;
    every event from the OriginateResponse to the one ``until`` waits for."""
    queued = await client.action(
        ("Action", "Originate"),
        ("Channel", "PJSIP/1001"),
        ("Exten", NUMBER),
        ("Context", "from-internal"),
        ("CallerID", '"Support" <600>'),
        ("Timeout", str(timeout_ms)),
        ("Async", "true"),
        ("ActionID", "cb-7"),
    )
    assert queued.pairs == (
        ("Response", "Success"),
        ("ActionID", "cb-7"),
        ("Message", "Originate successfully queued"),
    )
    await client.action(("Action", "Events"), ("EventMask", "on"))
    engine.run_virtual(1)
    await client.send(("Action", "SimPhone"), ("Interface", "PJSIP/1001"), ("Command", "answer"))
    seen = await client.read_until(lambda m: m.get("Response") == "Success")
    engine.run_virtual(60)
    seen += await client.read_until(until)
    start = next(i for i, m in enumerate(seen) if m.get("Event") == "OriginateResponse")
    return [m for m in seen[start:] if "Event" in m]


def calls(events: list[Message]) -> list[tuple[str, str]]:
    """(event, leg or status) for the events that tell how the dial went."""
    out = []
    for m in events:
        name = m.get("Event")
        if name == "DialEnd":
            out.append((name, m.get("DialStatus")))
        elif name == "Hangup":
            leg = m.get("Channel").rsplit("-", 1)[0]
            out.append((name, f"{leg} {m.get('Cause')} {m.get('Cause-txt')}"))
        elif name == "OriginateResponse":
            out.append((name, m.get("Response")))
        elif name == "DialBegin":
            out.append((name, m.get("DestChannel").rsplit("-", 1)[0]))
        elif name == "BridgeEnter":
            out.append((name, m.get("Channel").rsplit("-", 1)[0]))
    return out


async def script(client: RawClient, outcome: str, count: str = "") -> Message:
    extra = [("Count", count)] if count else []
    return await client.action(
        ("Action", "SimOutbound"),
        ("Number", NUMBER),
        ("Outcome", outcome),
        *extra,
        ("ActionID", "so-1"),
    )


async def test_a_busy_customer(client: RawClient, engine: Engine) -> None:
    scripted = await script(client, "busy")
    assert scripted.pairs == (
        ("Response", "Success"),
        ("ActionID", "so-1"),
        ("Message", "Outbound outcome scripted"),
        ("Number", NUMBER),
        ("Outcome", "busy"),
        ("Pending", "1"),
    )
    events = await call_back(client, engine, 30_000)
    response = events[0]
    assert (response.get("ActionID"), response.get("Response"), response.get("Reason")) == (
        "cb-7",
        "Success",
        "4",
    )
    assert calls(events) == [
        ("OriginateResponse", "Success"),
        ("DialBegin", "PJSIP/trunk"),
        ("DialEnd", "BUSY"),
        ("Hangup", "PJSIP/trunk 17 User busy"),
        ("Hangup", "PJSIP/1001 17 User busy"),
    ]
    assert not engine.pbx.channels
    assert engine.acd.devices["PJSIP/1001"].available


async def test_a_customer_who_does_not_answer(client: RawClient, engine: Engine) -> None:
    assert (await script(client, "NoAnswer", "2")).get("Pending") == "2"
    events = await call_back(client, engine, 15_000)
    assert calls(events) == [
        ("OriginateResponse", "Success"),
        ("DialBegin", "PJSIP/trunk"),
        ("DialEnd", "NOANSWER"),
        ("Hangup", "PJSIP/trunk 19 User alerting, no answer"),
        ("Hangup", "PJSIP/1001 19 User alerting, no answer"),
    ]
    ring = [m.get("ChannelStateDesc") for m in events if m.get("Event") == "Newstate"]
    assert ring == ["Ringing"]  # the customer's phone rang (the agent's was already up)
    assert [(e[0], e[1]) for e in engine.dialer.scripted[NUMBER]] == [("noanswer", 1)]


async def test_an_unscripted_customer_answers(client: RawClient, engine: Engine) -> None:
    events = await call_back(
        client,
        engine,
        30_000,
        lambda m: m.get("Event") == "BridgeEnter" and "trunk" in m.get("Channel"),
    )
    assert calls(events) == [
        ("OriginateResponse", "Success"),
        ("DialBegin", "PJSIP/trunk"),
        ("DialEnd", "ANSWER"),
        ("BridgeEnter", "PJSIP/1001"),
        ("BridgeEnter", "PJSIP/trunk"),
    ]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ([("Number", NUMBER)], "Need 'Number' and 'Outcome' parameters."),
        ([("Outcome", "busy")], "Need 'Number' and 'Outcome' parameters."),
        (
            [("Number", NUMBER), ("Outcome", "voicemail")],
            "Unknown SimOutbound outcome: voicemail "
            "(use one of answer, noanswer, busy, failed, machine)",
        ),
        (
            [("Number", NUMBER), ("Outcome", "busy"), ("Count", "0")],
            "Invalid Count: must be at least 1",
        ),
        (
            [("Number", NUMBER), ("Outcome", "busy"), ("Count", "two")],
            "Invalid Count: 'two' is not a whole number",
        ),
        (
            [("Number", "sales desk"), ("Outcome", "busy")],
            "Invalid Number: 'sales desk' is not a dial string",
        ),
    ],
)
async def test_bad_sim_outbound_requests_get_one_clear_error(
    client: RawClient, engine: Engine, fields: list[tuple[str, str]], message: str
) -> None:
    response = await client.action(("Action", "SimOutbound"), *fields, ("ActionID", "bad"))
    assert response.pairs == (("Response", "Error"), ("ActionID", "bad"), ("Message", message))
    assert engine.dialer.scripted == {}


async def test_sim_outbound_is_listed_only_where_the_engine_has_it(client: RawClient) -> None:
    assert "SimPhone" in await client.action(("Action", "ListCommands"))
    await assert_sim_only(client, "SimOutbound", ("Number", NUMBER))
