"""What a recorded call was, read from its records: `read_call` finds the answered call in a
session recording (console/services/training/session_log.py) and returns a `RecordedCall` — the
queue, caller, ring, talk and hold times, the caller's words, and what its agent did (wrap-up,
tickets, follow-ups, transfer, the customer) plus every name, number and email the recording
holds about the caller. `scenario_export` writes a training scenario from it.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, is_dataclass
from datetime import datetime
from typing import Any

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
from console.services.crm.phones import WITHHELD_VALUES
from console.services.desk.screenpop import ScreenPop
from console.services.errors import ServiceError
from console.services.text import clean_text
from console.services.training.masking import CONTACT, EMAIL, NAME, NESTED, PHONE, masking_rules
from console.services.training.session_log import Recorded, RecordedAction, RecordedEvent

_AUTOMATIC_ORIGINS = frozenset({"abandoned", "overflow", "escalation"})  # not the agent's


class ScenarioExportError(ServiceError):
    """A recording cannot be made into a training scenario."""


@dataclass(frozen=True, slots=True)
class SaidLine:
    offset: float  # seconds after the answer
    speaker: str
    text: str


@dataclass(frozen=True, slots=True)
class RecordedCall:
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
    transcript: tuple[SaidLine, ...]
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


def read_call(records: Sequence[Recorded]) -> RecordedCall:
    """The first answered call in `records` (ScenarioExportError when none was answered)."""
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
    return RecordedCall(
        linkedid=linkedid,
        queue=clip(offer.queue or answered.queue, 80) or "support",
        caller_id=clip(offer.caller_id, 80),
        caller_name=clip(offer.caller_name, 80),
        offered_at=offer.at,
        ring=max(0.0, ring if ring is not None else (answered.at - offer.at).total_seconds()),
        talk=max(0.0, (end_at - answered.at).total_seconds()),
        caller_hung_up=bool(ends) and ends[0][1].reason is EndReason.CALLER,
        hold=_hold(after, end_at),
        transcript=tuple(
            SaidLine(
                max(0.0, (e.at - answered.at).total_seconds()),
                clip(e.speaker, 40) or "caller",
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
        transfer=clip(transfer, 80),
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
    category = clip(_text(ticket.get("category")) or wrap_category, 40)
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
            clip(_text(followup.get(key)), 80)
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
    return clip(_text(profile.get("tier")), 20).lower() if isinstance(profile, Mapping) else ""


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
            yield from (v for v in (e.caller_id, e.caller_name) if not is_withheld(v))
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


def _text(value: object) -> str:
    return clean_text(value, single_line=True).strip() if isinstance(value, str) else ""


def clip(value: str, length: int) -> str:
    """`value` cleaned onto one line and cut at `length`."""
    return clean_text(value, single_line=True, max_length=length).strip()


def is_withheld(value: str) -> bool:
    """Whether a caller ID says the number was withheld ("anonymous", "restricted"…)."""
    return value.strip().strip('"').strip().lower() in WITHHELD_VALUES


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value) if value >= 0 else None


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63
