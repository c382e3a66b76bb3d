"""Seeding: deterministic, realistic, refuses to touch a database that holds data."""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from console.db import open_database
from console.models.base import from_db_time
from console.services.crm.phones import to_e164
from console.services.seeding import seeding
from console.services.seeding.seeding import SeedError, SeedPlan, seed_database

AS_OF = date(2026, 11, 1)
TABLES = (
    "customers",
    "phone_numbers",
    "email_addresses",
    "consent_records",
    "interactions",
    "tickets",
    "followups",
)


async def seed(path: Path, **plan: object) -> None:
    database = open_database(f"sqlite:///{path}")
    try:
        await seed_database(database, SeedPlan(**{"as_of": AS_OF, **plan}))  # type: ignore[arg-type]
    finally:
        await database.dispose()


def dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    con = sqlite3.connect(path)
    try:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in TABLES}
    finally:
        con.close()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import asyncio

    path = tmp_path_factory.mktemp("seed") / "a.db"
    asyncio.run(seed(path, customers=3000, seed=42))
    return path


async def test_same_seed_same_rows_other_seed_other_rows(seeded: Path, tmp_path: Path) -> None:
    again, other = tmp_path / "b.db", tmp_path / "c.db"
    await seed(again, customers=3000, seed=42)
    await seed(other, customers=3000, seed=43)
    assert dump(again) == dump(seeded)
    assert dump(other)["customers"] != dump(seeded)["customers"]


async def test_the_rows_do_not_depend_on_how_the_load_is_split(
    seeded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parts are generated side by side and merged; one part or three give the same database."""
    for parts in (1, 3):
        monkeypatch.setattr(seeding, "PARTS", parts)
        path = tmp_path / f"parts{parts}.db"
        await seed(path, customers=3000, seed=42)
        assert dump(path) == dump(seeded)
    assert not list(tmp_path.glob("*.part*"))  # the part files are gone


def test_volumes_and_shapes_are_realistic(seeded: Path) -> None:
    con = sqlite3.connect(seeded)
    customers = con.execute("SELECT count(*) FROM customers").fetchone()[0]
    interactions = con.execute("SELECT count(*) FROM interactions").fetchone()[0]
    assert customers == 3000
    assert 4.5 < interactions / customers < 5.5
    per_customer = Counter(
        n for (n,) in con.execute("SELECT count(*) FROM phone_numbers GROUP BY customer_id")
    )
    assert set(per_customer) <= {1, 2, 3, 4}  # 1-3 own numbers, plus maybe an office line
    assert per_customer[1] > per_customer[3] > 0
    shared = con.execute(
        "SELECT count(*) FROM (SELECT e164 FROM phone_numbers GROUP BY e164 HAVING count(*) > 1)"
    ).fetchone()[0]
    assert shared > 0  # organisations' office lines
    with_open_ticket = con.execute(
        "SELECT count(DISTINCT customer_id) FROM tickets WHERE status IN ('new','open','pending')"
    ).fetchone()[0]
    assert 0.16 < with_open_ticket / customers < 0.24
    tiers = dict(con.execute("SELECT tier, count(*) FROM customers GROUP BY tier").fetchall())
    assert tiers["platinum"] < tiers["gold"] < tiers["lead"] < tiers["iron"]
    zh = [n for (n,) in con.execute("SELECT display_name FROM customers WHERE language = 'zh'")]
    assert 1400 < len(zh) < 1600  # locales alternate
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in name) for name in zh[:100])
    first, last = con.execute(
        "SELECT min(offered_at), max(offered_at) FROM interactions"
    ).fetchone()
    # Stored as epoch microseconds (UtcDateTime on SQLite): two years up to as_of.
    window = (datetime(2024, 11, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))
    assert window[0] <= from_db_time(first) < window[1]
    assert window[0] <= from_db_time(last) < window[1]
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_consents_are_seeded_one_per_customer_and_purpose(seeded: Path) -> None:
    """Outbound campaigns need consent records to select on (docs/outbound.md): about 55 %
    of customers have one for marketing calls (a fifth of them withdrawn), 70 % for
    recording, 40 % for surveys; at most one per customer and purpose, all in the history."""
    con = sqlite3.connect(seeded)
    rows = con.execute(
        "SELECT purpose, count(*), count(DISTINCT customer_id), sum(granted) "
        "FROM consent_records GROUP BY purpose"
    ).fetchall()
    by = {purpose: (n, distinct, granted) for purpose, n, distinct, granted in rows}
    assert set(by) == {"marketing_calls", "recording", "surveys"}
    for purpose, share in (("marketing_calls", 0.55), ("recording", 0.70), ("surveys", 0.40)):
        n, distinct, _granted = by[purpose]
        assert n == distinct  # one record per customer and purpose
        assert abs(n / 3000 - share) < 0.05, (purpose, n)
    n, _distinct, granted = by["marketing_calls"]
    assert 0.7 < granted / n < 0.9  # a fifth withdrawn
    assert by["recording"][2] == by["recording"][0]  # withdrawals are marketing's only
    first, last = con.execute("SELECT min(at), max(at) FROM consent_records").fetchone()
    window = (datetime(2024, 11, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))
    assert window[0] <= from_db_time(first) and from_db_time(last) < window[1]


def test_the_seeded_database_passes_integrity_check(seeded: Path) -> None:
    """The load skips CHECK constraints for speed; this re-checks them, and every index."""
    con = sqlite3.connect(seeded)
    assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    indexes = {n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"uq_interactions_uniqueid_agent_id", "ix_interactions_agent_unfinished"} <= indexes


def first_id(con: sqlite3.Connection) -> int:
    return int(con.execute("SELECT min(id) FROM interactions").fetchone()[0])


def test_integrity_check_would_see_a_seeded_value_outside_its_check(
    seeded: Path, tmp_path: Path
) -> None:
    """Proof the test above can fail: the same pragma the load uses lets a bad value in."""
    import shutil

    copy = tmp_path / "bad.db"
    shutil.copy(seeded, copy)
    con = sqlite3.connect(copy)
    con.execute("PRAGMA ignore_check_constraints=ON")
    con.execute("UPDATE interactions SET channel = 'pigeon' WHERE id = ?", (first_id(con),))
    con.commit()
    con.execute("PRAGMA ignore_check_constraints=OFF")
    assert "CHECK constraint failed" in con.execute("PRAGMA integrity_check").fetchone()[0]


def test_every_seeded_number_is_valid_e164(seeded: Path) -> None:
    con = sqlite3.connect(seeded)
    numbers = [n for (n,) in con.execute("SELECT DISTINCT e164 FROM phone_numbers")]
    assert numbers
    assert all(to_e164(n) == n for n in numbers)


async def test_a_database_with_data_is_refused_untouched(seeded: Path) -> None:
    before = dump(seeded)
    with pytest.raises(SeedError, match="already holds data"):
        await seed(seeded, customers=10, seed=1)
    assert dump(seeded) == before


@pytest.mark.parametrize(
    ("plan", "message"),
    [({"customers": -1}, "between 0 and"), ({"customers": 1, "locales": ("xx_XX",)}, "locale")],
)
def test_bad_plans(plan: dict[str, object], message: str) -> None:
    with pytest.raises(SeedError, match=message):
        SeedPlan(**plan)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed_value", [1, 7, 42, 2026])
async def test_the_shipped_scenarios_callers_have_their_tier_whatever_the_seed(
    seed_value: int, tmp_path: Path
) -> None:
    """A scenario naming a customer by id and giving the caller a tier (the platinum dispute:
    customer 1, platinum) pops a customer of that tier, alone on their number, in any seed."""
    from callkit.scenario import load_scenario, shipped_scenarios

    named = {
        (call.customer_id, call.tier)
        for name in shipped_scenarios()
        for call in load_scenario(name).calls
        if call.customer_id is not None and call.tier
    }
    assert (1, "platinum") in named
    path = tmp_path / "crm.db"
    await seed(path, customers=60, seed=seed_value, locales=("en_US", "zh_CN"))
    con = sqlite3.connect(path)
    try:
        for customer_id, tier in named:
            assert con.execute(
                "SELECT tier, kind, organisation_id FROM customers WHERE id = ?", (customer_id,)
            ).fetchone() == (tier, "person", None)
            (number,) = con.execute(
                "SELECT e164 FROM phone_numbers WHERE customer_id = ? ORDER BY id LIMIT 1",
                (customer_id,),
            ).fetchone()
            owners = con.execute(
                "SELECT count(*) FROM phone_numbers WHERE e164 = ?", (number,)
            ).fetchone()
            assert owners == (1,)
    finally:
        con.close()
