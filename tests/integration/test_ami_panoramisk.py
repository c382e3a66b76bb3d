"""A third-party AMI client (panoramisk, unmodified) against our server."""

from __future__ import annotations

import asyncio
from typing import Any

from panoramisk import Manager

from tests.integration.ami_support import FakeEngine, serving


async def test_panoramisk_logs_in_pings_lists_and_gets_events() -> None:
    engine = FakeEngine()
    async with serving(engine) as server:
        await _talk_to(server.port, engine)


async def _talk_to(port: int, engine: FakeEngine) -> None:
    logged_in = asyncio.Event()
    events: asyncio.Queue[Any] = asyncio.Queue()
    manager = Manager(
        host="127.0.0.1",
        port=port,
        username="admin",
        secret="s3cret",
        loop=asyncio.get_running_loop(),
        reconnect_timeout=3600,  # do not reconnect after the test closes the link
        on_login=lambda _manager: logged_in.set(),
    )
    manager.register_event("Newchannel", lambda _manager, event: events.put_nowait(event))
    try:
        await manager.connect()
        await asyncio.wait_for(logged_in.wait(), timeout=5)
        assert manager.protocol.version == "9.0.0"

        pong = await asyncio.wait_for(manager.send_action({"Action": "Ping"}), timeout=5)
        assert pong.ping == "Pong"

        # panoramisk detects the list by "EventList: start" and collects it up to ...Complete.
        listing = await asyncio.wait_for(
            manager.send_action({"Action": "QueueStatus", "Queue": "support"}), timeout=5
        )
        assert [m.event for m in listing[1:]] == [
            "QueueParams",
            "QueueMember",
            "QueueEntry",
            "QueueStatusComplete",
        ]
        assert listing[-1].listitems == "3"

        engine.emit("Newchannel", [("Channel", "PJSIP/trunk-7"), ("CallerIDNum", "0612345678")])
        event = await asyncio.wait_for(events.get(), timeout=5)
        assert (event.channel, event.calleridnum) == ("PJSIP/trunk-7", "0612345678")
    finally:
        manager.close()
