"""The agent's pause-recording key on the agent screen, against the real simulator: a recorded
call, ``r`` pauses it ("Recording paused — resumes in Ns"), it resumes by itself, ``r`` twice
pauses and resumes, and the hang-up closes the recording; the spans are in the database and the
simulator's recording shows them."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from console.app import CallConsoleApp
from console.cti.ami import AmiClient
from console.cti.monitor import MonitorFeed
from console.cti.tracker import CallTracker
from console.db import Database
from console.services.context import ServiceContext
from console.services.desk.session import AgentSession, DeskOptions
from console.services.quality.call_recording import stored_recording
from tests.factories import AGENT, ready_agent, wrap_up_ready
from tests.pbx import running_pbx
from tests.ui.conftest import FAST, until


def recording_app(db: Database, port: int, pause_seconds: float) -> CallConsoleApp:
    feed = MonitorFeed()
    cti = AmiClient(
        "127.0.0.1",
        port,
        "agent",
        "s3cret",
        tracker=CallTracker(AGENT),
        timings=FAST,
        on_frame=feed.feed,
    )
    runtime = AgentSession(
        ctx=ServiceContext(db=db),
        cti=cti,
        agent_id=1,
        interface=AGENT,
        member_name="Demo Agent",
        queues=("support",),
        options=DeskOptions(record_calls=True, recording_pause_seconds=pause_seconds),
        monitor_feed=feed,
    )
    return CallConsoleApp(runtime=runtime)


async def test_pause_key_pauses_and_the_recording_resumes_by_itself(
    crm: Database, tmp_path: Path
) -> None:
    async with running_pbx(recordings_dir=tmp_path / "rec") as pbx:
        app = recording_app(crm, pbx.port, pause_seconds=2.0)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await ready_agent(app, pilot)
            pbx.ring("+14155550123", "Ann Caller")
            await until(lambda: screen.desk.state.phase == "ringing")
            await pilot.press("f2")
            await until(lambda: screen.desk.state.phase == "talking")
            line = screen.query_one("#recording", Static)
            await until(lambda: "● Recording (r to pause)" in str(line.render()))
            assert line.display
            call = screen.desk.state.call
            assert call is not None and call.interaction_id is not None
            row = call.interaction_id
            leg = call.agent_channel
            assert pbx.engine.recordings.running[leg]  # MixMonitor runs on the agent's leg

            await pilot.press("r")
            await until(lambda: "Recording paused — resumes in" in str(line.render()))
            assert "resumes in 2s" in str(line.render()) or "resumes in 1s" in str(line.render())
            assert pbx.engine.recordings.running[leg][0].muted_since is not None
            # Nobody pressed anything: it resumes by itself.
            await until(lambda: "● Recording (r to pause)" in str(line.render()), within=6)
            assert pbx.engine.recordings.running[leg][0].muted_since is None

            await pilot.press("r")
            await until(lambda: "Recording paused" in str(line.render()))
            await pilot.press("r")
            await until(lambda: "● Recording (r to pause)" in str(line.render()))

            await pilot.press("f5")
            await until(lambda: wrap_up_ready(app))
            state = app.runtime.recordings.state(row)  # type: ignore[union-attr]
            await until(
                lambda: state is not None and not app.runtime.recordings.state(row).recording
            )  # type: ignore[union-attr]
            stored = await stored_recording(crm, row)
            assert stored is not None and stored.stopped_at is not None
            assert [p.resumed_by for p in stored.pauses] == ["auto", "agent"]
            artifact = tmp_path / "rec" / stored.reference
            await until(artifact.exists)
            assert artifact.read_text(encoding="utf-8").count("(muted") == 2


async def test_pause_key_without_a_recording_says_so(crm: Database, tmp_path: Path) -> None:
    async with running_pbx(recordings_dir=tmp_path / "rec") as pbx:
        app = recording_app(crm, pbx.port, pause_seconds=2.0)
        app.runtime.options.record_calls = False  # type: ignore[union-attr]
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await ready_agent(app, pilot)
            messages: list[str] = []
            original = screen.notify

            def notify(message: str, **kwargs: object) -> None:
                messages.append(message)
                original(message, **kwargs)  # type: ignore[arg-type]

            screen.notify = notify  # type: ignore[method-assign]
            await pilot.press("r")
            await until(lambda: "This call is not being recorded." in messages)
            assert not screen.query_one("#recording", Static).display
