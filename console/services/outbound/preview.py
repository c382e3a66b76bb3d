"""Preview dialing: the agent sees the next lead — the customer, the number, the campaign and its
script — before any call, then dials it from their own phone or skips it with a reason.

- `PreviewService.next_lead(agent, campaign)`: the next due lead the compliance gate allows
  (screened and logged like the dialer's; refused leads are blocked or rescheduled on the way),
  claimed for this agent (``dialing`` plus a `PreviewHold` until ``hold_seconds`` from now,
  so no other agent gets it). Asking again while holding one gives the same lead.
- `dial(cti, agent, interface, lead)`: screened again (time has passed: the window may have
  closed, an opt-out may have come), the attempt row written, then ``Originate`` from the
  agent's phone (agent-first, Async, ``CC_CAMPAIGN`` / ``CC_LEAD`` on the agent's leg). The
  running dialer follows the call from there, as its own (dial_events: agent-first).
- `skip(agent, lead, reason)`: ``later`` (due again in an hour, or at ``until``),
  ``wrong_number`` (blocked: never dialled again), ``not_a_fit`` (done); audited.

A hold that lapses (the agent went away) is given back by the dialer's housekeeping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update

from console.cti.ami_types import AmiError, AmiNotConnected
from console.cti.link import CtiLink
from console.models import Campaign, CampaignLead, Customer, DialAttempt, PreviewHold
from console.models.enums import CampaignPurpose, CampaignStatus, DialMode, LeadStatus
from console.services.audit import AuditLog
from console.services.errors import ServiceError, record_id
from console.services.outbound.campaign_call import CAMPAIGN_LEAD, CampaignCall, campaign_call
from console.services.outbound.campaign_rules import CampaignRulesError, rules_of
from console.services.outbound.compliance import ComplianceService
from console.services.outbound.dial_events import NOT_SENT, REFUSED
from console.services.outbound.dial_leads import (
    DueLead,
    Skip,
    apply_skips,
    histories,
    skip_for,
)
from console.services.outbound.gate import Candidate
from console.services.service import DbService
from console.services.text import clean_text

HOLD_SECONDS = 300.0
PENDING, DIALING = LeadStatus.PENDING, LeadStatus.DIALING


class PreviewError(ServiceError):
    """A preview request refused; nothing was dialled."""


class SkipChoice(StrEnum):
    """Why an agent skips a previewed lead."""

    LATER = "later"  # not now: due again later
    WRONG_NUMBER = "wrong_number"  # the number is not the customer's: never dialled again
    NOT_A_FIT = "not_a_fit"  # the campaign is not for this customer: done


@dataclass(frozen=True, slots=True)
class PreviewLead:
    """What the agent sees before dialling (customer text is untrusted: render as plain text)."""

    campaign_id: int
    lead_id: int
    customer_id: int
    number: str
    customer_name: str
    kind: str
    tier: str
    language: str
    lifetime_value_cents: int
    currency: str
    held_until: datetime
    call: CampaignCall  # the campaign, its script and dispositions


@dataclass(frozen=True, slots=True)
class PreviewDial:
    """A preview dial sent to the PBX."""

    lead_id: int
    attempt_id: int
    action_id: str
    number: str


_HELD_SKIP = (
    update(CampaignLead)
    .where(CampaignLead.id == bindparam("lid"), CampaignLead.status == DIALING)
    .values(
        status=bindparam("status"),
        next_attempt_at=bindparam("next_at"),
        last_outcome=bindparam("reason"),
        updated_at=bindparam("now"),
    )
)


class PreviewService(DbService):
    """See the module docstring."""

    def __init__(
        self,
        db: Any,
        audit: AuditLog | None = None,
        *,
        compliance: ComplianceService | None = None,
        hold_seconds: float = HOLD_SECONDS,
        **kwargs: Any,
    ) -> None:
        super().__init__(db, audit, **kwargs)
        self._compliance = compliance or ComplianceService(db, clock=self._clock)
        self._hold = timedelta(seconds=hold_seconds)

    async def campaigns_for(self, queues: Sequence[str]) -> list[str]:
        """The running preview campaigns whose calls go to one of ``queues`` (the agent's), by
        name."""
        async with self._db.session() as session:
            names = await session.scalars(
                select(Campaign.name)
                .where(
                    Campaign.status == CampaignStatus.RUNNING,
                    Campaign.mode == DialMode.PREVIEW,
                    Campaign.queue.in_(list(queues)),
                )
                .order_by(Campaign.name)
            )
            return list(names)

    async def next_lead(self, agent_id: int, campaign: str) -> PreviewLead | None:
        """The agent's lead to preview (see the module docstring); None when none is due."""
        now = self._clock()
        row = await self._campaign(campaign)
        held = await self._held_by(agent_id, row.id, now)
        if held is not None:
            return await self._lead(held, now)
        rules = self._rules(row)
        windows = rules.windows(self._compliance.windows)
        looked: list[int] = []
        for _ in range(5):
            leads = await self._due(row.id, now, looked)
            if not leads:
                return None
            looked += [lead.id for lead in leads]
            decisions = await self._compliance.screen(
                [self._candidate(row, lead) for lead in leads],
                now=now,
                attempts=rules.attempts,
                windows=windows,
                dnc_lists=rules.dnc_lists,
            )
            skipped = [
                skip_for(lead.id, d.reason, d.not_before, now)
                for lead, d in zip(leads, decisions, strict=True)
                if d.reason is not None
            ]
            allowed = [lead for lead, d in zip(leads, decisions, strict=True) if d.allowed]
            async with self._db.write_connection() as conn:
                await apply_skips(conn, skipped, now)
                for lead in allowed:
                    if await self._hold_lead(conn, lead.id, row.id, agent_id, now):
                        return await self._lead(lead.id, now)
        return None

    async def dial(self, cti: CtiLink, agent_id: int, interface: str, lead_id: int) -> PreviewDial:
        """Dial the held lead from ``interface`` (the agent's phone), after a last screen."""
        lead_id = record_id(lead_id, field="lead", error=PreviewError)
        now = self._clock()
        async with self._db.session() as session:
            found = (
                await session.execute(
                    select(CampaignLead.campaign_id, CampaignLead.customer_id, CampaignLead.e164)
                    .join(PreviewHold, PreviewHold.lead_id == CampaignLead.id)
                    .where(
                        CampaignLead.id == lead_id,
                        CampaignLead.status == DIALING,
                        PreviewHold.agent_id == agent_id,
                    )
                )
            ).first()
            history = await histories(session, [lead_id])
        if found is None:
            raise PreviewError(f"lead {lead_id} is not held by you (preview it first)")
        campaign_id, customer_id, e164 = found
        row = await self._campaign_by_id(campaign_id)
        rules = self._rules(row)
        lead = DueLead(lead_id, customer_id, e164, history[lead_id])
        (decision,) = await self._compliance.screen(
            [self._candidate(row, lead)],
            now=now,
            attempts=rules.attempts,
            windows=rules.windows(self._compliance.windows),
            dnc_lists=rules.dnc_lists,
        )
        if decision.reason is not None:
            await self._settle_held(skip_for(lead_id, decision.reason, decision.not_before, now))
            raise PreviewError(f"not dialled: {decision.reason.value}: {decision.detail}")
        e164 = decision.number  # E.164, as the gate read it
        async with self._db.write_connection() as conn:
            # The hold is taken back in the same transaction as the attempt is written: a
            # hold that lapsed meanwhile (its lead gone back to the list) is not dialled.
            kept = await conn.scalar(
                delete(PreviewHold)
                .where(
                    PreviewHold.lead_id == lead_id,
                    PreviewHold.agent_id == agent_id,
                    PreviewHold.held_until > now,
                )
                .returning(PreviewHold.lead_id)
            )
            still = await conn.scalar(
                select(CampaignLead.id).where(
                    CampaignLead.id == lead_id, CampaignLead.status == DIALING
                )
            )
            if kept is None or still is None:
                raise PreviewError(f"your hold on lead {lead_id} lapsed: preview it again")
            attempt_id = await conn.scalar(
                insert(DialAttempt)
                .values(
                    campaign_id=campaign_id,
                    lead_id=lead_id,
                    e164=e164,
                    placed_at=now,
                    agent_id=agent_id,
                )
                .returning(DialAttempt.id)
            )
            await conn.execute(
                update(CampaignLead)
                .where(CampaignLead.id == lead_id)
                .values(attempts=CampaignLead.attempts + 1, updated_at=now)
            )
        variables = [f"CC_CAMPAIGN={campaign_id}", f"CC_LEAD={lead_id}"]
        fields = rules.dial.agent_first(interface, e164, row.caller_id, variables)
        try:
            result = await cti.send_action("Originate", **fields)
        except AmiNotConnected as exc:
            await self._not_placed(int(attempt_id or 0), lead_id, NOT_SENT)
            raise PreviewError(f"not dialled: the PBX link is down ({exc})") from None
        except AmiError as exc:  # it may have reached the PBX: the dialer reconciles it
            raise PreviewError(f"the dial's fate is unknown ({exc}); check the call") from None
        if not result.ok:
            await self._not_placed(int(attempt_id or 0), lead_id, REFUSED)
            reason = clean_text(result.message or "no reason given", single_line=True)
            raise PreviewError(f"the PBX refused the call: {reason}")
        return PreviewDial(lead_id, int(attempt_id or 0), result.response.get("ActionID"), e164)

    async def skip(
        self,
        agent_id: int,
        lead_id: int,
        choice: SkipChoice,
        *,
        until: datetime | None = None,
        note: str = "",
    ) -> None:
        """Give a held lead back without dialling it (see `SkipChoice`); audited."""
        lead_id = record_id(lead_id, field="lead", error=PreviewError)
        now = self._clock()
        status = {
            SkipChoice.LATER: PENDING,
            SkipChoice.WRONG_NUMBER: LeadStatus.BLOCKED,
            SkipChoice.NOT_A_FIT: LeadStatus.DONE,
        }[SkipChoice(choice)]
        due = (until or now + timedelta(hours=1)) if status is PENDING else None
        async with self._db.write_connection() as conn:
            held = await conn.scalar(
                delete(PreviewHold)
                .where(PreviewHold.lead_id == lead_id, PreviewHold.agent_id == agent_id)
                .returning(PreviewHold.lead_id)
            )
            if held is None:
                raise PreviewError(f"lead {lead_id} is not held by you")
            await conn.execute(
                _HELD_SKIP,
                {
                    "lid": lead_id,
                    "status": status.value,
                    "next_at": due,
                    "reason": f"skip:{choice}"[:20],
                    "now": now,
                },
            )
            await self._audit.add(
                conn, agent_id, "skip", "campaign_lead", lead_id,
                {"reason": str(choice), "note": clean_text(note, single_line=True, max_length=200)},
            )  # fmt: skip

    # Inside -----------------------------------------------------------------------------------

    async def _campaign(self, name: str) -> Any:
        async with self._db.session() as session:
            row = (
                await session.execute(select(Campaign).where(Campaign.name == name.strip()))
            ).scalar_one_or_none()
        return self._check(row, name)

    async def _campaign_by_id(self, campaign_id: int) -> Any:
        async with self._db.session() as session:
            row = await session.get(Campaign, campaign_id)
        return self._check(row, str(campaign_id))

    @staticmethod
    def _check(row: Any, name: str) -> Any:
        if row is None:
            raise PreviewError(f"no campaign {name.strip()!r}")
        if row.status is not CampaignStatus.RUNNING:
            raise PreviewError(f"{row.name!r} is {row.status.value}: no calls now")
        if row.mode is not DialMode.PREVIEW:
            raise PreviewError(f"{row.name!r} dials by itself ({row.mode.value}), not by preview")
        return row

    @staticmethod
    def _rules(row: Any) -> Any:
        try:
            return rules_of(row.rules)
        except CampaignRulesError as exc:
            raise PreviewError(str(exc)) from None

    @staticmethod
    def _candidate(row: Any, lead: DueLead) -> Candidate:
        purpose = CampaignPurpose(row.purpose)
        return Candidate(lead.e164, purpose, lead.customer_id, lead.attempts, row.id)

    async def _held_by(self, agent_id: int, campaign_id: int, now: datetime) -> int | None:
        async with self._db.session() as session:
            return await session.scalar(
                select(PreviewHold.lead_id).where(
                    PreviewHold.agent_id == agent_id,
                    PreviewHold.campaign_id == campaign_id,
                    PreviewHold.held_until > now,
                )
            )

    async def _due(self, campaign_id: int, now: datetime, looked: list[int]) -> list[DueLead]:
        query = (
            select(CampaignLead.id, CampaignLead.customer_id, CampaignLead.e164)
            .where(
                CampaignLead.campaign_id == campaign_id,
                CampaignLead.status == PENDING,
                (CampaignLead.next_attempt_at.is_(None)) | (CampaignLead.next_attempt_at <= now),
            )
            .order_by(CampaignLead.priority, CampaignLead.next_attempt_at, CampaignLead.id)
            .limit(5)
        )
        if looked:
            query = query.where(CampaignLead.id.not_in(looked))
        async with self._db.session() as session:
            rows = (await session.execute(query)).all()
            history = await histories(session, [r[0] for r in rows])
        return [DueLead(r[0], r[1], r[2], history[r[0]]) for r in rows]

    async def _hold_lead(
        self, conn: Any, lead_id: int, campaign_id: int, agent_id: int, now: datetime
    ) -> bool:
        taken = await conn.scalar(
            update(CampaignLead)
            .where(CampaignLead.id == lead_id, CampaignLead.status == PENDING)
            .values(status=DIALING, updated_at=now)
            .returning(CampaignLead.id)
        )
        if taken is None:
            return False
        await conn.execute(delete(PreviewHold).where(PreviewHold.lead_id == lead_id))
        await conn.execute(
            insert(PreviewHold).values(
                lead_id=lead_id,
                campaign_id=campaign_id,
                agent_id=agent_id,
                held_at=now,
                held_until=now + self._hold,
            )
        )
        return True

    async def _lead(self, lead_id: int, now: datetime) -> PreviewLead:
        async with self._db.session() as session:
            lead = await session.get(CampaignLead, lead_id)
            assert lead is not None
            call_row = (
                await session.execute(CAMPAIGN_LEAD, {"lead": lead_id, "cid": lead.campaign_id})
            ).first()
            customer = await session.get(Customer, lead.customer_id)
            until = await session.scalar(
                select(PreviewHold.held_until).where(PreviewHold.lead_id == lead_id)
            )
        assert call_row is not None and customer is not None
        return PreviewLead(
            campaign_id=lead.campaign_id,
            lead_id=lead_id,
            customer_id=lead.customer_id,
            number=lead.e164,
            customer_name=clean_text(customer.display_name, single_line=True, max_length=120),
            kind=str(customer.kind),
            tier=str(customer.tier),
            language=customer.language,
            lifetime_value_cents=customer.lifetime_value_cents,
            currency=customer.currency,
            held_until=until or now,
            call=campaign_call(tuple(call_row), lead_id),
        )

    async def _settle_held(self, skip: Skip) -> None:
        async with self._db.write_connection() as conn:
            await conn.execute(delete(PreviewHold).where(PreviewHold.lead_id == skip.lead_id))
            await conn.execute(
                _HELD_SKIP,
                {
                    "lid": skip.lead_id,
                    "status": skip.status.value,
                    "next_at": skip.next_attempt_at,
                    "reason": skip.reason[:20],
                    "now": self._clock(),
                },
            )

    async def _not_placed(self, attempt_id: int, lead_id: int, outcome: str) -> None:
        """Nothing reached the customer: the attempt ends as ``outcome``, the lead goes back."""
        now = self._clock()
        async with self._db.write_connection() as conn:
            await conn.execute(
                update(DialAttempt)
                .where(DialAttempt.id == attempt_id, DialAttempt.ended_at.is_(None))
                .values(outcome=outcome, ended_at=now)
            )
            await conn.execute(
                update(CampaignLead)
                .where(CampaignLead.id == lead_id, CampaignLead.status == DIALING)
                .values(status=PENDING, attempts=CampaignLead.attempts - 1, updated_at=now)
            )
