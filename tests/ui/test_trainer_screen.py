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

import pytest

from console.app import CallConsoleApp
from console.cli import write_trainee_settings
from console.db import Database
from console.factory import ConsoleContext, PbxAddress
from console.screens.trainer import TrainerScreen
from console.widgets.command import ShellCommand, shell_lines
from tests.pbx import running_pbx
from tests.ui.conftest import FAST, until
from tests.ui.test_replay_screen import screen_text


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
        app = CallConsoleApp(runtime=await context.runtime_for(trainer))
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
