"""Masking for trainer views and replays: formats, free text, whole screen pops from a seeded
CRM, the audited unmask, and the migration that adds the permission."""

from __future__ import annotations

import copy
import json
import re
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import asdict, fields
from datetime import timedelta
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from faker import Faker
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, func, select, update

from console.db import Database
from console.models import Agent, Customer, EmailAddress, FollowUp, Interaction, PhoneNumber
from console.models import AuditLog as AuditRow
from console.models.enums import (
    CustomerKind,
    FollowUpKind,
    InteractionStatus,
    Role,
    TicketPriority,
    TicketStatus,
)
from console.models.ticket import Ticket
from console.schema import alembic_config
from console.services.crm.agents import AgentDirectory, AgentIdentity
from console.services.desk.screenpop import ScreenPop, ScreenPopService
from console.services.training.mask_formats import (
    HIDDEN,
    mask_email,
    mask_name,
    mask_phone,
    mask_text,
)
from console.services.training.masking import (
    MASKABLE,
    UNMASK,
    Masker,
    MaskingError,
    MaskingService,
    mask_pop,
    masking_rules,
)
from tests.crm import T0, Clock, copy_of, seed_file

# --- the formats, one table per function ------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("+14155550123", "+1 ••• ••• 0123"),
        ("(415) 555-0123", "+1 ••• ••• 0123"),  # national form, read in the default region
        ("tel:+14155550123", "+1 ••• ••• 0123"),
        ("00442079460958", "+44 ••• ••• 0958"),  # the ITU 00 prefix
        ("+44 20 7946 0958", "+44 ••• ••• 0958"),
        ("+8613800138000", "+86 ••• ••• 8000"),
        ("+3545551234", "+354 ••• ••• 34"),  # a 7-digit national number keeps 2 digits
        ("+15555555555", "+1 ••• ••• 5555"),  # unassigned numbers are masked all the same
        ("12345", HIDDEN),  # too short to be a number: nothing of it shows
        ("John Smith", HIDDEN),
        ("+999123456", HIDDEN),  # no such country code
        ("anonymous", "anonymous"),  # withheld markers say nothing about anybody
        ("<unknown>", "<unknown>"),
        ("", ""),
    ],
)
def test_mask_phone(raw: str, masked: str) -> None:
    assert mask_phone(raw) == masked


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("jane.smith@example.com", "j•••@•••.com"),
        ("Bob@mail.example.co.uk", "b•••@•••.uk"),
        ("4155550123@sms.example.net", "•••@•••.net"),  # a digit is not shown as "first letter"
        ("x@localhost", "x•••@•••"),
        ("user@10.0.0.1", "u•••@•••"),  # a numeric "TLD" is not shown
        ("not an address", HIDDEN),
        ("", ""),
    ],
)
def test_mask_email(raw: str, masked: str) -> None:
    assert mask_email(raw) == masked


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("Jane Smith", "J. S."),
        ("jane", "J."),
        ("Mary Ann de la Cruz", "M. A. C."),  # at most three: first, second, last
        ("Dr. John Smith MD", "D. J. M."),
        ("王小明", "王."),
        ("Acme Ltd", "A. L."),
        ("+14155550123", HIDDEN),  # a caller "name" that is a number shows no digit
        ("<unknown>", "<unknown>"),
        ("", ""),
    ],
)
def test_mask_name(raw: str, masked: str) -> None:
    assert mask_name(raw) == masked


KNOWN = ("Alice Adams", "+14155550123", "alice.adams@example.com", "李建平")


@pytest.mark.parametrize(
    ("note", "masked"),
    [
        (
            "Alice Adams rang from +1 415-555-0123; also (415) 555 0123",
            "A. A. rang from +1 ••• ••• 0123; also +1 ••• ••• 0123",
        ),
        ("spaced: 4 1 5 5 5 5 0 1 2 3.", "spaced: +1 ••• ••• 0123."),
        ("dotted 415.555.0123, raw 4155550123", "dotted +1 ••• ••• 0123, raw +1 ••• ••• 0123"),
        ("UK 0044 20 7946 0958 / 004420 7946 0958", "UK +44 ••• ••• 0958 / +44 ••• ••• 0958"),
        ("mail alice.adams@example.com or bob@x.org", "mail a•••@•••.com or b•••@•••.org"),
        ("ALICE said alice.adams would pay", "A. said A. would pay"),
        ("李建平先生说建平很好", "李.先生说•••很好"),
        ("account 88231907 closed", "account ••• closed"),  # any 6+ digit run
        ("born 1985-03-12", "born •••"),  # a date of birth is personal data too
        # Numbers that are not personal stay readable: amounts, short ids, times.
        ("refund of $150.00, ticket #4521 at 10:30", "refund of $150.00, ticket #4521 at 10:30"),
        # History excerpts are cut: a fragment of a name or number at the cut goes too.
        ("talked to Alice Ada…", "talked to A. •••…"),
        ("call back on 415 55…", "call back on •••…"),
        ("all good…", "all good…"),
        ("", ""),
    ],
)
def test_mask_text(note: str, masked: str) -> None:
    assert mask_text(note, KNOWN) == masked


def test_mask_text_strips_control_codes() -> None:
    assert mask_text("\x1b[31mred\x1b[0m 4155550123", ()) == "red +1 ••• ••• 0123"


# --- properties ---------------------------------------------------------------------------

COUNTRY_CODES = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


@st.composite
def e164_numbers(draw: st.DrawFn) -> tuple[str, str, str]:
    """(number, country code, national digits) for any country code, random digits."""
    code = str(draw(st.sampled_from(COUNTRY_CODES)))
    national = draw(st.from_regex(rf"\A[1-9][0-9]{{5,{13 - len(code)}}}\Z"))
    return f"+{code}{national}", code, national


def assert_only_code_and_tail(masked: str, code: str, national: str) -> None:
    """The mask shows the country code and at most a 2–4 digit tail, hiding 4+ digits."""
    groups = re.findall(r"\d+", masked)
    if not groups:
        return
    assert groups[0] == code, masked
    assert len(groups) <= 2, masked
    if len(groups) == 2:
        tail = groups[1]
        assert len(tail) in (2, 4) and national.endswith(tail), masked
        assert len(national) - len(tail) >= 4, masked


@settings(max_examples=300, deadline=None)
@given(e164_numbers())
def test_a_masked_number_never_shows_more_than_its_code_and_tail(
    number: tuple[str, str, str],
) -> None:
    raw, code, national = number
    masked = mask_phone(raw)
    assert raw not in masked and national not in masked
    assert_only_code_and_tail(masked, code, national)


US_FORMATS = (
    "+1 {a}-{e}-{l}",
    "({a}) {e} {l}",
    "{a}.{e}.{l}",
    "+1{a}{e}{l}",
    "1-{a}-{e}-{l}",
    "{a} {e} {l}",
    "001 {a} {e} {l}",
)
UK_FORMATS = ("+44 20 {e} {l}", "0044 20 {e} {l}", "004420{e}{l}", "+44 (0)20 {e}{l}")


@st.composite
def written_numbers(draw: st.DrawFn) -> tuple[str, str, str]:
    """(a number as someone might type it, its country code, its national digits)."""
    if draw(st.booleans()):  # a US number, in one of many shapes or digit by digit
        area = draw(st.from_regex(r"\A[2-9][0-8][0-9]\Z"))
        exchange = draw(st.from_regex(r"\A[2-9][0-9]{2}\Z"))
        line = draw(st.from_regex(r"\A[0-9]{4}\Z"))
        national = area + exchange + line
        if draw(st.booleans()):
            return " ".join(national), "1", national
        return draw(st.sampled_from(US_FORMATS)).format(a=area, e=exchange, l=line), "1", national
    first = draw(st.from_regex(r"\A[378][0-9]{3}\Z"))  # a London number: 20 + 8 digits
    last = draw(st.from_regex(r"\A[0-9]{4}\Z"))
    return draw(st.sampled_from(UK_FORMATS)).format(e=first, l=last), "44", f"20{first}{last}"


@settings(max_examples=300, deadline=None)
@given(
    written_numbers(),
    st.sampled_from(["Call back on", "customer gave", "备注:", "new number ->", "tel."]),
    st.booleans(),
)
def test_mask_text_removes_numbers_however_written(
    number: tuple[str, str, str], before: str, known: bool
) -> None:
    written, code, national = number
    note = f"{before} {written} please"
    masked = mask_text(note, [f"+{code}{national}"] if known else [])
    assert written not in masked
    assert national[:-4] not in re.sub(r"\D", "", masked)
    assert_only_code_and_tail(masked, code, national)
    assert masked.startswith(before) and masked.endswith(" please")


@settings(max_examples=300, deadline=None)
@given(st.emails())
def test_a_masked_email_keeps_one_letter_and_the_tld(address: str) -> None:
    user, _, domain = address.rpartition("@")
    masked = mask_email(address)
    assert re.fullmatch(r"[a-z]?•••@•••(\.[a-z]+)?", masked), masked
    assert address not in masked and domain not in masked
    in_text = mask_text(f"write to {address} today", [])
    assert address not in in_text and domain not in in_text and "@" + domain not in in_text
    assert in_text.startswith("write to ") and in_text.endswith(" today")
    if len(user) >= 2:
        assert user not in masked


FAKERS = {locale: Faker(locale) for locale in ("en_US", "en_GB", "zh_CN")}
NOISE = {"dr", "mr", "mrs", "ms", "miss", "md", "phd", "dds", "dvm", "jr", "sr", "ii", "iii", "iv"}


@st.composite
def fake_names(draw: st.DrawFn) -> str:
    fake = FAKERS[draw(st.sampled_from(sorted(FAKERS)))]
    fake.seed_instance(draw(st.integers(0, 2**32)))
    return str(fake.name())


def name_words(name: str) -> list[str]:
    """The words of a name that would identify someone (not titles)."""
    return [w for w in re.findall(r"\w+", name) if len(w) >= 2 and w.lower() not in NOISE]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fake_names())
def test_a_masked_name_is_initials_only(name: str) -> None:
    masked = mask_name(name)
    assert re.fullmatch(r"\w\.( \w\.){0,2}", masked), (name, masked)
    assert name not in masked
    for word in name_words(name):
        assert word not in masked
    note = mask_text(f"Spoke with {name} about the refund; {name.upper()} agreed.", [name])
    for word in name_words(name):
        assert word not in note and word.upper() not in note, (name, note)


# --- every field of every maskable dataclass is classified ----------------------------------


@pytest.mark.parametrize("cls", MASKABLE, ids=lambda c: c.__name__)
def test_every_text_field_is_masked_or_deliberately_kept(cls: type) -> None:
    """A field added to a dataclass later must be classified here before masking lets it by."""
    masked, kept = masking_rules(cls)
    names = {f.name for f in fields(cls)}
    assert set(masked) <= names and kept <= names
    nested = {c.__name__ for c in MASKABLE}
    for f in fields(cls):
        annotation = f.type if isinstance(f.type, str) else repr(f.type)
        if re.search(r"\bstr\b", annotation):
            assert f.name in masked or f.name in kept, f"{cls.__name__}.{f.name}"
        if set(re.findall(r"\w+", annotation)) & nested:
            assert masked.get(f.name) == "nested", f"{cls.__name__}.{f.name}"


def test_masking_an_unknown_type_is_refused() -> None:
    with pytest.raises(MaskingError, match="cannot mask a dict"):
        Masker().apply({"name": "Alice Adams"})


# --- a whole screen pop from a seeded CRM --------------------------------------------------


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seed_file(tmp_path_factory.mktemp("masking") / "crm.db", customers=60, seed=5, agents=4)


@pytest.fixture
async def crm(seeded: Path, tmp_path: Path) -> AsyncIterator[Database]:
    async with copy_of(seeded, tmp_path) as db:
        yield db


async def pick_customer(db: Database, *, cjk: bool) -> int:
    """A person with a phone and an email whose name shares no word with an agent's (agents'
    names are deliberately shown, so such a word could show up legitimately)."""
    async with db.session() as s:
        agent_words = {
            w for n in (await s.scalars(select(Agent.display_name))).all() for w in n.split()
        }
        rows = (
            await s.execute(
                select(Customer.id, Customer.display_name)
                .where(
                    Customer.kind == CustomerKind.PERSON,
                    Customer.id.in_(select(PhoneNumber.customer_id)),
                    Customer.id.in_(select(EmailAddress.customer_id)),
                )
                .order_by(Customer.id)
            )
        ).all()
    for cid, name in rows:
        if name.isascii() != cjk and not set(name.split()) & agent_words:
            return int(cid)
    raise AssertionError("the seed has no suitable customer")


async def personalise(db: Database, cid: int) -> tuple[str, list[str], list[str], str]:
    """Write the customer's name, numbers and email into every free-text field a pop shows:
    notes, a history note, a ticket subject, a follow-up, a phone label, a tag; and put the
    customer in an organisation. Returns (name, phones, emails, organisation)."""
    organisation = "Globex Trading Company"
    async with db.write() as s:
        customer = (await s.scalars(select(Customer).where(Customer.id == cid))).one()
        phones = list(
            (await s.scalars(select(PhoneNumber.e164).where(PhoneNumber.customer_id == cid))).all()
        )
        emails = list(
            (
                await s.scalars(select(EmailAddress.address).where(EmailAddress.customer_id == cid))
            ).all()
        )
        agent_id = (await s.scalars(select(Agent.id).order_by(Agent.id))).first()
        org = Customer(display_name=organisation, kind=CustomerKind.ORGANISATION)
        s.add(org)
        await s.flush()
        name = customer.display_name
        national = phonenumbers.format_number(
            phonenumbers.parse(phones[0]), phonenumbers.PhoneNumberFormat.NATIONAL
        )
        customer.organisation_id = org.id
        customer.notes = f"{name} prefers {emails[0]}; alt. number {national}."
        customer.tags = ["vip", f"owner:{emails[0]}"]
        first = name.split()[0] if " " in name else name
        await s.execute(
            update(PhoneNumber)
            .where(PhoneNumber.e164 == phones[0], PhoneNumber.customer_id == cid)
            .values(label=f"{first}'s mobile")
        )
        s.add(
            Interaction(
                customer_id=cid,
                agent_id=agent_id,
                status=InteractionStatus.COMPLETED,
                offered_at=T0 - timedelta(minutes=5),
                notes=f"{name} called from {phones[0]} about {emails[0]}",
            )
        )
        s.add(
            Ticket(
                customer_id=cid,
                subject=f"{name}: refund to {emails[0]}",
                priority=TicketPriority.HIGH,
                status=TicketStatus.OPEN,
                sla_due_at=T0 + timedelta(hours=2),
            )
        )
        s.add(
            FollowUp(
                kind=FollowUpKind.CALLBACK,
                customer_id=cid,
                due_at=T0 + timedelta(days=1),
                summary=f"Ring {first} back on {national}",
            )
        )
    return name, phones, emails, organisation


def needles(name: str, phones: list[str], emails: list[str], organisation: str) -> set[str]:
    """Every form of the customer's name, numbers and emails that must not show when masked."""
    found = {name, organisation, *organisation.split()}
    found.update(w for w in re.findall(r"\w+", name) if len(w) >= 3 or not w.isascii())
    if not name.isascii() and len(name) >= 3:
        found.add(name[1:])  # the given name alone
    for e164 in phones:
        number = phonenumbers.parse(e164)
        national = phonenumbers.national_significant_number(number)
        found.update({e164, e164[1:], national, national[:-4]})
        for fmt in (
            phonenumbers.PhoneNumberFormat.NATIONAL,
            phonenumbers.PhoneNumberFormat.INTERNATIONAL,
        ):
            found.add(phonenumbers.format_number(number, fmt))
    for address in emails:
        user, _, domain = address.partition("@")
        found.update({address, user, domain})
    return found


async def personal_pop(db: Database, *, cjk: bool) -> tuple[ScreenPop, set[str]]:
    """The pop of a customer whose data is written everywhere, and every raw form of it."""
    cid = await pick_customer(db, cjk=cjk)
    name, phones, emails, organisation = await personalise(db, cid)
    caller = phonenumbers.format_number(
        phonenumbers.parse(phones[0]), phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    pop = await ScreenPopService(db, clock=lambda: T0).lookup(caller, customer_id=cid)
    assert pop.profile is not None and pop.profile.id == cid
    # The raw pop really carries them, so their absence from a masked one means something.
    assert all(v in repr(pop) for v in (name, organisation, caller, *phones, *emails))
    return pop, needles(name, phones, emails, organisation) | {caller}


@pytest.mark.parametrize("cjk", [False, True], ids=["latin-name", "cjk-name"])
async def test_a_masked_pop_holds_no_raw_name_number_or_email(
    crm: Database, tmp_path: Path, cjk: bool
) -> None:
    pop, raw_values = await personal_pop(crm, cjk=cjk)
    untouched = copy.deepcopy(pop)
    masked = mask_pop(pop)
    shown = repr(masked)
    assert [v for v in raw_values if v in shown] == []
    # Nor does an export of it (a file written from the masked data).
    export = tmp_path / "export.json"
    export.write_text(json.dumps(asdict(masked), default=str, ensure_ascii=False), "utf-8")
    written = export.read_text("utf-8")
    assert [v for v in raw_values if v in written] == []
    # What a trainer needs is still there, masked where personal.
    assert masked.profile is not None and pop.profile is not None
    assert (masked.profile.id, masked.profile.tier, masked.profile.rfm) == (
        pop.profile.id,
        pop.profile.tier,
        pop.profile.rfm,
    )
    assert [h.id for h in masked.history] == [h.id for h in pop.history]
    assert [h.agent_name for h in masked.history] == [h.agent_name for h in pop.history]
    assert masked.profile.display_name == mask_name(pop.profile.display_name)
    assert masked.caller.international == mask_phone(pop.caller.e164)
    assert HIDDEN in masked.history[0].note_excerpt
    assert masked.profile.organisation_name == "G. T. C."
    assert pop == untouched  # masking made a copy: the pop it was given is as it was


# --- the service: masked views, audited unmask ---------------------------------------------


async def trainer(db: Database, *, can_unmask: bool) -> AgentIdentity:
    async with db.write() as s:
        tid = (await s.scalars(select(Agent.id).where(Agent.role == Role.TRAINER))).first()
        assert tid is not None
        await s.execute(update(Agent).where(Agent.id == tid).values(can_unmask=can_unmask))
    identity = await AgentDirectory(db).get(tid)
    assert identity is not None and identity.can_unmask is can_unmask
    return identity


async def unmask_rows(db: Database) -> list[tuple[Any, ...]]:
    async with db.session() as s:
        rows = await s.execute(
            select(
                AuditRow.actor_agent_id,
                AuditRow.entity_type,
                AuditRow.entity_id,
                AuditRow.at,
                AuditRow.details,
            ).where(AuditRow.action == UNMASK)
        )
        return [tuple(r) for r in rows.all()]


async def audit_count(db: Database) -> int:
    async with db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(AuditRow)) or 0)


async def test_view_masks_even_for_a_viewer_who_may_unmask(crm: Database) -> None:
    pop, raw_values = await personal_pop(crm, cjk=False)
    service = MaskingService(crm, await trainer(crm, can_unmask=True), clock=Clock())
    assert service.may_unmask
    shown = repr(service.view(pop))
    assert [v for v in raw_values if v in shown] == []
    assert await unmask_rows(crm) == []  # viewing masked data is not an unmask


@pytest.mark.parametrize("given", ["masked view", "raw data"])
async def test_unmask_with_the_permission_writes_one_audit_entry(crm: Database, given: str) -> None:
    """A screen passes back the masked copy it was shown; a service may pass raw data."""
    pop, _ = await personal_pop(crm, cjk=False)
    viewer = await trainer(crm, can_unmask=True)
    before = await audit_count(crm)
    service = MaskingService(crm, viewer, clock=Clock())
    shown = service.view(pop)
    assert shown != pop
    raw = await service.unmask(shown if given == "masked view" else pop, "verify a number")
    assert raw == pop
    assert await audit_count(crm) == before + 1
    [(actor, entity, entity_id, at, details)] = await unmask_rows(crm)
    assert pop.profile is not None
    assert (actor, entity, entity_id, at) == (viewer.id, "customer", pop.profile.id, T0)
    assert details["reason"] == "verify a number"
    assert details["subject"] == "ScreenPop" and details["role"] == "trainer"


@pytest.mark.parametrize("why", ["revoked", "no permission", "no reason", "deactivated"])
async def test_unmask_refused_writes_nothing_returns_nothing(crm: Database, why: str) -> None:
    pop, _ = await personal_pop(crm, cjk=False)
    viewer = await trainer(crm, can_unmask=why != "no permission")
    if why == "revoked":  # withdrawn after the trainer logged in
        async with crm.write() as s:
            await s.execute(update(Agent).where(Agent.id == viewer.id).values(can_unmask=False))
    if why == "deactivated":
        async with crm.write() as s:
            await s.execute(update(Agent).where(Agent.id == viewer.id).values(active=False))
    before = await audit_count(crm)
    service = MaskingService(crm, viewer, clock=Clock())
    message = "the reason to unmask must not be empty" if why == "no reason" else "not allowed"
    result: object = None
    with pytest.raises(MaskingError) as info:
        result = await service.unmask(pop, "  " if why == "no reason" else "curious")
    assert result is None
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert await audit_count(crm) == before


@pytest.mark.parametrize("allowed", [True, False])
async def test_a_whole_recording_is_unmasked_only_with_the_permission_and_audited(
    crm: Database, allowed: bool
) -> None:
    viewer = await trainer(crm, can_unmask=allowed)
    service = MaskingService(crm, viewer, clock=Clock())
    before = await audit_count(crm)
    if not allowed:
        with pytest.raises(MaskingError, match="not allowed"):
            await service.allow_raw("training_run", 7, "coaching review")
        assert await audit_count(crm) == before
        return
    await service.allow_raw("training_run", 7, "coaching review")
    [(actor, entity, entity_id, at, details)] = await unmask_rows(crm)
    assert (actor, entity, entity_id, at) == (viewer.id, "training_run", 7, T0)
    assert details["reason"] == "coaching review" and details["subject"] == "recording"


def test_who_sees_masked_data() -> None:
    def viewer(can_unmask: bool) -> AgentIdentity:
        return AgentIdentity(1, "t", "T", Role.TRAINER, "", "", "", "T", (), can_unmask)

    assert Masker.masks_for(viewer(False))
    assert Masker.masks_for(viewer(False), unmask_requested=True)
    assert Masker.masks_for(viewer(True))  # may unmask, did not ask
    assert not Masker.masks_for(viewer(True), unmask_requested=True)


# --- the migration -----------------------------------------------------------------------


def test_the_migration_adds_can_unmask_off_for_existing_agents(db_path: Path) -> None:
    previous = ScriptDirectory.from_config(alembic_config()).get_revision("0009").down_revision
    assert isinstance(previous, str)
    engine = create_engine(f"sqlite:///{db_path}")
    try:
        with engine.begin() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, previous)
            conn.exec_driver_sql(
                "INSERT INTO agents (login, display_name, role, team, extension, interface, "
                "password_hash, active, created_at, presence) "
                "VALUES ('old', 'Old Agent', 'trainer', '', '', '', '', 1, 0, 'offline')"
            )
            command.upgrade(cfg, "0009")
        con = sqlite3.connect(db_path)
        assert con.execute("SELECT login, can_unmask FROM agents").fetchall() == [("old", 0)]
        con.close()
        with engine.begin() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, previous)
        con = sqlite3.connect(db_path)
        columns = {r[1] for r in con.execute("PRAGMA table_info(agents)")}
        con.close()
        assert "can_unmask" not in columns and "login" in columns
    finally:
        engine.dispose()
