"""An Asterisk-style queue_log: ``epoch|callid|queue|agent|event|data1|data2|data3``.

Written only when asked for (``--queue-log FILE``). Events and their data, as app_queue logs them:

- ENTERQUEUE ``|url|callerid``; CONNECT ``holdtime|bridged uniqueid|ringtime``;
- COMPLETECALLER / COMPLETEAGENT ``holdtime|calltime|origposition``;
- ABANDON / EXITWITHTIMEOUT / EXITEMPTY ``position|origposition|waittime``;
- RINGNOANSWER ``ringtime in ms``; TRANSFER ``extension|context|holdtime|calltime``;
- ADDMEMBER / REMOVEMEMBER (callid ``NONE``); PAUSE / UNPAUSE ``reason``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO


class QueueLog:
    """Appends queue_log lines to a text file (or any text stream)."""

    def __init__(self, target: Path | TextIO) -> None:
        if isinstance(target, Path):
            # Line-buffered, as Asterisk writes it: a report read meanwhile sees whole lines.
            self._stream: TextIO = target.open("a", encoding="utf-8", newline="\n", buffering=1)
            self._owned = True
        else:
            self._stream = target
            self._owned = False

    def write(
        self, epoch: float, callid: str, queue: str, agent: str, event: str, *data: object
    ) -> None:
        """One line; ``|`` and newlines inside values are replaced so a line stays parseable."""
        parts = [str(int(epoch)), callid, queue, agent or "NONE", event]
        parts += [str(d) for d in data]
        line = "|".join(p.replace("|", "/").replace("\n", " ").replace("\r", " ") for p in parts)
        self._stream.write(line + "\n")

    def close(self) -> None:
        """Flush, and close the file if this writer opened it."""
        self._stream.flush()
        if self._owned:
            self._stream.close()
