"""The live transcript of the caller's speech (UserEvent: Transcript)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from console.services.text import clean_text


class TranscriptLog(RichLog):
    """Lines of speech, appended as they arrive; rendered as plain text, never markup."""

    DEFAULT_CSS = """
    TranscriptLog { height: 4; border-top: solid $panel-lighten-2; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False, wrap=True, highlight=False, max_lines=500)

    def add_line(self, speaker: str, text: str) -> None:
        """Append one line: `speaker: text`, both sanitised and literal."""
        who = clean_text(speaker, single_line=True, max_length=20) or "caller"
        line = Text.assemble((f"{who}: ", "bold"), clean_text(text, max_length=2000))
        self.write(line)
