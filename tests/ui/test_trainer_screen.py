"""The trainer's screen as a trainer uses it in the demo: the command a trainee runs, copied
from the terminal as shown, and a call ringing for the trainer while it is in front."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from textual.screen import Screen

from console.app import CallConsoleApp
from console.cli_console import write_trainee_settings
from console.db import Database
from console.factory import ConsoleContext, PbxAddress
from console.screens.trainer import TrainerScreen
from console.widgets.command import ShellCommand, shell_lines
from console.widgets.profile_card import ProfileCard
from tests.pbx import running_pbx
from tests.ui.conftest import FAST, one_customer_number, until
from tests.ui.terminal import Notifications, screen_text


def copied(app: CallConsoleApp, widget: ShellCommand) -> str:
    """What a terminal copy of the widget's rows gets: the characters on those rows of the
    screen, trailing blanks dropped (as terminals do)."""
    rows = screen_text(app).splitlines()
    region = widget.region
    return "\n".join(
        rows[y][region.x : region.right].rstrip() for y in range(region.y, region.bottom)
    )


def as_the_shell_reads(text: str) -> list[str]:
    """The argv `sh` gets from `text` pasted after a command name."""
    out = subprocess.run(
        ["sh", "-c", 'eval "set -- $1"; printf "%s\\0" "$@"', "sh", text],
        capture_output=True,
        check=True,
    ).stdout
    return out.decode().split("\0")[:-1]


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A folder with a short path (pytest's own tmp_path alone is ~75 characters), with a
    space in its name."""
    base = Path(tempfile.mkdtemp(prefix="cc "))
    yield base
    shutil.rmtree(base)


async def test_the_trainee_command_is_shown_whole_and_a_terminal_copy_of_it_runs(
    crm: Database, short_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 80 columns the demo's join command (long absolute paths, one with a space and a
    quote) is on lines of its own, split only between arguments with shell continuations: the
    text copied off the screen is the command, absolute paths and all."""
    folder = short_dir / "O'Brien" / "callconsole"
    folder.mkdir(parents=True)
    demo_db = SimpleNamespace(sqlite_path=folder / "callconsole.db")
    monkeypatch.chdir(tmp_path)  # the paths shown must not depend on this directory
    join = write_trainee_settings(demo_db, 5038, "secret")
    assert all(Path(arg).is_absolute() for arg in join.argv if "/" in arg)
    assert Path(join.argv[0]).is_file()  # this environment's callconsole (or its Python)
    assert join.argv[-5:] == (
        "--config",
        str(folder / "demo-trainee.toml"),
        "run",
        "--agent",
        "demo",
    )
    async with running_pbx() as pbx:
        context = ConsoleContext(
            db=crm,
            pbx=PbxAddress("127.0.0.1", pbx.port, "agent", "s3cret"),
            timings=FAST,
            trainee_join=join,
        )
        trainer = await context.agents.authenticate("trainer", "demo")
        assert trainer is not None
        app = CallConsoleApp(runtime=await context.session_for(trainer))
        async with app.run_test(size=(80, 24)) as pilot:
            await until(lambda: isinstance(app.screen, TrainerScreen))
            screen = app.screen
            assert isinstance(screen, TrainerScreen)
            await pilot.pause()
            command = screen.query_one(ShellCommand)
            region = command.region
            assert region.right <= 80 and region.bottom <= 24  # all of it on screen
            assert command.max_scroll_x == 0  # nothing hidden to the side
            text = copied(app, command)
            lines = text.splitlines()
            assert len(lines) > 1 and all(line.endswith(" \\") for line in lines[:-1])
            assert shlex.split(text.replace("\\\n", "")) == list(join.argv)
            assert as_the_shell_reads(text) == list(join.argv)
            await pilot.press("y")
            assert app.clipboard == shlex.join(join.argv)


def test_an_argument_wider_than_the_screen_is_alone_on_its_line_never_folded() -> None:
    argv = ["/opt/callconsole/bin/callconsole", "--config", "/" + "x" * 90 + "/t.toml", "run"]
    lines = shell_lines(argv, 40)
    assert lines == [
        "/opt/callconsole/bin/callconsole \\",
        "  --config \\",
        "  /" + "x" * 90 + "/t.toml \\",
        "  run",
    ]
    assert shlex.split("".join(line.removesuffix("\\") for line in lines)) == argv


async def test_an_argument_wider_than_the_screen_scrolls_sideways() -> None:
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    argv = ["callconsole", "--config", "/" + "x" * 90 + "/t.toml"]

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield ShellCommand(argv)

    app = One()
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.pause()
        command = app.query_one(ShellCommand)
        assert command.lines == shell_lines(argv, 40)
        assert command.query_one(Static).size.width == max(len(x) for x in command.lines)
        assert command.max_scroll_x > 0


def over_the_trainer_screen(front: str, app: CallConsoleApp, tmp_path: Path) -> Screen[Any]:
    """What the trainer opens from the training screen: a run's replay (p), a trainee's
    history (h), the unmask question (U)."""
    from console.screens.reason import ReasonScreen
    from console.screens.replay import ReplayScreen
    from console.screens.scorecard import HistoryScreen
    from console.services.training.masking import Masker
    from console.services.training.replay import Replay
    from tests.unit.test_replay import recorded_call

    if front == "replay":
        return ReplayScreen(Replay(recorded_call(), masker=Masker()), title="run 1 · Demo Agent")
    if front == "history":
        assert app.runtime is not None
        return HistoryScreen("Demo Agent", [], app.runtime.training, export_dir=tmp_path)
    return ReasonScreen("Why do you need the customer data unmasked? (audit-logged)")


@pytest.mark.parametrize("front", ["trainer", "replay", "history", "unmask question"])
async def test_a_ring_on_the_trainer_screens_is_shown_there_and_answered_from_there(
    crm: Database, front: str, tmp_path: Path
) -> None:
    """A trainer who joined their queues (F6) gets a call while the training screen, or what
    it opens (a replay, a history, the unmask question), is in front: the ring banner (caller,
    tier, queue, the answer key) and the bell there; F2 answers and brings the caller's pop
    to front."""

    assert crm.sqlite_path is not None
    number, _ = one_customer_number(crm.sqlite_path)
    async with running_pbx() as pbx:
        context = ConsoleContext(
            db=crm, pbx=PbxAddress("127.0.0.1", pbx.port, "agent", "s3cret"), timings=FAST
        )
        trainer = await context.agents.authenticate("trainer", "demo")
        assert trainer is not None
        app = CallConsoleApp(runtime=await context.session_for(trainer))
        notified = Notifications(app)
        bells: list[int] = []
        app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
        async with app.run_test(size=(120, 36)) as pilot:
            await until(lambda: isinstance(app.screen, TrainerScreen))
            agent = app.agent_screen
            assert agent is not None
            await until(lambda: agent.bar_model.link == "connected")
            await pilot.press("f6")  # a trainer joins their queues to take calls
            await until(lambda: agent.bar_model.agent_ready)
            assert isinstance(app.screen, TrainerScreen)
            if front != "trainer":
                opened = over_the_trainer_screen(front, app, tmp_path)
                await app.push_screen(opened)
                await until(lambda: app.screen is opened)
                await pilot.pause()
            in_front = app.screen
            pbx.ring(number, "Caller")
            await until(lambda: notified.any("F2 answer"))
            (banner,) = [n for n in notified.shown if "F2 answer" in n.message]
            assert banner.title == "☎ Incoming call" and "support" in str(banner.message)
            assert bells
            assert app.screen is in_front  # nothing was taken from the trainer
            await pilot.press("f2")
            await until(lambda: agent.desk.state.phase == "talking")
            await until(lambda: app.screen is agent)  # the caller's pop, in front
            card = agent.query_one(ProfileCard)
            assert card.pop is not None and card.pop.caller.e164 == number
