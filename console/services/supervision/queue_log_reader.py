"""Read an Asterisk queue_log into a `CallLedger`: one line at a time, bad lines counted.

A line is ``epoch|callid|queue|agent|event|data1|data2|…`` (what app_queue writes, and what
``telephony_sim --queue-log`` writes). Each caller or member event becomes one ledger call:

- ENTERQUEUE → ``enter``;
- CONNECT (holdtime|bridged uniqueid|ringtime) → ``connect``, wait = holdtime;
- ABANDON (position|origposition|waittime) → ``abandon``;
- EXITWITHTIMEOUT, EXITEMPTY (position|origposition|waittime) and EXITWITHKEY
  (key|position|origposition|waittime) → ``exit``, back-dated when the entry was not seen;
- COMPLETECALLER, COMPLETEAGENT (holdtime|calltime|origposition) → ``complete``;
- TRANSFER, BLINDTRANSFER (extension|context|holdtime|calltime|…) and ATTENDEDTRANSFER
  (method|method data…|holdtime|calltime|origposition) → ``complete``, transferred;
- ADDMEMBER (data ``PAUSED`` when added paused), REMOVEMEMBER, PAUSE (reason), UNPAUSE →
  ``member``.

PAUSEALL/UNPAUSEALL are followed by one PAUSE/UNPAUSE per queue, which carry the change, so
they (and RINGNOANSWER, RINGCANCELED, DID, INFO, QUEUESTART, CONFIGRELOAD, AGENTDUMP, …) change
nothing. An event this reader does not know is counted, not an error: sites add their own with
QueueLog(). A line that cannot be read (too few fields, a time or a duration that is not a
number, a caller event without a call id) is skipped and counted; the first few are kept with
their line numbers for the one message the user sees. Nothing here raises on bad content.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from console.services.supervision.call_ledger import CallLedger
from console.services.text import clean_text

MAX_LINE = 16_384  # characters; a longer "line" (a binary file, a missing newline) is bad
KEEP_BAD = 3  # bad lines quoted in the message

_CALLER_EVENTS = frozenset(
    {
        "ENTERQUEUE",
        "CONNECT",
        "ABANDON",
        "EXITWITHTIMEOUT",
        "EXITEMPTY",
        "EXITWITHKEY",
        "COMPLETECALLER",
        "COMPLETEAGENT",
        "TRANSFER",
        "BLINDTRANSFER",
        "ATTENDEDTRANSFER",
    }
)
_MEMBER_EVENTS = frozenset({"ADDMEMBER", "REMOVEMEMBER", "PAUSE", "UNPAUSE"})
#: Known events that change no figure here.
INFORMATIONAL_EVENTS = frozenset(
    {
        "PAUSEALL",
        "UNPAUSEALL",
        "RINGNOANSWER",
        "RINGCANCELED",
        "DID",
        "INFO",
        "QUEUESTART",
        "CONFIGRELOAD",
        "SYSCOMPAT",
        "AGENTDUMP",
        "AGENTLOGIN",
        "AGENTLOGOFF",
        "AGENTCALLBACKLOGIN",
        "AGENTCALLBACKLOGOFF",
        "CALLERONHOLD",
        "CALLEROFFHOLD",
    }
)
_NO_ID = frozenset({"", "NONE"})


class QueueLogError(ValueError):
    """One line could not be read; the message says why."""


class QueueLogUnreadable(OSError):
    """The file itself cannot be opened; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class QueueLogLine:
    """One parsed line (fields as written, the event upper-cased)."""

    epoch: float
    callid: str
    queue: str
    agent: str
    event: str
    data: tuple[str, ...] = ()


@dataclass(slots=True)
class ReadStats:
    """What reading found: counts, the first bad lines, the time span of the good ones."""

    source: str = "queue_log"
    lines: int = 0  # lines read (blank ones included)
    used: int = 0  # lines that changed the ledger
    bad: int = 0
    first_bad: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)
    unknown_events: Counter[str] = field(default_factory=Counter)
    first_epoch: float | None = None
    last_epoch: float | None = None
    stopped_early: bool = False  # reading stopped at ``until``

    def note_bad(self, line_no: int, reason: str) -> None:
        """Count one bad line (its reason kept for the first few)."""
        self.bad += 1
        if len(self.first_bad) < KEEP_BAD:
            self.first_bad.append((line_no, reason))

    def message(self) -> str | None:
        """One line about the bad lines, e.g. ``queue_log: 2 bad lines skipped (f:3: …)``."""
        if not self.bad:
            return None
        shown = "; ".join(f"{self.source}:{n}: {why}" for n, why in self.first_bad)
        more = ", …" if self.bad > len(self.first_bad) else ""
        noun = "line" if self.bad == 1 else "lines"
        return f"{self.bad} bad {noun} of {self.lines} skipped ({shown}{more})"


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise QueueLogError(f"{what} {_quote(text)} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise QueueLogError(f"{what} {_quote(text)} is not a time or duration")
    return value


def _quote(text: str) -> str:
    return repr(clean_text(text, max_length=24, single_line=True))


def parse_line(text: str) -> QueueLogLine:
    """One queue_log line (without its newline); QueueLogError says what is wrong with it."""
    if len(text) > MAX_LINE:
        raise QueueLogError(f"line longer than {MAX_LINE} characters")
    if "\x00" in text:
        raise QueueLogError("binary data (NUL bytes)")
    parts = text.rstrip("\r").split("|")
    if len(parts) < 5:
        raise QueueLogError(f"{len(parts)} fields, expected epoch|callid|queue|agent|event|…")
    epoch = _number(parts[0].strip(), "time")
    event = parts[4].strip().upper()
    if not event:
        raise QueueLogError("no event name")
    return QueueLogLine(
        epoch=epoch,
        callid=parts[1].strip(),
        queue=parts[2].strip(),
        agent=parts[3].strip(),
        event=event,
        data=tuple(p.strip() for p in parts[5:]),
    )


def _datum(line: QueueLogLine, index: int, what: str) -> float:
    try:
        text = line.data[index]
    except IndexError:
        raise QueueLogError(f"{line.event} without its {what}") from None
    return _number(text, f"{line.event} {what}")


class QueueLogReader:
    """Feeds parsed lines to a ledger (the translation table is in the module docstring)."""

    def __init__(self, ledger: CallLedger) -> None:
        self.ledger = ledger

    def apply(self, line: QueueLogLine) -> bool:
        """Apply one line; False when its event changes nothing. QueueLogError if malformed."""
        event = line.event
        if event in _CALLER_EVENTS:
            self._caller(line)
            return True
        if event in _MEMBER_EVENTS:
            self._member(line)
            return True
        return False

    def _caller(self, line: QueueLogLine) -> None:
        if line.callid.upper() in _NO_ID or line.queue.upper() in _NO_ID:
            raise QueueLogError(f"{line.event} without a call id or queue")
        ledger, event, at = self.ledger, line.event, line.epoch
        callid, queue, agent = line.callid, line.queue, line.agent
        if event == "ENTERQUEUE":
            ledger.enter(callid, queue, at)
        elif event == "CONNECT":
            ledger.connect(callid, queue, agent, _datum(line, 0, "holdtime"), at)
        elif event == "ABANDON":
            ledger.abandon(callid, queue, _datum(line, 2, "waittime"), at)
        elif event in ("EXITWITHTIMEOUT", "EXITEMPTY"):
            ledger.exit(callid, queue, _datum(line, 2, "waittime"), at, back_date=True)
        elif event == "EXITWITHKEY":
            # key|position|origposition|waittime; old versions wrote only key|position.
            wait = _datum(line, 3, "waittime") if len(line.data) > 3 else None
            ledger.exit(callid, queue, wait, at, back_date=True)
        else:
            if event in ("COMPLETECALLER", "COMPLETEAGENT"):
                hold, talk = _datum(line, 0, "holdtime"), _datum(line, 1, "calltime")
            elif event == "ATTENDEDTRANSFER":
                # method|method data (one or two fields)|holdtime|calltime|origposition
                if len(line.data) < 5:
                    raise QueueLogError("ATTENDEDTRANSFER without its holdtime and calltime")
                n = len(line.data)
                hold, talk = _datum(line, n - 3, "holdtime"), _datum(line, n - 2, "calltime")
            else:  # TRANSFER, BLINDTRANSFER: extension|context|holdtime|calltime|origposition
                hold, talk = _datum(line, 2, "holdtime"), _datum(line, 3, "calltime")
            transferred = event.endswith("TRANSFER")
            ledger.complete(callid, queue, agent, hold, talk, at, transferred=transferred)

    def _member(self, line: QueueLogLine) -> None:
        if line.agent.upper() in _NO_ID or line.queue.upper() in _NO_ID:
            raise QueueLogError(f"{line.event} without a member or queue")
        event, first = line.event, (line.data[0] if line.data else "")
        if event == "ADDMEMBER":
            paused = first.upper() == "PAUSED"
            self.ledger.member(line.agent, line.queue, line.epoch, logged_in=True, paused=paused)
        elif event == "REMOVEMEMBER":
            self.ledger.member(line.agent, line.queue, line.epoch, logged_in=False, paused=False)
        else:
            paused = event == "PAUSE"
            self.ledger.member(
                line.agent,
                line.queue,
                line.epoch,
                logged_in=True,
                paused=paused,
                reason=first if paused else "",
            )

    def feed(self, lines: Iterable[str], stats: ReadStats, until: float | None = None) -> None:
        """Parse and apply each line, counting into ``stats``; stop after a line past ``until``."""
        for text in lines:
            stats.lines += 1
            if not text.strip():
                continue
            try:
                line = parse_line(text.rstrip("\n"))
                used = self.apply(line)
            except QueueLogError as exc:
                stats.note_bad(stats.lines, str(exc))
                continue
            if stats.first_epoch is None:
                stats.first_epoch = line.epoch
            stats.last_epoch = max(stats.last_epoch or line.epoch, line.epoch)
            if used:
                stats.used += 1
            elif line.event not in INFORMATIONAL_EVENTS:
                stats.unknown_events[line.event] += 1
            if until is not None and line.epoch > until:
                stats.stopped_early = True
                return


def _bounded_lines(stream: TextIO) -> Iterator[str]:
    """The stream's lines, a line longer than MAX_LINE cut to MAX_LINE + 1 characters (so it is
    reported as bad) without ever holding more than that in memory."""
    while True:
        chunk = stream.readline(MAX_LINE + 1)
        if not chunk:
            return
        if len(chunk) > MAX_LINE and not chunk.endswith("\n"):
            while True:  # skip the rest of the overlong line
                rest = stream.readline(MAX_LINE)
                if not rest or rest.endswith("\n"):
                    break
        yield chunk


def read_queue_log(path: Path, ledger: CallLedger, *, until: float | None = None) -> ReadStats:
    """Stream ``path`` into ``ledger``; QueueLogUnreadable if the file cannot be opened.

    ``until``: stop after the first line later than this epoch (a report needs the lines a
    while past its period, for the calls that entered in it, but not the years after).
    Undecodable bytes are replaced, so they make a bad line, not an error.
    """
    stats = ReadStats(source=str(path))
    try:
        stream = path.open("r", encoding="utf-8", errors="replace")
    except OSError as exc:
        raise QueueLogUnreadable(f"{path}: cannot read: {exc.strerror or exc}") from None
    with stream:
        try:
            QueueLogReader(ledger).feed(_bounded_lines(stream), stats, until)
        except OSError as exc:  # e.g. a directory, or an I/O error mid-file
            raise QueueLogUnreadable(f"{path}: cannot read: {exc.strerror or exc}") from None
    return stats
