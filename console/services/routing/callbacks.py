"""Callbacks: dial a customer back from a follow-up, and act on how the call went.

Accepting a callback claims it (the worklist's exactly-once claim), counts an attempt and
places an outbound call with AMI `Originate` (Async): the agent's phone rings first, then the
customer's. The tracker reports the call like any other (`CallOffered` with direction
"outbound", so the agent gets the same screen pop; `CallAnswered` when the customer picks up;
`CallEnded`), and `settle` applies the outcome:

- answered: the follow-up is done (the call itself is logged as an outbound interaction and
  wrapped up like any call);
- no answer, busy, failed: rescheduled by the retry policy of the rule that routed it
  (attempts, spacing, calling window) and put back in the pool; with no attempts left it
  escalates along the rule's chain (the first step's target; "failed" when it has none);
- the agent's own phone never answered (`OriginateFailed`): not the customer's fault, so the
  attempt is given back and the follow-up released as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select, update

from console.cti.link import CtiLink
from console.cti.protocol import CallEnded
from console.db import Database
from console.models import FollowUp, PhoneNumber
from console.models.enums import FollowUpKind, FollowUpStatus
from console.services.audit import AuditLog
from console.services.crm.phones import normalise
from console.services.errors import ServiceError, record_id
from console.services.routing.router import Router
from console.services.routing.routing_rules import RetryPolicy, RouteDecision, Target
from console.services.routing.worklist import Worklist
from console.services.service import DbService, utcnow

RETRY, GAVE_UP, DIALLED = "retry", "attempts_exhausted", "dial"
ORIGINATE_TIMEOUT_MS = 30_000
ANSWERED, NO_ANSWER, BUSY, FAILED, AGENT_AWAY = "answered", "noanswer", "busy", "failed", "agent"


def dial_outcome(ended: CallEnded | None) -> str:
    """How a callback's dial went, from the call's end (None: the Originate failed, the
    agent's own phone never answered): answered, or the Dial status the PBX ended it with
    (noanswer, busy, failed), or ``agent``."""
    if ended is None:
        return AGENT_AWAY
    return ANSWERED if ended.answered else str(ended.reason)


class CallbackError(ServiceError):
    """A callback could not be placed; nothing was dialled."""


@dataclass(frozen=True, slots=True)
class PlacedCall:
    """A callback being dialled."""

    followup_id: int
    number: str  # E.164
    attempt: int  # 1-based
    action_id: str  # the Originate's ActionID (the tracker's CallOffered carries it)


@dataclass(frozen=True, slots=True)
class Settled:
    """What became of the follow-up after a dial."""

    followup_id: int
    outcome: str  # answered | noanswer | busy | failed | agent
    status: str  # the follow-up's status now
    next_attempt: datetime | None  # when it will be dialled again, if it will
    escalated: bool


class CallbackDialer(DbService):
    """See the module docstring."""

    def __init__(
        self,
        db: Database,
        worklist: Worklist,
        router: Router,
        audit: AuditLog | None = None,
        *,
        region: str = "US",
        context: str = "from-internal",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(db, audit, clock=clock)
        self._worklist = worklist
        self._router = router
        self._region = region
        self._context = context

    async def place(
        self, cti: CtiLink, agent_id: int, interface: str, followup_id: int
    ) -> PlacedCall:
        """Claim the callback, count the attempt and Originate it from `interface`."""
        item = await self._worklist.claim(agent_id, followup_id)
        if item.kind is not FollowUpKind.CALLBACK:
            raise CallbackError(f"follow-up {item.id} is a {item.kind}, not a callback")
        number = await self._number(item.id)
        if number is None:
            raise CallbackError(f"follow-up {item.id} has no number to call")
        now = self._clock()
        async with self._db.write_connection() as conn:
            attempt = await conn.scalar(
                update(FollowUp)
                .where(FollowUp.id == item.id, FollowUp.claimed_by == agent_id)
                .values(
                    attempts=FollowUp.attempts + 1,
                    last_attempt_at=now,
                    updated_at=now,
                    version=FollowUp.version + 1,
                )
                .returning(FollowUp.attempts)
            )
            if attempt is None:
                raise CallbackError(f"follow-up {item.id} is no longer yours")
            await self._audit.add(
                conn, agent_id, DIALLED, "followup", item.id, {"attempt": attempt}
            )
        result = await cti.send_action(
            "Originate",
            Channel=interface,
            Exten=number,
            Context=self._context,
            CallerID=f"Callback <{number}>",
            Timeout=str(ORIGINATE_TIMEOUT_MS),
            Async="true",
        )
        if not result.ok:
            await self.settle(agent_id, item.id, AGENT_AWAY)
            raise CallbackError(f"the PBX refused the call: {result.response.get('Message')}")
        return PlacedCall(item.id, number, int(attempt), result.response.get("ActionID"))

    async def _number(self, followup_id: int) -> str | None:
        async with self._db.session() as session:
            row = (
                await session.execute(
                    select(FollowUp.callback_number, FollowUp.customer_id).where(
                        FollowUp.id == followup_id
                    )
                )
            ).one()
            if row.callback_number:
                return str(row.callback_number)
            if row.customer_id is None:
                return None
            numbers = (
                await session.scalars(
                    select(PhoneNumber.e164)
                    .where(PhoneNumber.customer_id == row.customer_id)
                    .order_by(PhoneNumber.id)
                )
            ).all()
        for raw in numbers:
            e164 = normalise(raw, self._region).e164
            if e164:
                return e164
        return None

    async def settle(self, agent_id: int, followup_id: int, outcome: str) -> Settled:
        """Apply a dial's outcome (see the module docstring)."""
        fid = record_id(followup_id, field="follow-up id", error=CallbackError)
        if outcome == ANSWERED:
            item = await self._worklist.complete(agent_id, fid, note="called back")
            return Settled(fid, outcome, str(item.status), None, False)
        now = self._clock()
        async with self._db.write_connection() as conn:
            row = (
                await conn.execute(
                    select(FollowUp.attempts, FollowUp.routing, FollowUp.escalation_level).where(
                        FollowUp.id == fid,
                        FollowUp.claimed_by == agent_id,
                        FollowUp.status == FollowUpStatus.CLAIMED,
                    )
                )
            ).first()
            if row is None:
                raise CallbackError(f"follow-up {fid} is not held by agent {agent_id}")
            decision = _decision(row.routing)
            released = dict(
                status=FollowUpStatus.PENDING,
                claimed_by=None,
                claimed_at=None,
                lease_expires_at=None,
                last_outcome=outcome,
                updated_at=now,
                version=FollowUp.version + 1,
            )
            if outcome == AGENT_AWAY:
                await conn.execute(
                    update(FollowUp)
                    .where(FollowUp.id == fid)
                    .values(**released, attempts=FollowUp.attempts - 1)
                )
                await self._audit.add(conn, agent_id, RETRY, "followup", fid, {"why": outcome})
                return Settled(fid, outcome, FollowUpStatus.PENDING, None, False)
            retry = decision.retry if decision else RetryPolicy()
            tz = self._router.rules.timezone
            following = retry.next_attempt(now, row.attempts + 1, tz)
            if following is not None:
                await conn.execute(
                    update(FollowUp).where(FollowUp.id == fid).values(**released, due_at=following)
                )
                details = {"outcome": outcome, "attempt": row.attempts, "next": following}
                await self._audit.add(conn, agent_id, RETRY, "followup", fid, details)
                return Settled(fid, outcome, FollowUpStatus.PENDING, following, False)
            steps = decision.escalation if decision else ()
            details = {"outcome": outcome, "attempts": row.attempts}
            if not steps:
                await conn.execute(
                    update(FollowUp)
                    .where(FollowUp.id == fid)
                    .values(**released | {"status": FollowUpStatus.FAILED}, completed_at=now)
                )
                await self._audit.add(conn, agent_id, GAVE_UP, "followup", fid, details)
                return Settled(fid, outcome, FollowUpStatus.FAILED, None, False)
            assert decision is not None
            step = steps[0]
            staff = await self._router.staff(conn)
            facts = await self._router.facts(conn, fid, now)
            routed = self._router.assign(
                fid, _with_target(decision, step.to), facts, None, staff, now
            )
            await conn.execute(
                update(FollowUp)
                .where(FollowUp.id == fid)
                .values(
                    **released,
                    escalation_level=max(row.escalation_level, 1),
                    escalated_at=now,
                    target_queue_id=routed.queue_id,
                    target_skill=step.to.skill or "",
                    target_min_level=step.to.min_level if step.to.skill else 0,
                    target_agent_id=routed.agent_id,
                    agent_only=routed.agent_only,
                    due_at=now,
                )
            )
            details |= {"to": step.to.describe(), "agent": routed.agent_id, "why": routed.why}
            await self._audit.add(conn, agent_id, GAVE_UP, "followup", fid, details)
            return Settled(fid, outcome, FollowUpStatus.PENDING, None, True)


def _decision(routing: dict[str, object] | None) -> RouteDecision | None:
    if not routing or "rule" not in routing:
        return None
    try:
        return RouteDecision.from_json(dict(routing))
    except (KeyError, TypeError, ValueError):
        return None


def _with_target(decision: RouteDecision, target: Target) -> RouteDecision:
    return replace(decision, target=target)
