"""Scripted calls and training runs (simulator only), as the call tracker hears of them.

A scenario announces each scripted call with ``UserEvent: ScriptedCall`` (its Linkedid, script
and trainer's run); `ScriptedCalls` remembers it until the call's first leg hangs up, so the
call's `CallOffered` names the script and the run. A trainer's run on an agent's phone is
announced with ``UserEvent: TrainingStarted`` / ``TrainingFinished``; `training_changed` reads
one into a `TrainingChanged`. See docs/cti.md.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from callkit.ami_frames import Message
from console.cti.fields import as_int, need
from console.cti.protocol import CallOffered, CtiEvent, TrainingChanged

#: Scripted calls remembered at most (the oldest is forgotten first): bounded memory even when
#: calls' Hangups are missed.
MAX_SCRIPTS = 1024


class ScriptedCalls:
    """The scripted calls in progress: Linkedid -> (script id, training run id)."""

    def __init__(self, limit: int = MAX_SCRIPTS) -> None:
        self._limit = limit
        self._scripts: dict[str, tuple[str, str]] = {}

    def __len__(self) -> int:
        return len(self._scripts)

    def remember(self, msg: Message) -> bool:
        """Remember a ScriptedCall frame's script and run until the call's first leg hangs up;
        False when it was already remembered as such (a duplicate). Raises `Malformed` for a
        frame naming no call."""
        linkedid = msg.get("Linkedid").strip() or need(msg, "Uniqueid")
        entry = (msg.get("Script").strip(), msg.get("TrainingRun").strip())
        if self._scripts.get(linkedid) == entry:
            return False
        self._scripts.pop(linkedid, None)  # re-inserted as the newest
        self._scripts[linkedid] = entry
        if len(self._scripts) > self._limit:
            del self._scripts[next(iter(self._scripts))]
        return True

    def hung_up(self, msg: Message, uniqueid: str) -> None:
        """A Hangup of channel ``uniqueid``: the call's first leg gone, so is the call."""
        if msg.get("Linkedid").strip() == uniqueid:
            self._scripts.pop(uniqueid, None)

    def tag(self, out: list[CtiEvent]) -> None:
        """Name the script and training run on the offers of scripted calls in ``out``."""
        if not self._scripts:
            return
        for i, event in enumerate(out):
            if isinstance(event, CallOffered):
                script = self._scripts.get(event.linkedid)
                if script is not None:
                    out[i] = replace(event, script=script[0], training_run=script[1])


def training_changed(msg: Message, finished: bool, at: datetime) -> TrainingChanged:
    """The `TrainingChanged` a TrainingStarted (or, ``finished``, TrainingFinished) frame
    announces; whose phone it is about is for the caller to check (``Interface``)."""
    state = "started"
    if finished:
        stopped = msg.get("Reason").strip().lower() == "stopped"
        state = "stopped" if stopped else "finished"
    calls = as_int(msg.get("Calls"))
    return TrainingChanged(
        run_id=msg.get("RunId").strip(),
        scenario=msg.get("Scenario").strip(),
        interface=msg.get("Interface").strip(),
        state=state,
        calls=calls if calls is not None and calls >= 0 else 0,
        at=at,
    )
