"""PBX actions over a real socket, and the server under load: floods and vanishing clients."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from callkit.ami_frames import Message
from telephony_sim.ami_server import AmiServer
from tests.integration.ami_support import FakeEngine, RawClient, serving


@pytest.fixture
async def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
async def server(engine: FakeEngine) -> AsyncIterator[AmiServer]:
    async with serving(engine, max_client_buffer=256 * 1024) as ami:
        yield ami


@pytest.fixture
async def client(server: AmiServer) -> AsyncIterator[RawClient]:
    raw = await RawClient.connect(server.port)
    await raw.login(events="off")
    try:
        yield raw
    finally:
        await raw.close()


def last_call(engine: FakeEngine) -> tuple[object, ...]:
    return engine.calls[-1]


def answer(response: Message) -> tuple[str, str]:
    return response.get("Response"), response.get("Message")


async def test_queue_add_then_remove(client: RawClient, engine: FakeEngine) -> None:
    added = await client.action(
        ("Action", "QueueAdd"),
        ("Queue", "sales"),
        ("Interface", "PJSIP/1002"),
        ("MemberName", "Bob"),
        ("Penalty", "2"),
        ("Paused", "yes"),
    )
    assert answer(added) == ("Success", "Added interface to queue")
    assert engine.members["sales"]["PJSIP/1002"] == ("Bob", 2, True)
    again = await client.action(
        ("Action", "QueueAdd"), ("Queue", "sales"), ("Interface", "PJSIP/1002")
    )
    assert answer(again) == ("Error", "Unable to add interface: Already there")
    removed = await client.action(
        ("Action", "QueueRemove"), ("Queue", "sales"), ("Interface", "PJSIP/1002")
    )
    assert answer(removed) == ("Success", "Removed interface from queue")
    gone = await client.action(
        ("Action", "QueueRemove"), ("Queue", "sales"), ("Interface", "PJSIP/1002")
    )
    assert answer(gone) == ("Error", "Unable to remove interface: Not there")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ([("Action", "QueueAdd"), ("Queue", "sales")], "'Queue' or 'Interface' not set."),
        (
            [("Action", "QueueAdd"), ("Queue", "sales"), ("Interface", "X"), ("Penalty", "hi")],
            "Invalid Penalty: 'hi' is not a whole number",
        ),
        (
            [("Action", "QueueRemove"), ("Interface", "X")],
            "Need 'Queue' and 'Interface' parameters.",
        ),
        (
            [("Action", "QueuePause"), ("Interface", "X")],
            "Need 'Interface' and 'Paused' parameters.",
        ),
        ([("Action", "Originate"), ("Exten", "100")], "Channel not specified"),
        ([("Action", "Originate"), ("Channel", "PJSIP/1001")], "Exten not specified"),
        (
            [("Action", "Originate"), ("Channel", "C"), ("Exten", "1"), ("Timeout", "-5")],
            "Invalid Timeout: must be at least 1",
        ),
        ([("Action", "Redirect"), ("Exten", "200")], "Channel not specified"),
        ([("Action", "Hangup")], "No channel specified"),
        (
            [("Action", "Hangup"), ("Channel", "PJSIP/nope-1")],
            "No such channel",
        ),
        (
            [("Action", "Redirect"), ("Channel", "PJSIP/nope-1"), ("Exten", "200")],
            "Channel does not exist: PJSIP/nope-1",
        ),
        (
            [("Action", "QueuePause"), ("Interface", "PJSIP/9999"), ("Paused", "true")],
            "Interface not found",
        ),
        (
            [("Action", "SimPhone"), ("Interface", "PJSIP/1001")],
            "Need 'Interface' and 'Command' parameters.",
        ),
        (
            [("Action", "SimPhone"), ("Interface", "PJSIP/1001"), ("Command", "explode")],
            "Unknown SimPhone command: explode "
            "(use one of answer, hold, unhold, hangup, busy, ready, notready)",
        ),
    ],
)
async def test_bad_requests_get_one_clear_error(
    client: RawClient, engine: FakeEngine, fields: list[tuple[str, str]], message: str
) -> None:
    response = await client.action(*fields, ("ActionID", "bad"))
    assert response.pairs == (("Response", "Error"), ("ActionID", "bad"), ("Message", message))
    assert (await client.action(("Action", "Ping"))).get("Ping") == "Pong"


async def test_queue_pause_carries_reason(client: RawClient, engine: FakeEngine) -> None:
    paused = await client.action(
        ("Action", "QueuePause"),
        ("Interface", "PJSIP/1001"),
        ("Paused", "true"),
        ("Queue", "support"),
        ("Reason", "lunch"),
    )
    assert answer(paused) == ("Success", "Interface paused successfully")
    assert last_call(engine) == ("queue_pause", "PJSIP/1001", True, "support", "lunch")
    resumed = await client.action(
        ("Action", "QueuePause"), ("Interface", "PJSIP/1001"), ("Paused", "false")
    )
    assert answer(resumed) == ("Success", "Interface unpaused successfully")
    assert last_call(engine) == ("queue_pause", "PJSIP/1001", False, None, "")


async def test_originate_is_queued_then_answered_with_action_id(
    client: RawClient, engine: FakeEngine
) -> None:
    await client.action(("Action", "Events"), ("EventMask", "on"))
    queued = await client.action(
        ("Action", "Originate"),
        ("Channel", "PJSIP/1001"),
        ("Exten", "0612345678"),
        ("Context", "outbound"),
        ("CallerID", "Support <100>"),
        ("Async", "true"),
        ("ActionID", "cb-42"),
    )
    assert queued.pairs == (
        ("Response", "Success"),
        ("ActionID", "cb-42"),
        ("Message", "Originate successfully queued"),
    )
    event = await client.read()
    assert (event.get("Event"), event.get("ActionID")) == ("OriginateResponse", "cb-42")
    assert last_call(engine) == (
        "originate",
        "PJSIP/1001",
        "0612345678",
        "outbound",
        "Support <100>",
        30_000,
    )


async def test_redirect_hangup_and_sim_phone(client: RawClient, engine: FakeEngine) -> None:
    redirect = await client.action(
        ("Action", "Redirect"),
        ("Channel", "PJSIP/trunk-00000001"),
        ("Exten", "tier2"),
        ("Context", "queues"),
    )
    assert answer(redirect) == ("Success", "Redirect successful")
    assert last_call(engine) == ("redirect", "PJSIP/trunk-00000001", "tier2", "queues")
    hangup = await client.action(
        ("Action", "Hangup"), ("Channel", "PJSIP/trunk-00000001"), ("Cause", "17")
    )
    assert answer(hangup) == ("Success", "Channel Hungup")
    assert last_call(engine) == ("hangup", "PJSIP/trunk-00000001", 17)
    phone = await client.action(
        ("Action", "SimPhone"), ("Interface", "PJSIP/1001"), ("Command", "Answer")
    )
    assert answer(phone) == ("Success", "Phone command accepted")
    assert last_call(engine) == ("phone", "PJSIP/1001", "answer")


async def test_engine_bug_is_an_error_not_a_crash(client: RawClient, engine: FakeEngine) -> None:
    def broken(interface: str, command: str) -> None:
        raise RuntimeError("boom")

    engine.phone = broken  # type: ignore[method-assign]
    response = await client.action(
        ("Action", "SimPhone"), ("Interface", "PJSIP/1001"), ("Command", "hold")
    )
    assert answer(response) == ("Error", "Internal error while handling SimPhone")
    assert (await client.action(("Action", "Ping"))).get("Ping") == "Pong"


async def test_action_flood_is_answered_in_order_without_starving_others(
    server: AmiServer,
) -> None:
    flooder = await RawClient.connect(server.port)
    other = await RawClient.connect(server.port)
    try:
        await flooder.login(events="off")
        await other.login(events="off")
        count = 5_000
        flood = b"".join(b"Action: Ping\r\nActionID: %d\r\n\r\n" % i for i in range(count))
        flooder.writer.write(flood)  # and do not read the answers yet
        # The other client is served promptly while the flood is pending.
        pong = await asyncio.wait_for(other.action(("Action", "Ping")), timeout=2)
        assert pong.get("Ping") == "Pong"
        ids = [int((await flooder.read()).get("ActionID")) for _ in range(count)]
        assert ids == list(range(count))
    finally:
        await flooder.close()
        await other.close()


async def _connect_with_tiny_receive_buffer(port: int) -> RawClient:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock)
    return RawClient(reader, writer)


async def test_stalled_client_is_dropped_and_others_keep_every_event(
    server: AmiServer, engine: FakeEngine, caplog: pytest.LogCaptureFixture
) -> None:
    stalled = await _connect_with_tiny_receive_buffer(server.port)
    healthy = await RawClient.connect(server.port)
    try:
        await stalled.login()
        await healthy.login()
        payload = "x" * 2_000
        total = 3_000  # ~6 MB: far beyond the 256 KB the stalled client may lag
        received = 0

        async def drain_healthy() -> None:
            nonlocal received
            while received < total:
                event = await healthy.read()
                assert event.get("Seq") == str(received)
                received += 1

        reader = asyncio.create_task(drain_healthy())
        for seq in range(total):
            engine.emit("UserEvent", [("UserEvent", "Load"), ("Seq", str(seq)), ("Data", payload)])
            if seq % 50 == 0:
                await asyncio.sleep(0.001)  # the engine keeps going; only the loop breathes
        await asyncio.wait_for(reader, timeout=10)
        assert received == total
        with pytest.raises((EOFError, ConnectionError)):
            while True:  # the stalled client finds its stream cut off
                await stalled.read()
        assert (await healthy.action(("Action", "Ping"))).get("Ping") == "Pong"
        assert "dropped: more than 262144 bytes behind" in caplog.text
    finally:
        await stalled.close()
        await healthy.close()


async def test_client_vanishing_mid_call_does_not_disturb_others(
    server: AmiServer, engine: FakeEngine
) -> None:
    gone = await RawClient.connect(server.port)
    staying = await RawClient.connect(server.port)
    await gone.login()
    await staying.login()
    engine.emit("Newchannel", [("Channel", "PJSIP/trunk-9")])
    gone.writer.transport.abort()  # vanishes without Logoff, mid-call
    for n in range(100):
        engine.emit("Newstate", [("Channel", "PJSIP/trunk-9"), ("Seq", str(n))])
    events = await staying.read_until(lambda m: m.get("Seq") == "99")
    assert [e.get("Event") for e in events] == ["Newchannel"] + ["Newstate"] * 100
    assert (await staying.action(("Action", "Ping"))).get("Ping") == "Pong"
    await staying.close()
