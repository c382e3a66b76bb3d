"""What the user sees, read through Textual's public API only.

- `screen_lines` / `screen_text`: the terminal's text, from `App.export_screenshot()` (the SVG
  Textual draws for screenshots: every row, background screens included).
- `lines_of`: the rows a widget covers, cropped to its `region`.
- `drawn_segments`: the styled segments every displayed widget draws (`Widget.render_lines`,
  what Textual's compositor calls), to check styles such as links.
- `Notifications`: the notifications an app was asked to show, recorded at `App.notify`
  (every `Widget.notify` goes through it). Textual has no public read of its current toasts.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len
from rich.segment import Segment
from textual.app import App
from textual.geometry import Region
from textual.widget import Widget

# One run of text in Rich's SVG export: its x (in pixels) and its row (the clip path's number).
_RUN = re.compile(
    r'<text class="[^"]*" x="([\d.]+)" y="[\d.]+" textLength="[\d.]+" '
    r'clip-path="url\(#[^)]*-line-(\d+)\)">(.*?)</text>',
    re.DOTALL,
)
_CELL_PX = 20 * 0.61  # Rich's export_svg: font size 20, a cell 0.61 of it wide


def _screen_cells(app: App[Any]) -> list[list[str]]:
    """Every row of the terminal, a string per column ("" where a wide character spills)."""
    rows: list[list[str]] = [[" "] * app.size.width for _ in range(app.size.height)]
    for x, row, escaped in _RUN.findall(app.export_screenshot()):
        cells = rows[int(row)]
        column = round(float(x) / _CELL_PX)
        for char in html.unescape(escaped).replace("\xa0", " "):
            if char == "\n":  # Rich ends a row's last run with its line break
                continue
            width = cell_len(char)
            if width == 0:  # a combining mark or a zero-width character joins the cell before
                if column:
                    cells[column - 1] += char
                continue
            if column + width > len(cells):
                break
            cells[column] = char
            for extra in range(1, width):
                cells[column + extra] = ""
            column += width
    return rows


def screen_lines(app: App[Any]) -> list[str]:
    """Every row of the terminal as plain text."""
    return ["".join(cells) for cells in _screen_cells(app)]


def screen_text(app: App[Any]) -> str:
    """Everything on the terminal as plain text, a line per row."""
    return "\n".join(screen_lines(app))


def lines_of(app: App[Any], widget: Widget) -> list[str]:
    """The text `widget` shows on the terminal, a line per row, trailing blanks dropped."""
    region = widget.region
    rows = _screen_cells(app)[region.y : region.bottom]
    return ["".join(cells[region.x : region.right]).rstrip() for cells in rows]


def drawn_segments(app: App[Any]) -> list[Segment]:
    """The styled segments every displayed widget of the current screen draws."""
    segments: list[Segment] = []
    for widget in app.screen.query("*"):
        if not widget.display or not widget.region:
            continue
        width, height = widget.outer_size
        for strip in widget.render_lines(Region(0, 0, width, height)):
            segments += list(strip)
    return segments


@dataclass(frozen=True)
class Notified:
    message: str
    title: str
    severity: str


class Notifications:
    """Records every notification `app` is asked to show, then shows it as Textual would."""

    def __init__(self, app: App[Any]) -> None:
        self.shown: list[Notified] = []
        show: Callable[..., None] = app.notify

        def notify(
            message: str, *, title: str = "", severity: Any = "information", **kw: Any
        ) -> None:
            self.shown.append(Notified(str(message), title, str(severity)))
            show(message, title=title, severity=severity, **kw)

        app.notify = notify  # type: ignore[method-assign]

    def messages(self) -> list[str]:
        return [n.message for n in self.shown]

    def any(self, text: str) -> bool:
        """Was a notification containing `text` shown?"""
        return any(text in n.message for n in self.shown)
