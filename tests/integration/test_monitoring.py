"""Listening and recording against the real simulator over a real AMI socket: the services
(console/services/quality), the AMI client and the PBX's events, with the audit rows and the
recording rows in a real SQLite file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from callkit.ami_frames import Message
from console.cti.ami import AmiClient
from console.cti.monitor import MonitorFeed, fan_out
from console.db import Database
from console.models import Agent, AuditLog, Interaction
from console.models.enums import Role
from console.services.crm.agents import AgentDirectory
from console.services.quality.call_recording import (
    CallRecordingService,
    RecordingError,
    stored_recording,
)
from console.services.quality.listening import SupervisorListening
from console.services.quality.monitoring import MonitoringError, MonitoringService
from tests.db_faults import SqliteFaults
from tests.pbx import Pbx, running_pbx
from tests.ui.conftest import FAST

ALICE, BOB, SUPERVISOR = "PJSIP/1001", "PJSIP/1002", "PJSIP/2001"
SCENARIO = """
name = "monitor-tests"
[[queues]]
name = "support"
extension = "601"
timeout = 300
[[agents]]
interface = "PJSIP/1001"
name = "Alice"
kind = "phone"
queues = ["support"]
[[agents]]
interface = "PJSIP/1002"
name = "Bob"
kind = "phone"
[[calls]]
at = 0.2
queue = "support"
number = "+14155550100"
name = "Ann Caller"
handle_time = 600
transcript = [
  { at = "2s", text = "Hello, I was charged twice." },
  { at = "6s", text = "My card number is 4111 1111 1111 1111." },
  { at = "12s", text = "Thanks, that is all." },
]
"""
SPEED = 4.0  # simulated seconds per real second


async def until(check: Callable[[], object], within: float = 8.0) -> None:
    async with asyncio.timeout(within):
        while not check():  # noqa: ASYNC110 - polling what the PBX and the services show
            await asyncio.sleep(0.02)


@dataclass
class World:
    pbx: Pbx
    db: Database
    link: AmiClient
    feed: MonitorFeed
    frames: list[Message]
    ids: dict[str, int]

    def alice_leg(self) -> str:
        return next(n for n in self.pbx.engine.pbx.channels if n.startswith(ALICE + "-"))

    async def audit(self) -> list[tuple[str, dict[str, object]]]:
        async with self.db.session() as session:
            rows = (
                await session.execute(
                    select(AuditLog.action, AuditLog.details)
                    .where(AuditLog.action.like("monitor_%"))
                    .order_by(AuditLog.id)
                )
            ).all()
        return [(a, dict(d)) for a, d in rows]

    def events(self, name: str) -> list[Message]:
        return [f for f in self.frames if f.get("Event") == name]


async def add_agents(db: Database) -> dict[str, int]:
    rows = {
        "sam": ("Sam Supervisor", Role.SUPERVISOR, "2001", SUPERVISOR),
        "alice": ("Alice", Role.AGENT, "1001", ALICE),
        "bob": ("Bob", Role.AGENT, "1002", BOB),
        "tina": ("Tina Trainer", Role.TRAINER, "3001", "PJSIP/3001"),
    }
    ids = {}
    async with db.write_connection() as conn:
        for login, (name, role, ext, interface) in rows.items():
            ids[login] = await conn.scalar(
                insert(Agent)
                .values(
                    login=login, display_name=name, role=role, extension=ext, interface=interface
                )
                .returning(Agent.id)
            )
    return ids


@asynccontextmanager
async def world(
    db: Database, tmp_path: Path, *, noload: tuple[str, ...] = ()
) -> AsyncIterator[World]:
    ids = await add_agents(db)
    async with running_pbx(
        SCENARIO, speed=SPEED, recordings_dir=tmp_path / "recordings", noload=noload
    ) as pbx:
        feed = MonitorFeed()
        frames: list[Message] = []
        link = AmiClient(
            "127.0.0.1",
            pbx.port,
            "agent",
            "s3cret",
            timings=FAST,
            on_frame=fan_out(frames.append, feed.feed),
        )
        await link.start()
        await link.wait_connected()
        try:
            yield World(pbx, db, link, feed, frames, ids)
        finally:
            await link.close()


async def answered(w: World) -> str:
    """Alice's phone rings with the scripted call; she answers; her leg."""
    dev = w.pbx.engine.acd.devices[ALICE]
    await until(lambda: dev.ringing)
    w.pbx.engine.phone(ALICE, "answer")
    await until(lambda: any(f.get("Event") == "AgentConnect" for f in w.frames))
    return w.alice_leg()


async def monitoring(w: World, login: str = "sam") -> MonitoringService:
    actor = await AgentDirectory(w.db).get(w.ids[login])
    assert actor is not None
    return MonitoringService(w.db, w.link, w.feed, actor=actor, device=SUPERVISOR)


async def test_listen_then_whisper_then_barge_then_stop(db: Database, tmp_path: Path) -> None:
    async with world(db, tmp_path) as w:
        assert w.link.capabilities.chanspy is True and w.link.capabilities.mixmonitor is True
        leg = await answered(w)
        service = await monitoring(w)
        listening = SupervisorListening(w.feed, ALICE, shown=True)
        session = await service.start(w.ids["alice"], "listen")
        assert session.state == "dialling" and session.target_channel == leg
        await until(lambda: service.get(session.id).state == "spying")  # type: ignore[union-attr]
        session = service.get(session.id)  # type: ignore[assignment]
        assert session is not None and session.spyer_channel.startswith(SUPERVISOR + "-")
        (start,) = w.events("ChanSpyStart")
        assert (start.get("SpyerChannel"), start.get("SpyeeChannel")) == (
            session.spyer_channel,
            leg,
        )
        assert listening.listening  # the agent's console heard it from the PBX
        spy = w.pbx.engine.spies.active[session.spyer_channel]
        assert spy.mode == "listen" and spy.options.quiet and spy.options.exit_on_hangup
        session = await service.switch(session, "whisper")
        await until(lambda: spy.mode == "whisper")
        session = await service.switch(session, "barge")
        await until(lambda: spy.mode == "barge")
        assert [f.get("Digit") for f in w.events("DTMFEnd")] == ["5", "6"]
        session = await service.stop(session)
        assert session.state == "ended" and session.end_reason == "stopped by the supervisor"
        await until(lambda: w.events("ChanSpyStop") and not w.pbx.engine.spies.active)
        await until(lambda: not listening.listening)
        assert leg in w.pbx.engine.pbx.channels  # Alice and the caller talk on
        await service.settle()
        audit = await w.audit()
        assert [a for a, _d in audit] == [
            "monitor_start",
            "monitor_switch",
            "monitor_switch",
            "monitor_stop",
        ]
        assert [d["mode"] for _a, d in audit] == ["listen", "whisper", "barge", "barge"]
        assert (
            audit[1][1]["from"] == "listen" and audit[3][1]["reason"] == "stopped by the supervisor"
        )
        assert all(d["channel"] == leg for _a, d in audit)


async def test_the_spy_ends_with_the_agents_call(db: Database, tmp_path: Path) -> None:
    async with world(db, tmp_path) as w:
        await answered(w)
        service = await monitoring(w)
        session = await service.start(w.ids["alice"], "listen")
        await until(lambda: service.get(session.id).state == "spying")  # type: ignore[union-attr]
        w.pbx.engine.phone(ALICE, "hangup")
        await until(lambda: not service.get(session.id).active)  # type: ignore[union-attr]
        await service.settle()
        ended = service.get(session.id)
        assert ended is not None and ended.end_reason == "the agent's call ended"
        assert [a for a, _d in await w.audit()] == ["monitor_start", "monitor_stop"]
        assert not w.pbx.engine.spies.active


async def test_an_agent_logging_out_during_a_spy_ends_it(db: Database, tmp_path: Path) -> None:
    async with world(db, tmp_path) as w:
        leg = await answered(w)
        service = await monitoring(w)
        session = await service.start(w.ids["alice"], "whisper")
        await until(lambda: service.get(session.id).state == "spying")  # type: ignore[union-attr]
        result = await w.link.send_action("QueueRemove", Queue="support", Interface=ALICE)
        assert result.ok
        await until(lambda: not service.get(session.id).active)  # type: ignore[union-attr]
        await service.settle()
        ended = service.get(session.id)
        assert ended is not None and ended.end_reason == "Alice logged out"
        await until(lambda: not w.pbx.engine.spies.active)  # the supervisor's leg was hung up
        assert leg in w.pbx.engine.pbx.channels
        assert (await w.audit())[-1][1]["reason"] == "Alice logged out"


async def test_refusals_say_one_line_and_change_nothing(db: Database, tmp_path: Path) -> None:
    async with world(db, tmp_path) as w:
        await answered(w)
        service = await monitoring(w)
        with pytest.raises(
            MonitoringError, match=r"^Bob is not on a call: there is nothing to listen to$"
        ):
            await service.start(w.ids["bob"], "listen")
        agent_side = await monitoring(w, "alice")
        with pytest.raises(MonitoringError, match="Only supervisors and trainers"):
            await agent_side.start(w.ids["bob"], "listen")
        trainer = await monitoring(w, "tina")
        with pytest.raises(MonitoringError, match="Trainers may listen and whisper, not barge"):
            await trainer.start(w.ids["alice"], "barge")
        with pytest.raises(MonitoringError, match="Unknown mode"):
            await service.start(w.ids["alice"], "shout")
        assert await w.audit() == [] and not w.pbx.engine.spies.active
        assert not w.events("ChanSpyStart")


async def test_a_pbx_without_chanspy_or_mixmonitor(db: Database, tmp_path: Path) -> None:
    async with world(db, tmp_path, noload=("app_chanspy.so", "app_mixmonitor.so")) as w:
        caps = w.link.capabilities
        assert caps.chanspy is False and caps.mixmonitor is False
        leg = await answered(w)
        service = await monitoring(w)
        with pytest.raises(MonitoringError, match="the PBX has no ChanSpy"):
            await service.start(w.ids["alice"], "listen")
        recordings = CallRecordingService(w.db, w.link, actor_id=w.ids["alice"], feed=w.feed)
        with pytest.raises(
            RecordingError, match=r"^Recording is not available: the PBX has no MixMonitor$"
        ):
            await recordings.start(1, leg, "1.1")
        assert await w.audit() == []
        # What a console that could not ask would meet: the action is unknown there.
        refused = await w.link.mix_monitor(leg, "x.wav")
        assert not refused.ok and refused.message.startswith("Invalid/unknown command: MixMonitor")


def said(w: World, text: str) -> bool:
    return any(text in f.get("Text") for f in w.events("UserEvent"))


async def interaction(db: Database, agent_id: int, uniqueid: str) -> int:
    async with db.write_connection() as conn:
        row = await conn.scalar(
            insert(Interaction)
            .values(agent_id=agent_id, uniqueid=uniqueid, linkedid=uniqueid)
            .returning(Interaction.id)
        )
    assert row is not None
    return row


async def test_recording_paused_and_resumed_with_the_spans_stored(
    db: Database, tmp_path: Path
) -> None:
    async with world(db, tmp_path) as w:
        leg = await answered(w)
        uniqueid = w.pbx.engine.pbx.channels[leg].linkedid
        row = await interaction(w.db, w.ids["alice"], uniqueid)
        service = CallRecordingService(w.db, w.link, actor_id=w.ids["alice"], feed=w.feed)
        service.auto_resume_seconds = 1.6  # real seconds: 6.4 simulated, over the card number
        state = await service.start(row, leg, uniqueid)
        assert state.recording and not state.paused
        await until(lambda: w.events("MixMonitorStart"))
        await until(lambda: said(w, "charged twice"))
        state = await service.pause(row)  # the card number comes next (6 s after the answer)
        assert state.paused and state.resumes_at is not None
        await until(lambda: not service.state(row).paused, within=5)  # type: ignore[union-attr]
        assert said(w, "4111")  # said while paused
        assert [f.get("State") for f in w.events("MixMonitorMute")] == ["1", "0"]
        # A second pause, resumed by the agent.
        await service.pause(row)
        await service.resume(row)
        await until(lambda: said(w, "Thanks, that is all."))
        await asyncio.sleep(0.1)
        state = await service.stop(row)
        assert not state.recording and [p.resumed_by for p in state.pauses] == ["auto", "agent"]
        stored = await stored_recording(w.db, row)
        assert stored is not None and stored.reference == f"callconsole/{uniqueid}-{row}.wav"
        assert stored.stopped_at is not None
        assert [(p.resumed_by, p.resumed_at is not None) for p in stored.pauses] == [
            ("auto", True),
            ("agent", True),
        ]
        await until(lambda: w.events("MixMonitorStop"))
        artifact = tmp_path / "recordings" / stored.reference
        await until(artifact.exists)
        text = artifact.read_text(encoding="utf-8")
        assert "charged twice" in text and "Thanks, that is all." in text
        assert "4111" not in text and text.count("(muted") == 2


async def test_recording_ends_with_the_call(db: Database, tmp_path: Path) -> None:
    async with world(db, tmp_path) as w:
        leg = await answered(w)
        row = await interaction(w.db, w.ids["alice"], "1.1")
        service = CallRecordingService(w.db, w.link, actor_id=w.ids["alice"], feed=w.feed)
        await service.start(row, leg, "1.1")
        await service.pause(row)
        w.pbx.engine.phone(ALICE, "hangup")
        await until(lambda: not service.state(row).recording)  # type: ignore[union-attr]
        await service.settle()
        stored = await stored_recording(w.db, row)
        assert stored is not None and stored.stopped_at is not None
        assert [p.resumed_by for p in stored.pauses] == ["call_end"]
        with pytest.raises(RecordingError, match="not being recorded"):
            await service.pause(row)


async def test_a_read_only_database_leaves_the_recording_as_the_pbx_has_it(
    db: Database, tmp_path: Path
) -> None:
    """The database refuses writes: recording starts, pauses (the PBX mutes), resumes by
    itself — the console's state follows the PBX each time, and each unsaved row is said
    in one line (the pause key must work for card details whatever the database does)."""
    faults = SqliteFaults(db)
    async with world(db, tmp_path) as w:
        leg = await answered(w)
        uniqueid = w.pbx.engine.pbx.channels[leg].linkedid
        row = await interaction(w.db, w.ids["alice"], uniqueid)
        warned: list[str] = []
        service = CallRecordingService(
            w.db, w.link, actor_id=w.ids["alice"], feed=w.feed, on_warning=warned.append
        )
        service.auto_resume_seconds = 0.5
        await faults.set("readonly")
        state = await service.start(row, leg, uniqueid)
        assert state.recording and len(warned) == 1
        state = await service.pause(row)
        assert state.paused
        await until(lambda: not service.state(row).paused, within=5)  # type: ignore[union-attr]
        assert [f.get("State") for f in w.events("MixMonitorMute")] == ["1", "0"]
        assert len(warned) == 3 and all("was not saved" in line for line in warned)
        await faults.set(None)
    await faults.close()
    assert await stored_recording(db, row) is None  # nothing was written: it was refused
