"""What a replayed console shows at one instant, and how each recorded record changes it.

`ReplayFrame` is the read-only console at one moment of a recording: the call bar (the same
fields as `console.widgets.call_bar.CallBarModel`), the pop, the transcript of the current call,
the agent's recent actions, the wrap-up outcome, a training banner and the CTI link. `apply` is
the pure reducer: `apply(frame, record) -> frame`, following the same call rules as the live
desk (`console.services.desk.desk`) so a replay looks like the console did. Times in a frame are the
console's clock (`record.at`), never the PBX's, so the replay clock (a position on that same
clock) drives the call bar's timers correctly even when the PBX's clock was elsewhere.

The recorded pops it shows are read back by `pop_decoder.decode_pop`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from console.cti.protocol import (
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallOffered,
    CallResumed,
    CallTransferred,
    CtiEvent,
    LinkStateChanged,
    OriginateFailed,
    TrainingChanged,
    TranscriptLine,
)
from console.services.crm.agents import not_ready_reason
from console.services.desk.screenpop import ScreenPop
from console.services.text import clean_text
from console.services.training.pop_decoder import decode_pop
from console.services.training.session_log import Recorded, RecordedEvent

MAX_TRANSCRIPT = 500  # lines kept for the current call (as the live TranscriptLog)
MAX_ACTIONS = 100  # timeline lines kept in a frame
MAX_LINE = 200  # characters of one timeline line

# ---------------------------------------------------------------- the frame


@dataclass(frozen=True, slots=True)
class ActionLine:
    """One line of the timeline: an agent action, a step of the call, or a warning."""

    at: datetime
    text: str
    kind: str = "action"  # action | call | warning


@dataclass(frozen=True, slots=True)
class WrapOutcome:
    """The wrap-up the agent saved for the call."""

    disposition: str
    category: str
    notes: str
    ticket_id: int | None
    followup_id: int | None
    csat: int | None
    wrap_seconds: float | None
    resolved_first_contact: bool | None


@dataclass(frozen=True, slots=True)
class TrainingBanner:
    """A trainer's run on this console (TrainingChanged)."""

    run_id: str
    scenario: str
    state: str  # started | finished | stopped
    calls: int
    since: datetime


@dataclass(frozen=True, slots=True)
class ReplayFrame:
    """What the read-only console shows after `count` records (the last one at `at`).

    Call fields mean what they mean in `CallBarModel`; `pop` is the pop as the agent saw it
    (masked when the replay masks); `transcript` is (speaker, text) on the current call;
    `actions` the most recent timeline lines, oldest first.
    """

    count: int = 0
    at: datetime | None = None
    agent_names: frozenset[str] = frozenset()  # the agent's interface and member name
    agent_state: str = "state unknown"
    agent_ready: bool = False
    phase: str = "idle"  # idle | ringing | talking | held | wrapup
    phase_since: datetime | None = None
    talk_since: datetime | None = None
    hold_seconds: float = 0.0
    queue: str = ""
    waited: float | None = None
    uniqueid: str = ""
    linkedid: str = ""
    caller_id: str = ""
    caller_name: str = ""
    direction: str = "inbound"
    pop: ScreenPop | None = None
    transcript: tuple[tuple[str, str], ...] = ()
    actions: tuple[ActionLine, ...] = ()
    outcome: WrapOutcome | None = None
    training: TrainingBanner | None = None
    link: str = "unknown"  # unknown until an event says: connected | reconnecting | down
    link_detail: str = ""
    link_since: datetime | None = None


_NO_CALL: dict[str, Any] = dict(
    phase="idle",
    phase_since=None,
    talk_since=None,
    hold_seconds=0.0,
    queue="",
    waited=None,
    uniqueid="",
    linkedid="",
    caller_id="",
    caller_name="",
    direction="inbound",
    pop=None,
)

_END_REASONS = {
    "caller": "caller hung up",
    "agent": "agent hung up",
    "transfer": "transferred",
    "noanswer": "not answered",
    "elsewhere": "answered elsewhere",
    "abandoned": "caller gave up while ringing",
    "cancelled": "ring cancelled",
    "busy": "line busy",
    "failed": "number unreachable",
    "unknown": "ended while the CTI link was down",
}


def _one_line(value: object, length: int = 80) -> str:
    return clean_text(value, single_line=True, max_length=length) if value is not None else ""


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    whole = max(0, int(value))
    minutes, secs = divmod(whole, 60)
    return f"{minutes}:{secs:02d}"


def _line(frame: ReplayFrame, at: datetime, text: str, kind: str = "action") -> dict[str, Any]:
    """The change that adds one timeline line (bounded, oldest dropped)."""
    line = ActionLine(at, _one_line(text, MAX_LINE), kind)
    actions = frame.actions
    if len(actions) >= MAX_ACTIONS:
        actions = actions[len(actions) - MAX_ACTIONS + 1 :]
    return {"actions": (*actions, line)}


# ---------------------------------------------------------------- events


def _offered(frame: ReplayFrame, e: CallOffered, at: datetime) -> dict[str, Any]:
    if frame.uniqueid == e.uniqueid and frame.phase not in ("idle", "wrapup"):
        return {}  # a duplicate offer (resync): keep what is shown
    names = frame.agent_names | {n for n in (e.interface, e.member_name) if n}
    queue = _one_line(e.queue)
    waited = f", waited {_seconds(e.waited)}" if e.waited is not None else ""
    outbound = e.direction == "outbound"
    what = "Callback dialled" if outbound else "Ringing"
    caller = _one_line(e.caller_id)
    changes = dict(
        _NO_CALL,
        agent_names=names if names != frame.agent_names else frame.agent_names,
        phase="ringing",
        phase_since=at,
        queue=queue,
        waited=e.waited,
        uniqueid=e.uniqueid,
        linkedid=e.linkedid,
        caller_id=caller,
        caller_name=_one_line(e.caller_name, 120),
        direction=e.direction,
        transcript=(),
        outcome=None,
    )
    changes.update(_line(frame, at, f"{what}: {caller} ({queue or 'no queue'}{waited})", "call"))
    return changes


def _call_event(frame: ReplayFrame, event: CtiEvent, at: datetime) -> dict[str, Any] | None:
    """The change a call event makes, or None if it is not one (or not about this call)."""
    if isinstance(event, CallOffered):
        return _offered(frame, event, at)
    if not isinstance(event, CallAnswered | CallHeld | CallResumed | CallTransferred | CallEnded):
        return None
    if event.uniqueid != frame.uniqueid or frame.phase == "idle":
        return {}
    if isinstance(event, CallAnswered):
        if frame.phase != "ringing":
            return {}
        rang = f" after {event.ring_time} s" if event.ring_time is not None else ""
        return dict(phase="talking", phase_since=at, talk_since=at) | _line(
            frame, at, f"Answered{rang}", "call"
        )
    if isinstance(event, CallHeld):
        if frame.phase != "talking":
            return {}
        return dict(phase="held", phase_since=at) | _line(frame, at, "Caller on hold", "call")
    if isinstance(event, CallResumed):
        if frame.phase != "held" or frame.phase_since is None:
            return {}
        held = max(0.0, (at - frame.phase_since).total_seconds())
        return dict(
            phase="talking", phase_since=at, hold_seconds=frame.hold_seconds + held
        ) | _line(frame, at, f"Caller off hold (held {_seconds(held)})", "call")
    if isinstance(event, CallTransferred):
        return _line(frame, at, f"Transferred to {_one_line(event.target)}", "call")
    # CallEnded
    if frame.phase == "wrapup":
        return {}
    reason = _END_REASONS.get(str(event.reason), str(event.reason))
    if frame.talk_since is None:  # never answered: the desk goes idle, the pop goes away
        return dict(_NO_CALL) | _line(frame, at, f"Not taken: {reason}", "call")
    hold = frame.hold_seconds
    if frame.phase == "held" and frame.phase_since is not None:
        hold += max(0.0, (at - frame.phase_since).total_seconds())
    talk = (at - frame.talk_since).total_seconds()
    return dict(phase="wrapup", phase_since=at, hold_seconds=hold) | _line(
        frame, at, f"Call ended: {reason} (talk {_seconds(talk)})", "call"
    )


def _is_mine(frame: ReplayFrame, interface: str, member_name: str = "") -> bool:
    names = frame.agent_names
    return interface in names or (bool(member_name) and member_name in names)


def _agent_state(frame: ReplayFrame, e: AgentStateChanged) -> dict[str, Any]:
    if not _is_mine(frame, e.interface, e.member_name):
        return {}
    if not e.logged_in:
        state, ready = "Logged out", False
    elif e.paused:
        known = not_ready_reason(e.reason)
        state, ready = (
            f"Not ready: {known.label if known else (_one_line(e.reason) or 'paused')}",
            False,
        )
    else:
        state, ready = "Available", True
    if state == frame.agent_state and ready == frame.agent_ready:
        return {}
    return {"agent_state": state, "agent_ready": ready}


def _other_event(frame: ReplayFrame, event: CtiEvent, at: datetime) -> dict[str, Any]:
    if isinstance(event, TranscriptLine):
        if event.uniqueid != frame.uniqueid or frame.phase == "idle":
            return {}
        speaker = _one_line(event.speaker, 20) or "caller"
        lines = frame.transcript
        if len(lines) >= MAX_TRANSCRIPT:
            lines = lines[len(lines) - MAX_TRANSCRIPT + 1 :]
        return {"transcript": (*lines, (speaker, clean_text(event.text, max_length=2000)))}
    if isinstance(event, AgentStateChanged):
        return _agent_state(frame, event)
    if isinstance(event, LinkStateChanged):
        state = str(event.state)
        changes: dict[str, Any] = dict(
            link=state, link_detail=_one_line(event.detail), link_since=event.since
        )
        if state != frame.link:
            detail = f" ({_one_line(event.detail)})" if event.detail else ""
            kind = "call" if state == "connected" else "warning"
            changes.update(_line(frame, at, f"CTI link {state}{detail}", kind))
        return changes
    if isinstance(event, TrainingChanged):
        if frame.agent_names and not _is_mine(frame, event.interface):
            return {}
        banner = TrainingBanner(
            _one_line(event.run_id, 40),
            _one_line(event.scenario),
            _one_line(event.state, 20),
            event.calls,
            at,
        )
        text = f"Training run {banner.run_id} {banner.state}: {banner.scenario}"
        return {"training": banner} | _line(frame, at, text, "call")
    if isinstance(event, OriginateFailed):
        return _line(frame, at, "Callback not placed: the agent's phone did not answer", "warning")
    return {}


def _on_event(frame: ReplayFrame, event: CtiEvent, at: datetime) -> dict[str, Any]:
    changes = _call_event(frame, event, at)
    if changes is None:
        changes = _other_event(frame, event, at)
    if frame.link == "unknown" and not isinstance(event, LinkStateChanged):
        # The console received this through the link: it was up.
        changes["link"] = "connected"
    return changes


# ---------------------------------------------------------------- actions


def _text(details: Mapping[str, Any], key: str, length: int = 80) -> str:
    value = details.get(key)
    return _one_line(value, length) if isinstance(value, str | int | float) else ""


def _nested(details: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = details.get(key)
    return value if isinstance(value, Mapping) else {}


def _pop_name(pop: ScreenPop) -> str:
    if pop.profile is not None:
        return _one_line(pop.profile.display_name)
    if pop.is_unknown:
        return f"unknown caller {pop.caller.display}"
    return _one_line(pop.caller.display)


def _ticket_text(kind: str, d: Mapping[str, Any]) -> str:
    ticket = _nested(d, "ticket")
    if kind == "ticket_created":
        return f"Ticket #{_text(ticket, 'id')} opened: {_text(ticket, 'subject', 120)}"
    if kind == "ticket_status":
        return f"Ticket #{_text(d, 'ticket_id')}: {_text(d, 'old')} → {_text(d, 'new')}"
    comment = _nested(d, "comment")
    return f"Ticket #{_text(d, 'ticket_id')} comment: {_text(comment, 'body', 120)}"


def _followup_text(kind: str, d: Mapping[str, Any]) -> str:
    if kind == "followup_created":
        followup = _nested(d, "followup")
        what = _text(followup, "kind") or "follow-up"
        summary = _text(followup, "summary", 100)
        return f"Follow-up #{_text(followup, 'id')} ({what}) created: {summary}"
    verb = kind.removeprefix("followup_").replace("_", " ")
    return f"Follow-up #{_text(d, 'followup_id')} {verb}"


_SIMPLE = {
    "answer": "Answer",
    "hold": "Hold",
    "unhold": "Take off hold",
    "hangup": "Hang up",
    "wrap_up_opened": "Wrap-up opened",
}


def action_text(kind: str, details: Mapping[str, Any]) -> tuple[str, str]:
    """The timeline line (text, line kind) for an agent action and its recorded details."""
    d = details
    if kind in _SIMPLE:
        return _SIMPLE[kind], "action"
    if kind == "ready":
        return "Ready", "action"
    if kind == "not_ready":
        known = not_ready_reason(_text(d, "reason"))
        return f"Not ready: {known.label if known else _text(d, 'reason') or 'no reason'}", "action"
    if kind == "transfer":
        return f"Transfer to {_text(d, 'target')}", "action"
    if kind == "notes_saved":
        return f"Notes: {_text(d, 'notes', 160)}", "action"
    if kind == "wrap_up_saved":
        return f"Wrap-up saved: {_text(d, 'disposition') or '?'}", "action"
    if kind.startswith("ticket_"):
        return _ticket_text(kind, d), "action"
    if kind.startswith("followup_"):
        return _followup_text(kind, d), "action"
    if kind == "customer_created":
        return f"Customer #{_text(d, 'customer_id')} created: {_text(d, 'name')}", "action"
    if kind == "customer_opened":
        return f"Customer #{_text(d, 'customer_id')} opened", "action"
    if kind == "customer_updated":
        changes = _nested(d, "changes")
        return f"Customer #{_text(d, 'customer_id')} updated: {', '.join(changes)}", "action"
    if kind == "number_attached":
        return f"Number {_text(d, 'e164')} attached to #{_text(d, 'customer_id')}", "action"
    if kind == "callback_dialled":
        return f"Callback #{_text(d, 'followup_id')} dialled (try {_text(d, 'attempt')})", "action"
    if kind == "callback_outcome":
        return f"Callback #{_text(d, 'followup_id')}: {_text(d, 'outcome')}", "action"
    if kind == "recording_gap":
        return f"Recording gap: {_text(d, 'dropped')} records were lost", "warning"
    return _one_line(kind.replace("_", " ").capitalize()), "action"


def _optional_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _outcome(d: Mapping[str, Any]) -> WrapOutcome:
    wrap = d.get("wrap_seconds")
    fcr = d.get("resolved_first_contact")
    return WrapOutcome(
        disposition=_text(d, "disposition"),
        category=_text(d, "category"),
        notes=clean_text(d.get("notes") or "", max_length=2000)
        if isinstance(d.get("notes"), str)
        else "",
        ticket_id=_optional_int(d.get("ticket_id")),
        followup_id=_optional_int(d.get("followup_id")),
        csat=_optional_int(d.get("csat")),
        wrap_seconds=float(wrap) if isinstance(wrap, int | float) and math.isfinite(wrap) else None,
        resolved_first_contact=fcr if isinstance(fcr, bool) else None,
    )


def _on_action(frame: ReplayFrame, kind: str, d: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    text, line_kind = action_text(kind, d)
    changes: dict[str, Any] = {}
    if kind in ("pop_shown", "customer_chosen"):
        pop = decode_pop(d.get("pop"))
        if pop is None:
            return _line(frame, at, "Pop shown (unreadable in the recording)", "warning")
        verb = "Pop" if kind == "pop_shown" else "Customer chosen"
        return {"pop": pop} | _line(frame, at, f"{verb}: {_pop_name(pop)}")
    if kind == "ready":
        changes = {"agent_state": "Available", "agent_ready": True}
    elif kind == "not_ready":
        changes = {"agent_state": text, "agent_ready": False}
    elif kind == "wrap_up_saved":
        changes = {"outcome": _outcome(d)}
        if frame.phase == "wrapup":  # the desk is free for the next call
            changes.update(_NO_CALL)
    return changes | _line(frame, at, text, line_kind)


# ---------------------------------------------------------------- the reducer


def apply(frame: ReplayFrame, record: Recorded) -> ReplayFrame:
    """The frame after `record` (pure: `frame` is not changed)."""
    at = record.at
    if isinstance(record, RecordedEvent):
        event = record.event()
        changes = _on_event(frame, event, at) if event is not None else {}
    else:
        changes = _on_action(frame, record.kind, record.details, at)
    return replace(frame, count=frame.count + 1, at=at, **changes)
