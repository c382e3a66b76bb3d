"""Realistic, deterministic CRM data at scale: `callconsole seed --customers N --seed S`.

Same seed + same `as_of` date → the same rows. Faker supplies names, companies and email users,
drawn once into seeded pools; phone prefixes are checked once with phonenumbers. The bulk rows
are computed inside the database by set-based `INSERT … SELECT` statements (`seed_sql`), which is
what makes a million customers and five million interactions fit in about a minute and a half.

SQLite: the data is built in a side file (journal off, indexes built after the load) and moved
into place at the end, so a killed seed never leaves a half-filled database behind.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import phonenumbers
from sqlalchemy import Column, Connection, Integer, MetaData, Table, Text, func, insert, select

from console.db import Database, open_database
from console.models import (
    Agent,
    AgentSkill,
    Customer,
    FollowUp,
    Interaction,
    Queue,
    QueueSkill,
    Ticket,
)
from console.services.crm.passwords import hash_password
from console.services.seeding import seed_sql

Progress = Callable[[str, int, int], None]  # (stage, done, total)
DAY = 86_400
HISTORY_DAYS = 730
DEMO_PASSWORD = "demo"
SUPPORTED_LOCALES = ("en_US", "zh_CN", "en_GB")
_LOCALE_INFO = {  # language, currency, region
    "en_US": ("en", "USD", "US"),
    "zh_CN": ("zh", "CNY", "CN"),
    "en_GB": ("en", "GBP", "GB"),
}
MAX_CUSTOMERS = 3_000_000


class SeedError(Exception):
    """Seeding cannot proceed; the message is one line for the user."""


@dataclass(frozen=True)
class SeedPlan:
    """What to generate."""

    customers: int
    seed: int = 1
    locales: tuple[str, ...] = ("en_US", "zh_CN")
    as_of: date = field(default_factory=lambda: datetime.now(UTC).date())
    agents: int = 40

    def __post_init__(self) -> None:
        if not 0 <= self.customers <= MAX_CUSTOMERS:
            raise SeedError(
                f"--customers must be between 0 and {MAX_CUSTOMERS:,}, not {self.customers}"
            )
        unknown = [loc for loc in self.locales if loc not in SUPPORTED_LOCALES]
        if unknown or not self.locales:
            raise SeedError(
                f"unsupported locale {', '.join(unknown) or '(none)'}: "
                f"use {', '.join(SUPPORTED_LOCALES)}"
            )


@dataclass(frozen=True)
class SeedSummary:
    """What was written, how long it took and how big the database is."""

    counts: dict[str, int]
    seconds: float
    database_bytes: int | None


# ---------------------------------------------------------------- reference data

QUEUES = (
    # name, number, description, SL threshold s, target %, skills
    ("sales", "600", "New business and upgrades", 20, 80, (("sales", 1),)),
    ("support", "601", "Technical support, first line", 30, 80, (("support", 1),)),
    ("billing", "602", "Invoices, payments, disputes", 30, 80, (("billing", 1),)),
    ("tier2", "603", "Escalated technical cases", 60, 70, (("support", 5),)),
    ("vip", "604", "Platinum and gold customers", 10, 90, (("vip", 1),)),
    ("outbound", "650", "Outbound campaigns", 20, 80, (("sales", 1),)),
)
#: The seeded history's contacts came in on the first five queues (ids 1-5), the inbound ones:
#: none on "outbound", whose calls are campaigns' (and the seed stays as it was before it).
HISTORY_QUEUES = 5
SKILLS = ("sales", "support", "billing", "vip", "zh", "en")
NOTE_TEMPLATES = (
    "Customer asked about the {c} invoice; explained the charges.",
    "Reported a {c} problem; walked through the usual checks.",
    "Follow-up on earlier {c} contact, customer satisfied.",
    "Wants a call back about {c}; promised within two days.",
    "Upset about {c}; apologised and escalated to tier 2.",
    "Changed account details ({c}).",
    "Asked for a discount ({c}); passed to sales.",
    "",
)
SUBJECTS = {
    "billing": ("Charged twice this month", "Refund not received", "Invoice address wrong"),
    "technical": (
        "Service drops every evening",
        "Cannot log in to portal",
        "Router keeps resetting",
    ),
    "complaint": ("Rude engineer on site visit", "Promised callback never came", "Missed delivery"),
    "sales": ("Upgrade to business plan", "Quote for 20 seats", "Contract renewal terms"),
    "account": ("Change of ownership", "Close secondary account", "Update contact details"),
    "delivery": ("Parcel damaged", "Delivery to wrong address", "Late delivery"),
    "general": ("General enquiry", "Feedback on service", "Question about opening hours"),
}
_POOL = {"names": 2000, "companies": 500, "users": 2000, "domains": 20, "prefixes": 1000}
# National number heads per region: a random head, checked with phonenumbers, + 4 digits.
_HEADS: dict[str, Callable[[random.Random], str]] = {
    "US": lambda r: (
        f"+1{r.randrange(2, 10)}{r.randrange(100):02d}{r.randrange(2, 10)}{r.randrange(100):02d}"
    ),
    "CN": lambda r: f"+861{r.randrange(3, 10)}{r.randrange(100000):05d}",
    "GB": lambda r: f"+447{r.randrange(100000):05d}",
}


def _prefixes(region: str, rng: random.Random, count: int) -> list[str]:
    """`count` distinct prefixes whose every 4-digit completion we sampled is a valid number
    of ``region`` (for "US": not one of the Canadian or Caribbean area codes sharing +1)."""
    found: dict[str, None] = {}
    for _ in range(count * 50):
        head = _HEADS[region](rng)
        if head in found:
            continue
        tails = (rng.randrange(10_000) for _ in range(3))
        if all(
            phonenumbers.is_valid_number_for_region(phonenumbers.parse(f"{head}{t:04d}"), region)
            for t in tails
        ):
            found[head] = None
            if len(found) == count:
                return list(found)
    raise SeedError(f"could not find enough valid phone prefixes for region {region}")


def _pool_rows(plan: SeedPlan) -> list[dict[str, Any]]:
    """The Faker/phonenumbers pools, as rows of the temporary `seed_pool` table."""
    from faker import Faker  # deferred: slow import, only the seed command needs it

    rows: list[dict[str, Any]] = []

    def add(kind: int, loc: int, values: Sequence[str]) -> None:
        rows.extend({"pk": kind, "pl": loc, "pi": i, "pv": v} for i, v in enumerate(values))

    for loc, locale in enumerate(plan.locales):
        fake = Faker(locale)
        fake.seed_instance(plan.seed * 1000 + loc)
        rng = random.Random(f"{plan.seed}:{locale}")
        add(seed_sql.POOL_NAME, loc, [fake.name() for _ in range(_POOL["names"])])
        add(seed_sql.POOL_COMPANY, loc, [fake.company() for _ in range(_POOL["companies"])])
        users = [fake.user_name().replace("'", "") for _ in range(_POOL["users"])]
        add(seed_sql.POOL_USER, loc, users)
        add(seed_sql.POOL_DOMAIN, loc, [fake.free_email_domain() for _ in range(_POOL["domains"])])
        region = _LOCALE_INFO[locale][2]
        add(seed_sql.POOL_PREFIX, loc, _prefixes(region, rng, _POOL["prefixes"]))
    notes = [t.format(c=c) if t else "" for t in NOTE_TEMPLATES for c in seed_sql.CATEGORIES]
    add(seed_sql.POOL_NOTE, 0, notes)
    for n, category in enumerate(seed_sql.CATEGORIES):
        add(seed_sql.POOL_SUBJECT, n, SUBJECTS[category])
    return rows


def _pool_table(metadata: MetaData) -> Table:
    return Table(
        "seed_pool",
        metadata,
        # Short names that can't shadow the outer query's columns inside a scalar subquery.
        Column("pk", Integer, primary_key=True),
        Column("pl", Integer, primary_key=True),
        Column("pi", Integer, primary_key=True),
        Column("pv", Text, nullable=False),
        prefixes=["TEMPORARY"],
    )


# ---------------------------------------------------------------- reference rows


def _agents(
    plan: SeedPlan, as_of_ts: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from faker import Faker

    fake = Faker(list(plan.locales))
    fake.seed_instance(plan.seed)
    password = hash_password(DEMO_PASSWORD)  # demo accounts share one password and its hash
    rng = random.Random(f"{plan.seed}:agents")
    agents: list[dict[str, Any]] = []
    skills: list[dict[str, Any]] = []
    staff = [("demo", "Demo Agent", "agent"), ("super", "Sam Supervisor", "supervisor")]
    staff.append(("trainer", "Tess Trainer", "trainer"))
    staff += [(f"agent{i:02d}", fake.name(), "agent") for i in range(1, plan.agents + 1)]
    for n, (login, name, role) in enumerate(staff, start=1):
        ext = str(1000 + n)
        agents.append(
            dict(
                id=n,
                login=login,
                display_name=name,
                role=role,
                team=rng.choice(("Red", "Blue", "Green")),
                extension=ext,
                interface=f"PJSIP/{ext}",
                password_hash=password,
                active=True,
                created_at=as_of_ts,
            )
        )
        for skill in SKILLS:
            if login == "demo" or rng.random() < 0.5:
                skills.append(dict(agent_id=n, skill=skill, level=rng.randrange(1, 11)))
    return agents, skills


def _queues() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    queues, skills = [], []
    for n, (name, number, desc, threshold, target, needs) in enumerate(QUEUES, start=1):
        queues.append(
            dict(
                id=n,
                name=name,
                number=number,
                description=desc,
                sl_threshold_seconds=threshold,
                sl_target_percent=target,
            )
        )
        skills += [dict(queue_id=n, skill=s, min_level=lvl) for s, lvl in needs]
    return queues, skills


# ---------------------------------------------------------------- the load

# Tables whose rows make a database "not empty" for seeding purposes.
_CONTENT_TABLES = (Customer, Agent, Queue, Interaction, Ticket, FollowUp)
# Bulk stages in load order: (progress label, table the statement fills).
_STAGES = (
    ("customers", "customers"),
    ("phone numbers", "phone_numbers"),
    ("email addresses", "email_addresses"),
    ("consents", "consent_records"),
    ("interactions", "interactions"),
    ("open tickets", "tickets"),
    ("resolved tickets", "tickets"),
    ("pending follow-ups", "followups"),
    ("done follow-ups", "followups"),
)
_BULK_TABLES = tuple(dict.fromkeys(table for _, table in _STAGES))
_COUNTED = {
    "customers": "customers",
    "phone_numbers": "phone_numbers",
    "email_addresses": "email_addresses",
    "consent_records": "consent_records",
    "interactions": "interactions",
    "tickets": "tickets",
    "ticket_comments": "ticket_comments",
    "followups": "followups",
    "agents": "agents",
    "queues": "queues",
}
_ID_TABLES = ("customers", "agents", "queues", *_BULK_TABLES[1:])
# SQLite loads run in this many parts at once, each in its own file (one per core here).
PARTS = 2
# Partial indexes no seeded row enters (all seeded interactions are finished): left in place.
_KEPT_DURING_LOAD = frozenset({"ix_interactions_agent_unfinished"})


def _count_existing(conn: Connection) -> int:
    return sum(
        conn.execute(select(func.count()).select_from(model)).scalar_one()
        for model in _CONTENT_TABLES
    )


def _seed_sql(plan: SeedPlan, dialect: str, agents: int) -> seed_sql.SeedSql:
    end = int(datetime(plan.as_of.year, plan.as_of.month, plan.as_of.day, tzinfo=UTC).timestamp())
    sql = seed_sql.SeedSql(
        dialect=dialect,
        seed=plan.seed,
        customers=plan.customers,
        locales=tuple(_LOCALE_INFO[loc] for loc in plan.locales),
        start=end - HISTORY_DAYS * DAY,
        end=end,
        agents=agents,
        queues=HISTORY_QUEUES,
        sizes=seed_sql.PoolSizes(
            prefixes=_POOL["prefixes"],
            **{k: v for k, v in _POOL.items() if k != "prefixes"},
            notes=len(NOTE_TEMPLATES) * len(seed_sql.CATEGORIES),
            subjects=3,
        ),
    )
    if plan.customers > sql.max_customers():
        raise SeedError(f"--customers is limited to {sql.max_customers():,} by the phone pools")
    return sql


def _statements(sql: seed_sql.SeedSql) -> list[str]:
    """The bulk statements for `sql`'s customer range, in `_STAGES` order."""
    return [
        sql.customers_sql(),
        sql.phones_sql(),
        sql.emails_sql(),
        sql.consents_sql(),
        sql.interactions_sql(),
        sql.tickets_sql(open_=True),
        sql.tickets_sql(open_=False),
        sql.followups_sql(pending=True),
        sql.followups_sql(pending=False),
    ]


def _reference_rows(conn: Connection, plan: SeedPlan) -> int:
    """Agents, queues and their skills; returns the number of agents."""
    as_of = datetime(plan.as_of.year, plan.as_of.month, plan.as_of.day, tzinfo=UTC)
    agents, agent_skills = _agents(plan, as_of)
    queues, queue_skills = _queues()
    conn.execute(insert(Agent), agents)
    conn.execute(insert(AgentSkill), agent_skills)
    conn.execute(insert(Queue), queues)
    conn.execute(insert(QueueSkill), queue_skills)
    return len(agents)


def _counts(conn: Connection) -> dict[str, int]:
    return {
        name: conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()
        for name, table in _COUNTED.items()
    }


def _load(conn: Connection, plan: SeedPlan, progress: Progress | None) -> dict[str, int]:
    """PostgreSQL: everything inside one transaction on `conn`, computed by the server."""
    agents = _reference_rows(conn, plan)
    pool = _pool_table(MetaData())
    pool.create(conn)
    conn.execute(insert(pool), _pool_rows(plan))
    if plan.customers:
        statements = _statements(_seed_sql(plan, conn.dialect.name, agents))
        statements.append(seed_sql.SeedSql.comments_sql())
        labels = [label for label, _ in _STAGES] + ["ticket comments"]
        for n, (label, statement) in enumerate(zip(labels, statements, strict=True)):
            if progress:
                progress(label, n, len(statements))
            conn.exec_driver_sql(statement)
    pool.drop(conn)
    # Explicit ids were inserted: move the sequences past them.
    for table in _ID_TABLES:
        conn.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
        )
    return _counts(conn)


# ---------------------------------------------------------------- SQLite: parallel parts

_BULK_PRAGMAS = (
    "journal_mode=OFF",  # a fresh side file needs no journal: a crash just discards it
    "synchronous=OFF",
    "foreign_keys=OFF",
    "cache_size=-200000",
    "temp_store=MEMORY",
    "locking_mode=EXCLUSIVE",
    # The generated enum values come from the same lists as the CHECKs (a fifth of the load's
    # time went on re-checking them); `PRAGMA integrity_check` verifies them in the tests.
    "ignore_check_constraints=ON",
)


def _bulk_connection(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in _BULK_PRAGMAS:
        con.execute(f"PRAGMA {pragma}")
    return con


def _build_part(
    con: sqlite3.Connection,
    pool_rows: Sequence[tuple[Any, ...]],
    statements: Sequence[str],
    step: Callable[[], None],
) -> None:
    """One customer range's bulk rows, through `con` (runs in a worker thread).

    The sqlite3 module releases the GIL while a statement runs, so two parts use two cores.
    """
    con.execute(
        "CREATE TEMP TABLE seed_pool (pk INTEGER, pl INTEGER, pi INTEGER, pv TEXT NOT NULL, "
        "PRIMARY KEY (pk, pl, pi))"
    )
    con.executemany("INSERT INTO seed_pool VALUES (?, ?, ?, ?)", pool_rows)
    con.execute("BEGIN")
    for statement in statements:
        con.execute(statement)
        step()
    con.execute("COMMIT")
    con.execute("DROP TABLE temp.seed_pool")


def _part_file(path: Path, table_sql: Sequence[str]) -> sqlite3.Connection:
    """A fresh file holding empty copies of the bulk tables (and the kept indexes)."""
    path.unlink(missing_ok=True)
    con = _bulk_connection(path)
    for create in table_sql:
        con.execute(create)
    return con


def _ranges(customers: int, parts: int) -> list[tuple[int, int]]:
    size = -(-customers // parts)
    return [(lo, min(lo + size - 1, customers)) for lo in range(1, customers + 1, size)]


def _seed_sqlite_file(path: Path, plan: SeedPlan, progress: Progress | None) -> dict[str, int]:
    """Build the whole seeded database in `path` (a fresh side file), synchronously.

    The customer range is split into `PARTS` computed at once, each on its own core: the first
    straight into the side file, the others into files of their own that are then appended to it
    (SQLite copies whole records when a table is filled with `INSERT … SELECT *` from an
    identical one). Indexes are dropped before and built once after the load, except those
    no seeded row enters (maintaining them is free; building them would scan every row).
    """
    from console.schema import upgrade_sync

    side = open_database(f"sqlite:///{path}", synchronous="OFF")
    engine = side.sync_engine()
    try:
        upgrade_sync(engine)
        with engine.connect() as conn, conn.begin():
            agents = _reference_rows(conn, plan)
    finally:
        engine.dispose()
    con = _bulk_connection(path)
    part_files = [path.with_name(f"{path.name}.part{n}") for n in range(1, PARTS)]
    part_cons: list[sqlite3.Connection] = []
    try:
        con.execute("PRAGMA threads=2")  # lets CREATE INDEX sort on both cores
        indexes = con.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        ).fetchall()
        kept = [sql for name, sql in indexes if name in _KEPT_DURING_LOAD]
        indexes = [(name, sql) for name, sql in indexes if name not in _KEPT_DURING_LOAD]
        # The part files get the kept indexes too: SQLite's fast whole-record copy needs the
        # same indexes on both sides, else the merge decodes and re-inserts every row.
        table_sql = [
            con.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
            ).fetchone()[0]
            for table in _BULK_TABLES
        ] + kept
        for name, _ in indexes:  # cheaper to build once after the load than to maintain
            con.execute(f"DROP INDEX {name}")
        if plan.customers:
            sql = _seed_sql(plan, "sqlite", agents)
            ranges = _ranges(plan.customers, PARTS)
            pool_rows = [(r["pk"], r["pl"], r["pi"], r["pv"]) for r in _pool_rows(plan)]
            total = len(_STAGES) * len(ranges)
            done = [0]
            lock = threading.Lock()

            def step() -> None:
                with lock:
                    done[0] += 1
                    if progress:
                        progress("generating rows", done[0], total)

            part_cons = [_part_file(part, table_sql) for part in part_files[: len(ranges) - 1]]
            with ThreadPoolExecutor(max_workers=PARTS, thread_name_prefix="seed") as pool:
                futures = [
                    pool.submit(
                        _build_part,
                        part_con,
                        pool_rows,
                        _statements(replace(sql, first=lo, customers=hi)),
                        step,
                    )
                    for part_con, (lo, hi) in zip([con, *part_cons], ranges, strict=True)
                ]
                for future in futures:
                    future.result()
            for part_con in part_cons:
                part_con.close()
            part_cons = []
            for n, part in enumerate(part_files[: len(ranges) - 1]):
                if progress:
                    progress("merging parts", n, len(ranges) - 1)
                con.execute("ATTACH DATABASE ? AS part", (str(part),))
                con.execute("BEGIN")
                for table in _BULK_TABLES:
                    con.execute(f"INSERT INTO {table} SELECT * FROM part.{table}")
                con.execute("COMMIT")
                con.execute("DETACH DATABASE part")
                part.unlink()
        con.execute("BEGIN")
        if plan.customers:
            con.execute(seed_sql.SeedSql.comments_sql())
        for n, (_, create) in enumerate(indexes):
            if progress:
                progress("building indexes", n, len(indexes))
            con.execute(create)
        con.execute("COMMIT")
        counts = {
            name: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for name, table in _COUNTED.items()
        }
        if progress:
            progress("analysing", 0, 1)
        con.execute("PRAGMA locking_mode=NORMAL")
        con.execute("PRAGMA analysis_limit=2000")  # sampled statistics: seconds, not minutes
        con.execute("ANALYZE")
        con.execute("PRAGMA journal_mode=WAL")
        if progress:
            progress("done", 1, 1)
        return counts
    finally:
        for part_con in part_cons:
            part_con.close()
        con.close()
        for part in part_files:
            part.unlink(missing_ok=True)


async def seed_database(
    db: Database, plan: SeedPlan, progress: Progress | None = None
) -> SeedSummary:
    """Fill an empty (or new) database with generated data. Refuses a database with content."""
    from console.schema import upgrade

    started = time.perf_counter()
    await upgrade(db)
    async with db.engine.connect() as conn:
        existing = await conn.run_sync(_count_existing)
    if existing:
        raise SeedError(
            f"{db.url.render_as_string(hide_password=True)} already holds data "
            f"({existing:,} rows); seed only fills an empty database. Nothing was changed"
        )
    if db.is_sqlite:
        target = db.sqlite_path
        assert target is not None
        side = target.with_name(target.name + ".seeding")
        side.unlink(missing_ok=True)
        try:
            counts = await asyncio.to_thread(_seed_sqlite_file, side, plan, progress)
            await db.dispose()  # close our handles on the old (empty) file before replacing it
            for extra in (Path(f"{target}-wal"), Path(f"{target}-shm")):
                extra.unlink(missing_ok=True)
            os.replace(side, target)
        finally:
            side.unlink(missing_ok=True)
        size: int | None = target.stat().st_size
    else:
        async with db.write_connection() as conn:
            counts = await conn.run_sync(lambda sync: _load(sync, plan, progress))
        size = None
    return SeedSummary(counts, time.perf_counter() - started, size)


def parse_locales(raw: str) -> tuple[str, ...]:
    """`"en_US,zh_CN"` → ("en_US", "zh_CN")."""
    return tuple(part.strip() for part in raw.split(",") if part.strip())
