"""The SLA engine: marks overdue follow-ups and escalates them along their rule's chain.

Every console runs it (`SlaEngine.run`); all state is in the database, so it survives restarts
and several consoles at once never double up: each change is a compare-and-set on the row
(`overdue_at IS NULL`, `escalation_level = <the level read>`), and only the console whose update
hit the row writes the audit entry.

A follow-up's chain is the one in its routing snapshot (the rule as it was when it was routed).
Step k applies once the follow-up has been overdue for at least its `after`; a console that was
down for a while applies the furthest step due, once. Escalating re-targets the work (the
router picks the person or pool of the step's target), raises its priority if the step says
so, and releases any claim: the new owner gets it as fresh work.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from console.db import Database
from console.models import FollowUp
from console.models.enums import PENDING_FOLLOWUP_STATUSES, FollowUpStatus
from console.services.audit import AuditLog
from console.services.routing.followups import sla_passed
from console.services.routing.router import Router
from console.services.routing.routing_rules import RouteDecision
from console.services.service import DbService, utcnow

OVERDUE = "overdue"
ESCALATE = "escalate"
TICK_SECONDS = 15.0
BATCH = 500


@dataclass(frozen=True, slots=True)
class SlaReport:
    """What one pass did."""

    routed: int  # follow-ups that had not been routed yet (created while routing failed)
    marked_overdue: int
    escalated: int


class SlaEngine(DbService):
    """See the module docstring."""

    def __init__(
        self,
        db: Database,
        router: Router,
        audit: AuditLog | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(db, audit, clock=clock)
        self._router = router

    async def tick(self) -> SlaReport:
        """One pass: route what slipped through, mark what became overdue, escalate."""
        routed = await self._router.route_pending()
        return SlaReport(routed, await self._mark_overdue(), await self._escalate())

    async def run(self, stop: asyncio.Event, every: float = TICK_SECONDS) -> None:
        """Tick until `stop` is set; a failed pass is retried on the next tick."""
        while not stop.is_set():
            with contextlib.suppress(Exception):
                await self.tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)

    async def _mark_overdue(self) -> int:
        now = self._clock()
        async with self._db.write_connection() as conn:
            ids = (
                await conn.scalars(
                    update(FollowUp)
                    .where(
                        FollowUp.status.in_(PENDING_FOLLOWUP_STATUSES),
                        sla_passed(now),  # the one rule (followups.is_overdue)
                        FollowUp.overdue_at.is_(None),
                    )
                    .values(overdue_at=now, updated_at=now, version=FollowUp.version + 1)
                    .returning(FollowUp.id)
                )
            ).all()
            for fid in ids:
                await self._audit.add(conn, None, OVERDUE, "followup", fid, {"at": now})
        return len(ids)

    async def _escalate(self) -> int:
        now = self._clock()
        done = 0
        async with self._db.write_connection() as conn:
            rows = (
                await conn.execute(
                    select(
                        FollowUp.id,
                        FollowUp.sla_due_at,
                        FollowUp.escalation_level,
                        FollowUp.priority,
                        FollowUp.routing,
                    )
                    .where(
                        FollowUp.status.in_(PENDING_FOLLOWUP_STATUSES),
                        FollowUp.overdue_at.is_not(None),
                    )
                    .order_by(FollowUp.sla_due_at)
                    .limit(BATCH)
                )
            ).all()
            staff = None
            for fid, sla_due_at, level, priority, routing in rows:
                decision = _decision(routing)
                if decision is None or sla_due_at is None:
                    continue
                late = now - sla_due_at
                due = [k for k, step in enumerate(decision.escalation) if late >= step.after]
                if not due or due[-1] < level:
                    continue
                step_index = due[-1]
                step = decision.escalation[step_index]
                if staff is None:
                    staff = await self._router.staff(conn)
                facts = await self._router.facts(conn, fid, now)
                routed = self._router.assign(
                    fid,
                    replace(decision, target=step.to),
                    facts,
                    None,
                    staff,
                    now,
                )
                new_priority = min(priority, step.priority) if step.priority else priority
                hit = await conn.execute(
                    update(FollowUp)
                    .where(FollowUp.id == fid, FollowUp.escalation_level == level)
                    .values(
                        escalation_level=step_index + 1,
                        escalated_at=now,
                        priority=new_priority,
                        target_queue_id=routed.queue_id,
                        target_skill=step.to.skill or "",
                        target_min_level=step.to.min_level if step.to.skill else 0,
                        target_agent_id=routed.agent_id,
                        agent_only=routed.agent_only,
                        status=FollowUpStatus.PENDING,
                        claimed_by=None,
                        claimed_at=None,
                        lease_expires_at=None,
                        updated_at=now,
                        version=FollowUp.version + 1,
                    )
                )
                if hit.rowcount != 1:
                    continue  # another console escalated it first
                done += 1
                await self._audit.add(
                    conn,
                    None,
                    ESCALATE,
                    "followup",
                    fid,
                    {
                        "step": step_index + 1,
                        "to": step.to.describe(),
                        "agent": routed.agent_id,
                        "why": routed.why,
                        "overdue_by_s": int(late / timedelta(seconds=1)),
                    },
                )
        return done


def _decision(routing: dict[str, Any] | None) -> RouteDecision | None:
    if not routing or "rule" not in routing:
        return None
    try:
        return RouteDecision.from_json(routing)
    except (KeyError, TypeError, ValueError):
        return None  # a snapshot from an older format: no chain to follow
