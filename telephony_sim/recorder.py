"""Recording every frame the AMI server sends, and serving a recording back over AMI.

Format (JSON lines, UTF-8): a header line
``{"format": "callconsole-ami-recording", "version": 1, "started": "<ISO 8601 UTC>"}``
then one line per frame sent:
``{"t": 12.5, "kind": "event"|"reply", "client": N, "frame": "Event: …\\r\\n…\\r\\n\\r\\n"}``
where ``t`` is seconds since the recording started, ``kind`` says whether the frame was an
event fanned out to every subscriber (``client`` 0, recorded once) or a reply to client ``N``.
Replay serves the ``event`` frames at their recorded pace divided by ``--speed``; replies
belonged to the recording's own clients and are not replayed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from callkit.ami_frames import Message
from telephony_sim.ami_actions import Action, Fields, error
from telephony_sim.ami_server import AmiServer

log = logging.getLogger(__name__)

FORMAT = "callconsole-ami-recording"
VERSION = 1
READ_ONLY = "replay: read-only"
_FLUSH_EVERY_S = 0.5


class RecordingError(Exception):
    """A recording that cannot be read; the message names the file and line."""


class Recorder:
    """Writes frames to a JSON-lines file (see the module docstring for the format).

    ``now`` is the time source (monotonic seconds by default); ``t`` is relative to the first
    call. The file is flushed at most every half second and on ``close()``, so recording does
    not cost a system call per frame.
    """

    def __init__(self, path: Path, *, now: Callable[[], float] = time.monotonic) -> None:
        self._file: IO[str] = path.open("w", encoding="utf-8")
        self._now = now
        self._start = now()
        self._last_flush = time.monotonic()
        header = {
            "format": FORMAT,
            "version": VERSION,
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        self._file.write(json.dumps(header) + "\n")

    def record(self, kind: str, client: int, data: bytes) -> None:
        """Append one frame sent by the server."""
        line = {
            "t": round(self._now() - self._start, 6),
            "kind": kind,
            "client": client,
            "frame": data.decode("utf-8", errors="replace"),
        }
        self._file.write(json.dumps(line, ensure_ascii=False) + "\n")
        wall = time.monotonic()
        if wall - self._last_flush >= _FLUSH_EVERY_S:
            self._file.flush()
            self._last_flush = wall

    def close(self) -> None:
        """Flush and close the file."""
        if not self._file.closed:
            self._file.flush()
            self._file.close()


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """One event frame from a recording."""

    t: float
    name: str
    data: bytes


def read_events(path: Path) -> Iterator[RecordedEvent]:
    """Stream the event frames of a recording; raise ``RecordingError`` at the first bad line."""
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read recording: {exc.strerror or exc}") from None
    with handle:
        try:
            yield from _parse(path, handle)
        except UnicodeDecodeError:
            raise RecordingError(f"{path}: not a UTF-8 text file") from None


def _parse(path: Path, handle: IO[str]) -> Iterator[RecordedEvent]:
    lineno = 0
    for lineno, line in enumerate(handle, start=1):
        where = f"{path}:{lineno}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RecordingError(f"{where}: not a JSON line ({exc.msg})") from None
        if not isinstance(record, dict):
            raise RecordingError(f"{where}: expected a JSON object")
        if lineno == 1:
            if record.get("format") != FORMAT or record.get("version") != VERSION:
                raise RecordingError(f"{where}: not a {FORMAT} version {VERSION} file")
            continue
        t, kind, frame = record.get("t"), record.get("kind"), record.get("frame")
        if not isinstance(t, int | float) or t < 0:
            raise RecordingError(f"{where}: 't' must be a non-negative number")
        if not isinstance(frame, str) or kind not in ("event", "reply"):
            raise RecordingError(f"{where}: needs 'kind' (event|reply) and a 'frame' string")
        if kind != "event":
            continue
        first_line = frame.split("\r\n", 1)[0]
        key, _, name = first_line.partition(":")
        if key.strip().lower() != "event" or not name.strip() or not frame.endswith("\r\n\r\n"):
            raise RecordingError(f"{where}: event frame must start with 'Event:' and end CRLF CRLF")
        yield RecordedEvent(float(t), name.strip(), frame.encode("utf-8"))
    if lineno == 0:
        raise RecordingError(f"{path}: empty file, not a recording")


def check_recording(path: Path) -> int:
    """Read the whole recording once; return its number of events or raise RecordingError."""
    return sum(1 for _ in read_events(path))


def _read_only(request: Message) -> list[Fields]:
    return [error(request, READ_ONLY)]


def replay_actions() -> Mapping[str, Action]:
    """Replays serve no PBX actions: everything beyond the session ones is refused."""
    return {}


def replay_server(users: Mapping[str, str], *, host: str, port: int) -> AmiServer:
    """An AMI server that refuses every action except Login/Logoff/Ping/Events/Challenge."""
    return AmiServer(replay_actions(), users, host=host, port=port, fallback=_read_only)


async def replay(
    path: Path,
    server: AmiServer,
    *,
    speed: float,
    wait_for_client: bool = True,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> int:
    """Publish the recording's events through ``server`` at ``speed``; return how many.

    With ``wait_for_client`` the clock starts when the first client listens to events, so a
    console connecting a moment after the replay starts does not miss the first calls.
    ``clock`` (default: the loop's) and ``sleep`` pace it; a test passes a virtual pair.
    """
    if speed <= 0:
        raise ValueError("speed must be positive")
    if wait_for_client:
        await server.subscribed.wait()
    now = clock or asyncio.get_running_loop().time
    start = now()
    sent = 0
    for event in read_events(path):
        delay = start + event.t / speed - now()
        if delay > 0:
            await sleep(delay)
        server.publish_frame(event.name, event.data)
        sent += 1
        if sent % 256 == 0:
            await asyncio.sleep(0)  # keep serving clients during a burst of same-time events
    log.info("replay finished: %d events from %s", sent, path)
    return sent
