"""Screen pop: who is calling, with profile, history, open tickets and follow-ups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from console.db import Database
from console.models import (
    Agent,
    Customer,
    EmailAddress,
    FollowUp,
    Interaction,
    PhoneNumber,
    Ticket,
)
from console.models.enums import (
    Channel,
    CustomerKind,
    FollowUpKind,
    FollowUpStatus,
    InteractionStatus,
    Lifecycle,
    PhoneKind,
    TicketPriority,
    TicketStatus,
    Tier,
)
from console.services.crm.phones import NumberStatus
from console.services.desk.screenpop import ScreenPopService

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ALICE = "+14155550123"
OFFICE = "+442079460958"


@pytest.fixture
async def crm(db: Database) -> Database:
    """Alice (platinum, 500 interactions, an open and a closed ticket, a callback), an office
    line shared by Bob and Carol (Carol contacted more recently), nobody on other numbers."""
    async with db.write() as s:
        agent = Agent(login="a1", display_name="Ann Agent")
        alice = Customer(
            display_name="Alice [bold]Adams[/]",
            tier=Tier.PLATINUM,
            lifecycle=Lifecycle.MATURE,
            language="en",
            lifetime_value_cents=1_250_000,
            tags=["vip"],
        )
        org = Customer(display_name="Acme Ltd", kind=CustomerKind.ORGANISATION)
        s.add_all([agent, alice, org])
        await s.flush()
        bob = Customer(display_name="Bob Brown", organisation_id=org.id)
        carol = Customer(display_name="Carol Chen", organisation_id=org.id)
        s.add_all([bob, carol])
        await s.flush()
        s.add_all(
            [
                PhoneNumber(customer_id=alice.id, e164=ALICE, kind=PhoneKind.MOBILE),
                EmailAddress(customer_id=alice.id, address="alice@example.com"),
                PhoneNumber(customer_id=bob.id, e164=OFFICE, kind=PhoneKind.WORK, label="office"),
                PhoneNumber(customer_id=carol.id, e164=OFFICE, kind=PhoneKind.WORK),
            ]
        )
        channels = list(Channel)
        s.add_all(
            Interaction(
                customer_id=alice.id,
                agent_id=agent.id,
                channel=channels[n % 4],
                status=InteractionStatus.COMPLETED,
                offered_at=NOW - timedelta(hours=n + 1),
                notes=f"call {n}",
            )
            for n in range(500)
        )
        s.add(Interaction(customer_id=bob.id, offered_at=NOW - timedelta(days=30)))
        s.add(Interaction(customer_id=carol.id, offered_at=NOW - timedelta(days=2)))
        s.add_all(
            [
                Ticket(
                    customer_id=alice.id,
                    subject="Charged twice",
                    priority=TicketPriority.HIGH,
                    status=TicketStatus.OPEN,
                    sla_due_at=NOW + timedelta(hours=3),
                ),
                Ticket(customer_id=alice.id, subject="Old one", status=TicketStatus.CLOSED),
            ]
        )
        s.add(
            FollowUp(
                kind=FollowUpKind.CALLBACK,
                customer_id=alice.id,
                due_at=NOW + timedelta(days=1),
                summary="Call back about refund",
            )
        )
        s.add(
            FollowUp(
                kind=FollowUpKind.TASK,
                customer_id=alice.id,
                due_at=NOW - timedelta(days=9),
                status=FollowUpStatus.DONE,
            )
        )
    return db


def service(db: Database, region: str = "US") -> ScreenPopService:
    return ScreenPopService(db, region=region, clock=lambda: NOW)


async def test_one_match_pops_the_whole_profile(crm: Database) -> None:
    pop = await service(crm).lookup("(415) 555-0123")
    assert pop.caller.e164 == ALICE
    assert [m.display_name for m in pop.matches] == ["Alice [bold]Adams[/]"]
    assert pop.profile is not None
    assert pop.profile.tier == "platinum" and pop.profile.lifecycle == "mature"
    assert pop.profile.display_name == "Alice [bold]Adams[/]"  # kept verbatim, never markup
    assert "mobile" in pop.matches[0].reason
    assert [(p.value, p.subtype) for p in pop.profile.phones] == [(ALICE, "mobile")]
    assert [p.value for p in pop.profile.emails] == ["alice@example.com"]


async def test_history_is_bounded_to_the_last_20_across_channels(crm: Database) -> None:
    pop = await service(crm).lookup(ALICE)
    assert len(pop.history) == 20
    assert [h.note_excerpt for h in pop.history[:3]] == ["call 0", "call 1", "call 2"]
    assert {h.channel for h in pop.history} == {"voice", "email", "web", "chat"}
    times = [h.offered_at for h in pop.history]
    assert times == sorted(times, reverse=True)


async def test_open_tickets_with_sla_remaining_and_pending_followups(crm: Database) -> None:
    pop = await service(crm).lookup(ALICE)
    assert [t.subject for t in pop.open_tickets] == ["Charged twice"]
    assert pop.open_tickets[0].sla_remaining_seconds == 3 * 3600
    assert [f.summary for f in pop.followups] == ["Call back about refund"]


async def test_shared_number_gives_ranked_matches_and_a_choice(crm: Database) -> None:
    pop = await service(crm, region="GB").lookup("020 7946 0958")
    assert pop.is_ambiguous
    assert [m.display_name for m in pop.matches] == ["Carol Chen", "Bob Brown"]
    assert all(m.organisation_name == "Acme Ltd" for m in pop.matches)
    assert pop.profile is not None and pop.profile.display_name == "Carol Chen"
    bob_id = pop.matches[1].customer_id
    picked = await service(crm, region="GB").lookup("020 7946 0958", customer_id=bob_id)
    assert picked.profile is not None and picked.profile.display_name == "Bob Brown"


async def test_no_match(crm: Database) -> None:
    pop = await service(crm).lookup("+1 212 555 0199")
    assert pop.is_unknown and pop.profile is None and pop.matches == ()


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("anonymous", NumberStatus.WITHHELD),
        ("<unknown>", NumberStatus.WITHHELD),
        ("", NumberStatus.WITHHELD),
        ("12", NumberStatus.INVALID),
        ("\x1b[2J'; DROP TABLE customers;--", NumberStatus.INVALID),
        ("9" * 5000, NumberStatus.INVALID),
    ],
)
async def test_withheld_and_malformed_numbers_pop_nobody(
    crm: Database, raw: str, status: NumberStatus
) -> None:
    pop = await service(crm).lookup(raw)
    assert pop.caller.status is status
    assert pop.matches == () and pop.profile is None and not pop.is_unknown
    assert "\x1b" not in pop.caller.display
