"""A checkbox whose state reads without colour: ``[✔]`` ticked, ``[ ]`` not."""

from __future__ import annotations

from textual.content import Content
from textual.style import Style
from textual.widgets import Checkbox


class Tick(Checkbox):
    """Textual's Checkbox draws the same ``X`` on and off and tells them apart by colour
    only; this one draws a tick when on and a blank when off."""

    @property
    def _button(self) -> Content:
        button_style = self.get_visual_style("toggle--button")
        side_style = Style(foreground=button_style.background, background=self.background_colors[1])
        return Content.assemble(
            (self.BUTTON_LEFT, side_style),
            ("✔" if self.value else " ", button_style),
            (self.BUTTON_RIGHT, side_style),
        )
