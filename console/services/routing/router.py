"""The router: applies the routing rules to follow-ups and picks who gets them.

For each follow-up it gathers the facts the rules match on (kind, ticket category, customer
tier/language/lifecycle, the call's queue, disposition and agent, the account owner), takes the
first matching rule's decision, and writes it: target queue/skill/agent, priority, SLA due time,
the callback's first attempt, and a snapshot of the decision (what `routing explain` shows).

A pool target (queue or skill) is then offered to one available agent by the rule's strategy:

- least_loaded: fewest open follow-ups (claimed, or assigned and pending);
- round_robin: given work longest ago;
- best_skill: highest level in the target's skills, then least loaded;
- sticky: the agent who last served the customer, if eligible and available, else least loaded.

The assignment is a preference: the item stays in its queue's pool for anyone eligible, unless
the rule made it agent-only. With nobody available it is left to the pool. Available means a
fresh console heartbeat and presence ready or busy (not ready and offline agents get nothing).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from console.db import Database
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
from console.models.enums import (
    PENDING_FOLLOWUP_STATUSES,
    FollowUpKind,
    FollowUpOrigin,
    FollowUpStatus,
    Presence,
    Role,
)
from console.models.followup import ASSIGNED
from console.services import audit as audit_actions
from console.services.audit import AuditLog
from console.services.errors import ServiceError, record_id
from console.services.routing.presence import FRESH_FOR
from console.services.routing.routing_rules import (
    FollowUpFacts,
    RouteDecision,
    RuleSet,
    RuleTrace,
    Strategy,
    Target,
)
from console.services.service import DbService, utcnow

ROUTE = "route"
_NEVER = datetime.min.replace(tzinfo=UTC)
PoolKey = tuple[int | None, str | None, int]  # (queue id, skill, minimum level)
_AVAILABLE = (Presence.READY, Presence.BUSY)


class RoutingError(ServiceError):
    """A follow-up could not be routed; nothing was changed."""


@dataclass(slots=True)
class StaffMember:
    """One active agent as routing sees them."""

    id: int
    name: str
    role: Role
    team: str
    skills: dict[str, int]
    available: bool
    load: int
    last_routed_at: datetime | None


@dataclass(slots=True)
class Staff:
    """Everyone routing may choose from, and the queues' skill requirements."""

    members: dict[int, StaffMember]
    queue_ids: dict[str, int]
    queue_needs: dict[int, list[tuple[str, int]]] = field(default_factory=dict)
    pools: dict[PoolKey, list[StaffMember]] = field(default_factory=dict)
    heaps: dict[tuple[PoolKey, Strategy], list[tuple[tuple[Any, ...], int]]] = field(
        default_factory=dict
    )

    def serves(self, member: StaffMember, queue_id: int) -> bool:
        return all(member.skills.get(s, 0) >= lvl for s, lvl in self.queue_needs.get(queue_id, []))

    def eligible(self, queue_id: int | None, skill: str | None, level: int) -> list[StaffMember]:
        """Agents (role agent) who may take pool work for this target (computed once)."""
        key: PoolKey = (queue_id, skill, level)
        pool = self.pools.get(key)
        if pool is None:
            pool = self.pools[key] = self._eligible(queue_id, skill, level)
        return pool

    def pick(self, key: PoolKey, strategy: Strategy) -> StaffMember | None:
        """The strategy's choice among the pool's available agents, or None.

        A heap per pool and strategy, built once per snapshot; assignments only ever raise an
        agent's key (more load, a later last-routed time), so a stale entry is simply re-pushed
        with its current key when it reaches the top.
        """
        heap = self.heaps.get((key, strategy))
        if heap is None:
            queue_id, skill, level = key
            heap = self.heaps[(key, strategy)] = [
                (self._key(m, strategy, queue_id, skill), m.id)
                for m in self.eligible(queue_id, skill, level)
                if m.available
            ]
            heapq.heapify(heap)
        queue_id, skill, _ = key
        while heap:
            stored, member_id = heap[0]
            member = self.members[member_id]
            current = self._key(member, strategy, queue_id, skill)
            if current == stored:
                return member
            heapq.heapreplace(heap, (current, member_id))
        return None

    def _key(
        self, m: StaffMember, strategy: Strategy, queue_id: int | None, skill: str | None
    ) -> tuple[Any, ...]:
        if strategy == "round_robin":
            return (m.last_routed_at or _NEVER, m.id)
        if strategy == "best_skill":
            needs = [s for s, _ in self.queue_needs.get(queue_id, [])] if queue_id else []
            score = sum(m.skills.get(s, 0) for s in (*needs, *([skill] if skill else [])))
            return (-score, m.load, m.id)
        return (m.load, m.id)  # least_loaded, and sticky's fallback

    def _eligible(self, queue_id: int | None, skill: str | None, level: int) -> list[StaffMember]:
        out = []
        for m in self.members.values():
            if m.role is not Role.AGENT:
                continue
            if queue_id is not None and not self.serves(m, queue_id):
                continue
            if skill and m.skills.get(skill, 0) < level:
                continue
            out.append(m)
        return out


@dataclass(frozen=True, slots=True)
class Routed:
    """What routing did with one follow-up."""

    followup_id: int
    decision: RouteDecision
    queue_id: int | None
    agent_id: int | None  # assigned (or sole) agent, if any
    agent_only: bool
    why: str  # how the agent was chosen, in words
    eligible: int  # agents who could take it from the pool


@dataclass(frozen=True, slots=True)
class Explanation:
    """`routing explain`: the decision as stored, the rules' verdicts now, who could take it."""

    followup_id: int
    status: str
    escalation_level: int
    stored: dict[str, Any]  # the routing snapshot ({} when never routed)
    facts: FollowUpFacts
    trace: tuple[RuleTrace, ...]
    eligible: tuple[StaffMember, ...]  # available first, then by load


_FACTS = (
    select(
        FollowUp.id,
        FollowUp.kind,
        FollowUp.priority,
        FollowUp.origin,
        FollowUp.due_at,
        FollowUp.customer_id,
        FollowUp.routing,
        Ticket.category.label("ticket_category"),
        Customer.tier,
        Customer.language,
        Customer.lifecycle,
        Customer.account_owner_id,
        Queue.name.label("origin_queue"),
        Interaction.disposition,
        Interaction.agent_id.label("handled_by"),
    )
    .select_from(FollowUp)
    .outerjoin(Ticket, Ticket.id == FollowUp.ticket_id)
    .outerjoin(Customer, Customer.id == FollowUp.customer_id)
    .outerjoin(Interaction, Interaction.id == FollowUp.interaction_id)
    .outerjoin(Queue, Queue.id == Interaction.queue_id)
)


# Open follow-ups per agent: whoever holds each, else whom it is assigned to. Read from
# ix_followups_load alone (covering, the unassigned pool left out; its WHERE repeated here so
# both databases see it applies). Grouped over every open row, this took 35-40 ms with
# 100,000 pending, in each write transaction that routes (tests/unit/test_router_plan.py).
_OWNER = func.coalesce(FollowUp.claimed_by, FollowUp.target_agent_id)
_LOAD = (
    select(_OWNER.label("who"), func.count())
    .where(FollowUp.status.in_(PENDING_FOLLOWUP_STATUSES), text(f"({ASSIGNED})"))
    .group_by(_OWNER)
)


def _last_served(customer_id: Any) -> Any:
    """The agent of the customer's most recent answered interaction (sticky routing)."""
    served = aliased(Interaction)
    return (
        select(served.agent_id)
        .where(served.customer_id == customer_id, served.agent_id.is_not(None))
        .order_by(served.offered_at.desc())
        .limit(1)
        .correlate(FollowUp)
        .scalar_subquery()
    )


class Router(DbService):
    """Routes follow-ups by the rules; see the module docstring."""

    def __init__(
        self,
        db: Database,
        rules: RuleSet,
        audit: AuditLog | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(db, audit, clock=clock)
        self.rules = rules

    # ------------------------------------------------------------ entry points

    async def route(self, followup_id: int, *, by_agent_id: int | None = None) -> Routed:
        """(Re)route one pending follow-up now."""
        fid = record_id(followup_id, field="follow-up id", error=RoutingError)
        async with self._db.write_connection() as conn:
            status = await conn.scalar(select(FollowUp.status).where(FollowUp.id == fid))
            if status is None:
                raise RoutingError(f"follow-up {fid} does not exist")
            if status not in PENDING_FOLLOWUP_STATUSES:
                raise RoutingError(f"follow-up {fid} is {status}; only open work is routed")
            staff = await self.staff(conn)
            (routed,) = await self._route_rows(conn, staff, [fid], by_agent_id)
        return routed

    async def route_pending(self, *, batch: int = 2000) -> int:
        """Route every pending follow-up no rule has decided yet; returns how many."""
        total = 0
        while True:
            async with self._db.write_connection() as conn:
                unrouted = (
                    select(FollowUp.id)
                    .where(FollowUp.status == FollowUpStatus.PENDING, FollowUp.rule == "")
                    .order_by(FollowUp.id)
                    .limit(batch)
                )
                if not self._db.is_sqlite:  # SQLite's IMMEDIATE transaction already excludes
                    unrouted = unrouted.with_for_update(skip_locked=True)
                ids = (await conn.scalars(unrouted)).all()
                if not ids:
                    return total
                staff = await self.staff(conn)
                await self._route_rows(conn, staff, list(ids), None)
            total += len(ids)

    async def create(
        self,
        kind: FollowUpKind,
        *,
        origin: FollowUpOrigin,
        customer_id: int | None,
        summary: str,
        due_at: datetime | None = None,
        interaction_id: int | None = None,
        ticket_id: int | None = None,
        priority: int = 3,
        source_key: str | None = None,
        callback_number: str | None = None,
        origin_queue: str | None = None,
        by_agent_id: int | None = None,
    ) -> Routed | None:
        """Create a follow-up and route it in one transaction.

        With a `source_key` (e.g. "abandoned:<uniqueid>") a second create for the same event,
        from this console or another, does nothing and returns None.
        """
        now = self._clock()
        async with self._db.write_connection() as conn:
            if source_key is not None:
                exists = await conn.scalar(
                    select(FollowUp.id).where(FollowUp.source_key == source_key)
                )
                if exists is not None:
                    return None
            statement = (
                insert(FollowUp)
                .values(
                    kind=kind,
                    status=FollowUpStatus.PENDING,
                    origin=origin,
                    customer_id=customer_id,
                    interaction_id=interaction_id,
                    ticket_id=ticket_id,
                    summary=summary,
                    due_at=due_at or now,
                    priority=priority,
                    source_key=source_key,
                    callback_number=callback_number,
                    routing={"origin_queue": origin_queue} if origin_queue else {},
                    created_at=now,
                    updated_at=now,
                )
                .returning(FollowUp.id)
            )
            try:
                # In a savepoint: on PostgreSQL another console may insert the same source_key
                # between the check above and here (SQLite's IMMEDIATE transaction excludes it).
                async with conn.begin_nested():
                    fid = await conn.scalar(statement)
            except IntegrityError:
                if source_key is None:
                    raise
                return None  # the other console recorded it: once is the point
            assert fid is not None
            await self._audit.add(
                conn, by_agent_id, audit_actions.CREATE, "followup", fid, {"origin": origin}
            )
            staff = await self.staff(conn)
            (routed,) = await self._route_rows(conn, staff, [fid], by_agent_id)
        return routed

    async def recorded(self, source_key: str) -> bool:
        """Whether a follow-up was already made for ``source_key`` (one index probe: every
        console of a queue hears its abandons, the first one records it)."""
        async with self._db.session() as session:
            found = await session.scalar(
                select(FollowUp.id).where(FollowUp.source_key == source_key).limit(1)
            )
        return found is not None

    async def explain(self, followup_id: int) -> Explanation:
        """How the follow-up was routed (its stored decision) and how the rules see it now."""
        fid = record_id(followup_id, field="follow-up id", error=RoutingError)
        now = self._clock()
        async with self._db.write_connection() as conn:  # one consistent snapshot
            row = (
                await conn.execute(
                    select(FollowUp.status, FollowUp.routing, FollowUp.escalation_level).where(
                        FollowUp.id == fid
                    )
                )
            ).first()
            if row is None:
                raise RoutingError(f"follow-up {fid} does not exist")
            facts = await self.facts(conn, fid, now)
            staff = await self.staff(conn)
        trace = self.rules.explain(facts)
        decision = self.rules.route(facts) if trace and trace[-1].matched else None
        eligible: list[StaffMember] = []
        if decision is not None:
            target = decision.target
            queue_id = staff.queue_ids.get(target.queue) if target.queue else None
            eligible = staff.eligible(queue_id, target.skill, target.min_level)
        routing = dict(row.routing or {})
        return Explanation(
            followup_id=fid,
            status=str(row.status),
            escalation_level=row.escalation_level,
            stored=routing,
            facts=facts,
            trace=tuple(trace),
            eligible=tuple(sorted(eligible, key=lambda m: (not m.available, m.load, m.id))),
        )

    # ------------------------------------------------------------ the work

    async def staff(self, conn: AsyncConnection) -> Staff:
        """Everyone routing may choose from, with their load and availability now."""
        now = self._clock()
        load = {who: n for who, n in await conn.execute(_LOAD)}
        agents = await conn.execute(
            select(
                Agent.id,
                Agent.display_name,
                Agent.role,
                Agent.team,
                Agent.presence,
                Agent.heartbeat_at,
                Agent.last_routed_at,
            ).where(Agent.active.is_(True))
        )
        members = {
            r.id: StaffMember(
                id=r.id,
                name=r.display_name,
                role=Role(r.role),
                team=r.team or "",
                skills={},
                available=(
                    r.presence in _AVAILABLE
                    and r.heartbeat_at is not None
                    and now - r.heartbeat_at <= FRESH_FOR
                ),
                load=load.get(r.id, 0),
                last_routed_at=r.last_routed_at,
            )
            for r in agents
        }
        for agent_id, skill, level in await conn.execute(
            select(AgentSkill.agent_id, AgentSkill.skill, AgentSkill.level)
        ):
            if agent_id in members:
                members[agent_id].skills[skill] = level
        staff = Staff(
            members=members,
            queue_ids={n: i for i, n in await conn.execute(select(Queue.id, Queue.name))},
        )
        for queue_id, skill, level in await conn.execute(
            select(QueueSkill.queue_id, QueueSkill.skill, QueueSkill.min_level)
        ):
            staff.queue_needs.setdefault(queue_id, []).append((skill, level))
        return staff

    async def facts(self, conn: AsyncConnection, followup_id: int, at: datetime) -> FollowUpFacts:
        """The facts the rules match on for one follow-up."""
        ((_, facts),) = await self._facts(conn, [followup_id], at)
        return facts

    async def _facts(
        self, conn: AsyncConnection, ids: Sequence[int], at: datetime
    ) -> list[tuple[Any, FollowUpFacts]]:
        rows = (
            await conn.execute(
                _FACTS.add_columns(_last_served(FollowUp.customer_id).label("last_served"))
                .where(FollowUp.id.in_(ids))
                .order_by(FollowUp.id)
            )
        ).all()
        return [
            (
                r,
                FollowUpFacts(
                    kind=str(r.kind),
                    priority=r.priority,
                    at=at,
                    ticket_category=r.ticket_category,
                    tier=r.tier,
                    language=r.language,
                    lifecycle=r.lifecycle,
                    # The call's queue; for work from a queue event, the queue it named.
                    origin_queue=r.origin_queue or (r.routing or {}).get("origin_queue"),
                    disposition=r.disposition or None,
                    origin=str(r.origin),
                    account_owner_id=r.account_owner_id,
                    handled_by_id=r.handled_by,
                ),
            )
            for r in rows
        ]

    async def _route_rows(
        self,
        conn: AsyncConnection,
        staff: Staff,
        ids: Sequence[int],
        by_agent_id: int | None,
    ) -> list[Routed]:
        now = self._clock()
        out: list[Routed] = []
        updates: list[dict[str, Any]] = []
        for r, facts in await self._facts(conn, ids, now):
            decision = self.rules.route(facts)
            routed = self.assign(r.id, decision, facts, r.last_served, staff, now)
            out.append(routed)
            due_at = r.due_at
            if str(r.kind) == FollowUpKind.CALLBACK:
                first = decision.retry.next_attempt(max(due_at, now), 1, self.rules.timezone)
                due_at = first or due_at
            updates.append(
                {
                    "fid": r.id,
                    "target_queue_id": routed.queue_id,
                    "target_skill": decision.target.skill or "",
                    "target_min_level": decision.target.min_level if decision.target.skill else 0,
                    "target_agent_id": routed.agent_id,
                    "agent_only": routed.agent_only,
                    "priority": decision.priority,
                    "sla_due_at": now + decision.due_in,
                    "due_at": due_at,
                    "rule": decision.rule[:80],
                    "routing": {
                        **decision.as_json(),
                        "routed_at": now.isoformat(),
                        "assigned_to": routed.agent_id,
                        "assigned_why": routed.why,
                        "eligible": routed.eligible,
                        "origin_queue": facts.origin_queue,
                    },
                    "updated_at": now,
                }
            )
        if updates:
            columns = FollowUp.__table__.c
            binds = {k: bindparam(k, type_=columns[k].type) for k in updates[0] if k != "fid"}
            await conn.execute(
                update(FollowUp)
                .where(FollowUp.id == bindparam("fid"))
                .values({**binds, "version": FollowUp.version + 1}),
                updates,
            )
            chosen = {r.agent_id for r in out if r.agent_id is not None}
            if chosen:
                await conn.execute(
                    update(Agent).where(Agent.id.in_(chosen)).values(last_routed_at=now)
                )
            await self._audit.add_many(
                conn,
                [
                    (
                        by_agent_id,
                        ROUTE,
                        "followup",
                        routed.followup_id,
                        {"rule": routed.decision.rule, "agent": routed.agent_id, "why": routed.why},
                    )
                    for routed in out
                ],
            )
        return out

    def assign(
        self,
        fid: int,
        decision: RouteDecision,
        facts: FollowUpFacts,
        last_served: int | None,
        staff: Staff,
        now: datetime,
    ) -> Routed:
        """Who gets it: the decision's person or role, else one of its pool by the strategy."""
        target = decision.target
        queue_id = staff.queue_ids.get(target.queue) if target.queue else None

        def done(agent: StaffMember | None, why: str, eligible: int, only: bool = False) -> Routed:
            if agent is not None:
                agent.load += 1
                agent.last_routed_at = now
            return Routed(fid, decision, queue_id, agent.id if agent else None, only, why, eligible)

        if target.role is not None:
            lead = self._lead(staff, target, facts)
            if lead is None:
                return done(None, f"no {target.role.replace('_', ' ')} found; left to the pool", 0)
            return done(lead, f"{target.role.replace('_', ' ')}: {lead.name}", 1, only=True)
        if target.agent is not None:
            person_id = (
                facts.account_owner_id if target.agent == "account_owner" else facts.handled_by_id
            )
            person = staff.members.get(person_id) if person_id is not None else None
            label = target.agent.replace("_", " ")
            if target.agent_only:
                if person is None:
                    return done(None, f"no {label} on record; left to the pool", 0)
                return done(person, f"{label} only: {person.name}", 1, only=True)
            if person is not None and person.available:
                return done(person, f"{label}: {person.name}", 1)
        pool = staff.eligible(queue_id, target.skill, target.min_level)
        n = len(pool)
        strategy = decision.strategy
        if strategy == "sticky" and last_served is not None:
            previous = staff.members.get(last_served)
            if previous is not None and previous.available and previous in pool:
                return done(previous, f"sticky: last served the customer ({previous.name})", n)
        pick = staff.pick((queue_id, target.skill, target.min_level), strategy)
        if pick is None:
            return done(None, f"nobody available of {n} eligible; left to the pool", n)
        if strategy == "round_robin":
            return done(pick, f"round robin: {pick.name}", n)
        if strategy == "best_skill":
            return done(pick, f"best skill: {pick.name}", n)
        return done(pick, f"least loaded: {pick.name} ({pick.load} open)", n)

    @staticmethod
    def _lead(staff: Staff, target: Target, facts: FollowUpFacts) -> StaffMember | None:
        """A supervisor: for team_lead, one in the team of the agent who took the call."""
        supervisors = sorted(
            (m for m in staff.members.values() if m.role is Role.SUPERVISOR),
            key=lambda m: (not m.available, m.load, m.id),
        )
        if target.role == "team_lead" and facts.handled_by_id in staff.members:
            team = staff.members[facts.handled_by_id].team
            same = [m for m in supervisors if m.team == team]
            if same:
                return same[0]
        return supervisors[0] if supervisors else None
