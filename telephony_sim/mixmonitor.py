"""MixMonitor: recording a call, muting (pausing) and stopping it, as apps/app_mixmonitor.c does.

AMI actions (app_mixmonitor.c load_module()): ``MixMonitor`` (manager_mixmonitor()),
``StopMixMonitor`` (manager_stop_mixmonitor()), ``MixMonitorMute``
(manager_mute_mixmonitor()). Events (Asterisk 16.17 / 18.3 and later, main/stasis_channels.c
types, formatted by main/manager_channels.c): ``MixMonitorStart`` when launch_monitor_thread()
has started the recording, ``MixMonitorStop`` from stop_mixmonitor_full() (so only for a
StopMixMonitor: a channel hanging up closes the file without one), ``MixMonitorMute`` with
``Direction`` and ``State`` (1 muted, 0 not) after a mute was set. Each is the channel's block
plus those fields. They travel through stasis, so the action's ``Response`` reaches the client
first: the simulator publishes them on the next turn of its clock.

res_monitor's ``Monitor`` / ``PauseMonitor`` / ``UnpauseMonitor`` are not modelled: res_monitor
is deprecated in Asterisk 16-20 and removed in 21; MixMonitorMute is how a recording is paused.

The artifact. A real MixMonitor writes audio; the simulator writes what was said: the call's
``Transcript`` user events (the scenario's speech, telephony_sim/engine.py) heard while the
recording ran, one line each with its offset from the start, and a ``(muted …)`` line where a
mute cut speech out (the words said then are not in the file, as muted audio is silence). The
file is written when the recording stops (StopMixMonitor, or its channel hanging up), at the
``File`` path inside the simulator's recordings folder (`Recordings.root`): the name comes from
an AMI client and is untrusted, so a path that leaves the folder is refused ("Could not start
monitoring channel", logged with the reason), as are names with control characters.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from telephony_sim.pbx import Channel, Pbx, SimError

log = logging.getLogger(__name__)

DIRECTIONS = ("read", "write", "both")


@dataclass
class Recording:
    """One MixMonitor on one channel."""

    chan: Channel
    path: Path
    reference: str  # the File as given (what the console stores)
    append: bool
    started: float
    lines: list[tuple[float, str, str]] = field(default_factory=list)  # (time, speaker, text)
    mutes: list[tuple[float, float]] = field(default_factory=list)  # closed muted spans
    muted_since: float | None = None


def _ast_false(value: str) -> bool:
    return value.strip().lower() in {"no", "false", "n", "f", "0", "off"}


def _ast_true(value: str) -> bool:
    return value.strip().lower() in {"yes", "true", "y", "t", "1", "on"}


class Recordings:
    """Every running MixMonitor, keyed by channel name (oldest first, as the datastores)."""

    def __init__(self, pbx: Pbx, now: Callable[[], float], root: Path | None) -> None:
        self.pbx = pbx
        self._now = now
        self.root = root
        self.running: dict[str, list[Recording]] = {}
        self.written: list[Path] = []  # artifacts written, in order (tests and logs)
        pbx.hangup_hooks.append(self._hung_up)

    def now(self) -> float:
        return self._now()

    # Actions ---------------------------------------------------------------------------------

    def start(self, channel: str, file: str, options: str) -> Recording:
        """MixMonitor: refuses as manager_mixmonitor() does, else starts recording."""
        chan = self.pbx.channels.get(channel)
        if chan is None:
            raise SimError("No such channel")
        path = self._path(file)
        if path is None:
            raise SimError("Could not start monitoring channel")
        rec = Recording(chan, path, file, "a" in options, self.now())
        self.running.setdefault(chan.name, []).append(rec)
        return rec

    def announce_start(self, rec: Recording) -> None:
        """mixmonitor_exec(): MIXMONITOR_FILENAME set; launch_monitor_thread(): the event."""
        if rec.chan.name in self.pbx.channels:
            self.pbx.var_set(rec.chan, "MIXMONITOR_FILENAME", str(rec.path))
            if self.pbx.listeners:
                self.pbx.emit_call("MixMonitorStart", rec.chan)

    def stop(self, channel: str) -> Channel:
        """StopMixMonitor: the oldest recording on the channel (datastore_find(NULL))."""
        chan = self.pbx.channels.get(channel)
        if chan is None:
            raise SimError("No such channel")
        recs = self.running.get(chan.name)
        if not recs:
            raise SimError("Could not stop monitoring channel")
        rec = recs.pop(0)
        if not recs:
            del self.running[chan.name]
        self._close(rec)
        return chan

    def announce_stop(self, chan: Channel) -> None:
        if self.pbx.listeners and chan.name in self.pbx.channels:
            self.pbx.emit_call("MixMonitorStop", chan)

    def mute(self, channel: str, direction: str, state: str) -> tuple[Channel, str, str]:
        """MixMonitorMute: checks in manager_mute_mixmonitor()'s order. A ``State`` that is not
        false mutes (clearmute = ast_false(state)); the event says ast_true(state) as 1/0."""
        if not direction.strip():
            raise SimError("No direction specified. Must be read, write or both")
        if direction.strip().lower() not in DIRECTIONS:
            raise SimError("Invalid direction specified. Must be read, write or both")
        if not channel.strip():
            raise SimError("No channel specified")
        if not state.strip():
            raise SimError("No state specified")
        chan = self.pbx.channels.get(channel.strip())
        if chan is None:
            raise SimError("No such channel")
        recs = self.running.get(chan.name)
        if not recs:
            raise SimError("Cannot set mute flag")  # no MixMonitor audiohook on the channel
        rec = recs[0]  # ast_audiohook_set_mute(): the first hook of the type
        now = self.now()
        if not _ast_false(state):
            if rec.muted_since is None:
                rec.muted_since = now
        elif rec.muted_since is not None:
            rec.mutes.append((rec.muted_since, now))
            rec.muted_since = None
        return chan, direction.strip(), "1" if _ast_true(state) else "0"

    def announce_mute(self, chan: Channel, direction: str, state: str) -> None:
        if self.pbx.listeners and chan.name in self.pbx.channels:
            self.pbx.emit_call("MixMonitorMute", chan, [("Direction", direction), ("State", state)])

    # What is heard ---------------------------------------------------------------------------

    def heard(self, linkedid: str, speaker: str, text: str) -> None:
        """A transcript line spoken on the call ``linkedid``: kept by each recording of it
        (muted ones keep it out)."""
        if not self.running:
            return
        now = self.now()
        for recs in self.running.values():
            for rec in recs:
                if rec.chan.linkedid == linkedid and rec.muted_since is None:
                    rec.lines.append((now, speaker, text))

    # Files -----------------------------------------------------------------------------------

    def _path(self, file: str) -> Path | None:
        """``file`` inside the recordings folder, or None (logged) when it is not allowed."""
        if self.root is None:
            log.warning("MixMonitor refused: no recordings folder configured")
            return None
        if not file.strip() or any(ord(c) < 32 or ord(c) == 127 for c in file):
            log.warning("MixMonitor refused: File is empty or has control characters")
            return None
        root = self.root.expanduser().resolve()
        candidate = Path(file)
        path = (candidate if candidate.is_absolute() else root / candidate).resolve()
        if not path.is_relative_to(root) or path == root:
            log.warning("MixMonitor refused: %r is outside %s", file, root)
            return None
        return path

    def _hung_up(self, chan: Channel) -> None:
        for rec in self.running.pop(chan.name, []):
            self._close(rec)  # the file closes with the channel; no MixMonitorStop

    def _close(self, rec: Recording) -> None:
        now = self.now()
        if rec.muted_since is not None:
            rec.mutes.append((rec.muted_since, now))
            rec.muted_since = None
        try:
            rec.path.parent.mkdir(parents=True, exist_ok=True)
            with rec.path.open("a" if rec.append else "w", encoding="utf-8") as out:
                out.write(render(rec, now))
        except OSError as exc:
            log.warning("MixMonitor: cannot write %s: %s", rec.path, exc.strerror or exc)
            return
        self.written.append(rec.path)


def _clock(seconds: float) -> str:
    whole = max(int(seconds), 0)
    return f"{whole // 60:02d}:{whole % 60:02d}"


def render(rec: Recording, end: float) -> str:
    """The artifact's text: a header, the lines heard and the muted spans, by time."""
    out = [
        "# telephony_sim recording (a transcript: the simulator has no audio)\n",
        f"# channel: {rec.chan.name}\n",
        f"# uniqueid: {rec.chan.uniqueid}\n",
        f"# linkedid: {rec.chan.linkedid}\n",
        f"# length: {_clock(end - rec.started)}\n",
    ]
    items: list[tuple[float, int, str]] = []
    for at, speaker, text in rec.lines:
        clean = "".join(c if c.isprintable() else " " for c in text)
        items.append((at, 1, f"[{_clock(at - rec.started)}] {speaker}: {clean}\n"))
    for begin, finish in rec.mutes:
        span = f"{_clock(begin - rec.started)}-{_clock(finish - rec.started)}"
        items.append((begin, 0, f"[{span}] (muted {finish - begin:.0f} s)\n"))
    out += [line for _at, _order, line in sorted(items, key=lambda item: item[:2])]
    return "".join(out)
