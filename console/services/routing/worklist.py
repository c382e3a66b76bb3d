"""The follow-up worklist: what an agent may take, and claiming it exactly once, with leases.

Who may take a follow-up (`eligible`): the agent it targets, always; anyone else only when it is
not `agent_only` and they are in its pool — they serve its queue, if it has one (every skill the
queue requires at its minimum level: `QueueDirectory.queues_for`'s rule, in SQL) and have its
skill at its minimum level, if it names one. No queue and no skill: open to every agent.

A claim sets `claimed_by` and a lease (five minutes by default) that the console's heartbeat
extends (`renew`). A lapsed lease means the console is gone: anyone eligible may take the item
over, and `reclaim_expired` puts it back in the pool; until then its holder may still finish it.
Renewals are heartbeats, not changes: no audit entry, no `version` bump. Every other change
writes an audit entry in its own transaction and bumps `version`.

Order of `available`: what is due now by priority (1 first), due time, id; then what is
upcoming, soonest first. `claim_next` hands out only the first *due* one (a callback due at
three is not rung at one); an upcoming item may still be claimed by id. Snoozed items are
hidden and cannot be claimed until their time. A snooze may end past the SLA (the agent knows
the customer): that is allowed, and audited with `beyond_sla`.

Atomicity: each change is one UPDATE whose WHERE re-checks the state it expects, in a write
transaction (BEGIN IMMEDIATE on SQLite, which serialises writers). `claim_next` picks its row in
the same UPDATE from per-source candidates — one per queue served, the agent's own targets, the
queue-less pool and lapsed leases — each read in index order with LIMIT 1, so a claim costs a few
index probes however many rows are pending. On PostgreSQL the best candidate is locked
`FOR UPDATE SKIP LOCKED` (concurrent claimers take different rows without waiting), and the
whole claim — the agent's pools looked up, the pick, the claim, its audit entry and the row
read back — is one statement sent outside a transaction (`claim_next_in_one`): one round trip,
where a dozen made the claim wait its turn a dozen times on a busy console (docs/seats.md).

SQLite: the claims of one process on one file take turns in the order they came (`_claim_turn`)
instead of all fighting for the file's write lock, whose busy handler sleeps in growing steps
(up to 100 ms) and so hands the lock to newcomers before those that waited longest.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import (
    Select,
    and_,
    case,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from console.db import Database, RowReader
from console.models import FollowUp
from console.models.base import from_db_time
from console.models.enums import PENDING_FOLLOWUP_STATUSES, FollowUpKind, FollowUpStatus, Role
from console.services.audit import AuditLog
from console.services.errors import ServiceError, aware, free_text, one_line, record_id
from console.services.routing.followups import is_overdue, overdue_condition
from console.services.routing.worklist_sql import (
    ACTOR,
    CLAIM_ONE,
    CLAIMED,
    ELIGIBLE,
    HOLDER_MOVES,
    ITEM_BY_ID,
    ITEM_KEYS,
    ITEMS,
    ME,
    NOW,
    ORDER,
    PENDING,
    RELEASED,
    RENEW_ONE,
    SERVED,
    SIZE,
    SKILLS,
    TEXTS,
    TIMES,
    UNTIL,
    anything_due,
    available_statement,
    claim_next_in_one,
    claim_next_statement,
    claimer,
    holder_change,
    holder_move_in_one,
    target_agent,
)
from console.services.service import DbService, utcnow
from console.services.text import clean_text, stored_text
from console.services.training.recording import ActionRecorder

T = TypeVar("T")

# Audit actions (audit_log.action) of the worklist's changes.
CLAIM, COMPLETE, SNOOZE, HAND_BACK = "claim", "complete", "snooze", "hand_back"
REASSIGN, RELEASE, RECLAIM = "reassign", "release", "reclaim"
# The holder's moves as the session recording names them.
_RECORDED = {
    COMPLETE: "followup_completed",
    SNOOZE: "followup_snoozed",
    HAND_BACK: "followup_handed_back",
}

MAX_LIST = 1000
MAX_BULK = 1000
MAX_NOTE = 500  # what an audit entry keeps
MAX_SNOOZE = timedelta(days=30)
RECLAIM_BATCH = 500
_PG_RETRIES = 20  # PostgreSQL: "nothing left" re-checked while rows are only locked by others
_BUSY_RETRIES = 5  # SQLite: write transactions that timed out waiting for the file's lock

_FINISHED = {
    FollowUpStatus.DONE: "is done",
    FollowUpStatus.CANCELLED: "is cancelled",
    FollowUpStatus.FAILED: "has failed",
}


class ClaimError(ServiceError):
    """A worklist request was refused; nothing was changed."""


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One worklist row: a follow-up, whom it is for and who holds it."""

    id: int
    kind: FollowUpKind
    status: FollowUpStatus
    customer_id: int | None
    customer_name: str
    summary: str
    due_at: datetime
    sla_due_at: datetime | None
    priority: int  # 1 = most urgent
    target_queue_id: int | None
    target_queue_name: str
    target_skill: str
    target_min_level: int
    target_agent_id: int | None
    target_agent_name: str
    agent_only: bool
    claimed_by: int | None
    claimed_by_name: str
    claimed_at: datetime | None
    lease_expires_at: datetime | None
    attempts: int
    last_outcome: str
    escalation_level: int
    overdue: bool  # `followups.is_overdue`: past its SLA, or marked overdue by the SLA engine
    snoozed_until: datetime | None
    snooze_reason: str
    interaction_id: int | None
    ticket_id: int | None
    version: int
    updated_at: datetime


def _item(row: Mapping[str, Any], now: datetime) -> WorkItem:
    """A row (from a session, or raw from `Database.read_rows`) as a WorkItem."""
    values = dict(row)
    values.update({key: from_db_time(values[key]) for key in TIMES})
    sla, flagged = values["sla_due_at"], values.pop("overdue_at")
    values.update({key: stored_text(values[key]) for key in TEXTS})
    values.update(
        kind=FollowUpKind(values["kind"]),
        status=FollowUpStatus(values["status"]),
        summary=clean_text(values["summary"] or ""),
        agent_only=bool(values["agent_only"]),
        overdue=is_overdue(sla, flagged, now),
    )
    return WorkItem(**values)


class Worklist(DbService):
    """An agent's worklist and a supervisor's view of everyone's; claims follow-ups."""

    def __init__(
        self,
        db: Database,
        audit: AuditLog | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        lease: timedelta = timedelta(minutes=5),
        recorder: ActionRecorder | None = None,
    ) -> None:
        if lease <= timedelta(0):
            raise ValueError("the lease must be positive")
        super().__init__(db, audit, clock=clock, recorder=recorder)
        self._lease = lease

    def _params(self, me: int) -> dict[str, Any]:
        now = aware(self._clock(), field="clock", error=ClaimError)
        return {"me": me, "now": now, "lease_until": now + self._lease}

    # ------------------------------------------------------------------ reading

    async def mine(self, agent_id: int, *, limit: int = 200) -> list[WorkItem]:
        """What I hold, and what targets me and nobody holds; soonest due, then priority."""
        me = record_id(agent_id, field="agent id", error=ClaimError)
        stmt = (
            ITEMS.where(
                or_(
                    and_(FollowUp.claimed_by == ME, FollowUp.status == CLAIMED),
                    and_(FollowUp.target_agent_id == ME, FollowUp.status == PENDING),
                )
            )
            .order_by(FollowUp.due_at, FollowUp.priority, FollowUp.id)
            .limit(_clamp(limit))
        )
        return await self._items(stmt, self._params(me))

    async def available(self, agent_id: int, *, limit: int = 200) -> list[WorkItem]:
        """What I may claim: due ones by priority, due time, id; then upcoming ones, soonest first.

        Unclaimed (or lease lapsed) pending follow-ups of my queues' pools, needing a skill I
        have at its level, or targeted at me; never another agent's `agent_only` ones; snoozed
        ones once their snooze is over.
        """
        me = record_id(agent_id, field="agent id", error=ClaimError)
        params = self._params(me) | {"size": _clamp(limit)}
        _, pool = await self._db.read_rows(partial(_agent, me=me, pool=True))
        stmt = available_statement(*_shape(pool))
        return await self._items(stmt, params | pool)

    async def team_view(
        self, *, team: str | None = None, overdue_only: bool = False, limit: int = 500
    ) -> list[WorkItem]:
        """Open follow-ups (pending and claimed) for a supervisor: overdue first, then by
        priority and due time; with `team`, those whose holder or target is in it."""
        overdue = overdue_condition(NOW)
        stmt = ITEMS.where(FollowUp.status.in_(PENDING_FOLLOWUP_STATUSES))
        if team:
            name = one_line(team, field="team", max_length=60, error=ClaimError)
            stmt = stmt.where(or_(claimer.team == name, target_agent.team == name))
        if overdue_only:
            stmt = stmt.where(overdue)
        stmt = stmt.order_by(case((overdue, 0), else_=1), *ORDER).limit(_clamp(limit))
        return await self._items(stmt, self._params(0))

    async def _items(self, stmt: Select[Any], params: dict[str, Any]) -> list[WorkItem]:
        async with self._db.session() as session:
            rows = (await session.execute(stmt, params)).mappings().all()
        return [_item(r, params["now"]) for r in rows]

    async def _get(self, fid: int, now: datetime) -> WorkItem:
        """One follow-up as a WorkItem, read in one hop (the claim's hot path)."""
        rows = await self._db.read_rows(lambda reader: reader.rows(ITEM_BY_ID, {"fid": fid}))
        return _item(dict(zip(ITEM_KEYS, rows[0], strict=True)), now)

    async def _in_write(
        self, work: Callable[[AsyncConnection], Awaitable[T]], *, one_statement: bool = False
    ) -> T:
        """Run `work` in one write transaction (`one_statement`: work that is one statement,
        sent outside a transaction on PostgreSQL); a busy SQLite file (many consoles at once)
        is retried, since nothing of a transaction that timed out waiting was kept."""
        connect = self._db.statements_connection if one_statement else self._db.write_connection
        for attempt in range(_BUSY_RETRIES + 1):
            try:
                async with connect() as conn:
                    return await work(conn)
            except OperationalError as exc:
                if "database is locked" not in str(exc.orig):
                    raise
                if attempt == _BUSY_RETRIES:
                    raise ClaimError("the database is too busy right now; try again") from None
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------ claiming

    async def claim(self, agent_id: int, followup_id: int) -> WorkItem:
        """Take one follow-up; ClaimError if someone else holds it, it is not for me, it is
        snoozed or finished. Claiming one I hold just renews its lease."""
        me = record_id(agent_id, field="agent id", error=ClaimError)
        fid = record_id(followup_id, field="follow-up id", error=ClaimError)
        params = self._params(me) | {"fid": fid}
        await self._db.read_rows(partial(_agent, me=me))

        async def work(conn: AsyncConnection) -> None:
            if await conn.scalar(CLAIM_ONE, params) is not None:
                details = {"lease_expires_at": params["lease_until"]}
                await self._audit.add(conn, me, CLAIM, "followup", fid, details)
            elif await conn.scalar(RENEW_ONE, params) is None:
                raise await _refusal(conn, fid, params)

        await self._in_write(work)
        self._recorder.record_action("followup_claimed", followup_id=fid)
        return await self._get(fid, params["now"])

    async def claim_next(self, agent_id: int) -> WorkItem | None:
        """Take the first due follow-up of `available`, atomically; None when none is left.

        Concurrent claimers (consoles, processes) never get the same follow-up and never miss
        one: the pick and the claim are one UPDATE that re-checks the row.
        """
        me = record_id(agent_id, field="agent id", error=ClaimError)
        if not self._db.is_sqlite:
            return await self._claim_next_in_one(me)
        params = self._params(me)
        _, pool = await self._db.read_rows(partial(_agent, me=me, pool=True))
        take = partial(
            self._take_next, stmt=claim_next_statement(*_shape(pool)), params=params | pool
        )
        async with _claim_turn(self._db):
            fid = await self._in_write(take)
        if fid is None:
            return None  # SQLite serialises writers: no row was hidden by another's lock
        self._recorder.record_action("followup_claimed", followup_id=fid, next=True)
        return await self._get(fid, params["now"])

    async def _claim_next_in_one(self, me: int) -> WorkItem | None:
        """PostgreSQL: `claim_next` as one statement (`claim_next_in_one`) and one round trip;
        when it finds nothing, the agent is checked and "nothing left" is made sure of."""
        for attempt in range(_PG_RETRIES + 1):
            params = self._params(me)
            details = {"lease_expires_at": params["lease_until"], "next": True}
            params |= self._audit.bound(me, CLAIM, "followup", details)
            async with self._db.autocommit_connection() as conn:
                row = (await conn.execute(claim_next_in_one(), params)).mappings().first()
            if row is not None:
                self._recorder.record_action("followup_claimed", followup_id=row["id"], next=True)
                return _item(row, params["now"])
            if attempt == 0:  # no such agent, or not active: ClaimError, as for SQLite
                await self._db.read_rows(partial(_agent, me=me))
            if not await self._any_left(params):
                return None
            await asyncio.sleep(0.002 * (attempt + 1))
        return None

    async def _take_next(
        self, conn: AsyncConnection, *, stmt: Any, params: dict[str, Any]
    ) -> int | None:
        fid: int | None = await conn.scalar(stmt, params)
        if fid is not None:
            details = {"lease_expires_at": params["lease_until"], "next": True}
            await self._audit.add(conn, params["me"], CLAIM, "followup", fid, details)
        return fid

    async def _any_left(self, params: dict[str, Any]) -> bool:
        """PostgreSQL: SKIP LOCKED passes over rows other claimers locked as candidates but
        may not take; only an unlocked look can say nothing is left (the claim's own index
        probes, `anything_due`: a walk of every due row took 130-460 ms with 200 claimers)."""
        async with self._db.autocommit_connection() as conn:
            return await conn.scalar(anything_due(), params) is not None

    async def renew(self, agent_id: int) -> int:
        """Heartbeat: extend my leases that have not lapsed; returns how many."""
        me = record_id(agent_id, field="agent id", error=ClaimError)
        stmt = (
            update(FollowUp)
            .where(
                FollowUp.claimed_by == ME,
                FollowUp.status == CLAIMED,
                FollowUp.lease_expires_at >= NOW,
            )
            .values(lease_expires_at=UNTIL)
        )

        async def work(conn: AsyncConnection) -> int:
            return int((await conn.execute(stmt, self._params(me))).rowcount or 0)

        return await self._in_write(work, one_statement=True)

    # ------------------------------------------------------------------ the holder's moves

    async def complete(self, agent_id: int, followup_id: int, *, note: str = "") -> WorkItem:
        """Mark a follow-up I hold done."""
        text = free_text(note, field="note", max_length=MAX_NOTE, error=ClaimError)
        values = HOLDER_MOVES[COMPLETE]
        return await self._as_holder(agent_id, followup_id, values, COMPLETE, {"note": text})

    async def snooze(
        self, agent_id: int, followup_id: int, until: datetime, reason: str
    ) -> WorkItem:
        """Put a follow-up I hold back, hidden from everyone until `until` (reason required):
        in the future, at most MAX_SNOOZE ahead; past the SLA is allowed, audited `beyond_sla`."""
        when = aware(until, field="snooze time", error=ClaimError)
        why = one_line(
            reason, field="snooze reason", max_length=200, required=True, error=ClaimError
        )
        now = self._params(0)["now"]
        if when <= now:
            raise ClaimError("the snooze time must be in the future")
        if when - now > MAX_SNOOZE:
            raise ClaimError(f"a snooze lasts {MAX_SNOOZE.days} days at most; reschedule instead")
        values = {**RELEASED, "snoozed_until": when, "snooze_reason": why}
        details = {"until": when, "reason": why}
        return await self._as_holder(agent_id, followup_id, values, SNOOZE, details, when)

    async def hand_back(self, agent_id: int, followup_id: int, reason: str) -> WorkItem:
        """Give a follow-up I hold back to its pool; an assignment to me goes too, unless the
        follow-up is for me only."""
        why = one_line(reason, field="reason", max_length=200, required=True, error=ClaimError)
        values = HOLDER_MOVES[HAND_BACK]
        return await self._as_holder(agent_id, followup_id, values, HAND_BACK, {"reason": why})

    async def _as_holder(
        self,
        agent_id: int,
        followup_id: int,
        values: dict[str, Any],
        action: str,
        details: dict[str, Any],
        snooze_until: datetime | None = None,
    ) -> WorkItem:
        me = record_id(agent_id, field="agent id", error=ClaimError)
        fid = record_id(followup_id, field="follow-up id", error=ClaimError)
        params = self._params(me) | {"fid": fid}
        if not self._db.is_sqlite and action in HOLDER_MOVES:
            # PostgreSQL: one statement (a snooze's audit entry depends on the row's SLA).
            params |= self._audit.bound(me, action, "followup", details)
            async with self._db.autocommit_connection() as conn:
                found = await conn.execute(holder_move_in_one(action), params)
                row = found.mappings().first()
            if row is None:
                await self._db.read_rows(partial(_agent, me=me))  # unknown or inactive
                async with self._db.autocommit_connection() as conn:
                    raise await _refusal(conn, fid, params, holder=True)
            self._recorder.record_action(_RECORDED[action], followup_id=fid, **details)
            return _item(row, params["now"])
        await self._db.read_rows(partial(_agent, me=me))
        stmt = holder_change(values).returning(FollowUp.sla_due_at)

        async def work(conn: AsyncConnection) -> None:
            row = (await conn.execute(stmt, params)).first()
            if row is None:
                raise await _refusal(conn, fid, params, holder=True)
            sla, said = row[0], details
            if snooze_until is not None and sla is not None and snooze_until > sla:
                said = {**details, "beyond_sla": True, "sla_due_at": sla}
            await self._audit.add(conn, me, action, "followup", fid, said)

        await self._in_write(work)
        self._recorder.record_action(_RECORDED[action], followup_id=fid, **details)
        return await self._get(fid, params["now"])

    async def release_all(self, agent_id: int, *, reason: str = "logout") -> int:
        """Logout: every follow-up I hold goes back to pending; returns how many."""
        me = record_id(agent_id, field="agent id", error=ClaimError)
        why = one_line(reason, field="reason", max_length=200, required=True, error=ClaimError)
        stmt = (
            update(FollowUp)
            .where(FollowUp.claimed_by == ME, FollowUp.status == CLAIMED)
            .values(**RELEASED, updated_at=NOW, version=FollowUp.version + 1)
            .returning(FollowUp.id)
        )

        async def work(conn: AsyncConnection) -> int:
            ids = (await conn.scalars(stmt, self._params(me))).all()
            for fid in sorted(ids):
                await self._audit.add(conn, me, RELEASE, "followup", fid, {"reason": why})
            return len(ids)

        return await self._in_write(work)

    # ------------------------------------------------------------------ supervisors, upkeep

    async def reassign(
        self, by_agent_id: int, followup_ids: Sequence[int], to_agent_id: int
    ) -> int:
        """A supervisor points open follow-ups at another agent; returns how many changed.

        Claims are released, except those the new agent already holds; finished ones are left.
        """
        by = record_id(by_agent_id, field="agent id", error=ClaimError)
        to = record_id(to_agent_id, field="agent id", error=ClaimError)
        if isinstance(followup_ids, str | bytes):
            raise ClaimError("pass a list of follow-up ids")
        ids = sorted({record_id(f, field="follow-up id", error=ClaimError) for f in followup_ids})
        if len(ids) > MAX_BULK:
            raise ClaimError(f"reassign at most {MAX_BULK:,} follow-ups at once")
        role, _ = await self._db.read_rows(partial(_agent, me=by))
        if role is not Role.SUPERVISOR:
            raise ClaimError("only a supervisor can reassign follow-ups")
        await self._db.read_rows(partial(_agent, me=to))
        params = self._params(by)
        open_ = and_(FollowUp.id.in_(ids), FollowUp.status.in_(PENDING_FOLLOWUP_STATUSES))
        keeps = FollowUp.claimed_by == to
        change = (
            update(FollowUp)
            .where(open_)
            .values(
                target_agent_id=to,
                status=case((keeps, FollowUp.status), else_=literal(PENDING.value)),
                claimed_by=case((keeps, FollowUp.claimed_by), else_=None),
                claimed_at=case((keeps, FollowUp.claimed_at), else_=None),
                lease_expires_at=case((keeps, FollowUp.lease_expires_at), else_=None),
                updated_at=NOW,
                version=FollowUp.version + 1,
            )
            .returning(FollowUp.id)
        )

        async def work(conn: AsyncConnection) -> int:
            # Locked in id order (PostgreSQL), so what the audit says is what was changed.
            before = {
                r[0]: (r[1], r[2])
                for r in await conn.execute(
                    select(FollowUp.id, FollowUp.target_agent_id, FollowUp.claimed_by)
                    .where(open_)
                    .order_by(FollowUp.id)
                    .with_for_update()
                )
            }
            changed = (await conn.scalars(change, params)).all()
            for fid in sorted(changed):
                was_for, was_held_by = before.get(fid, (None, None))
                details = {"to": to, "from": was_for, "released": was_held_by}
                await self._audit.add(conn, by, REASSIGN, "followup", fid, details)
            return len(changed)

        return await self._in_write(work)

    async def reclaim_expired(self) -> int:
        """Follow-ups whose lease lapsed (their console died) go back to pending; returns how
        many. Idempotent, and safe with several consoles running it at once: each lapsed claim
        is released, and audited, once."""
        lapsed = and_(FollowUp.status == CLAIMED, FollowUp.lease_expires_at < NOW)
        find = (
            select(FollowUp.id, FollowUp.claimed_by, FollowUp.lease_expires_at)
            .where(lapsed)
            # Longest lapsed first, in ix_followups_lease's order: ordered by id, SQLite
            # walked the whole table for the few claimed rows.
            .order_by(FollowUp.lease_expires_at, FollowUp.id)
            .limit(SIZE)
            .with_for_update(skip_locked=True)
        )

        async def sweep(conn: AsyncConnection) -> tuple[int, int]:
            params = self._params(0) | {"size": RECLAIM_BATCH}
            seen = {r[0]: (r[1], r[2]) for r in await conn.execute(find, params)}
            if not seen:
                return 0, 0
            ids = (
                await conn.scalars(
                    update(FollowUp)
                    .where(FollowUp.id.in_(list(seen)), lapsed)
                    .values(**RELEASED, updated_at=NOW, version=FollowUp.version + 1)
                    .returning(FollowUp.id),
                    params,
                )
            ).all()
            for fid in sorted(ids):
                holder, expired = seen[fid]
                details = {"from": holder, "lease_expired_at": expired}
                await self._audit.add(conn, None, RECLAIM, "followup", fid, details)
            return len(seen), len(ids)

        total = 0
        while True:
            seen, released = await self._in_write(sweep)
            total += released
            if seen < RECLAIM_BATCH:
                return total


# ------------------------------------------------------------------ helpers

# SQLite: one queue of claims per file and event loop, shared by every Database of the process.
_TURNS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


@asynccontextmanager
async def _claim_turn(db: Database) -> AsyncIterator[None]:
    """SQLite: wait for this process's earlier claims on the same file, first come first
    served (asyncio.Lock is FIFO), for at most the busy timeout; PostgreSQL: no wait.

    SQLite's busy handler sleeps 1, 2, 5 … then 100 ms between tries for the write lock, so
    many consoles in one process claiming at once hand it to newcomers while the longest
    waiters sleep (claim p99 5 s with 25). In turn, only one claim of the process contends for
    the lock at a time. (A short-step busy loop of our own was measured and dropped: each
    failed try costs a thread hop, and 25 pollers on 2 cores starved the lock's holder.)
    """
    path = db.sqlite_path
    if path is None:
        yield
        return
    turns = _TURNS.setdefault(asyncio.get_running_loop(), {})
    turn = turns.setdefault(str(path), asyncio.Lock())
    try:
        async with asyncio.timeout(db.busy_timeout_ms / 1000):
            await turn.acquire()
    except TimeoutError:
        raise ClaimError("the database is too busy right now; try again") from None
    try:
        yield
    finally:
        turn.release()


# ------------------------------------------------------------------ helpers


def _clamp(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise ClaimError(f"limit must be a whole number, not {limit!r}")
    return max(1, min(limit, MAX_LIST))


def _agent(reader: RowReader, *, me: int, pool: bool = False) -> tuple[Role, dict[str, int | str]]:
    """Agent `me`'s role and (with `pool`) the parameters of `sources`: the queues they serve
    (:q0, :q1, …) and their skills and levels (:s0, :l0, …); ClaimError if there is no such
    agent or they are not active."""
    found = reader.rows(ACTOR, {"me": me})
    if not found:
        raise ClaimError(f"agent {me} does not exist")
    name, role, active = found[0]
    if not active:
        raise ClaimError(f"{stored_text(name) or f'agent {me}'} is not active")
    params: dict[str, int | str] = {}
    if pool:
        params.update({f"q{i}": row[0] for i, row in enumerate(reader.rows(SERVED, {"me": me}))})
        for i, (skill, level) in enumerate(reader.rows(SKILLS, {"me": me})):
            params.update({f"s{i}": skill, f"l{i}": level})
    return Role(role), params


def _shape(pool: Mapping[str, Any]) -> tuple[int, int]:
    """How many queues and skills `_agent`'s parameters hold (`sources`' arguments)."""
    return sum(k[0] == "q" for k in pool), sum(k[0] == "s" for k in pool)


async def _refusal(
    conn: AsyncConnection, fid: int, params: Mapping[str, Any], *, holder: bool = False
) -> ClaimError:
    """Why follow-up `fid` could not be claimed (or, `holder`, worked) by agent :me."""
    row = (
        await conn.execute(
            select(
                FollowUp.status,
                FollowUp.claimed_by,
                claimer.display_name,
                FollowUp.lease_expires_at,
                FollowUp.snoozed_until,
                case((ELIGIBLE, 1), else_=0),
            )
            .outerjoin(claimer, claimer.id == FollowUp.claimed_by)
            .where(FollowUp.id == fid),
            params,
        )
    ).first()
    if row is None:
        return ClaimError(f"follow-up {fid} does not exist")
    me, now = params["me"], params["now"]
    status, holder_id, holder_name, lease, snoozed, eligible = row
    status = FollowUpStatus(status)
    who = stored_text(holder_name) or f"agent {holder_id}"
    if status in _FINISHED:
        return ClaimError(f"follow-up {fid} {_FINISHED[status]}")
    if holder:
        if status is CLAIMED and holder_id != me:
            return ClaimError(f"follow-up {fid} is claimed by {who}, not you")
        return ClaimError(f"follow-up {fid} is not claimed by you; claim it first")
    if status is CLAIMED and holder_id != me and (lease is None or lease >= now):
        return ClaimError(f"follow-up {fid} is already claimed by {who}")
    if not eligible:
        return ClaimError(f"follow-up {fid} is not for you")
    if snoozed is not None and snoozed > now:
        return ClaimError(f"follow-up {fid} is snoozed until {snoozed:%Y-%m-%d %H:%M} UTC")
    return ClaimError(f"follow-up {fid} could not be claimed; try again")
