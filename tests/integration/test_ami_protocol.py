"""The AMI server over a real socket: framing, login, session actions and errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from telephony_sim.ami_actions import EngineActions
from telephony_sim.ami_server import AmiServer
from tests.integration.ami_support import FakeEngine, FakeSimError, RawClient, names, serving

USERS = {"admin": "s3cret", "other": "pa55"}


@pytest.fixture
async def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
async def server(engine: FakeEngine) -> AsyncIterator[AmiServer]:
    async with serving(engine, users=USERS) as ami:
        yield ami


@pytest.fixture
async def client(server: AmiServer) -> AsyncIterator[RawClient]:
    raw = await RawClient.connect(server.port)
    try:
        yield raw
    finally:
        await raw.close()


async def test_greeting_is_asterisk_20s(server: AmiServer) -> None:
    raw = await RawClient.connect(server.port)
    try:
        assert await raw.reader.readline() == b"Asterisk Call Manager/9.0.0\r\n"
    finally:
        await raw.close()


async def test_crlf_and_bare_lf_requests_are_both_answered(client: RawClient) -> None:
    await client.login()
    await client.send_raw(b"Action: Ping\r\nActionID: crlf\r\n\r\n")
    crlf = await client.read()
    await client.send_raw(b"Action: Ping\nActionID: lf\n\n")
    lf = await client.read()
    assert (crlf.get("ActionID"), crlf.get("Ping")) == ("crlf", "Pong")
    assert (lf.get("ActionID"), lf.get("Ping")) == ("lf", "Pong")
    assert float(lf.get("Timestamp")) > 0


async def test_keys_in_any_order_and_case(client: RawClient) -> None:
    # Third-party clients sort keys alphabetically, so Action is not first.
    await client.send_raw(b"actionid: 1\r\nEVENTS: off\r\nsecret: s3cret\r\nACTION: login\r\n")
    await client.send_raw(b"UserName: admin\r\n\r\n")
    response = await client.read()
    assert response.pairs[:3] == (
        ("Response", "Success"),
        ("ActionID", "1"),
        ("Message", "Authentication accepted"),
    )
    assert (await client.read()).get("Event") == "FullyBooted"


async def test_repeated_keys_first_action_id_is_echoed(client: RawClient) -> None:
    await client.login()
    await client.send_raw(b"Action: Ping\r\nActionID: first\r\nActionID: second\r\n\r\n")
    assert (await client.read()).get_all("ActionID") == ["first"]


async def test_interleaved_actions_are_correlated_by_action_id(client: RawClient) -> None:
    await client.login(events="off")
    await client.send_raw(
        b"Action: QueueStatus\r\nActionID: qs\r\n\r\n"
        b"Action: Ping\r\nActionID: p\r\n\r\n"
        b"Action: QueueSummary\r\nActionID: sum\r\nQueue: support\r\n\r\n"
    )
    status = await client.read_until(lambda m: m.get("Event") == "QueueStatusComplete")
    ping = await client.read()
    summary = await client.read_until(lambda m: m.get("Event") == "QueueSummaryComplete")
    assert {m.get("ActionID") for m in status} == {"qs"}
    assert ping.get("ActionID") == "p"
    assert {m.get("ActionID") for m in summary} == {"sum"}
    assert names(summary[1:-1]) == ["QueueSummary"]


async def test_queue_status_is_an_asterisk_event_list(client: RawClient) -> None:
    await client.login(events="off")
    await client.send(("Action", "QueueStatus"), ("ActionID", "L1"))
    messages = await client.read_until(lambda m: m.get("Event") == "QueueStatusComplete")
    ack, *items, complete = messages
    assert ack.pairs == (
        ("Response", "Success"),
        ("ActionID", "L1"),
        ("EventList", "start"),
        ("Message", "Queue status will follow"),
    )
    assert names(items) == ["QueueParams", "QueueParams", "QueueMember", "QueueEntry"]
    member = items[2]
    assert (member.get("Name"), member.get("Location")) == ("Alice", "PJSIP/1001")
    assert complete.get("EventList") == "Complete"
    assert complete.get("ListItems") == str(len(items)) == "4"


async def test_queue_status_filters_by_queue_and_member(client: RawClient) -> None:
    await client.login(events="off")
    await client.send(("Action", "QueueStatus"), ("Queue", "support"), ("Member", "Bob"))
    messages = await client.read_until(lambda m: m.get("Event") == "QueueStatusComplete")
    assert names(messages[1:-1]) == ["QueueParams", "QueueEntry"]
    assert messages[-1].get("ListItems") == "2"


@pytest.mark.parametrize(
    ("action", "complete", "count", "extra"),
    [
        ("CoreShowChannels", "CoreShowChannelsComplete", 2, None),
        ("Status", "StatusComplete", 2, "2"),
        ("QueueSummary", "QueueSummaryComplete", 2, None),
    ],
)
async def test_other_lists_count_their_items(
    client: RawClient, action: str, complete: str, count: int, extra: str | None
) -> None:
    await client.login(events="off")
    await client.send(("Action", action), ("ActionID", "x"))
    messages = await client.read_until(lambda m: m.get("Event") == complete)
    assert messages[0].get("EventList") == "start"
    assert messages[0].get("Message").endswith("will follow")
    assert len(messages) - 2 == count
    assert messages[-1].get("ListItems") == str(count)
    # Status keeps its legacy Items field.
    assert (messages[-1].get("Items") if "Items" in messages[-1] else None) == extra


async def test_status_of_unknown_channel_is_an_error(client: RawClient) -> None:
    await client.login(events="off")
    response = await client.action(("Action", "Status"), ("Channel", "PJSIP/nope-1"))
    assert (response.get("Response"), response.get("Message")) == ("Error", "No such channel")


async def test_failed_login_gets_error_and_closed_socket(client: RawClient) -> None:
    response = await client.action(
        ("Action", "Login"), ("Username", "admin"), ("Secret", "wrong"), ("ActionID", "L")
    )
    assert response.pairs == (
        ("Response", "Error"),
        ("ActionID", "L"),
        ("Message", "Authentication failed"),
    )
    assert await client.closed_by_server()


async def test_unknown_user_gets_the_same_answer(client: RawClient) -> None:
    response = await client.action(("Action", "Login"), ("Username", "eve"), ("Secret", "x"))
    assert response.get("Message") == "Authentication failed"
    assert await client.closed_by_server()


async def test_md5_challenge_login(client: RawClient) -> None:
    response = await client.md5_login("other", "pa55")
    assert response.get("Message") == "Authentication accepted"
    assert (await client.read()).get("Event") == "FullyBooted"
    assert (await client.action(("Action", "Ping"))).get("Ping") == "Pong"


async def test_md5_login_with_wrong_key_fails(client: RawClient) -> None:
    response = await client.md5_login("other", "not-the-secret")
    assert response.get("Message") == "Authentication failed"
    assert await client.closed_by_server()


async def test_challenge_needs_md5(client: RawClient) -> None:
    response = await client.action(("Action", "Challenge"), ("AuthType", "plain"))
    assert response.get("Message") == "Must specify AuthType"


async def test_actions_before_login_are_denied(client: RawClient) -> None:
    response = await client.action(("Action", "QueueStatus"), ("ActionID", "early"))
    assert (response.get("Message"), response.get("ActionID")) == ("Permission denied", "early")
    await client.login()  # the session is still usable


async def test_missing_action(client: RawClient) -> None:
    await client.send(("ActionID", "7"), ("Queue", "support"))
    response = await client.read()
    assert response.pairs == (
        ("Response", "Error"),
        ("ActionID", "7"),
        ("Message", "Missing action in request"),
    )


async def test_unknown_action(client: RawClient) -> None:
    await client.login()
    response = await client.action(("Action", "Frobnicate"))
    assert response.get("Message") == (
        "Invalid/unknown command: Frobnicate. Use Action: ListCommands to show available commands."
    )
    listed = await client.action(("Action", "ListCommands"))
    assert "QueuePause" in listed and "SimPhone" in listed


async def test_logoff_says_goodbye_and_closes(client: RawClient) -> None:
    await client.login()
    response = await client.action(("Action", "Logoff"), ("ActionID", "bye"))
    assert response.pairs == (
        ("Response", "Goodbye"),
        ("ActionID", "bye"),
        ("Message", "Thanks for all the fish."),
    )
    assert await client.closed_by_server()


async def test_login_twice_is_acknowledged(client: RawClient) -> None:
    await client.login()
    again = await client.action(("Action", "Login"), ("Username", "admin"), ("Secret", "s3cret"))
    assert again.get("Message") == "Already authenticated"


async def test_ten_kilobyte_line_gets_error_and_connection_keeps_working(
    client: RawClient,
) -> None:
    await client.login()
    await client.send_raw(b"Action: Ping\r\nActionID: big\r\nJunk: " + b"x" * 10_240 + b"\r\n\r\n")
    response = await client.read()
    assert response.pairs == (
        ("Response", "Error"),
        ("ActionID", "big"),
        ("Message", "Failed to parse message: line too long"),
    )
    assert (await client.action(("Action", "Ping"))).get("Ping") == "Pong"


async def test_non_utf8_gets_error_and_connection_keeps_working(client: RawClient) -> None:
    await client.login()
    await client.send_raw(b"Action: Hangup\r\nChannel: PJSIP/\xff\xfe-01\r\n\r\n")
    response = await client.read()
    assert (response.get("Response"), response.get("Message")) == (
        "Error",
        "Failed to parse message: invalid UTF-8",
    )
    assert (await client.action(("Action", "Ping"))).get("Ping") == "Pong"


async def test_malformed_line_gets_error(client: RawClient) -> None:
    await client.login()
    await client.send_raw(b"Action: Ping\r\nno colon here\r\n\r\n")
    assert (await client.read()).get("Response") == "Error"
    assert (await client.action(("Action", "Ping"))).get("Ping") == "Pong"


async def test_events_off_then_on_with_a_mask(client: RawClient, engine: FakeEngine) -> None:
    await client.login(events="off")
    engine.emit("Newchannel", [("Channel", "PJSIP/a-1")])
    # The Ping answer arriving first proves the event was not sent (same ordered stream).
    assert (await client.action(("Action", "Ping"))).get("Ping") == "Pong"
    response = await client.action(("Action", "Events"), ("EventMask", "agent"))
    assert response.get("Events") == "On"
    engine.emit("Newchannel", [("Channel", "PJSIP/a-2")])  # call class: filtered out
    engine.emit("AgentCalled", [("Queue", "support")])  # agent class: delivered
    assert (await client.read()).get("Event") == "AgentCalled"
    off = await client.action(("Action", "Events"), ("EventMask", "off"))
    assert off.get("Events") == "Off"
    engine.emit("AgentCalled", [("Queue", "support")])
    assert (await client.action(("Action", "Ping"))).get("Ping") == "Pong"


async def test_events_reach_every_logged_in_client_only(
    server: AmiServer, engine: FakeEngine
) -> None:
    a, b, anonymous = [await RawClient.connect(server.port) for _ in range(3)]
    try:
        await a.login()
        await b.login(user="other", secret="pa55")
        engine.emit("Newchannel", [("Channel", "PJSIP/x-1"), ("CallerIDNum", "<unknown>")])
        for c in (a, b):
            event = await c.read()
            assert event.pairs == (
                ("Event", "Newchannel"),
                ("Channel", "PJSIP/x-1"),
                ("CallerIDNum", "<unknown>"),
            )
        denied = await anonymous.action(("Action", "Ping"))
        assert denied.get("Message") == "Permission denied"  # and no event before it
    finally:
        for c in (a, b, anonymous):
            await c.close()


def test_nothing_is_serialised_when_nobody_listens(engine: FakeEngine) -> None:
    server = AmiServer(EngineActions(engine, (FakeSimError,)).actions(), USERS, port=0)
    consumed: list[bool] = []

    def fields() -> Iterator[tuple[str, str]]:
        consumed.append(True)
        yield ("Channel", "PJSIP/x-1")

    server.publish_event("Newchannel", fields())
    assert consumed == []
