"""How long an offered caller has waited, asked of the PBX when the console did not see them join.

An agent's filtered session does not take its colleagues' callers joining and leaving the
queues (console/cti/event_filters.py: that was nine frames in ten a console received, and grew
with every seat added). So when a call is offered, the tracker may not know when its caller
joined, and ``AgentCalled`` does not say (apps/app_queue.c ring_entry() publishes only Queue,
Interface and MemberName with the two channels). The caller is still a queue entry while the
members ring (try_calling() calls leave_queue() only once one answers), so the PBX's
``QueueStatus`` lists it with its ``Wait``. One small ``QueueStatus`` per such offer, for the
offer's queue and, with ``Member``, no member but this agent, answers it; the pop never waits
for it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import TypeGuard

from callkit.ami_frames import Message
from console.cti.ami_types import ActionResult
from console.cti.fields import as_int
from console.cti.protocol import CallOffered, CallWaitMeasured

Request = Callable[[list[tuple[str, str]]], Awaitable[ActionResult]]


def needs_wait(event: object) -> TypeGuard[CallOffered]:
    """An offer to a queue that could not say how long its caller waited."""
    return isinstance(event, CallOffered) and event.waited is None and bool(event.queue)


def wait_request(offer: CallOffered) -> list[tuple[str, str]]:
    """The QueueStatus that lists the offer's caller: its queue only, and of the members only
    the agent's own (Asterisk matches ``Member`` against a member's interface or name)."""
    return [
        ("Action", "QueueStatus"),
        ("Queue", offer.queue),
        ("Member", offer.interface or offer.member_name),
    ]


def wait_from_status(
    items: Iterable[Message], offer: CallOffered, at: datetime | None = None
) -> CallWaitMeasured | None:
    """The offer's caller's wait from QueueStatus list items; None when the caller is not
    listed (answered or gone meanwhile) or its Wait is unreadable."""
    for item in items:
        if item.get("Event").strip().lower() != "queueentry":
            continue
        if item.get("Uniqueid").strip() != offer.uniqueid:
            continue
        if item.get("Queue").strip() not in ("", offer.queue):
            continue
        waited = as_int(item.get("Wait"))
        if waited is None or waited < 0:
            return None
        return CallWaitMeasured(
            uniqueid=offer.uniqueid,
            linkedid=offer.linkedid,
            queue=offer.queue,
            interface=offer.interface,
            waited=waited,
            at=at or datetime.now(UTC),
        )
    return None


async def measure_wait(request: Request, offer: CallOffered) -> CallWaitMeasured | None:
    """Ask the PBX how long the offer's caller has waited (None: it could not say)."""
    result = await request(wait_request(offer))
    if not result.ok:
        return None
    return wait_from_status(result.items, offer)


__all__ = ["measure_wait", "needs_wait", "wait_from_status", "wait_request"]
