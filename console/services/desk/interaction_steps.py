"""The interaction row's call steps as pure transitions: each takes the current row and returns
the columns to change ({} = nothing to do). A step applies only from the states it belongs to,
and a time is never set before the one it follows; `interactions.InteractionLog` runs them
inside its write transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from console.models.enums import InteractionStatus as S

if TYPE_CHECKING:
    from console.services.desk.interactions import WrapUp

MAX_SECONDS = 2**31 - 1


def seconds(start: datetime, end: datetime) -> int:
    return min(MAX_SECONDS, max(0, round((end - start).total_seconds())))


def seconds_or(value: int | None, default: int) -> int:
    """A PBX-reported duration when it is a sane number of seconds, else ``default``."""
    return value if isinstance(value, int) and 0 <= value <= MAX_SECONDS else default


def answer(
    row: Mapping[str, Any], at: datetime, wait: int | None = None, ring: int | None = None
) -> dict[str, Any]:
    if row["status"] != S.RINGING or row["answered_at"] is not None:
        return {}
    answered = max(at, row["offered_at"])
    return {
        "status": S.ACTIVE,
        "answered_at": answered,
        # The PBX's figures (AgentConnect HoldTime / RingTime) beat the console's estimates.
        "wait_seconds": seconds_or(wait, row["wait_seconds"]),
        "ring_seconds": seconds_or(ring, seconds(row["offered_at"], answered)),
    }


def hold(row: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    if row["status"] != S.ACTIVE:
        return {}
    return {"status": S.HELD, "hold_started_at": max(at, row["answered_at"] or row["offered_at"])}


def resume(row: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    if row["status"] != S.HELD:
        return {}
    started = row["hold_started_at"] or row["answered_at"] or row["offered_at"]
    held = seconds(started, max(at, started))
    return {
        "status": S.ACTIVE,
        "hold_started_at": None,
        "hold_seconds": min(MAX_SECONDS, row["hold_seconds"] + held),
    }


def end(row: Mapping[str, Any], at: datetime, reason: str = "") -> dict[str, Any]:
    status = row["status"]
    if status == S.RINGING:
        return miss(row, at, reason)
    if status not in (S.ACTIVE, S.HELD):
        return {}
    # A row written by another tool may lack answered_at; the offer time is the safe floor.
    answered: datetime = row["answered_at"] or row["offered_at"]
    hold_started: datetime | None = row["hold_started_at"] if status == S.HELD else None
    end = max(at, answered, hold_started or answered)
    hold = row["hold_seconds"] + (seconds(hold_started, end) if hold_started else 0)
    return {
        "status": S.WRAPUP,
        "ended_at": end,
        "hold_started_at": None,
        "hold_seconds": min(MAX_SECONDS, hold),
        "talk_seconds": max(0, seconds(answered, end) - hold),
        "end_reason": row["end_reason"] or reason[:20],
    }


def miss(
    row: Mapping[str, Any], at: datetime, reason: str = "", wait: int | None = None
) -> dict[str, Any]:
    if row["status"] != S.RINGING:
        return {}
    end = max(at, row["offered_at"])
    return {
        "status": S.MISSED,
        "ended_at": end,
        "ring_seconds": seconds(row["offered_at"], end),
        "end_reason": reason[:20],
        # The caller's queue wait, when it was learnt only after the ring was written.
        "wait_seconds": seconds_or(wait, row["wait_seconds"]),
    }


def transfer(row: Mapping[str, Any], at: datetime, where: str, prefill: str = "") -> dict[str, Any]:
    """Transferred to ``where``: an active or held call ends here (``prefill`` becomes an
    empty disposition); a transfer reported after the hang-up only records the target."""
    if row["status"] in (S.ACTIVE, S.HELD):
        values = end(row, at, "transfer") | {"transferred_to": where}
        if prefill and not row["disposition"]:
            values["disposition"] = prefill
        return values
    if row["status"] == S.WRAPUP and not row["transferred_to"]:
        return {"transferred_to": where, "end_reason": "transfer"}
    return {}


def complete(row: Mapping[str, Any], at: datetime, wrap: WrapUp) -> dict[str, Any]:
    """A checked wrap-up (`InteractionLog.wrap_up` checks it): wrapup → completed."""
    ended_at: datetime = row["ended_at"] or row["offered_at"]
    wrapped_at = max(at, ended_at)
    return {
        "status": S.COMPLETED,
        "disposition": wrap.disposition,
        "notes": wrap.notes,
        "category": wrap.category or row["category"],
        "ticket_id": wrap.ticket_id,
        "resolved_first_contact": bool(wrap.resolved_first_contact),
        "csat": wrap.csat,
        "wrapped_at": wrapped_at,
        "wrap_seconds": seconds(ended_at, wrapped_at),
    }
