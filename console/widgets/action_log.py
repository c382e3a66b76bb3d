"""The agent's actions and the call's steps as a timeline (replays): the latest lines that fit."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from console.services.training.replay_state import ActionLine

_STYLES = {"action": "", "call": "$text-muted", "warning": "bold $text-warning"}


class ActionLog(Static):
    """The most recent timeline lines, newest at the bottom, `HH:MM:SS text`, all literal.

    A fixed-size pane redrawn only when its lines change (a repaint, never a layout pass).
    """

    DEFAULT_CSS = """
    ActionLog {
        height: 1fr; width: 1fr; padding: 0 1; overflow: hidden;
        text-wrap: nowrap; text-overflow: ellipsis;
    }
    """
    EMPTY = "no actions yet"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.lines: tuple[ActionLine, ...] = ()

    def on_mount(self) -> None:
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def show(self, lines: tuple[ActionLine, ...]) -> bool:
        """Show `lines` (oldest first); False when they are what is shown already."""
        if lines is self.lines or lines == self.lines:
            return False
        self.lines = lines
        self._draw()
        return True

    def _draw(self) -> None:
        height = max(1, self.content_size.height)
        shown = self.lines[-height:]
        if not shown:
            self.update(Content.styled(self.EMPTY, "$text-muted"), layout=False)
            return
        rows = [
            Content.assemble(
                (f"{line.at:%H:%M:%S} ", "$text-muted"), (line.text, _STYLES.get(line.kind, ""))
            )
            for line in shown
        ]
        self.update(Content("\n").join(rows), layout=False)
