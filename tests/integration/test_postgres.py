"""The same models, migrations, seeding and screen pop on a real PostgreSQL server."""

from __future__ import annotations

from datetime import date

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, func, select

from console.db import Database
from console.models import Base, ConsentRecord, Customer, Interaction, PhoneNumber
from console.models.base import compare_column_type
from console.schema import head_revision, schema_state
from console.services.desk.screenpop import ScreenPopService
from console.services.seeding.seeding import SeedPlan, seed_database

pytestmark = pytest.mark.postgres


async def test_upgrade_from_empty_matches_the_models(pg_db: Database) -> None:
    assert (await schema_state(pg_db)).current == head_revision()

    def diff(conn: Connection) -> list[object]:
        return list(
            compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": compare_column_type}),
                Base.metadata,
            )
        )

    async with pg_db.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_seed_and_pop_on_postgres(pg_db: Database) -> None:
    # 3,000: PostgreSQL's integer arithmetic overflowed past a few hundred customers once.
    plan = SeedPlan(customers=3000, seed=5, as_of=date(2026, 11, 1))
    summary = await seed_database(pg_db, plan)
    assert summary.counts["customers"] == 3000
    async with pg_db.session() as s:
        ratio = await s.scalar(select(func.count()).select_from(Interaction)) or 0
        consents = await s.scalar(select(func.count()).select_from(ConsentRecord)) or 0
        number = await s.scalar(select(PhoneNumber.e164).order_by(PhoneNumber.id).limit(1))
        # Sequences were moved past the explicit ids: a new customer gets a fresh id.
    assert 3.5 < ratio / 3000 < 6.5
    assert 1.55 < consents / 3000 < 1.75  # 55 % + 70 % + 40 % (test_seeding.py has the shares)
    async with pg_db.write() as s:
        s.add(Customer(display_name="New Person"))
    pop = await ScreenPopService(pg_db).lookup(number)
    assert pop.profile is not None
    assert pop.history and len(pop.history) <= 20
