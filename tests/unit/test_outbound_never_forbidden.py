"""Property: the compliance gate never allows a forbidden call, and allows every permitted one.

Random DNC lists, consent histories, attempt histories, numbers from several countries (some
in several time zones, one in none) and instants (many around 2026's DST changes in the US,
Europe and Australia, many on a window's edge) are judged twice: by the gate, and by the
plain oracle below, which restates the rules from docs/outbound.md with its own tables (each
number's zones and region written out, the windows and holidays as data) and uses none of the
gate's helpers. The gate must give exactly the oracle's answer, and as its reason the first
rule broken in the documented order: a gate that allowed too much or too little fails.

The same is checked through the database: the rows written by the real services, the screen
by `ComplianceService` on a SQLite file, and its decision log.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import MappingProxyType
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.db import open_database
from console.models.enums import AttemptOutcome, CampaignPurpose, ConsentPurpose, SkipReason
from console.schema import upgrade
from console.services.outbound.attempts import Attempt, AttemptRules
from console.services.outbound.compliance import ComplianceService
from console.services.outbound.consent import ConsentService
from console.services.outbound.dnc import DncService
from console.services.outbound.gate import (
    Candidate,
    ComplianceFacts,
    ComplianceGate,
    ConsentState,
    DncHit,
)
from console.services.outbound.windows_file import load_windows

# ----------------------------------------------------------------- the oracle's own tables

# number as written -> (E.164, region, zones); None: not a valid number.
NUMBERS: dict[str, tuple[str, str, tuple[str, ...]] | None] = {
    "+12125550123": ("+12125550123", "US", ("America/New_York",)),
    "(212) 555-0124": ("+12125550124", "US", ("America/New_York",)),
    "+13055550123": ("+13055550123", "US", ("America/New_York",)),  # Florida
    "+14155550123": ("+14155550123", "US", ("America/Los_Angeles",)),
    "+18085551234": ("+18085551234", "US", ("Pacific/Honolulu",)),
    "+19075551234": ("+19075551234", "US", ("America/Adak", "America/Anchorage")),
    "+14165550123": ("+14165550123", "CA", ("America/Toronto",)),
    "+33612345678": ("+33612345678", "FR", ("Europe/Paris",)),
    "+61212345678": ("+61212345678", "AU", ("Australia/Sydney",)),
    "+61412345678": (
        "+61412345678",
        "AU",
        (
            "Australia/Adelaide",
            "Australia/Brisbane",
            "Australia/Eucla",
            "Australia/Lord_Howe",
            "Australia/Perth",
            "Australia/Sydney",
            "Indian/Christmas",
            "Indian/Cocos",
        ),
    ),
    "+447911123456": (
        "+447911123456",
        "GG",
        ("Europe/Guernsey", "Europe/Isle_of_Man", "Europe/Jersey", "Europe/London"),
    ),
    "+4915123456789": ("+4915123456789", "DE", ("Europe/Berlin",)),
    "+80012345678": ("+80012345678", "001", ()),  # international freephone: no zone at all
    "12": None,
    "+1212555": None,
}
E164S = sorted({v[0] for v in NUMBERS.values() if v is not None})

HM = tuple[tuple[int, int], tuple[int, int]]
WEEK = tuple[tuple[HM, ...], ...]  # Monday first


def same_every_day(*spans: HM) -> WEEK:
    return (spans,) * 7


def weekdays_sat_sun(weekdays: tuple[HM, ...], sat: tuple[HM, ...], sun: tuple[HM, ...]) -> WEEK:
    return (weekdays,) * 5 + (sat, sun)


US = same_every_day(((8, 0), (21, 0)))
FLORIDA = same_every_day(((8, 0), (20, 0)))
CANADA = weekdays_sat_sun((((9, 0), (21, 30)),), (((10, 0), (18, 0)),), (((10, 0), (18, 0)),))
FRANCE = weekdays_sat_sun((((10, 0), (13, 0)), ((14, 0), (20, 0))), (), ())
AUSTRALIA = weekdays_sat_sun((((9, 0), (20, 0)),), (((9, 0), (17, 0)),), ())
DEFAULT = weekdays_sat_sun((((9, 0), (20, 0)),), (((10, 0), (17, 0)),), ())
HOLIDAYS = {
    "FR": {date(2026, m, d) for m, d in ((1, 1), (4, 6), (5, 1), (5, 8), (5, 14), (5, 25))}
    | {date(2026, m, d) for m, d in ((7, 14), (8, 15), (11, 1), (11, 11), (12, 25))},
    "AU": {date(2026, m, d) for m, d in ((1, 1), (1, 26), (4, 3), (4, 6), (4, 25))}
    | {date(2026, 12, d) for d in (25, 26, 28)},
}
WEEKS = {"US": US, "CA": CANADA, "FR": FRANCE, "AU": AUSTRALIA}
SPACING = {
    AttemptOutcome.BUSY: timedelta(minutes=10),
    AttemptOutcome.FAILED: timedelta(minutes=30),
    AttemptOutcome.NO_ANSWER: timedelta(hours=2),
    AttemptOutcome.MACHINE: timedelta(hours=4),
    AttemptOutcome.WRONG_PARTY: timedelta(days=1),
}
MAX_ATTEMPTS, PER_DAY = 6, 3
DONE = {AttemptOutcome.RIGHT_PARTY, AttemptOutcome.DNC_REQUEST}
NEEDS = {
    CampaignPurpose.SALES: ConsentPurpose.MARKETING_CALLS,
    CampaignPurpose.RETENTION: ConsentPurpose.MARKETING_CALLS,
    CampaignPurpose.SURVEY: ConsentPurpose.SURVEYS,
    CampaignPurpose.NOTIFICATION: None,
}
ORDER = [
    SkipReason.INVALID_NUMBER,
    SkipReason.DNC,
    SkipReason.NO_CONSENT,
    SkipReason.FINISHED,
    SkipReason.ATTEMPTS_EXHAUSTED,
    SkipReason.TOO_SOON,
    SkipReason.OUTSIDE_WINDOW,
]


@dataclass(frozen=True)
class DncRow:
    e164: str
    source: str
    expires_in: timedelta | None  # from `now`; None: never


@dataclass(frozen=True)
class ConsentRow:
    customer: int
    purpose: ConsentPurpose
    granted: bool
    ago: timedelta  # given this long before `now`


@dataclass(frozen=True)
class World:
    now: datetime
    dnc: tuple[DncRow, ...]
    consents: tuple[ConsentRow, ...]  # in the order written
    candidates: tuple[Candidate, ...]


def inside(week: WEEK, holidays: set[date], local: datetime) -> bool:
    if local.date() in holidays:
        return False
    minute = local.hour * 60 + local.minute + local.second / 60 + local.microsecond / 6e7
    return any(
        h1 * 60 + m1 <= minute < h2 * 60 + m2 for (h1, m1), (h2, m2) in week[local.weekday()]
    )


def forbidden(world: World, candidate: Candidate) -> set[SkipReason]:
    """Every rule the call would break, worked out the slow, plain way."""
    now = world.now
    known = NUMBERS[candidate.number]
    if known is None:
        return {SkipReason.INVALID_NUMBER}
    e164, region, zones = known
    broken: set[SkipReason] = set()
    for row in world.dnc:
        if row.e164 == e164 and (row.expires_in is None or row.expires_in > timedelta(0)):
            broken.add(SkipReason.DNC)
    outcomes = [a.outcome for a in candidate.attempts]
    if AttemptOutcome.DNC_REQUEST in outcomes:
        broken.add(SkipReason.DNC)
    needed = NEEDS[candidate.purpose]
    if needed is not None:
        latest = None
        for index, row in enumerate(world.consents):
            if row.customer == candidate.customer_id and row.purpose == needed:
                key = (-row.ago, index)  # latest given, then latest written
                if latest is None or key > latest[0]:
                    latest = (key, row.granted)
        if latest is None or not latest[1]:
            broken.add(SkipReason.NO_CONSENT)
    if AttemptOutcome.RIGHT_PARTY in outcomes:
        broken.add(SkipReason.FINISHED)
    if not broken & {SkipReason.DNC, SkipReason.FINISHED}:
        if len(outcomes) >= MAX_ATTEMPTS:
            broken.add(SkipReason.ATTEMPTS_EXHAUSTED)
        elif candidate.attempts:
            in_last_day = [a for a in candidate.attempts if a.at > now - timedelta(days=1)]
            last = max(candidate.attempts, key=lambda a: a.at)
            if len(in_last_day) >= PER_DAY or now < last.at + SPACING[last.outcome]:
                broken.add(SkipReason.TOO_SOON)
    weeks = [WEEKS.get(region, DEFAULT)]
    if e164.startswith("+1305"):
        weeks.append(FLORIDA)
    holidays = HOLIDAYS.get(region, set())
    if not zones or not all(
        inside(week, holidays, now.astimezone(ZoneInfo(zone))) for zone in zones for week in weeks
    ):
        broken.add(SkipReason.OUTSIDE_WINDOW)
    return broken


def expected_reason(world: World, candidate: Candidate) -> SkipReason | None:
    broken = forbidden(world, candidate)
    return min(broken, key=ORDER.index) if broken else None


# ----------------------------------------------------------------- the random worlds

# 2026's DST changes (UTC): US, Europe, Australia (NSW/SA; Lord Howe by half an hour).
DST_CHANGES = [
    datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
    datetime(2026, 11, 1, 6, 0, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
    datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
    datetime(2026, 4, 4, 16, 0, tzinfo=UTC),
    datetime(2026, 10, 3, 16, 0, tzinfo=UTC),
]
EDGES = [time(8), time(9), time(10), time(13), time(14), time(17), time(18), time(20)]
EDGES += [time(21), time(21, 30), time(7, 59, 59), time(20, 59, 59), time(1, 30)]


@st.composite
def instants(draw: st.DrawFn) -> datetime:
    change = draw(st.sampled_from(DST_CHANGES))
    if draw(st.booleans()):  # anywhere within three days of a change, to the second
        return change + timedelta(seconds=draw(st.integers(-3 * 86400, 3 * 86400)))
    # a window's edge, as a clock in one of the zones reads it, on a day near a change
    zone = draw(st.sampled_from([z for v in NUMBERS.values() if v for z in v[2]]))
    day = change.date() + timedelta(days=draw(st.integers(-2, 2)))
    local = datetime.combine(day, draw(st.sampled_from(EDGES)), tzinfo=ZoneInfo(zone))
    return local.astimezone(UTC)


CUSTOMERS = (1, 2, 3, 4)
# Records mostly still in play: the outcomes that end one are drawn one time in eight.
OUTCOMES = [o for o in AttemptOutcome if o not in DONE] * 3 + sorted(DONE)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    now = draw(instants())
    spans = st.one_of(
        st.none(), st.integers(-3 * 86400, 3 * 86400).map(lambda s: timedelta(seconds=s))
    )
    dnc = draw(
        st.lists(
            st.builds(
                DncRow,
                st.sampled_from(E164S),
                st.sampled_from(["internal", "us-national"]),
                spans,
            ),
            max_size=3,
            unique_by=lambda r: (r.e164, r.source),
        )
    )
    # Per customer and purpose, up to three grants or withdrawals (grants twice as likely),
    # then shuffled: the order written is not the order given.
    history = st.lists(
        st.tuples(
            st.sampled_from([True, True, False]),
            st.sampled_from([timedelta(days=d) for d in (0, 1, 2, 30)]),
        ),
        max_size=3,
    )
    consents = draw(
        st.permutations(
            [
                ConsentRow(customer, purpose, granted, ago)
                for customer in CUSTOMERS
                for purpose in ConsentPurpose
                for granted, ago in draw(history)
            ]
        )
    )
    attempt = st.builds(
        Attempt,
        # Half within the last day, so the per-day cap is reached often.
        st.one_of(st.integers(1, 86400), st.integers(1, 3 * 86400)).map(
            lambda s: now - timedelta(seconds=s)
        ),
        st.sampled_from(OUTCOMES),
    )
    candidate = st.builds(
        Candidate,
        st.sampled_from(sorted(NUMBERS)),
        st.sampled_from([*CampaignPurpose, CampaignPurpose.NOTIFICATION] * 2),
        st.sampled_from([None, *CUSTOMERS, *CUSTOMERS]),
        st.one_of(st.just(()), st.lists(attempt, max_size=7).map(tuple)),
        st.just(3),
    )
    drawn = draw(st.lists(candidate, min_size=1, max_size=8))
    # Every number, as a notification to no one: the windows of every zone at this instant.
    probes = [
        Candidate(number, CampaignPurpose.NOTIFICATION, campaign_id=3) for number in sorted(NUMBERS)
    ]
    return World(now, tuple(dnc), tuple(consents), (*drawn, *probes))


RULES = AttemptRules(max_attempts=MAX_ATTEMPTS, per_period=(PER_DAY, timedelta(days=1)))
WINDOWS = load_windows()


def facts_of(world: World) -> ComplianceFacts:
    """The world as the facts the service would load (the latest consent per key)."""
    dnc: dict[str, tuple[DncHit, ...]] = {}
    for row in world.dnc:
        expires = None if row.expires_in is None else world.now + row.expires_in
        dnc[row.e164] = (*dnc.get(row.e164, ()), DncHit(row.source, "", expires))
    consent: dict[tuple[int, ConsentPurpose], ConsentState] = {}
    for row in sorted(world.consents, key=lambda r: -r.ago):  # stable: written order kept
        consent[(row.customer, row.purpose)] = ConsentState(row.granted, world.now - row.ago, "t")
    return ComplianceFacts(MappingProxyType(dnc), MappingProxyType(consent))


@settings(max_examples=400, deadline=None)
@given(world=worlds())
def test_the_gate_gives_exactly_the_oracles_answer(world: World) -> None:
    gate = ComplianceGate(facts_of(world), WINDOWS, RULES, region="US")
    for candidate in world.candidates:
        decision = gate.check(candidate, world.now)
        assert decision.reason == expected_reason(world, candidate), (candidate, decision.detail)
        assert decision.allowed is not forbidden(world, candidate)


# ----------------------------------------------------------------- through the database


@pytest.fixture
def migrated(tmp_path: Path) -> Path:
    path = tmp_path / "compliance.db"

    async def make() -> None:
        database = open_database(f"sqlite:///{path}")
        try:
            await upgrade(database)
        finally:
            await database.dispose()

    asyncio.run(make())
    return path


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds())
def test_a_screen_through_the_database_never_lets_a_forbidden_call_through(
    migrated: Path, world: World
) -> None:
    asyncio.run(_screen_through_the_database(migrated, world))


async def _screen_through_the_database(path: Path, world: World) -> None:
    raw = sqlite3.connect(path)
    for table in ("compliance_decisions", "consent_records", "dnc_entries", "customers"):
        raw.execute(f"DELETE FROM {table}")
    raw.executemany(
        "INSERT INTO customers (id, kind, display_name, language, tier, lifecycle, rfm_recency, "
        "rfm_frequency, rfm_monetary, lifetime_value_cents, currency, tags, notes, created_at, "
        "updated_at) VALUES (?, 'person', 'c', 'en', 'lead', 'new', 1, 1, 1, 0, 'USD', '[]', "
        "'', 0, 0)",
        [(c,) for c in CUSTOMERS],
    )
    raw.commit()
    raw.close()
    database = open_database(f"sqlite:///{path}")
    try:
        dnc = DncService(database, clock=lambda: world.now)
        for row in world.dnc:
            expires = None if row.expires_in is None else world.now + row.expires_in
            await dnc.add(row.e164, source=row.source, expires_at=expires)
        consent = ConsentService(database, clock=lambda: world.now)
        for c in world.consents:
            at = world.now - c.ago
            await consent.record(c.customer, c.purpose, granted=c.granted, source="t", at=at)
        service = ComplianceService(
            database, windows=WINDOWS, attempts=RULES, clock=lambda: world.now
        )
        decisions = await service.screen(world.candidates)
        logged = list(reversed(await service.decisions(campaign_id=3)))
    finally:
        await database.dispose()
    assert len(logged) == len(world.candidates)
    for candidate, decision, row in zip(world.candidates, decisions, logged, strict=True):
        expected = expected_reason(world, candidate)
        assert decision.reason == expected, (candidate, decision.detail)
        assert (row.reason, row.verdict.value) == (expected, decision.verdict.value)
        assert row.customer_id == candidate.customer_id and row.at == world.now
