"""Training scenarios made from recorded calls: a trainee replays a real call, masked.

`scenario_from_call(SessionLog(db).for_call(linkedid), name=…)` turns one recorded call (its
CTI events and its agent's actions, console/services/training/recording.py) into scenario TOML
(docs/scenarios.md) that the simulator plays to a trainee's desk phone `PJSIP/1001`:

- one `[[calls]]` entry: the recorded queue, the caller's words as the transcript (offsets from
  the answer), the recorded talk time as `hangup_after`, `expect` hints and a one-line summary
  of what the recorded agent did;
- a `[rubric]` scoring the trainee against that agent's handling: the same disposition, the
  same tickets and follow-ups, the same transfer, and time limits no stricter than the
  recorded ones (`answer_within` max(10 s, ring), `hold_at_most` max(60 s, hold),
  `wrapup_at_most` max(60 s, wrap-up)).

With `mask` (the default) the caller gets a made-up number (a fictional 555-01xx US number)
and a made-up name, both drawn from `seed`, no `customer_id`, and every free text (transcript,
summary, ticket category, the scenario's name and description) goes through
`masking.mask_text` with every name, number and email the recording holds about the caller.
The header comment then leaves out the call's Linkedid and gives only the day it was recorded.

A customer created during the call is recorded without the call (CustomerService knows no
call): to see it, pass the agent's records around the call (`SessionLog.for_agent`); the first
answered call in them is the one made into the scenario.
"""

from __future__ import annotations

import hashlib
import math
import re
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, is_dataclass, replace
from datetime import datetime
from typing import Any

import tomli_w

from callkit.rubric import FOLLOWUP_KINDS, TICKET_PRIORITIES
from console.cti.protocol import (
    CallAnswered,
    CallEnded,
    CallHeld,
    CallOffered,
    CallResumed,
    CallTransferred,
    CtiEvent,
    EndReason,
    TranscriptLine,
)
from console.services.crm.phones import WITHHELD_VALUES, normalise
from console.services.desk.screenpop import ScreenPop
from console.services.errors import ServiceError
from console.services.text import clean_text
from console.services.training.masking import (
    CONTACT,
    EMAIL,
    NAME,
    NESTED,
    PHONE,
    mask_text,
    masking_rules,
)
from console.services.training.session_log import Recorded, RecordedAction, RecordedEvent

TRAINEE_INTERFACE = "PJSIP/1001"
TRAINEE_NAME = "Trainee"
PASS_MARK = 80
MIN_TALK = 5  # seconds: a caller who hangs up at once leaves nothing to train on
#: When the agent (not the caller) ended the call, or transferred it, the caller would have
#: stayed on: they wait this much longer than the recorded talk for the trainee to finish.
CALLER_GRACE = 15
ANSWER_FLOOR, HOLD_FLOOR, WRAP_FLOOR = 10, 60, 60  # the rubric's limits are never stricter
# Weights: a missed ticket or follow-up costs more than a missed time limit, a missed transfer
# alone fails the run (as in the shipped transfer_to_tier2); every other criterion weighs 1.
ACTION_WEIGHT, TRANSFER_WEIGHT = 2, 3
_AUTOMATIC_ORIGINS = frozenset({"abandoned", "overflow", "escalation"})  # not the agent's
_DISPOSITION_CODE = re.compile(r"[a-z0-9_]{1,40}")  # as callkit.rubric accepts
# Made-up callers: 555-0100…0199 numbers are reserved for fiction in the NANP.
_AREA_CODES = ("202", "206", "303", "312", "404", "503", "602", "617", "713", "919")
_FIRST_NAMES = ("Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Robin", "Jamie", "Riley")
_LAST_NAMES = ("Rivera", "Novak", "Okafor", "Lindqvist", "Moreau", "Tanaka", "Silva", "Haddad")


class ScenarioExportError(ServiceError):
    """A recording cannot be made into a training scenario."""


@dataclass(frozen=True, slots=True)
class _Said:
    offset: float  # seconds after the answer
    speaker: str
    text: str


@dataclass(frozen=True, slots=True)
class _Call:
    """What the recording says happened on the call, and what its agent did."""

    linkedid: str
    queue: str
    caller_id: str
    caller_name: str
    offered_at: datetime
    ring: float
    talk: float
    caller_hung_up: bool
    hold: float
    transcript: tuple[_Said, ...]
    disposition: str
    notes: str
    wrap: float | None  # None: no wrap-up saved
    tickets: tuple[tuple[str, str], ...]  # (category, priority)
    followups: tuple[tuple[str, str], ...]  # (kind, routed_to)
    transfer: str
    customer_id: int | None
    customer_created: bool
    tier: str
    known: tuple[str, ...]  # the caller's names, numbers and emails


def scenario_from_call(
    records: Sequence[Recorded],
    *,
    name: str,
    description: str = "",
    mask: bool = True,
    seed: int = 1,
    extensions: Mapping[str, str] | None = None,
    region: str = "US",
) -> str:
    """Scenario TOML replaying the recorded call in `records` (`SessionLog.for_call`).

    `mask` hides the caller (see the module doc); `seed` picks the made-up number and name, so
    the same records and seed give the same text. `extensions` maps queue names to their
    dial-plan extensions when the caller knows them (a queue's extension is its name
    otherwise); national numbers in free text are read in `region`.

    Raises ScenarioExportError when the records hold no offered call or it was never answered.
    With several calls in `records`, the first answered one is used.
    """
    call = _read_call(records)
    known = call.known

    def hide(text: str) -> str:
        return mask_text(text, known, region) if mask else clean_text(text)

    if mask:  # ticket categories are free text too (masking.py masks TicketRecord.category)
        call = replace(call, tickets=tuple((_line(hide(c), 40), p) for c, p in call.tickets))

    title = _line(hide(name), 120) or "recorded call"
    call_id = _slug(title)
    queues, targets = _queues(call, extensions or {}, hide)
    if mask:
        number, caller_name = _caller(call, seed, region)
    else:
        number = call.caller_id
        caller_name = "" if _withheld(call.caller_name) else call.caller_name
    scripted: dict[str, Any] = {"id": call_id, "at": "5s", "queue": call.queue}
    if call.customer_id is not None and not mask and not call.customer_created:
        scripted["customer_id"] = call.customer_id
    scripted["number"] = number
    if caller_name:
        scripted["name"] = caller_name
    if call.tier:
        scripted["tier"] = call.tier
    last_said = max((s.offset for s in call.transcript), default=0.0)
    stays = call.talk if call.caller_hung_up else call.talk + CALLER_GRACE
    scripted["hangup_after"] = max(MIN_TALK, math.ceil(stays), math.ceil(last_said) + 1)
    scripted["patience"] = "none"
    scripted["transcript"] = [
        {"at": _seconds(s.offset), "text": hide(s.text), "speaker": s.speaker}
        for s in call.transcript
    ]
    identity = _identity(scripted, call.customer_created)
    scripted["expect"] = _expect(call, targets, identity=identity)
    scripted["notes"] = _line(hide(_summary(call)), 1000)
    agents = [
        {
            "interface": TRAINEE_INTERFACE,
            "name": TRAINEE_NAME,
            "kind": "phone",
            "queues": [call.queue],
        }
    ]
    document: dict[str, Any] = {
        "name": title,
        "description": _line(hide(description), 500)
        or f"A recorded call to the {call.queue} queue, replayed for a trainee",
        "difficulty": _difficulty(call),
        "duration": f"{max(30, math.ceil((scripted['hangup_after'] + call.ring + 600) / 60))}m",
        "queues": queues,
        "agents": agents,
    }
    if len(queues) > 1:  # someone must take the transferred caller
        document["bot_pools"] = [
            {"count": 1, "first": 3001, "name": "Transfer bot", "queues": [queues[1]["name"]]}
        ]
    document["calls"] = [scripted]
    document["rubric"] = {
        "pass_mark": PASS_MARK,
        "criteria": _criteria(call, targets, identity),
    }
    text = _header(call, mask, seed) + tomli_w.dumps(document)
    _check(text, call_id)
    return text


# ---------------------------------------------------------------- reading the recording


def _read_call(records: Sequence[Recorded]) -> _Call:
    events = [(r, e) for r in records if isinstance(r, RecordedEvent) if (e := r.event())]
    offer_rec, offer, answer_rec, answered = _answered_offer(events)
    linkedid, agent = answered.linkedid, answer_rec.agent_id

    def ours(r: Recorded) -> bool:  # a transferred call is in the next agent's recording too
        return agent is None or r.agent_id in (None, agent)

    mine = [(r, e) for r, e in events if getattr(e, "linkedid", None) == linkedid and ours(r)]
    after = [(r, e) for r, e in mine if _order(r) >= _order(answer_rec)]
    ends = [(r, e) for r, e in after if isinstance(e, CallEnded)]
    moves = [e for _r, e in after if isinstance(e, CallTransferred)]
    end_at = (
        ends[0][1].at
        if ends
        else moves[0].at
        if moves
        else max(getattr(e, "at", r.at) for r, e in after)
    )
    actions = _actions(records, linkedid, ours, offer_rec.at)
    wrapped = next((a for a in reversed(actions) if a.kind == "wrap_up_saved"), None)
    wrap = wrapped.details if wrapped is not None else {}
    pops = [a.details["pop"] for a in actions if isinstance(a.details.get("pop"), Mapping)]
    transfer = moves[0].target if moves else ""
    transfer = transfer or next(
        (_text(a.details.get("target")) for a in reversed(actions) if a.kind == "transfer"), ""
    )
    ring = answered.ring_time
    return _Call(
        linkedid=linkedid,
        queue=_line(offer.queue or answered.queue, 80) or "support",
        caller_id=_line(offer.caller_id, 80),
        caller_name=_line(offer.caller_name, 80),
        offered_at=offer.at,
        ring=max(0.0, ring if ring is not None else (answered.at - offer.at).total_seconds()),
        talk=max(0.0, (end_at - answered.at).total_seconds()),
        caller_hung_up=bool(ends) and ends[0][1].reason is EndReason.CALLER,
        hold=_hold(after, end_at),
        transcript=tuple(
            _Said(
                max(0.0, (e.at - answered.at).total_seconds()),
                _line(e.speaker, 40) or "caller",
                clean_text(e.text),
            )
            for _r, e in mine
            if isinstance(e, TranscriptLine) and e.text.strip()
        ),
        disposition=_text(wrap.get("disposition")),
        notes=clean_text(wrap.get("notes") if isinstance(wrap.get("notes"), str) else ""),
        wrap=_wrap_seconds(wrapped, ends[0][0] if ends else offer_rec),
        tickets=tuple(
            dict.fromkeys(
                _ticket(a.details, _text(wrap.get("category")))
                for a in actions
                if a.kind == "ticket_created"
            )
        ),
        followups=tuple(
            dict.fromkeys(
                f for a in actions if a.kind == "followup_created" if (f := _followup(a.details))
            )
        ),
        transfer=_line(transfer, 80),
        customer_id=_customer_id(actions),
        customer_created=any(a.kind == "customer_created" for a in actions),
        tier=_tier(pops),
        known=tuple(dict.fromkeys(v for v in _known(pops, actions, (e for _r, e in mine)) if v)),
    )


def _answered_offer(
    events: Sequence[tuple[RecordedEvent, CtiEvent]],
) -> tuple[RecordedEvent, CallOffered, RecordedEvent, CallAnswered]:
    """The first answered call, and the ring at its agent's phone that was answered."""
    offers = [(r, e) for r, e in events if isinstance(e, CallOffered)]
    if not offers:
        raise ScenarioExportError(
            "the recording holds no offered call (no CallOffered event): nothing to replay"
        )
    offered = {e.linkedid for _r, e in offers}
    answers = [(r, e) for r, e in events if isinstance(e, CallAnswered) and e.linkedid in offered]
    if not answers:
        raise ScenarioExportError(
            f"the recorded call to {offers[0][1].queue or 'the queue'} was never answered: "
            "a training scenario replays an answered call"
        )
    answer_rec, answered = answers[0]
    same = [(r, e) for r, e in offers if e.linkedid == answered.linkedid]
    rang = [(r, e) for r, e in same if r.agent_id == answer_rec.agent_id and r.at <= answer_rec.at]
    offer_rec, offer = (rang or same)[-1]  # after a ring-no-answer, the offer answered
    return offer_rec, offer, answer_rec, answered


def _order(r: Recorded) -> tuple[datetime, str, int]:
    return (r.at, r.session_id, r.seq)


def _actions(
    records: Sequence[Recorded],
    linkedid: str,
    ours: Callable[[Recorded], bool],
    since: datetime,
) -> list[RecordedAction]:
    """The agent's actions on the call: by its Linkedid, by its interaction, or (an action
    that names no call, such as a customer created from the pop) taken while it lasted."""
    actions = [r for r in records if isinstance(r, RecordedAction) and ours(r)]
    interactions = {a.interaction_id for a in actions if a.call_id == linkedid} - {None}
    tied = {id(a) for a in actions if a.call_id == linkedid or a.interaction_id in interactions}
    until = max((a.at for a in actions if id(a) in tied), default=since)
    return [
        a
        for a in actions
        if id(a) in tied
        or (a.call_id is None and a.interaction_id is None and since <= a.at <= until and tied)
    ]


def _hold(after_answer: Sequence[tuple[RecordedEvent, CtiEvent]], end_at: datetime) -> float:
    total, since = 0.0, None
    for _r, e in after_answer:
        if isinstance(e, CallHeld) and since is None:
            since = e.at
        elif isinstance(e, CallResumed) and since is not None:
            total += max(0.0, (e.at - since).total_seconds())
            since = None
    if since is not None:  # still on hold when the call ended
        total += max(0.0, (end_at - since).total_seconds())
    return total


def _wrap_seconds(wrapped: RecordedAction | None, ended: Recorded) -> float | None:
    """The wrap-up's length as the console saved it, else from the call's end to the save."""
    if wrapped is None:
        return None
    saved = _number(wrapped.details.get("wrap_seconds"))
    return saved if saved is not None else max(0.0, (wrapped.at - ended.at).total_seconds())


def _ticket(details: Mapping[str, Any], wrap_category: str) -> tuple[str, str]:
    ticket = details.get("ticket")
    ticket = ticket if isinstance(ticket, Mapping) else {}
    priority = _text(ticket.get("priority")).lower()
    category = _line(_text(ticket.get("category")) or wrap_category, 40)
    return category, priority if priority in TICKET_PRIORITIES else ""


def _followup(details: Mapping[str, Any]) -> tuple[str, str] | None:
    followup = details.get("followup")
    if not isinstance(followup, Mapping) or _text(details.get("origin")) in _AUTOMATIC_ORIGINS:
        return None
    kind = _text(followup.get("kind")).lower()
    if kind not in FOLLOWUP_KINDS:
        return None
    routed = next(
        (
            _line(_text(followup.get(key)), 80)
            for key in ("target_queue_name", "target_skill", "queue", "skill")
            if _text(followup.get(key))
        ),
        "",
    )
    return kind, routed


def _customer_id(actions: Sequence[RecordedAction]) -> int | None:
    """The customer the agent kept: the last one picked, else the one the pop showed."""
    for a in reversed(actions):
        if a.kind == "customer_chosen" and _is_id(a.details.get("customer_id")):
            return int(a.details["customer_id"])
        pop = a.details.get("pop")
        if a.kind == "pop_shown" and isinstance(pop, Mapping):
            profile = pop.get("profile")
            if isinstance(profile, Mapping) and _is_id(profile.get("id")):
                return int(profile["id"])
    return None


def _tier(pops: Sequence[Mapping[str, Any]]) -> str:
    """The tier of the customer the last pop showed."""
    profile = pops[-1].get("profile") if pops else None
    return _line(_text(profile.get("tier")), 20).lower() if isinstance(profile, Mapping) else ""


def _known(
    pops: Iterable[Mapping[str, Any]],
    actions: Iterable[RecordedAction],
    events: Iterable[CtiEvent],
) -> Iterable[str]:
    """Every name, number and email of the caller the recording holds: what `known_values`
    finds in the screen pops (read from their recorded JSON by the same masking rules), the
    caller ID and name, a customer created on the call, the customer named on its tickets."""
    for pop in pops:
        yield from _pop_values(pop, ScreenPop)
    for e in events:
        if isinstance(e, CallOffered):
            yield from (v for v in (e.caller_id, e.caller_name) if not _withheld(v))
    for a in actions:
        ticket = a.details.get("ticket")
        if a.kind == "customer_created":
            yield from (_text(a.details.get(key)) for key in ("name", "phone", "email"))
        elif a.kind == "ticket_created" and isinstance(ticket, Mapping):
            yield _text(ticket.get("customer_name"))


def _pop_values(data: object, cls: type) -> Iterable[str]:
    """`masking.known_values` over a recorded (JSON) screen pop: the fields the masking rules
    mask as names, numbers, emails or contact points, nested ones too."""
    if isinstance(data, list):
        for item in data:
            yield from _pop_values(item, cls)
        return
    if not isinstance(data, Mapping):
        return
    rules, _kept = masking_rules(cls)
    hints = typing.get_type_hints(cls)
    for field, how in rules.items():
        value = data.get(field)
        if how == NESTED:
            nested = _dataclass_in(hints[field])
            if nested is not None:
                yield from _pop_values(value, nested)
        elif how in (NAME, PHONE, EMAIL, CONTACT) and isinstance(value, str) and value:
            yield value


def _dataclass_in(hint: Any) -> type | None:
    """The dataclass a field holds: `X`, `X | None` or `tuple[X, ...]`."""
    if isinstance(hint, type) and is_dataclass(hint):
        return hint
    return next((c for a in typing.get_args(hint) if (c := _dataclass_in(a))), None)


# ---------------------------------------------------------------- writing the scenario


def _queues(
    call: _Call, extensions: Mapping[str, str], hide: Callable[[str], str]
) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    """The call's queue, and the queue it was transferred to (with the names and extensions
    a `transferred_to` criterion accepts), unless that is the same queue."""
    main = {"name": call.queue, "extension": extensions.get(call.queue) or call.queue}
    target = call.transfer
    if not target:
        return [main], ()
    if target in (main["name"], main["extension"]):
        return [main], (target,)
    if hide(target) != target:  # an outside number: a stand-in extension, not the number
        target = next(e for e in ("699", "698", "697") if e != main["extension"])
    name = next((q for q, ext in extensions.items() if ext == target), target)
    return [main, {"name": name, "extension": target}], (target,)


def _caller(call: _Call, seed: int, region: str) -> tuple[str, str]:
    """A made-up caller drawn from `seed`: a fictional 555-01xx number (never the caller's)
    and a name sharing no word with the caller's. A withheld number stays withheld."""
    digest = hashlib.sha256(f"callconsole-scenario-export:{seed}".encode()).digest()
    real = normalise(call.caller_id, region).e164
    avoid = {w.casefold() for v in call.known for w in re.findall(r"\w+", v)}
    taken = {real, *(re.sub(r"\D", "", v)[-10:] for v in call.known)}
    candidates = (
        f"+1{_AREA_CODES[(digest[0] + step) % len(_AREA_CODES)]}555"
        f"{100 + (digest[1] + step) % 100:04d}"
        for step in range(200)
    )
    number = (
        call.caller_id
        if _withheld(call.caller_id)
        else next(c for c in candidates if c not in taken and c[2:] not in taken)
    )
    for i in range(len(_FIRST_NAMES) * len(_LAST_NAMES)):
        first = _FIRST_NAMES[(digest[2] + i) % len(_FIRST_NAMES)]
        last = _LAST_NAMES[(digest[3] + i // len(_FIRST_NAMES)) % len(_LAST_NAMES)]
        if first.casefold() not in avoid and last.casefold() not in avoid:
            return number, f"{first} {last}"
    return number, "Pat Doe"


def _identity(scripted: Mapping[str, Any], customer_created: bool) -> str:
    """The identity outcome the recorded agent reached that the scripted call can ask for:
    the caller's own record kept (a call with a customer_id, so only unmasked), or a record
    created for a caller the scenario presents as unknown."""
    if "customer_id" in scripted:
        return "confirmed"
    return "customer_created" if customer_created else ""


def _expect(call: _Call, targets: tuple[str, ...], *, identity: str) -> list[str]:
    """Hints in the shipped scenarios' words (open_ticket, schedule_callback, escalate…)."""
    hints = {"confirmed": ["verify_identity"], "customer_created": ["create_customer"]}.get(
        identity, []
    )
    if call.tickets:
        hints.append("open_ticket")
    kinds = {"callback": "schedule_callback", "escalation": "escalate", "task": "create_task"}
    hints += list(dict.fromkeys(kinds[kind] for kind, _routed in call.followups))
    if targets:
        hints.append(f"transfer:{targets[0]}")
    if call.wrap is not None:
        hints.append("log_interaction")
    return hints


def _criteria(call: _Call, targets: tuple[str, ...], identity: str) -> list[dict[str, Any]]:
    criteria: list[dict[str, Any]] = [
        {"id": "answer", "kind": "answer_within", "seconds": max(ANSWER_FLOOR, _up(call.ring))},
        {"id": "hold", "kind": "hold_at_most", "seconds": max(HOLD_FLOOR, _up(call.hold))},
    ]
    if call.wrap is not None:
        criteria.append(
            {"id": "wrap-up", "kind": "wrapup_at_most", "seconds": max(WRAP_FLOOR, _up(call.wrap))}
        )
    if _DISPOSITION_CODE.fullmatch(call.disposition):
        criteria.append({"id": "disposition", "kind": "disposition", "code": call.disposition})
    if identity:
        criteria.append({"id": "identity", "kind": "identity", "outcome": identity})
    for n, (category, priority) in enumerate((t for t in call.tickets if t[0]), 1):
        ticket: dict[str, Any] = {"id": f"ticket-{n}" if n > 1 else "ticket"}
        ticket["kind"] = "ticket_created"
        ticket |= (
            {"category": category, "priority": priority} if priority else {"category": category}
        )
        criteria.append(ticket | {"weight": ACTION_WEIGHT})
    for n, (kind, routed) in enumerate(call.followups, 1):
        followup: dict[str, Any] = {"id": f"followup-{n}" if n > 1 else "followup"}
        followup["kind"] = "followup_created"
        followup |= {"followup": kind, "routed_to": routed} if routed else {"followup": kind}
        criteria.append(followup | {"weight": ACTION_WEIGHT})
    if targets:
        transfer = {"id": "transfer", "kind": "transferred_to", "to": targets[0]}
        criteria.append(transfer | {"weight": TRANSFER_WEIGHT})
    return criteria


def _summary(call: _Call) -> str:
    """What the recorded agent did, in one line (for the trainer)."""
    parts = [f"Recorded agent answered after {_up(call.ring)} s"]
    if call.hold:
        parts.append(f"held the caller {_up(call.hold)} s")
    if call.customer_created:
        parts.append("created a customer record")
    parts += [f"opened a {c or 'ticket'} ticket ({p or 'normal'})" for c, p in call.tickets]
    parts += [f"created a {k} follow-up" + (f" for {r}" if r else "") for k, r in call.followups]
    if call.transfer:
        parts.append(f"transferred the caller to {call.transfer}")
    parts.append(f"talked {_up(call.talk)} s")
    if call.wrap is not None:
        parts.append(f"saved disposition {call.disposition or 'none'} after {_up(call.wrap)} s")
    if call.notes.strip():
        parts.append(f"notes: {call.notes}")
    return "; ".join(parts)


def _difficulty(call: _Call) -> str:
    """easy: nothing to do but talk; hard: three things or more to get right (tickets,
    follow-ups, a transfer, a hold, a new customer record); medium between."""
    tasks = len(call.tickets) + len(call.followups) + bool(call.transfer)
    tasks += bool(call.hold) + call.customer_created
    return "easy" if tasks == 0 else "hard" if tasks >= 3 else "medium"


def _header(call: _Call, mask: bool, seed: int) -> str:
    if mask:
        lines = [
            f"# Training scenario made from a call recorded on {call.offered_at.date()}.",
            f"# Customer data masked: the caller's number and name are made up (seed {seed}),",
            "# names, numbers and emails in the transcript and notes are masked.",
        ]
    else:
        lines = [
            f"# Training scenario made from recorded call {_line(call.linkedid, 64)} (Linkedid),",
            f"# recorded at {call.offered_at.isoformat(timespec='seconds')}.",
            "# NOT masked: it holds the caller's real number, name and words.",
        ]
    return "\n".join(lines) + "\n\n"


def _check(text: str, call_id: str) -> None:
    """The text must load in the simulator (a failure here is a bug, said in one line)."""
    from callkit.scenario import parse_scenario
    from callkit.scenario_reader import ScenarioError

    try:
        parse_scenario(text, f"{call_id}.toml")
    except ScenarioError as exc:
        raise ScenarioExportError(f"the scenario made from the call does not load: {exc}") from exc


# ---------------------------------------------------------------- small helpers


def _text(value: object) -> str:
    return clean_text(value, single_line=True).strip() if isinstance(value, str) else ""


def _line(value: str, length: int) -> str:
    return clean_text(value, single_line=True, max_length=length).strip()


def _withheld(value: str) -> bool:
    return value.strip().strip('"').strip().lower() in WITHHELD_VALUES


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value) if value >= 0 else None


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


def _up(seconds: float) -> int:
    """Whole seconds, rounded up (a limit is never below what was recorded)."""
    return math.ceil(seconds - 1e-9)


def _seconds(value: float) -> float | int:
    rounded = round(value, 1)
    return int(rounded) if rounded == int(rounded) else rounded


def _slug(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40].strip("-")
    return slug or "recorded-call"
