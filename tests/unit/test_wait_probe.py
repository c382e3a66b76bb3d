"""The offered caller's wait, read from the PBX's QueueStatus (console/cti/wait_probe.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from callkit.ami_frames import Message
from console.cti.protocol import CallOffered
from console.cti.wait_probe import needs_wait, wait_from_status, wait_request

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def offer(waited: float | None = None, queue: str = "support") -> CallOffered:
    return CallOffered(
        uniqueid="1733.7",
        linkedid="1733.7",
        queue=queue,
        caller_id="+14155550123",
        caller_name="Ann Lee",
        interface="PJSIP/1001",
        member_name="Alice",
        channel="PJSIP/trunk-00000007",
        agent_channel="PJSIP/1001-00000008",
        waited=waited,
        at=T0,
    )


def item(event: str, **fields: str) -> Message:
    return Message((("Event", event), *fields.items()))


def entry(uniqueid: str, wait: str, queue: str = "support") -> Message:
    return item("QueueEntry", Queue=queue, Position="1", Uniqueid=uniqueid, Wait=wait)


def test_only_an_offer_without_a_wait_asks_and_it_asks_for_its_queue_and_agent() -> None:
    assert needs_wait(offer())
    assert not needs_wait(offer(waited=12.0))
    assert not needs_wait(offer(queue=""))  # a direct call: no queue to ask about
    assert wait_request(offer()) == [
        ("Action", "QueueStatus"),
        ("Queue", "support"),
        ("Member", "PJSIP/1001"),
    ]


def test_the_callers_own_entry_gives_the_wait() -> None:
    items = [
        item("QueueParams", Queue="support", Calls="3"),
        item("QueueMember", Queue="support", Name="Alice", Location="PJSIP/1001"),
        entry("1733.5", "95"),  # a caller ahead, waiting longer
        entry("1733.7", "42"),
        entry("1733.9", "3"),
    ]
    measured = wait_from_status(items, offer(), at=T0)
    assert measured is not None
    assert (measured.uniqueid, measured.queue, measured.interface, measured.waited) == (
        "1733.7",
        "support",
        "PJSIP/1001",
        42,
    )


def test_no_wait_when_the_caller_is_not_listed_or_its_wait_is_unreadable() -> None:
    assert wait_from_status([entry("1733.5", "95")], offer()) is None  # answered or gone
    assert wait_from_status([entry("1733.7", "42", queue="sales")], offer()) is None
    for bad in ("", "soon", "-4"):
        assert wait_from_status([entry("1733.7", bad)], offer()) is None
