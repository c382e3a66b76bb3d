"""Recording every frame the server sends, and serving a recording back over AMI."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from telephony_sim.recorder import (
    READ_ONLY,
    Recorder,
    RecordingError,
    check_recording,
    replay,
    replay_server,
)
from tests.integration.ami_support import USERS, FakeEngine, RawClient, serving


async def record_a_session(path: Path) -> None:
    engine = FakeEngine()
    ticks = iter(float(n) for n in range(1000))
    recorder = Recorder(path, now=lambda: next(ticks))
    async with serving(engine, recorder=recorder) as server:
        a = await RawClient.connect(server.port)
        b = await RawClient.connect(server.port)
        try:
            await a.login()
            await b.login()
            engine.emit("Newchannel", [("Channel", "PJSIP/trunk-1"), ("CallerIDName", "José")])
            engine.emit("Hangup", [("Channel", "PJSIP/trunk-1"), ("Cause", "16")])
            for client in (a, b):
                await client.read_until(lambda m: m.get("Event") == "Hangup")
        finally:
            await a.close()
            await b.close()
    recorder.close()


async def test_recording_holds_each_event_once_and_each_reply(tmp_path: Path) -> None:
    path = tmp_path / "shift.jsonl"
    await record_a_session(path)
    header, *lines = (json.loads(line) for line in path.read_text("utf-8").splitlines())
    assert header["format"] == "callconsole-ami-recording"
    events = [line for line in lines if line["kind"] == "event"]
    replies = [line for line in lines if line["kind"] == "reply"]
    # Two clients listened, yet each event is stored once (serialised once, shared).
    assert [e["frame"].split("\r\n")[0] for e in events] == ["Event: Newchannel", "Event: Hangup"]
    assert "CallerIDName: José\r\n" in events[0]["frame"]
    assert {r["client"] for r in replies} == {1, 2}
    assert all(r["frame"].endswith("\r\n\r\n") for r in lines)
    assert [line["t"] for line in lines] == sorted(line["t"] for line in lines)
    assert check_recording(path) == 2


async def test_replay_serves_events_and_refuses_actions(tmp_path: Path) -> None:
    path = tmp_path / "shift.jsonl"
    await record_a_session(path)
    server = replay_server(USERS, host="127.0.0.1", port=0)
    await server.start()
    client = await RawClient.connect(server.port)
    player = asyncio.create_task(replay(path, server, speed=1000))
    try:
        denied = await client.action(("Action", "QueueStatus"))
        assert denied.get("Message") == "Permission denied"  # login is still required
        await client.login()
        events = await client.read_until(lambda m: m.get("Event") == "Hangup")
        assert [e.get("Event") for e in events] == ["Newchannel", "Hangup"]
        assert events[0].get("CallerIDName") == "José"
        assert await asyncio.wait_for(player, timeout=5) == 2
        refused = await client.action(("Action", "Hangup"), ("Channel", "PJSIP/trunk-1"))
        assert (refused.get("Response"), refused.get("Message")) == ("Error", READ_ONLY)
        assert (await client.action(("Action", "Ping"))).get("Ping") == "Pong"
    finally:
        player.cancel()
        await client.close()
        await server.close()


async def test_replay_paces_events_by_speed(tmp_path: Path) -> None:
    path = tmp_path / "paced.jsonl"
    header = {"format": "callconsole-ami-recording", "version": 1, "started": "x"}
    frames = [(0.0, "Event: A\r\n\r\n"), (2.0, "Event: B\r\n\r\n")]
    path.write_text(
        "\n".join(
            [json.dumps(header)]
            + [json.dumps({"t": t, "kind": "event", "client": 0, "frame": f}) for t, f in frames]
        )
        + "\n",
        "utf-8",
    )
    server = replay_server(USERS, host="127.0.0.1", port=0)
    await server.start()
    client = await RawClient.connect(server.port)
    try:
        await client.login()
        # A virtual clock: the replay's waits move it, so the pacing is checked exactly and a
        # slow machine changes nothing (the wall-clock pacing is bench material).
        now = [100.0]
        published: list[tuple[float, str]] = []
        send = server.publish_frame

        async def sleep(seconds: float) -> None:
            now[0] += seconds
            await asyncio.sleep(0)

        def publish(name: str, data: object) -> None:
            published.append((now[0], name))
            send(name, data)  # type: ignore[arg-type]

        server.publish_frame = publish  # type: ignore[method-assign]
        player = asyncio.create_task(
            replay(path, server, speed=10, clock=lambda: now[0], sleep=sleep)
        )
        assert (await client.read()).get("Event") == "A"
        assert (await client.read()).get("Event") == "B"
        # 2 recorded seconds at speed 10 are 0.2 s apart: paced, not dumped at once.
        assert published == [(100.0, "A"), (pytest.approx(100.2), "B")]
        await player
    finally:
        await client.close()
        await server.close()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty file, not a recording"),
        ('{"format": "other"}\n', ":1: not a callconsole-ami-recording version 1 file"),
        (
            '{"format": "callconsole-ami-recording", "version": 1}\n{oops\n',
            ":2: not a JSON line",
        ),
        (
            '{"format": "callconsole-ami-recording", "version": 1}\n'
            '{"t": 1, "kind": "event", "client": 0, "frame": "Response: x\\r\\n\\r\\n"}\n',
            ":2: event frame must start with 'Event:'",
        ),
        (
            '{"format": "callconsole-ami-recording", "version": 1}\n{"t": -1, "kind": "event"}\n',
            ":2: 't' must be a non-negative number",
        ),
    ],
)
def test_bad_recordings_name_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content, "utf-8")
    with pytest.raises(RecordingError, match=message.replace("'", ".")) as caught:
        check_recording(path)
    assert str(caught.value).startswith(str(path))


def test_unreadable_recording(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="cannot read recording"):
        check_recording(tmp_path / "missing.jsonl")
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(RecordingError, match="not a UTF-8 text file"):
        check_recording(binary)
