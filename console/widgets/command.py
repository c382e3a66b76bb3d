"""A shell command shown so that a terminal copy of it runs as shown.

Soft wrapping would break a long path in the middle, and a copy would then hold a newline
inside the path. So the command is split only between arguments, every line but the last ends
with `` \\`` (a shell continuation), the lines never wrap, and an argument wider than the screen
scrolls sideways rather than being cut or folded.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.containers import HorizontalScroll
from textual.content import Content
from textual.widgets import Static

CONTINUATION = " \\"
INDENT = "  "


def shell_lines(argv: Sequence[str], width: int) -> list[str]:
    """``argv`` shell-quoted, packed into lines of at most ``width`` cells where it can be,
    split only between arguments (an option stays with its value when they fit together);
    every line but the last ends with a continuation, so the lines pasted together into a
    shell run ``argv``. An argument that cannot fit is alone on its line (wider than
    ``width``)."""
    words = [shlex.quote(arg) for arg in argv]
    room = width - cell_len(INDENT) - cell_len(CONTINUATION)
    units: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("-") and i + 1 < len(words) and not words[i + 1].startswith("-"):
            pair = f"{word} {words[i + 1]}"
            if cell_len(pair) <= room:
                units.append(pair)
                i += 2
                continue
        units.append(word)
        i += 1
    lines: list[str] = []
    line = ""
    for unit in units:
        if not line:
            line = (INDENT if lines else "") + unit
        elif cell_len(line) + 1 + cell_len(unit) + cell_len(CONTINUATION) <= width:
            line += " " + unit
        else:
            lines.append(line + CONTINUATION)
            line = INDENT + unit
    if line:
        lines.append(line)
    return lines


class ShellCommand(HorizontalScroll):
    """``argv`` as lines a terminal copy gets whole (see the module docstring)."""

    DEFAULT_CSS = """
    ShellCommand {
        height: auto; overflow-x: auto; overflow-y: hidden; scrollbar-size-horizontal: 1;
    }
    ShellCommand > Static { width: auto; height: auto; text-wrap: nowrap; }
    """

    def __init__(self, argv: Sequence[str], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.argv = tuple(argv)
        self.lines: list[str] = shell_lines(self.argv, 80)

    @property
    def text(self) -> str:
        """The command as shown (and as a terminal copy of it reads)."""
        return "\n".join(self.lines)

    def compose(self) -> ComposeResult:
        yield Static(Content(self.text), markup=False)

    def on_resize(self, event: events.Resize) -> None:
        lines = shell_lines(self.argv, max(20, event.size.width))
        if lines != self.lines:
            self.lines = lines
            self.query_one(Static).update(Content(self.text))
