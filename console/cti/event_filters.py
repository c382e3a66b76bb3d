"""Which AMI events an agent's console asks the PBX for: the patterns of its ``Filter`` actions.

Asterisk (``main/manager.c`` action_filter; docs/cti.md) keeps per session a list of include
filters, only ever added to; an event from the shared queue reaches the session when one of
them matches its text (``Event: X\\r\\nPrivilege: call,all\\r\\n…``, a POSIX extended regular
expression searched anywhere in it). Action answers and their list items (QueueStatus,
CoreShowChannels) are never filtered, so the resync snapshot is whole either way.

An agent's console needs:

- its own devices' legs: any header whose value is the member interface or one of its
  devices' channels (``Channel: PJSIP/1001-0000002a``, ``DestChannel``, ``Interface``,
  ``StateInterface``, ``TransfererChannel``, ``LocalOneChannel: Local/1001@from-queue-…;1``);
  a member known only by name: ``MemberName``/``Name``;
- its queues' abandons and callback requests (``QueueCallerAbandon`` and the
  ``CallbackRequest`` user event naming ``Queue: support``): each becomes a follow-up even when
  no member was rung. Not every caller joining and leaving (``QueueCallerJoin``/``Leave``):
  those were nine frames in ten a console received, a number that grows with the site (every
  console hears every caller of its queues: O(N) frames per console, O(N²) for the PBX and the
  site). An offer's wait, which the join gave, is asked of the PBX at the offer instead
  (console/cti/wait_probe.py). Not the other members' events either (``AgentCalled``,
  ``AgentConnect``, ``AgentComplete``, ``QueueMemberStatus``… of a colleague also name the
  queue): an agent's screen shows no one else's state. Its own member events match the device
  and name patterns;
- the answers that come as events to its own actions (``OriginateResponse``): our ActionIDs
  all start with the client's prefix;
- scripted calls (``UserEvent: ScriptedCall``, sent on the caller's leg before any member is
  rung) and trainers' runs;
- every event of a call offered to it, by the call's ``Linkedid`` (every channel of a call
  shares it: the caller, Local halves, consult and transfer legs). The tracker needs the
  caller's own frames (its Hangup and HangupRequest, music on hold, transcript lines), which
  name no device or queue of the agent's, so no static pattern can ask for them. These are
  added when the call is offered; Asterisk cannot remove a filter, so a session collects one
  per offered call until it is renewed (`AmiClient` does so past ``max_call_filters``, when
  the agent has no call).

Patterns use only portable ERE: ``[[:cntrl:]]`` for a line end (a backslash in brackets is
a plain character in POSIX, and ``\\r`` outside brackets is just ``r``).
"""

from __future__ import annotations

from collections.abc import Iterable

from console.cti.lines import AgentLines

_SPECIAL = frozenset(".[]()*+?{}|^$\\")
#: Line end in an event's text, as an ERE (CR or LF).
EOL = "[[:cntrl:]]"
#: Scenario and training user events the tracker needs before any leg of the agent's exists.
SCRIPT_EVENTS = f"{EOL}UserEvent: (ScriptedCall|TrainingStarted|TrainingFinished){EOL}"
#: Every ChanSpyStop: it names only the spyer (apps/app_chanspy.c publishes it without the
#: spyee), so no pattern of the agent's own matches the end of a spy on their call; the
#: "supervisor listening" notice needs it (console/services/quality/listening.py). Rare.
SPY_STOP_EVENTS = f"^Event: ChanSpyStop{EOL}"


def ere_escape(text: str) -> str:
    """``text`` as a POSIX ERE matching exactly itself."""
    return "".join("\\" + c if c in _SPECIAL else c for c in text)


def device_pattern(device: str) -> str:
    """Any header naming ``device`` (``PJSIP/1001``) or one of its channels
    (``PJSIP/1001-0000002a``, ``Local/1001@from-queue-00ab;1``)."""
    return f": {ere_escape(device)}(-[^[:space:]]*)?{EOL}"


def interface_pattern(interface: str) -> str:
    """Any header whose value is exactly ``interface`` (``Local/1001@from-queue/n``)."""
    return f": {ere_escape(interface)}{EOL}"


def member_name_pattern(name: str) -> str:
    """A queue frame naming the member ``name`` (``MemberName`` in events, ``Name`` in
    QueueStatus)."""
    return f"{EOL}(Member)?Name: {ere_escape(name)}{EOL}"


#: The queue events an agent's console takes for every caller of its queues (`queue_pattern`):
#: the rare ones that become follow-ups, not each join and leave.
QUEUE_CALLER_EVENTS = ("QueueCallerAbandon", "UserEvent")


def queue_pattern(queue: str) -> str:
    """The caller events of ``queue`` (`QUEUE_CALLER_EVENTS`; a user event naming the queue:
    CallbackRequest). The text starts with the ``Event:`` line and ``.`` matches line ends
    (no ``REG_NEWLINE``), so one expression ties the event's name to its ``Queue`` header."""
    names = "|".join(QUEUE_CALLER_EVENTS)
    return f"^Event: ({names}){EOL}.*{EOL}Queue: {ere_escape(queue)}{EOL}"


def action_pattern(prefix: str) -> str:
    """An event answering one of our actions (its ActionID starts with ``prefix``)."""
    return f"{EOL}ActionID: {ere_escape(prefix)}-"


CALL_FILTER_START = "Linkedid: "


def call_pattern(linkedid: str) -> str:
    """Every event of the call ``linkedid`` (any ``…Linkedid`` header: Dest, Transferer…)."""
    return f"{CALL_FILTER_START}{ere_escape(linkedid)}{EOL}"


def agent_patterns(lines: AgentLines, queues: Iterable[str], action_prefix: str) -> list[str]:
    """The static patterns of an agent's session: devices, member names, queues, our
    actions' answers, scripted calls. Ordered and without repeats."""
    patterns = [device_pattern(d) for d in sorted(lines.devices)]
    patterns += [
        interface_pattern(i)
        for i in sorted(lines.interfaces)
        if "/" in i and i not in lines.devices
    ]
    patterns += [member_name_pattern(n) for n in sorted(lines.names) if n and "/" not in n]
    patterns += [queue_pattern(q) for q in sorted(set(queues)) if q]
    patterns += [action_pattern(action_prefix), SCRIPT_EVENTS, SPY_STOP_EVENTS]
    return list(dict.fromkeys(patterns))
