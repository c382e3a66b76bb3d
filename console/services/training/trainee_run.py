"""What a trainee did on a run's scripted calls, rebuilt from the recording: a `TraineeRun`.

Pure: no database, no clock. `build_trainee_run` takes the trainee console's recorded
records (`console.services.training.session_log`), the interaction rows of the run's calls and the
follow-ups created on them, and finds each scripted call by the `script` and `training_run`
the simulator put on its `CallOffered`. Times come from the recorded typed events (when the
trainee's console saw the ring, the answer, the hold…) and the recorded actions (when the
trainee picked the customer, saved the wrap-up, opened a ticket…); what was saved (the
disposition, the notes, the customer linked) comes from the interaction row, the truth.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from console.cti.protocol import (
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallOffered,
    CallResumed,
    CallTransferred,
    EndReason,
)
from console.services.text import clean_text
from console.services.training.scoring import (
    CreatedFollowUp,
    CreatedTicket,
    TraineeCall,
    TraineeRun,
)
from console.services.training.session_log import Recorded, RecordedAction, RecordedEvent

# Ring endings that are not the end of the call: it rings again (here or elsewhere).
_NOT_OVER = {EndReason.NO_ANSWER, EndReason.ANSWERED_ELSEWHERE, EndReason.CANCELLED}


@dataclass(frozen=True, slots=True)
class InteractionFacts:
    """An interaction row of one of the run's calls, as saved."""

    id: int
    linkedid: str
    offered_at: datetime
    answered_at: datetime | None
    wrapped_at: datetime | None
    wrap_seconds: int
    disposition: str
    notes: str
    customer_id: int | None
    customer_name: str
    transferred_to: str


@dataclass(frozen=True, slots=True)
class FollowUpFacts:
    """A follow-up created on one of the run's interactions, and where routing sent it."""

    interaction_id: int
    kind: str
    created_at: datetime
    queue: str
    skill: str


@dataclass(frozen=True, slots=True)
class ScriptedCallInfo:
    """What the scenario says of one scripted call (the parts scoring needs)."""

    id: str
    customer_id: int | None


def run_calls(records: Iterable[Recorded], run_id: str) -> dict[str, str]:
    """Script id -> Linkedid of the run's scripted calls that rang at the trainee."""
    found: dict[str, str] = {}
    for record in records:
        if isinstance(record, RecordedEvent) and record.event_type == "CallOffered":
            event = record.event()
            if (
                isinstance(event, CallOffered)
                and event.training_run == run_id
                and event.script
                and event.script not in found
            ):
                found[event.script] = event.linkedid
    return found


def build_trainee_run(
    *,
    scenario: str,
    trainee: str,
    run_id: str,
    started_at: datetime,
    calls: Sequence[ScriptedCallInfo],
    records: Sequence[Recorded],
    interactions: Sequence[InteractionFacts],
    followups: Sequence[FollowUpFacts] = (),
) -> TraineeRun:
    """The trainee's run: one `TraineeCall` per scripted call that rang at their phone."""
    linked = run_calls(records, run_id)
    built = []
    for call in calls:
        linkedid = linked.get(call.id)
        if linkedid is None:
            continue  # never reached the trainee: every criterion on it fails
        mine = [i for i in interactions if i.linkedid == linkedid]
        built.append(_call(call, linkedid, records, mine, followups))
    return TraineeRun(scenario=scenario, trainee=trainee, started_at=started_at, calls=tuple(built))


def _call(
    call: ScriptedCallInfo,
    linkedid: str,
    records: Sequence[Recorded],
    interactions: Sequence[InteractionFacts],
    followups: Sequence[FollowUpFacts],
) -> TraineeCall:
    interaction_ids = {i.id for i in interactions}
    events = [
        (r, e)
        for r in records
        if isinstance(r, RecordedEvent) and r.call_id == linkedid and (e := r.event()) is not None
    ]
    actions = [
        r
        for r in records
        if isinstance(r, RecordedAction)
        and (r.call_id == linkedid or (r.interaction_id in interaction_ids))
    ]
    offered_at = answered_at = ended_at = transferred_at = None
    abandoned = False
    transferred_to = ""
    hold_seconds = 0.0
    held_since: datetime | None = None
    for _record, event in events:
        if isinstance(event, CallOffered) and offered_at is None:
            offered_at = event.at
        elif isinstance(event, CallAnswered) and answered_at is None:
            answered_at = event.at
        elif isinstance(event, CallHeld) and held_since is None:
            held_since = event.at
        elif isinstance(event, CallResumed) and held_since is not None:
            hold_seconds += max(0.0, (event.at - held_since).total_seconds())
            held_since = None
        elif isinstance(event, CallTransferred):
            transferred_to, transferred_at = clean_text(event.target, single_line=True), event.at
        elif isinstance(event, CallAbandoned) and answered_at is None:
            abandoned, ended_at = True, event.at
        elif isinstance(event, CallEnded) and event.reason not in _NOT_OVER:
            ended_at = ended_at or event.at
            abandoned = abandoned or (answered_at is None and event.reason is EndReason.ABANDONED)
    if held_since is not None and ended_at is not None:  # still on hold when it ended
        hold_seconds += max(0.0, (ended_at - held_since).total_seconds())
    assert offered_at is not None  # the call is in `run_calls` because it was offered
    # The interaction the call was handled on: the answered one, else the latest offer.
    answered = [i for i in interactions if i.answered_at is not None]
    ordered = answered or sorted(interactions, key=lambda i: i.offered_at)
    row = ordered[-1] if ordered else None
    if not transferred_to and row is not None and row.transferred_to:
        transferred_to = row.transferred_to
    if not transferred_to:
        for action in actions:
            if action.kind == "transfer" and isinstance(action.details.get("target"), str):
                transferred_to, transferred_at = action.details["target"], action.at
    wrapped_at, wrapup_seconds = _wrap_up(row, actions, ended_at)
    customer_id = row.customer_id if row is not None else None
    created_at = _created(records, customer_id, offered_at)
    chosen = [a.at for a in actions if a.kind == "customer_chosen"]
    popped = [a.at for a in actions if a.kind == "pop_shown"]
    moments = chosen or ([created_at] if created_at else []) or popped
    identified_at = moments[-1] if moments and customer_id is not None else None
    return TraineeCall(
        call_id=call.id,
        offered_at=offered_at,
        answered_at=answered_at,
        ended_at=ended_at,
        wrapped_at=wrapped_at,
        hold_seconds=hold_seconds,
        wrapup_seconds=wrapup_seconds,
        disposition=row.disposition if row is not None else "",
        notes=row.notes if row is not None else "",
        customer_id=customer_id,
        customer_name=row.customer_name if row is not None else "",
        customer_created=created_at is not None,
        customer_matches_caller=(
            call.customer_id is not None
            and customer_id is not None
            and customer_id == call.customer_id
        ),
        identified_at=identified_at,
        tickets=_tickets(actions),
        followups=tuple(
            CreatedFollowUp(
                kind=f.kind, at=f.created_at, queue=f.queue or None, skill=f.skill or None
            )
            for f in sorted(followups, key=lambda f: f.created_at)
            if f.interaction_id in interaction_ids
        ),
        transferred_to=transferred_to,
        transferred_at=transferred_at,
        abandoned=abandoned,
    )


def _wrap_up(
    row: InteractionFacts | None, actions: Sequence[RecordedAction], ended_at: datetime | None
) -> tuple[datetime | None, float | None]:
    saved = [a for a in actions if a.kind == "wrap_up_saved"]
    if row is not None and row.wrapped_at is not None:
        return row.wrapped_at, float(row.wrap_seconds)
    if saved:
        at = saved[-1].at
        seconds = saved[-1].details.get("wrap_seconds")
        if isinstance(seconds, int | float) and not isinstance(seconds, bool):
            return at, float(seconds)
        if ended_at is not None:
            return at, max(0.0, (at - ended_at).total_seconds())
        return at, 0.0
    return None, None


def _created(
    records: Sequence[Recorded], customer_id: int | None, since: datetime
) -> datetime | None:
    """When the trainee created the customer the call ended up linked to (None: they didn't)."""
    if customer_id is None:
        return None
    for record in records:
        if (
            isinstance(record, RecordedAction)
            and record.kind == "customer_created"
            and record.details.get("customer_id") == customer_id
            and record.at >= since
        ):
            return record.at
    return None


def _tickets(actions: Sequence[RecordedAction]) -> tuple[CreatedTicket, ...]:
    tickets = []
    for action in actions:
        if action.kind != "ticket_created":
            continue
        ticket = action.details.get("ticket")
        if not isinstance(ticket, Mapping):
            continue
        tickets.append(
            CreatedTicket(
                category=str(ticket.get("category") or ""),
                priority=str(ticket.get("priority") or ""),
                at=action.at,
            )
        )
    return tuple(tickets)
