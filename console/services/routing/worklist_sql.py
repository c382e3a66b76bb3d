"""The worklist's SQL: who may take a follow-up, and the statements that list and claim.

Eligibility in SQL (`served_queue_ids`, `ELIGIBLE`, `CLAIMABLE`), the item query (`ITEMS`) and
the claim statements, which pick their row from per-source candidates, each read in an index's
order with LIMIT 1: on SQLite `claim_next_statement` (one UPDATE, the sources shaped by the
agent's queues and skills read first: `sources`), on PostgreSQL `claim_next_in_one` (one
statement doing the whole claim, the agent's queues and skills looked up inside it:
`claim_sources`; the chosen row locked `FOR UPDATE SKIP LOCKED`). Statements are built once
and reused. `console.services.routing.worklist` runs them; its docstring says the rules.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    Update,
    and_,
    any_,
    bindparam,
    case,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    union,
    union_all,
    update,
)
from sqlalchemy.orm import aliased

from console.models import Agent, AgentSkill, Customer, FollowUp, Queue, QueueSkill, UtcDateTime
from console.models.enums import FollowUpStatus
from console.services.audit import entries_for

PENDING, CLAIMED = FollowUpStatus.PENDING, FollowUpStatus.CLAIMED
PRIORITIES = (1, 2, 3, 4, 5)  # follow-up priorities, 1 most urgent

# Statements are built once with these parameters and reused (building one costs milliseconds).
ME = bindparam("me", type_=Integer())
NOW = bindparam("now", type_=UtcDateTime())
UNTIL = bindparam("lease_until", type_=UtcDateTime())
FID = bindparam("fid", type_=Integer())
SIZE = bindparam("size", type_=Integer())

target_agent = aliased(Agent)
claimer = aliased(Agent)
# WorkItem fields read as they are stored (overdue_at is read to compute `overdue`).
STORED = (
    "id kind status customer_id summary due_at sla_due_at priority target_queue_id target_skill"
    " target_min_level target_agent_id agent_only claimed_by claimed_at lease_expires_at attempts"
    " last_outcome escalation_level overdue_at snoozed_until snooze_reason interaction_id"
    " ticket_id version updated_at"
).split()
TEXTS = (
    "customer_name target_queue_name target_skill target_agent_name claimed_by_name"
    " last_outcome snooze_reason"
).split()
TIMES = "due_at sla_due_at claimed_at lease_expires_at overdue_at snoozed_until updated_at".split()
ITEMS = (
    select(
        *(getattr(FollowUp, name) for name in STORED),
        Customer.display_name.label("customer_name"),
        Queue.name.label("target_queue_name"),
        target_agent.display_name.label("target_agent_name"),
        claimer.display_name.label("claimed_by_name"),
    )
    .outerjoin(Customer, Customer.id == FollowUp.customer_id)
    .outerjoin(Queue, Queue.id == FollowUp.target_queue_id)
    .outerjoin(target_agent, target_agent.id == FollowUp.target_agent_id)
    .outerjoin(claimer, claimer.id == FollowUp.claimed_by)
)
ORDER = (FollowUp.priority, FollowUp.due_at, FollowUp.id)


# ------------------------------------------------------------------ eligibility, in SQL


def served_queue_ids(agent_id: int | ColumnElement[int]) -> Select[Any]:
    """Ids of the queues whose every required skill the agent has at the minimum level
    (`QueueDirectory.queues_for`'s rule; a queue requiring nothing is served by everyone)."""
    has_it = exists().where(
        AgentSkill.agent_id == agent_id,
        AgentSkill.skill == QueueSkill.skill,
        AgentSkill.level >= QueueSkill.min_level,
    )
    return select(Queue.id).where(~exists().where(QueueSkill.queue_id == Queue.id, ~has_it))


HAS_SKILL = or_(
    FollowUp.target_skill == "",
    exists().where(
        AgentSkill.agent_id == ME,
        AgentSkill.skill == FollowUp.target_skill,
        AgentSkill.level >= FollowUp.target_min_level,
    ),
)
NOT_ONLY = FollowUp.agent_only.is_(false())
# The follow-up is for agent :me — targeted at them, or in a pool they belong to.
ELIGIBLE = or_(
    FollowUp.target_agent_id == ME,
    and_(
        NOT_ONLY,
        or_(
            FollowUp.target_queue_id.is_(None),
            FollowUp.target_queue_id.in_(served_queue_ids(ME).scalar_subquery()),
        ),
        HAS_SKILL,
    ),
)
AWAKE = or_(FollowUp.snoozed_until.is_(None), FollowUp.snoozed_until <= NOW)
# Nobody holds it: pending and awake, or claimed with a lapsed lease.
CLAIMABLE = or_(
    and_(FollowUp.status == PENDING, AWAKE),
    and_(FollowUp.status == CLAIMED, FollowUp.lease_expires_at < NOW),
)
# coalesce() hides due_at from the planner: without ANALYZE statistics SQLite would take
# ix_followups_status_due for the range and sort every due row, where ix_followups_pool's
# (priority, due_at) order makes the first match the answer.
DUE_AT = func.coalesce(FollowUp.due_at, FollowUp.due_at)
DUE, UPCOMING = DUE_AT <= NOW, DUE_AT > NOW


Source = tuple[tuple[ColumnElement[bool], ...], tuple[Any, ...]]


@cache
def sources(queues: int, skills: int) -> tuple[Source, ...]:
    """(WHERE, ORDER BY) pairs whose union is what is due now that :me may take, :q0 … being
    the queues :me serves and :s0 … the skills :me has (at levels :l0 …); each read in an
    index's order, so its first row is found without sorting or scanning.

    One branch per priority, so that `due_at <= :now` is a range on the index and the first
    entry is the earliest due one. (One branch per pool ordered by priority, due_at had to scan
    every not-yet-due row of a priority before reaching the next one: 10 ms a claim with
    100,000 pending.) Each queue: ix_followups_pool (status, queue, priority, due_at, id). The
    queue-less pool: ix_followups_skill_pool (status, skill, priority, due_at, id), one branch
    per skill :me has and one for no skill, so a row needing a skill :me lacks is never read
    (read and skipped, they cost 17–20 ms a claim with 26,000 such rows pending). :me's own
    targets: ix_followups_target_agent (agent, status, priority, due_at, id), in order, the due
    test checked row by row over :me's targets only. Lapsed leases: ix_followups_lease's range
    holds only dead consoles' claims, few, and sorted.
    """
    pending = (FollowUp.status == PENDING, AWAKE)
    in_queue = [
        (FollowUp.target_queue_id == bindparam(f"q{i}", type_=Integer()), HAS_SKILL)
        for i in range(queues)
    ]
    no_queue = FollowUp.target_queue_id.is_(None)
    by_skill = [(no_queue, FollowUp.target_skill == "")] + [
        (
            no_queue,
            FollowUp.target_skill == bindparam(f"s{i}", type_=String()),
            FollowUp.target_min_level <= bindparam(f"l{i}", type_=Integer()),
        )
        for i in range(skills)
    ]
    # The equal columns lead the ORDER BY, as in the index.
    queue_order = (FollowUp.target_queue_id, *ORDER)
    skill_order = (FollowUp.target_skill, *ORDER)
    pools = [
        ((*pending, *pool, FollowUp.priority == priority, FollowUp.due_at <= NOW, NOT_ONLY), order)
        for pools, order in ((in_queue, queue_order), (by_skill, skill_order))
        for pool in pools
        for priority in PRIORITIES
    ]
    return (
        *pools,
        ((FollowUp.target_agent_id == ME, *pending, DUE), (FollowUp.target_agent_id, *ORDER)),
        ((FollowUp.status == CLAIMED, FollowUp.lease_expires_at < NOW, ELIGIBLE, DUE), ORDER),
    )


def claim_values() -> dict[str, Any]:
    return {
        "status": CLAIMED,
        "claimed_by": ME,
        "claimed_at": NOW,
        "lease_expires_at": UNTIL,
        "snoozed_until": None,
        "snooze_reason": "",
        "updated_at": NOW,
        "version": FollowUp.version + 1,
    }


@cache
def claim_next_statement(queues: int, skills: int) -> Any:
    """SQLite: UPDATE … WHERE id = (the best candidate) AND still claimable AND eligible
    RETURNING id. (PostgreSQL: `claim_next_in_one`.)"""
    candidates = [
        select(select(*ORDER[::-1]).where(*where).order_by(*order).limit(1).cte())
        for where, order in sources(queues, skills)
    ]
    pool = union_all(*candidates).subquery("candidates")
    best = select(pool.c.id).order_by(pool.c.priority, pool.c.due_at, pool.c.id).limit(1)
    return (
        update(FollowUp)
        .where(FollowUp.id == best.scalar_subquery(), CLAIMABLE, ELIGIBLE)
        .values(**claim_values())
        .returning(FollowUp.id)
    )


# The level the "no skill" row of `claim_sources` is checked against: any target_min_level.
ANY_LEVEL = 32767
ACTIVE_ME = exists().where(Agent.id == ME, Agent.active.is_(True))


def claim_sources() -> tuple[Select[Any], ...]:
    """`sources` with :me's queues and skills looked up in the statement itself, so one
    statement serves every agent and no read comes first: for each queue :me serves, and
    each skill :me has and none, a correlated subquery per priority finds that pool's first
    due row by one probe of its index, as `sources`' branches do."""
    # CTEs: looked up once, not once per priority.
    served = served_queue_ids(ME).cte("served")
    skills = union_all(
        select(AgentSkill.skill, AgentSkill.level).where(AgentSkill.agent_id == ME),
        select(literal("").label("skill"), literal(ANY_LEVEL).label("level")),
    ).cte("skills")
    pending = (FollowUp.status == PENDING, AWAKE, FollowUp.due_at <= NOW, NOT_ONLY)
    in_queue = (FollowUp.target_queue_id == served.c.id, HAS_SKILL)
    of_skill = (
        FollowUp.target_queue_id.is_(None),
        FollowUp.target_skill == skills.c.skill,
        FollowUp.target_min_level <= skills.c.level,
    )
    pools = (
        (served, in_queue, FollowUp.target_queue_id),
        (skills, of_skill, FollowUp.target_skill),
    )
    firsts = [
        select(
            select(FollowUp.id)
            .where(*pending, *where, FollowUp.priority == priority)
            .order_by(lead, *ORDER)
            .limit(1)
            .correlate(pool)
            .scalar_subquery()
            .label("id")
        ).select_from(pool)
        for pool, where, lead in pools
        for priority in PRIORITIES
    ]
    mine, lapsed = sources(0, 0)[-2:]
    return (
        *firsts,
        *(select(FollowUp.id).where(*w).order_by(*o).limit(1) for w, o in (mine, lapsed)),
    )


def _candidates() -> Any:
    return union_all(*(select(branch.subquery()) for branch in claim_sources()))


@cache
def anything_due() -> Select[Any]:
    """PostgreSQL: a row `claim_next_in_one` could take, read without locks, or none: when
    the claim found nothing, whether that is because other claimers held the candidates."""
    offered = _candidates().subquery("offered")
    return select(offered.c.id).where(offered.c.id.is_not(None)).limit(1)


def changed_item(change: Update) -> Select[Any]:
    """PostgreSQL: `change` (an UPDATE of one follow-up), its audit entry (`audit.entries_for`,
    bound from `AuditLog.bound`) and the WorkItem's row read back, as one statement (a
    data-modifying WITH) sent outside a transaction (it is atomic by itself): one round trip
    where BEGIN, the change, the audit entry, COMMIT and the read-back took five or more. No
    row: nothing was changed."""
    changed = change.returning(*(getattr(FollowUp, name) for name in STORED)).cte("changed")
    audited = entries_for(changed.c.id).cte("audited")
    named = aliased(Agent)
    return (
        select(
            *(changed.c[name] for name in STORED),
            Customer.display_name.label("customer_name"),
            Queue.name.label("target_queue_name"),
            named.display_name.label("target_agent_name"),
            claimer.display_name.label("claimed_by_name"),
        )
        .select_from(changed)
        .outerjoin(Customer, Customer.id == changed.c.customer_id)
        .outerjoin(Queue, Queue.id == changed.c.target_queue_id)
        .outerjoin(named, named.id == changed.c.target_agent_id)
        .outerjoin(claimer, claimer.id == changed.c.claimed_by)
        .add_cte(audited)
    )


@cache
def claim_next_in_one() -> Select[Any]:
    """PostgreSQL: the whole of `claim_next` in one statement (`changed_item`): pick and lock
    the best candidate of `claim_sources` (`FOR UPDATE SKIP LOCKED`), claim it if :me is
    still active, audit it, return the WorkItem's row. One round trip where the read of :me's
    pools, the claim's transaction and the read-back took a dozen."""
    candidates = _candidates().cte("candidates")
    # id = ANY(ARRAY(…)): each candidate read by its key whatever the statistics say (with
    # `id IN (…)` and no ANALYZE yet, PostgreSQL hashed the candidates and read every
    # pending row: 42 ms).
    listed = func.array(select(candidates.c.id).scalar_subquery())
    best = (
        select(FollowUp.id)
        .where(FollowUp.id == any_(listed), CLAIMABLE)
        .order_by(*ORDER)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return changed_item(
        update(FollowUp)
        .where(FollowUp.id == best.scalar_subquery(), CLAIMABLE, ELIGIBLE, ACTIVE_ME)
        .values(**claim_values())
    )


@cache
def available_statement(queues: int, skills: int) -> Select[Any]:
    """Due follow-ups by priority (each source's first :size), then upcoming ones soonest
    first (read in ix_followups_status_due order, not sorted)."""
    columns = (FollowUp.id, FollowUp.priority, FollowUp.due_at)
    branches = [
        select(*columns, literal(0).label("band")).where(*where).order_by(*order).limit(SIZE)
        for where, order in sources(queues, skills)
    ]
    upcoming = (FollowUp.due_at > NOW, ELIGIBLE)
    lapsed = (FollowUp.status == CLAIMED, FollowUp.lease_expires_at < NOW)
    for where in ((FollowUp.status == PENDING, AWAKE), lapsed):
        branch = select(*columns, literal(1).label("band")).where(*where, *upcoming)
        branches.append(branch.order_by(FollowUp.due_at, FollowUp.id).limit(SIZE))
    picked = union(*(select(b.subquery()) for b in branches)).subquery("picked")
    first = case((picked.c.band == 0, picked.c.priority), else_=0)
    return (
        ITEMS.join(picked, picked.c.id == FollowUp.id)
        .order_by(picked.c.band, first, picked.c.due_at, picked.c.priority, picked.c.id)
        .limit(SIZE)
    )


CLAIM_ONE = (
    update(FollowUp)
    .where(FollowUp.id == FID, CLAIMABLE, ELIGIBLE)
    .values(**claim_values())
    .returning(FollowUp.id)
)
RELEASED: dict[str, Any] = {
    "status": PENDING,
    "claimed_by": None,
    "claimed_at": None,
    "lease_expires_at": None,
}
# What the holder's moves change (but a snooze's, which depends on its time), by audit action.
HOLDER_MOVES: dict[str, dict[str, Any]] = {
    "complete": {"status": FollowUpStatus.DONE, "lease_expires_at": None, "completed_at": NOW},
    # An assignment to me goes too, unless the follow-up is for me only.
    "hand_back": {
        **RELEASED,
        "target_agent_id": case(
            (and_(FollowUp.target_agent_id == ME, NOT_ONLY), None),
            else_=FollowUp.target_agent_id,
        ),
    },
}


def holder_change(values: dict[str, Any]) -> Update:
    """UPDATE follow-up :fid, if :me holds it, with `values` (and a new version)."""
    return (
        update(FollowUp)
        .where(FollowUp.id == FID, FollowUp.claimed_by == ME, FollowUp.status == CLAIMED)
        .values(**values, updated_at=NOW, version=FollowUp.version + 1)
    )


@cache
def holder_move_in_one(action: str) -> Select[Any]:
    """PostgreSQL: a `HOLDER_MOVES` move as one statement (`changed_item`), if :me is active.
    Built once: building it costs milliseconds, more than running it."""
    return changed_item(holder_change(HOLDER_MOVES[action]).where(ACTIVE_ME))


RENEW_ONE = (
    update(FollowUp)
    .where(FollowUp.id == FID, FollowUp.claimed_by == ME, FollowUp.status == CLAIMED)
    .values(lease_expires_at=UNTIL)
    .returning(FollowUp.id)
)
SERVED = served_queue_ids(ME).order_by(Queue.id)
SKILLS = (
    select(AgentSkill.skill, AgentSkill.level)
    .where(AgentSkill.agent_id == ME)
    .order_by(AgentSkill.skill)
)
ACTOR = select(Agent.display_name, Agent.role, Agent.active).where(Agent.id == ME)
ITEM_BY_ID = ITEMS.where(FollowUp.id == FID)
ITEM_KEYS = tuple(ITEMS.selected_columns.keys())
