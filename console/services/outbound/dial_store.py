"""The dialer's database work: leases, campaigns, due leads, claims, dial attempts, lead updates.

Every statement that decides whether a call may be placed runs in one write transaction: the
campaign must still be running, this dialer's lease on it live (its row locked on PostgreSQL),
and each lead still ``pending``; the leads become ``dialing`` and their `DialAttempt` rows
are written before any Originate is sent, so a dialer that dies after sending leaves a row for
the next one to reconcile, and a lead is never claimed twice. Attempt rows are then written as
the dial progresses; a row once ended is never written again (``ended_at IS NULL`` in every
update), so two dialers that both saw a dial end agree on whoever wrote first.

The lead after a dial (`settlement`): nothing placed (refused, not sent, the agent's phone
away) gives the attempt back; connected leaves it ``dialing`` with outcome ``connected`` for
the campaign wrap-up to settle; anything else makes it ``pending`` again at the attempt's time
plus the outcome's spacing, or ``exhausted`` with its attempts used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from console.models import Agent, Campaign, CampaignLead, DialAttempt, DialerLease, PreviewHold
from console.models.enums import CampaignStatus, LeadStatus
from console.services import audit as audit_actions
from console.services.outbound.attempts import AttemptRules
from console.services.outbound.dial_events import (
    CONNECTED,
    LIVE,
    NOT_PLACED,
    Dial,
)
from console.services.outbound.dial_leads import (
    AS_ATTEMPT,
    DIALING,
    PENDING,
    DueLead,
    Out,
    Skip,
    apply_skips,
    histories,
)
from console.services.service import DbService

#: A connected dial's lead still ``dialing`` this long after the call ended was never settled
#: by a wrap-up (a shift's wrap-ups are long done by then; a journaled one applies sooner).
UNSETTLED_AFTER = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class CampaignRow:
    """A campaign as the dialer reads it each round."""

    id: int
    name: str
    status: CampaignStatus
    mode: str
    purpose: str
    queue: str
    caller_id: str
    rules: dict[str, Any]
    abandon_cap: float
    max_lines_per_agent: float


@dataclass(frozen=True, slots=True)
class OpenAttempt:
    """A dial attempt not ended yet (found when taking a campaign over or reconnecting)."""

    id: int
    lead_id: int
    placed_at: datetime
    preview: bool  # placed from an agent's phone


@dataclass(frozen=True, slots=True)
class PastDial:
    """An ended dial, for the campaign's recent rates."""

    outcome: str
    placed_at: datetime
    live_at: datetime | None
    connected_at: datetime | None
    ended_at: datetime | None
    answered_at: datetime | None


_CAMPAIGN_COLUMNS = (
    Campaign.id,
    Campaign.name,
    Campaign.status,
    Campaign.mode,
    Campaign.purpose,
    Campaign.queue,
    Campaign.caller_id,
    Campaign.rules,
    Campaign.abandon_cap,
    Campaign.max_lines_per_agent,
)
_PROGRESS = (
    update(DialAttempt)
    .where(DialAttempt.id == bindparam("aid"), DialAttempt.ended_at.is_(None))
    .values(
        action_id=bindparam("action_id"),
        uniqueid=bindparam("uniqueid"),
        amd_status=bindparam("amd"),
        answered_at=bindparam("answered_at"),
        live_at=bindparam("live_at"),
        connected_at=bindparam("connected_at"),
        agent_id=bindparam("agent_id"),
        abandoned=bindparam("abandoned"),
        cause=bindparam("cause"),
        outcome=bindparam("outcome"),
        ended_at=bindparam("ended_at"),
    )
)
_GIVE_BACK = (
    update(CampaignLead)
    .where(CampaignLead.id == bindparam("lid"), CampaignLead.status == DIALING)
    .values(
        status=PENDING,
        attempts=case((CampaignLead.attempts > 0, CampaignLead.attempts - 1), else_=0),
        updated_at=bindparam("now"),
    )
)
_CONNECTED = (
    update(CampaignLead)
    .where(CampaignLead.id == bindparam("lid"), CampaignLead.status == DIALING)
    .values(last_outcome=CONNECTED, updated_at=bindparam("now"))
)
_AGAIN = (
    update(CampaignLead)
    .where(CampaignLead.id == bindparam("lid"), CampaignLead.status == DIALING)
    .values(
        status=case(
            (CampaignLead.attempts >= bindparam("max_attempts"), LeadStatus.EXHAUSTED.value),
            else_=PENDING.value,
        ),
        last_outcome=bindparam("outcome"),
        next_attempt_at=bindparam("next_at"),
        updated_at=bindparam("now"),
    )
)


class DialStore(DbService):
    """See the module docstring. ``owner`` names this dialer process in its leases."""

    def __init__(self, *args: Any, owner: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owner = owner
        self._agents: dict[str, int] = {}
        self._agents_read: datetime | None = None

    # Leases ---------------------------------------------------------------------------------

    async def take_lease(self, campaign_id: int, now: datetime, ttl: timedelta) -> bool:
        """Take or renew this dialer's lease on a campaign; False if another dialer holds it."""
        until = now + ttl
        try:
            async with self._db.write_connection() as conn:
                renewed = await conn.scalar(
                    update(DialerLease)
                    .where(
                        DialerLease.campaign_id == campaign_id,
                        (DialerLease.owner == self.owner) | (DialerLease.expires_at <= now),
                    )
                    .values(
                        acquired_at=case(
                            (DialerLease.owner == self.owner, DialerLease.acquired_at), else_=now
                        ),
                        owner=self.owner,
                        expires_at=until,
                    )
                    .returning(DialerLease.campaign_id)
                )
                if renewed is not None:
                    return True
                held = await conn.scalar(
                    select(DialerLease.owner).where(DialerLease.campaign_id == campaign_id)
                )
                if held is not None:
                    return False
                await conn.execute(
                    insert(DialerLease).values(
                        campaign_id=campaign_id, owner=self.owner, acquired_at=now, expires_at=until
                    )
                )
        except IntegrityError:  # another dialer inserted it first (PostgreSQL)
            return False
        return True

    async def release_lease(self, campaign_id: int) -> None:
        async with self._db.write_connection() as conn:
            await conn.execute(
                delete(DialerLease).where(
                    DialerLease.campaign_id == campaign_id, DialerLease.owner == self.owner
                )
            )

    async def lease_holder(self, campaign_id: int) -> tuple[str, datetime] | None:
        async with self._db.session() as session:
            row = (
                await session.execute(
                    select(DialerLease.owner, DialerLease.expires_at).where(
                        DialerLease.campaign_id == campaign_id
                    )
                )
            ).first()
        return None if row is None else (row[0], row[1])

    # Campaigns ------------------------------------------------------------------------------

    async def campaigns(self) -> list[CampaignRow]:
        """Campaigns that are running or paused (a paused one's dials may still be out)."""
        statuses = (CampaignStatus.RUNNING, CampaignStatus.PAUSED, CampaignStatus.STOPPED)
        async with self._db.session() as session:
            rows = (
                await session.execute(
                    select(*_CAMPAIGN_COLUMNS).where(Campaign.status.in_(statuses))
                )
            ).all()
        return [
            CampaignRow(
                r[0],
                r[1],
                CampaignStatus(r[2]),
                str(r[3]),
                str(r[4]),
                r[5],
                r[6],
                dict(r[7] or {}),
                float(r[8]),
                float(r[9]),
            )
            for r in rows
        ]

    async def counts_30d(self, campaign_id: int, now: datetime) -> tuple[int, int]:
        """Live answers and abandons of the last 30 days (the FCC's measure)."""
        async with self._db.session() as session:
            row = (
                await session.execute(
                    select(
                        func.coalesce(
                            func.sum(case((DialAttempt.outcome.in_(LIVE), 1), else_=0)), 0
                        ),
                        func.coalesce(func.sum(case((DialAttempt.abandoned, 1), else_=0)), 0),
                    ).where(
                        DialAttempt.campaign_id == campaign_id,
                        DialAttempt.placed_at >= now - timedelta(days=30),
                    )
                )
            ).one()
        return int(row[0]), int(row[1])

    async def recent(self, campaign_id: int, limit: int) -> list[PastDial]:
        """The campaign's last ``limit`` ended dials, oldest first (to warm its rates)."""
        async with self._db.session() as session:
            rows = (
                await session.execute(
                    select(
                        DialAttempt.outcome,
                        DialAttempt.placed_at,
                        DialAttempt.live_at,
                        DialAttempt.connected_at,
                        DialAttempt.ended_at,
                        DialAttempt.answered_at,
                    )
                    .where(
                        DialAttempt.campaign_id == campaign_id, DialAttempt.ended_at.is_not(None)
                    )
                    .order_by(DialAttempt.placed_at.desc())
                    .limit(limit)
                )
            ).all()
        return [PastDial(*r) for r in reversed(rows)]

    async def set_completed(self, campaign_id: int) -> bool:
        """Mark a running campaign completed when nothing is left to dial (no lead pending or
        dialing); audited. False if something is left."""
        now = self._clock()
        async with self._db.write_connection() as conn:
            left = await conn.scalar(
                select(func.count())
                .select_from(CampaignLead)
                .where(
                    CampaignLead.campaign_id == campaign_id,
                    CampaignLead.status.in_((PENDING, DIALING)),
                )
            )
            if left:
                return False
            done = await conn.scalar(
                update(Campaign)
                .where(Campaign.id == campaign_id, Campaign.status == CampaignStatus.RUNNING)
                .values(status=CampaignStatus.COMPLETED, ended_at=now)
                .returning(Campaign.id)
            )
            if done is None:
                return False
            await self._audit.add(
                conn, None, audit_actions.STATUS, "campaign", campaign_id,
                {"status": "completed", "from": "running", "by": self.owner},
            )  # fmt: skip
        return True

    # Leads ----------------------------------------------------------------------------------

    async def due_leads(
        self, campaign_id: int, now: datetime, limit: int, *, skip: Sequence[int] = ()
    ) -> list[DueLead]:
        """Up to ``limit`` pending leads due now (priority first, then the longest due), each
        with its earlier attempts for the gate."""
        query = (
            select(CampaignLead.id, CampaignLead.customer_id, CampaignLead.e164)
            .where(
                CampaignLead.campaign_id == campaign_id,
                CampaignLead.status == PENDING,
                (CampaignLead.next_attempt_at.is_(None)) | (CampaignLead.next_attempt_at <= now),
            )
            .order_by(CampaignLead.priority, CampaignLead.next_attempt_at, CampaignLead.id)
            .limit(limit)
        )
        if skip:
            query = query.where(CampaignLead.id.not_in(list(skip)))
        async with self._db.session() as session:
            rows = (await session.execute(query)).all()
            history = await histories(session, [r[0] for r in rows])
        return [DueLead(r[0], r[1], r[2], history[r[0]]) for r in rows]

    async def claim(
        self,
        campaign_id: int,
        now: datetime,
        allowed: Sequence[DueLead],
        skipped: Sequence[Skip],
        *,
        agent_id: int | None = None,
        need_lease: bool = True,
    ) -> dict[int, int] | None:
        """In one transaction: check the campaign is running and (``need_lease``) this
        dialer's lease live, turn ``allowed`` leads from pending to dialing with an attempt
        row each, and apply the gate's ``skipped`` answers. Returns lead id → attempt id of
        the leads claimed (a lead taken meanwhile is left out); None when the campaign is no
        longer running or the lease was lost (then nothing is written)."""
        async with self._db.write_connection() as conn:
            status = await conn.scalar(
                select(Campaign.status).where(Campaign.id == campaign_id).with_for_update()
            )
            if status is None or CampaignStatus(status) is not CampaignStatus.RUNNING:
                return None
            if need_lease:
                lease = await conn.scalar(
                    select(DialerLease.campaign_id)
                    .where(
                        DialerLease.campaign_id == campaign_id,
                        DialerLease.owner == self.owner,
                        DialerLease.expires_at > now,
                    )
                    .with_for_update()
                )
                if lease is None:
                    return None
            await apply_skips(conn, skipped, now)
            if not allowed:
                return {}
            numbers = {lead.id: lead.e164 for lead in allowed}
            claimed = (
                await conn.scalars(
                    update(CampaignLead)
                    .where(
                        CampaignLead.id.in_(list(numbers)),
                        CampaignLead.campaign_id == campaign_id,
                        CampaignLead.status == PENDING,
                    )
                    .values(status=DIALING, attempts=CampaignLead.attempts + 1, updated_at=now)
                    .returning(CampaignLead.id)
                )
            ).all()
            if not claimed:
                return {}
            rows = await conn.execute(
                insert(DialAttempt).returning(DialAttempt.lead_id, DialAttempt.id),
                [
                    {
                        "campaign_id": campaign_id,
                        "lead_id": lead_id,
                        "e164": numbers[lead_id],
                        "placed_at": now,
                        "agent_id": agent_id,
                        "outcome": "",
                        "amd_status": "",
                        "action_id": "",
                        "uniqueid": "",
                        "abandoned": False,
                    }
                    for lead_id in claimed
                ],
            )
            return {int(lead): int(attempt) for lead, attempt in rows}

    # Attempts -------------------------------------------------------------------------------

    async def write(
        self, dials: Sequence[Dial], rules: Callable[[int], AttemptRules], now: datetime
    ) -> list[Dial]:
        """Write each dial's progress to its attempt row and, for those that ended, settle the
        lead (module docstring); ``rules(campaign_id)``: the campaign's attempt rules. Returns
        the ended dials now written (or found written already by another dialer)."""
        ours = [d for d in dials if d.attempt_id is not None]
        if not ours:
            return []
        agent_ids = await self._agent_ids({d.agent_interface for d in ours if d.agent_interface})
        async with self._db.write_connection() as conn:
            ids = [d.attempt_id for d in ours]
            still_open = set(
                (
                    await conn.scalars(
                        select(DialAttempt.id)
                        .where(DialAttempt.id.in_(ids), DialAttempt.ended_at.is_(None))
                        .with_for_update()
                    )
                ).all()
            )
            live = [d for d in ours if d.attempt_id in still_open]
            if live:
                await conn.execute(_PROGRESS, [_progress(d, agent_ids) for d in live])
            ended = [d for d in live if d.ended_at is not None]
            give_back = [d for d in ended if d.outcome in NOT_PLACED]
            connected = [d for d in ended if d.outcome == CONNECTED]
            again = [d for d in ended if d.outcome not in NOT_PLACED and d.outcome != CONNECTED]
            if give_back:
                await conn.execute(_GIVE_BACK, [{"lid": d.lead_id, "now": now} for d in give_back])
            if connected:
                await conn.execute(_CONNECTED, [{"lid": d.lead_id, "now": now} for d in connected])
            if again:
                await conn.execute(_AGAIN, [_again(d, rules(d.campaign_id), now) for d in again])
        return [d for d in ours if d.ended_at is not None]

    async def open_attempts(self, campaign_id: int) -> list[OpenAttempt]:
        """The campaign's attempts not ended yet."""
        async with self._db.session() as session:
            rows = (
                await session.execute(
                    select(
                        DialAttempt.id,
                        DialAttempt.lead_id,
                        DialAttempt.placed_at,
                        DialAttempt.agent_id,
                    ).where(DialAttempt.campaign_id == campaign_id, DialAttempt.ended_at.is_(None))
                )
            ).all()
        return [OpenAttempt(r[0], r[1], r[2], r[3] is not None) for r in rows]

    async def _agent_ids(self, interfaces: set[str]) -> dict[str, int]:
        """Agent ids by member interface (or phone), read again when one is unknown."""
        if interfaces - self._agents.keys():
            async with self._db.session() as session:
                rows = (
                    await session.execute(select(Agent.id, Agent.interface, Agent.state_interface))
                ).all()
            self._agents = {}
            for agent_id, interface, state_interface in rows:
                for name in (state_interface, interface):
                    if name:
                        self._agents[name] = agent_id
        return self._agents

    # Preview holds --------------------------------------------------------------------------

    async def release_lapsed_holds(self, now: datetime) -> int:
        """Give back leads whose preview hold lapsed without a dial in flight."""
        async with self._db.write_connection() as conn:
            lapsed = (
                await conn.scalars(select(PreviewHold.lead_id).where(PreviewHold.held_until <= now))
            ).all()
            if not lapsed:
                return 0
            open_dial = (
                select(DialAttempt.id)
                .where(DialAttempt.lead_id == CampaignLead.id, DialAttempt.ended_at.is_(None))
                .exists()
            )
            await conn.execute(
                update(CampaignLead)
                .where(CampaignLead.id.in_(lapsed), CampaignLead.status == DIALING, ~open_dial)
                .values(status=PENDING, updated_at=now)
            )
            await conn.execute(delete(PreviewHold).where(PreviewHold.lead_id.in_(lapsed)))
        return len(lapsed)

    async def settle_forgotten(self, now: datetime, after: timedelta = UNSETTLED_AFTER) -> int:
        """Leads still ``dialing`` whose last dial connected and ended more than ``after``
        ago with no dial open: their wrap-up never settled them (a campaign call whose pop
        failed with the database away became a plain call). They are ``done`` with outcome
        ``unsettled``: the customer talked to an agent, so they are not called again blind;
        the campaign report counts them. Returns how many."""
        cutoff = now - after
        open_dial = (
            select(DialAttempt.id)
            .where(DialAttempt.lead_id == CampaignLead.id, DialAttempt.ended_at.is_(None))
            .exists()
        )
        last = aliased(DialAttempt)
        last_ended = (
            select(func.max(last.ended_at))
            .where(last.lead_id == CampaignLead.id)
            .correlate(CampaignLead)
            .scalar_subquery()
        )
        connected = (
            select(DialAttempt.id)
            .where(
                DialAttempt.lead_id == CampaignLead.id,
                DialAttempt.outcome == "connected",
                DialAttempt.ended_at == last_ended,
            )
            .correlate(CampaignLead)
            .exists()
        )
        async with self._db.write_connection() as conn:
            done = await conn.execute(
                update(CampaignLead)
                .where(
                    CampaignLead.status == DIALING,
                    ~open_dial,
                    connected,
                    last_ended < cutoff,
                    ~select(PreviewHold.lead_id)
                    .where(PreviewHold.lead_id == CampaignLead.id)
                    .exists(),
                )
                .values(status=LeadStatus.DONE, last_outcome="unsettled", updated_at=now)
                .returning(CampaignLead.id)
            )
            return len(done.all())


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _progress(dial: Dial, agent_ids: Mapping[str, int]) -> dict[str, Any]:
    return {
        "aid": dial.attempt_id,
        "action_id": dial.action_id[:80],
        "uniqueid": dial.uniqueid[:64],
        "amd": dial.amd[:16],
        "answered_at": _time(dial.answered_at),
        "live_at": _time(dial.live_at),
        "connected_at": _time(dial.connected_at),
        "agent_id": agent_ids.get(dial.agent_interface),
        "abandoned": dial.abandoned,
        "cause": dial.cause,
        "outcome": dial.outcome,
        "ended_at": _time(dial.ended_at),
    }


def _again(dial: Dial, rules: AttemptRules, now: datetime) -> dict[str, Any]:
    counted = AS_ATTEMPT.get(dial.outcome, Out.FAILED)
    placed = _time(dial.seen_at) or now
    return {
        "lid": dial.lead_id,
        "max_attempts": rules.max_attempts,
        "outcome": dial.outcome,
        "next_at": placed + rules.spacing[counted],
        "now": now,
    }


def _time(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)
