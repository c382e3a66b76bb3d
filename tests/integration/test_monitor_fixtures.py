"""ChanSpy and MixMonitor event sequences written from the Asterisk source
(``tests/fixtures/ami/monitor/*.ami``, each naming its functions), served over a real AMI
socket into the real `AmiClient`, whose frames feed the console's `MonitorTracker`: the
monitor events must be the fixture's, in order. The simulator's own order for the same steps
is checked in tests/unit/test_sim_monitor.py."""

from __future__ import annotations

import asyncio

import pytest

from callkit.ami_frames import Message
from console.cti.ami import AmiClient
from console.cti.monitor import MonitorEvent, MonitorTracker
from tests.ami_fixture import FIXTURES, FixturePbx, parse
from tests.integration.test_cti_fixtures import FAST, shown, wanted

MONITOR_FIXTURES = sorted(p.stem for p in (FIXTURES / "monitor").glob("*.ami"))


def described(events: list[MonitorEvent], keys_of: list[list[str]]) -> list[str]:
    out = []
    for i, event in enumerate(events):
        keys = keys_of[i] if i < len(keys_of) else []
        out.append(
            " ".join(
                [type(event).__name__, *(f"{k}={shown(getattr(event, k, '?'))}" for k in keys)]
            )
        )
    return out


@pytest.mark.parametrize("name", MONITOR_FIXTURES)
async def test_monitor_fixture(name: str) -> None:
    fixture = parse(FIXTURES / "monitor" / f"{name}.ami")
    tracker = MonitorTracker()
    events: list[MonitorEvent] = []
    done = asyncio.Event()

    def on_frame(frame: Message) -> None:
        if frame.get("UserEvent") == FixturePbx.DONE:
            done.set()
        events.extend(tracker.feed(frame))

    async with FixturePbx(fixture) as pbx:
        client = AmiClient(
            "127.0.0.1", pbx.port, "callconsole", "secret", timings=FAST, on_frame=on_frame
        )
        try:
            await client.start()
            async with asyncio.timeout(30):
                await done.wait()
        finally:
            await client.close()
    assert described(events, [list(e.fields) for e in fixture.expected]) == wanted(fixture.expected)


def test_there_are_monitor_fixtures() -> None:
    assert {"chanspy_listen_whisper", "mixmonitor_pause"} <= set(MONITOR_FIXTURES)
