"""Customers: search by name/phone/email/ticket, create, change, timeline, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from console.db import Database
from console.models import Agent, Customer, EmailAddress, Interaction, PhoneNumber, Ticket
from console.models.enums import Channel, CustomerKind, Lifecycle, PhoneKind, Tier
from console.services.audit import AuditLog
from console.services.crm.customer_search import (
    MatchKind,
    case_variants,
    parse_query,
    prefix_upper_bound,
)
from console.services.crm.customers import CustomerError, CustomerService
from console.services.desk.screenpop import ScreenPopService

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ALICE = "+14155550123"
HOSTILE = "[bold red]x[/] [@click=app.quit]\x1b[31m\x1b]8;;http://evil\x07\u202eevil"


@pytest.fixture
async def crm(db: Database) -> dict[str, int]:
    async with db.write() as s:
        agent = Agent(login="ann", display_name="Ann Agent")
        org = Customer(display_name="Acme Ltd", kind=CustomerKind.ORGANISATION)
        s.add_all([agent, org])
        await s.flush()
        people = {
            name: Customer(display_name=name, organisation_id=org.id if "Chen" in name else None)
            for name in (
                "Alice Adams",
                "alison brown",
                "ALIBABA Trading",
                "Alfred Ali",
                "McDonald Farm",
                "Carol Chen",
                "张伟",
                "Ali_ce 100%",
            )
        }
        s.add_all(people.values())
        await s.flush()
        alice = people["Alice Adams"]
        s.add_all(
            [
                PhoneNumber(customer_id=alice.id, e164=ALICE, kind=PhoneKind.MOBILE),
                PhoneNumber(customer_id=people["Carol Chen"].id, e164=ALICE, kind=PhoneKind.WORK),
                EmailAddress(customer_id=alice.id, address="alice@example.com"),
            ]
        )
        ticket = Ticket(customer_id=alice.id, subject="Charged twice")
        s.add(ticket)
        s.add_all(
            Interaction(
                customer_id=alice.id,
                agent_id=agent.id,
                channel=list(Channel)[n % 4],
                offered_at=NOW - timedelta(hours=n),
                notes=f"contact {n}",
            )
            for n in range(7)
        )
        await s.flush()
        ids = {name: c.id for name, c in people.items()}
        ids |= {"agent": agent.id, "ticket": ticket.id, "org": org.id}
        return ids


def service(db: Database) -> CustomerService:
    return CustomerService(db, "US", AuditLog(db, clock=lambda: NOW), clock=lambda: NOW)


async def names(db: Database, query: str, limit: int = 20) -> list[str]:
    return [h.display_name for h in await service(db).search(query, limit)]


async def test_name_prefix_is_case_insensitive(db: Database, crm: dict[str, int]) -> None:
    hits = await service(db).search("ali")
    prefix = [h.display_name for h in hits if h.matched_on is MatchKind.NAME_PREFIX]
    assert prefix == ["Ali_ce 100%", "ALIBABA Trading", "Alice Adams", "alison brown"]
    # After the prefix matches come names containing the text elsewhere.
    assert [h.display_name for h in hits if h.matched_on is MatchKind.NAME_CONTAINS] == [
        "Alfred Ali"
    ]
    assert hits[0].reason == "name starts with “ali”"
    assert await names(db, "mcd") == ["McDonald Farm"]
    assert await names(db, "ALICE ADAMS") == ["Alice Adams"]
    assert await names(db, "张") == ["张伟"]
    assert await names(db, "ali", limit=2) == ["Ali_ce 100%", "ALIBABA Trading"]


async def test_name_contains_finds_surnames(db: Database, crm: dict[str, int]) -> None:
    hits = await service(db).search("chen")
    assert [(h.display_name, h.matched_on) for h in hits] == [
        ("Carol Chen", MatchKind.NAME_CONTAINS)
    ]
    assert hits[0].organisation_name == "Acme Ltd"
    assert await service(db).search("chen", contains=False) == []  # search-as-you-type
    # LIKE wildcards in the query are literal characters.
    assert await names(db, "100%") == ["Ali_ce 100%"]
    assert await names(db, "i_c") == ["Ali_ce 100%"]


async def test_phone_in_any_format_matches_exactly(db: Database, crm: dict[str, int]) -> None:
    for query in ("(415) 555-0123", "+1 415 555 0123", "tel:+14155550123", "4155550123"):
        hits = await service(db).search(query)
        assert {h.display_name for h in hits} == {"Alice Adams", "Carol Chen"}, query
        assert {h.matched_on for h in hits} == {MatchKind.PHONE}
    assert hits[0].reason == f"phone number {ALICE}"
    assert await names(db, "(415) 555-0199") == []


async def test_email_and_ticket_lookups(db: Database, crm: dict[str, int]) -> None:
    hits = await service(db).search("  Alice@Example.COM ")
    assert [(h.display_name, h.matched_on) for h in hits] == [("Alice Adams", MatchKind.EMAIL)]
    assert hits[0].phone == ALICE and hits[0].email == "alice@example.com"
    assert hits[0].last_contact_at == NOW
    ticket = crm["ticket"]
    for query in (f"#{ticket}", f"T{ticket}", f"t-{ticket}", f"ticket {ticket}", str(ticket)):
        hits = await service(db).search(query)
        assert [(h.display_name, h.matched_on) for h in hits] == [
            ("Alice Adams", MatchKind.TICKET)
        ], query
    assert hits[0].reason == f"ticket #{ticket} “Charged twice”"
    assert await names(db, "#99999999999999999999999") == []  # wider than any id: no error
    assert await names(db, "") == [] and await names(db, "   ") == []


def test_query_parsing() -> None:
    assert parse_query("#12", "US").ticket_id == 12
    assert parse_query("12", "US").ticket_id == 12 and parse_query("12", "US").name is None
    assert parse_query("Tom", "US").name == "Tom" and parse_query("Tom", "US").ticket_id is None
    assert parse_query("a@b.co", "US").email == "a@b.co"
    assert parse_query("415 555 0123", "US").phone is not None


def test_index_ranges() -> None:
    assert set(case_variants("ab")) == {"ab", "Ab", "aB", "AB"}
    assert case_variants("mcdonald")[:2] == ["Mcdonald", "mcdonald"]
    assert "McD" in case_variants("mcd")
    assert prefix_upper_bound("Ali") == "Alj"
    assert prefix_upper_bound("a\U0010ffff") == "b"
    assert prefix_upper_bound("\ud7ff") == "\ue000"


async def test_create_the_unknown_caller(db: Database, crm: dict[str, int]) -> None:
    customers = service(db)
    new_id = await customers.create(
        "  Dan Dare ",
        agent_id=crm["agent"],
        phone_raw="(212) 555-0147",
        email="Dan@Example.org",
        language="en-GB",
    )
    pop = await ScreenPopService(db).lookup("+1 212 555 0147")
    assert pop.profile is not None and pop.profile.id == new_id
    assert pop.profile.display_name == "Dan Dare" and pop.profile.language == "en-GB"
    assert [p.value for p in pop.profile.emails] == ["dan@example.org"]
    entries = await AuditLog(db).for_entity("customer", new_id)
    assert [(e.action, e.actor_agent_id) for e in entries] == [("create", crm["agent"])]
    assert entries[0].details["phone"] == "+12125550147"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"display_name": "  "}, "name must not be empty"),
        ({"display_name": "x" * 201}, "name is too long"),
        ({"phone_raw": "12"}, "is not a valid phone number"),
        ({"phone_raw": "anonymous"}, "withheld"),
        ({"email": "not-an-email"}, "is not an email address"),
        ({"language": "english!"}, "not a language code"),
        ({"kind": "robot"}, "kind must be one of person, organisation"),
        ({"agent_id": 999}, "agent 999 does not exist"),
    ],
)
async def test_create_refuses_bad_input(
    db: Database, crm: dict[str, int], kwargs: dict[str, object], message: str
) -> None:
    args: dict[str, object] = {"display_name": "Eve", "agent_id": crm["agent"]} | kwargs
    with pytest.raises(CustomerError, match=message) as caught:
        await service(db).create(**args)  # type: ignore[arg-type]
    assert "\n" not in str(caught.value)
    assert await names(db, "Eve") == []


async def test_hostile_names_are_stored_safely(db: Database, crm: dict[str, int]) -> None:
    customers = service(db)
    new_id = await customers.create(HOSTILE, agent_id=crm["agent"])
    [hit] = await customers.search("[bold")
    assert hit.customer_id == new_id
    assert hit.display_name == "[bold red]x[/] [@click=app.quit]evil"
    with pytest.raises(CustomerError, match="too long"):
        await customers.create("n" * 10_000, agent_id=crm["agent"])
    # A 10,000-character name written by another tool still comes back bounded and clean.
    async with db.write() as s:
        s.add(Customer(display_name="Zed\x1b[2J" + "z" * 10_000))
    [long_hit] = await customers.search("zed")
    assert len(long_hit.display_name) == 200 and "\x1b" not in long_hit.display_name
    await customers.search("\x1b]0;x\x07" + "q" * 10_000)  # a hostile query is just no match


async def test_attach_number(db: Database, crm: dict[str, int]) -> None:
    customers = service(db)
    bob = crm["alison brown"]
    e164 = await customers.attach_number(
        bob, "+44 20 7946 0958", agent_id=crm["agent"], label="office", kind="work"
    )
    assert e164 == "+442079460958"
    again = await customers.attach_number(bob, e164, agent_id=crm["agent"])
    assert again == e164
    hits = await customers.search(e164)
    assert [h.customer_id for h in hits] == [bob]
    with pytest.raises(CustomerError, match="not a valid phone number"):
        await customers.attach_number(bob, "abc", agent_id=crm["agent"])
    with pytest.raises(CustomerError, match="customer 424242 does not exist"):
        await customers.attach_number(424242, ALICE, agent_id=crm["agent"])
    audit = await AuditLog(db).for_entity("customer", bob)
    assert len(audit) == 1 and audit[0].details["phone_added"] == e164


async def test_update_profile_validates_then_changes(db: Database, crm: dict[str, int]) -> None:
    customers = service(db)
    alice = crm["Alice Adams"]
    changed = await customers.update_profile(
        alice,
        agent_id=crm["agent"],
        display_name="Alice B. Adams",
        tier="gold",
        lifecycle=Lifecycle.GROWING,
        tags=["vip", " vip", "billing\x1b[31m", ""],
        notes="Prefers\nemail",
        language="en",  # unchanged
    )
    assert changed == {"display_name", "tier", "lifecycle", "tags", "notes"}
    pop = await ScreenPopService(db).for_customer(alice)
    assert pop.profile is not None
    assert (pop.profile.display_name, pop.profile.tier, pop.profile.tags) == (
        "Alice B. Adams",
        Tier.GOLD,
        ("vip", "billing"),
    )
    assert pop.profile.notes == "Prefers\nemail"
    [entry] = await AuditLog(db).for_entity("customer", alice)
    assert entry.details["tier"] == {"from": "lead", "to": "gold"}
    assert entry.details["notes"] == "changed"
    # One bad field refuses the whole change.
    with pytest.raises(CustomerError, match="tier must be one of"):
        await customers.update_profile(alice, agent_id=crm["agent"], display_name="X", tier="vip")
    with pytest.raises(CustomerError, match="tags must be a list"):
        await customers.update_profile(alice, agent_id=crm["agent"], tags="vip")
    with pytest.raises(CustomerError, match="notes is too long"):
        await customers.update_profile(alice, agent_id=crm["agent"], notes="n" * 20_001)
    pop = await ScreenPopService(db).for_customer(alice)
    assert pop.profile is not None and pop.profile.display_name == "Alice B. Adams"
    assert await customers.update_profile(alice, agent_id=crm["agent"], tier="gold") == set()
    assert len(await AuditLog(db).for_entity("customer", alice)) == 1


async def test_timeline_pages_through_every_channel(db: Database, crm: dict[str, int]) -> None:
    customers = service(db)
    alice = crm["Alice Adams"]
    first = await customers.timeline(alice, limit=3)
    assert [e.notes for e in first.entries] == ["contact 0", "contact 1", "contact 2"]
    assert first.entries[0].offered_at == NOW and first.entries[0].agent_name == "Ann Agent"
    assert first.next_cursor is not None
    second = await customers.timeline(alice, limit=3, before=first.next_cursor)
    third = await customers.timeline(alice, limit=3, before=second.next_cursor)
    assert [e.notes for e in second.entries + third.entries] == [
        f"contact {n}" for n in range(3, 7)
    ]
    assert third.next_cursor is None
    assert {e.channel for e in first.entries + second.entries} == {c.value for c in Channel}
    assert (await customers.timeline(crm["Carol Chen"])).entries == ()
    with pytest.raises(CustomerError, match="customer 424242 does not exist"):
        await customers.timeline(424242)


async def test_views_are_audited(db: Database, crm: dict[str, int]) -> None:
    customers = service(db)
    await customers.record_view(crm["agent"], crm["Alice Adams"], context="screen_pop")
    [entry] = await AuditLog(db).for_entity("customer", crm["Alice Adams"])
    assert (entry.action, entry.details, entry.at) == ("view", {"context": "screen_pop"}, NOW)
