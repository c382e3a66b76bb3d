"""The worklist's rules on a real PostgreSQL server, where `claim_next` is one statement.

On PostgreSQL `Worklist.claim_next` runs `worklist_sql.claim_next_in_one` (the agent's pools
looked up, the row picked and locked, claimed, audited and read back in one statement); on
SQLite it runs the statements the unit tests check. So the unit tests' rules — who may take
what, in what order, refusals, leases, audit — are run here again, unchanged, against
PostgreSQL, and the one-statement claim gets tests of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from console.db import Database, open_database
from console.models import Agent
from console.models import AuditLog as AuditRow
from console.models.enums import FollowUpStatus
from console.services.routing.worklist import ClaimError, Worklist
from tests.factories import add_followup
from tests.unit.test_worklist import (  # noqa: F401  (the same tests, collected here again)
    LEASE,
    T0,
    Clock,
    add_customer,
    team,
    test_available_order_due_by_priority_then_upcoming_by_time,
    test_claim_sets_lease_version_and_audit,
    test_complete_only_by_holder,
    test_eligibility_table,
    test_hand_back_clears_my_assignment_unless_mine_only,
    test_lapsed_lease_is_reclaimed_and_old_holder_refused,
    test_mine_lists_held_and_targeted_not_others,
    test_reassign_is_for_supervisors,
    test_renew_and_release_all,
    test_snooze_hides_until_its_time,
    test_team_view_overdue_first_and_by_team,
    test_unknown_or_inactive_agent_is_refused,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
async def db(pg_db: Database) -> AsyncIterator[Database]:
    """The imported tests' database: PostgreSQL here."""
    yield pg_db


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def worklist(db: Database, clock: Clock) -> Worklist:
    return Worklist(db, clock=clock, lease=LEASE)


async def test_claim_next_returns_the_claimed_item_and_audits_it(
    db: Database, worklist: Worklist
) -> None:
    t = await team(db)
    customer = await add_customer(db, "Dan Dare")
    later = await add_followup(db, T0, target_queue_id=t["billing"], priority=2)
    fid = await add_followup(
        db,
        T0,
        kind="callback",
        customer_id=customer,
        target_queue_id=t["billing"],
        target_agent_id=t["bob"],
        priority=1,
        sla_due_at=T0 - timedelta(minutes=5),
        snoozed_until=T0 - timedelta(hours=1),
        snooze_reason="call after 8",
    )
    item = await worklist.claim_next(t["ann"])
    assert item is not None and item.id == fid
    assert item.status is FollowUpStatus.CLAIMED and item.claimed_by == t["ann"]
    assert (item.customer_name, item.target_queue_name) == ("Dan Dare", "billing")
    assert (item.target_agent_name, item.claimed_by_name) == ("Bob Roy", "Ann Lee")
    assert item.claimed_at == T0 and item.lease_expires_at == T0 + LEASE
    assert item.overdue and item.version == 2 and item.updated_at == T0
    assert (item.snoozed_until, item.snooze_reason) == (None, "")
    async with db.session() as s:
        entries = (
            await s.execute(
                select(AuditRow.actor_agent_id, AuditRow.action, AuditRow.details, AuditRow.at)
                .where(AuditRow.entity_type == "followup", AuditRow.entity_id == fid)
                .order_by(AuditRow.id)
            )
        ).all()
    assert [(a, action, d.get("next"), at) for a, action, d, at in entries] == [
        (t["ann"], "claim", True, T0)
    ]
    # Bob may not have Ann's, and is not in the billing pool: nothing for him.
    assert await worklist.claim_next(t["bob"]) is None
    assert (await worklist.claim_next(t["ann"])).id == later  # type: ignore[union-attr]
    assert await worklist.claim_next(t["ann"]) is None


async def test_claim_next_of_an_inactive_agent_is_refused_and_claims_nothing(
    db: Database, worklist: Worklist
) -> None:
    t = await team(db)
    fid = await add_followup(db, T0, target_queue_id=t["general"])
    async with db.write_connection() as conn:
        await conn.execute(
            Agent.__table__.update().where(Agent.id == t["cat"]).values(active=False)
        )
    with pytest.raises(ClaimError, match=r"^Cat Poe is not active$"):
        await worklist.claim_next(t["cat"])
    with pytest.raises(ClaimError, match=r"^agent 999 does not exist$"):
        await worklist.claim_next(999)
    assert [i.id for i in await worklist.available(t["ann"])] == [fid]


async def test_claim_next_and_complete_are_one_statement_each(
    db: Database, postgres_url: str, clock: Clock
) -> None:
    """The claim's round trips were its cost with 200 consoles on two cores (docs/seats.md):
    reading the agent's pools, BEGIN, the claim, its audit entry, COMMIT and the read-back
    took a dozen, and completing the item ten. Now each sends the server one statement: no
    BEGIN, no COMMIT (what asyncpg itself sends is logged)."""
    t = await team(db)
    await add_followup(db, T0, target_queue_id=t["general"])
    console = open_database(postgres_url)
    statements: list[str] = []
    driver: list[str] = []  # what asyncpg sends on its own: BEGIN, COMMIT, ROLLBACK

    def on_connect(dbapi: Any, _record: Any) -> None:
        dbapi.driver_connection.add_query_logger(lambda q: driver.append(q.query))

    def on_execute(_c: Any, _cur: Any, sql: str, *_: Any) -> None:
        statements.append(sql)

    engine = console.engine.sync_engine
    event.listen(engine, "connect", on_connect)
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        worklist = Worklist(console, clock=clock)
        item = await worklist.claim_next(t["ann"])
        assert item is not None and item.claimed_by == t["ann"]
        done = await worklist.complete(t["ann"], item.id, note="sorted")
    finally:
        await console.dispose()
    assert done.status is FollowUpStatus.DONE and done.claimed_by_name == "Ann Lee"
    assert len(statements) == 2, statements
    assert all(sql.lstrip().startswith("WITH") for sql in statements), statements
    assert driver == []
