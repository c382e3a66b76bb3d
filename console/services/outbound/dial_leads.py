"""A list entry's side of dialling: its earlier attempts as the attempt rules count them, and
what a lead the compliance gate refused becomes (blocked, done, exhausted, or due later).

Shared by the dialer (dial_store, dialer) and preview (preview)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update

from console.models import CampaignLead, DialAttempt
from console.models.enums import AttemptOutcome, LeadStatus, SkipReason
from console.services.outbound.attempts import Attempt
from console.services.outbound.dial_events import (
    ABANDONED,
    ANSWER,
    BUSY,
    CONNECTED,
    FAILED,
    MACHINE,
    NO_ANSWER,
    NOT_PLACED,
    UNKNOWN,
)

Out = AttemptOutcome
#: How a dial's outcome counts for the attempt rules (abandoned and answered-then-gone: the
#: customer did not reach an agent, as no answer; lost from sight: as a network failure).
AS_ATTEMPT = {
    NO_ANSWER: Out.NO_ANSWER,
    BUSY: Out.BUSY,
    FAILED: Out.FAILED,
    MACHINE: Out.MACHINE,
    ABANDONED: Out.NO_ANSWER,
    ANSWER: Out.NO_ANSWER,
    UNKNOWN: Out.FAILED,
}
PENDING, DIALING = LeadStatus.PENDING, LeadStatus.DIALING
_PERMANENT = {
    SkipReason.INVALID_NUMBER: LeadStatus.BLOCKED,
    SkipReason.DNC: LeadStatus.BLOCKED,
    SkipReason.NO_CONSENT: LeadStatus.BLOCKED,
    SkipReason.FINISHED: LeadStatus.DONE,
    SkipReason.ATTEMPTS_EXHAUSTED: LeadStatus.EXHAUSTED,
}


def history_outcome(outcome: str, lead_last_outcome: str) -> AttemptOutcome | None:
    """A past dial as the attempt rules see it (None: not an attempt). A connected dial
    counts as what its wrap-up wrote to the lead's ``last_outcome`` when that is an attempt
    outcome (right_party, wrong_party, dnc_request…), else as a no-answer's spacing (the
    wrap-up's ``next_attempt_at`` decides when it is due)."""
    if not outcome or outcome in NOT_PLACED:
        return None
    if outcome == CONNECTED:
        try:
            return AttemptOutcome(lead_last_outcome)
        except ValueError:
            return Out.NO_ANSWER
    return AS_ATTEMPT.get(outcome, Out.FAILED)


@dataclass(frozen=True, slots=True)
class DueLead:
    """A list entry that may be dialled now, with its earlier attempts."""

    id: int
    customer_id: int
    e164: str
    attempts: tuple[Attempt, ...] = ()


@dataclass(frozen=True, slots=True)
class Skip:
    """A lead the gate refused: its new status, when to ask again, why."""

    lead_id: int
    status: LeadStatus
    next_attempt_at: datetime | None
    reason: str


def skip_for(
    lead_id: int, reason: SkipReason | None, not_before: datetime | None, now: datetime
) -> Skip:
    """What a lead the gate refused becomes: blocked, done or exhausted for good, else pending
    again at ``not_before`` (an hour from now when the gate could not say)."""
    assert reason is not None
    status = _PERMANENT.get(reason)
    if status is not None:
        return Skip(lead_id, status, None, reason.value)
    return Skip(lead_id, LeadStatus.PENDING, not_before or now + timedelta(hours=1), reason.value)


_SKIP = (
    update(CampaignLead)
    .where(CampaignLead.id == bindparam("lid"), CampaignLead.status == PENDING)
    .values(
        status=bindparam("status"),
        next_attempt_at=bindparam("next_at"),
        last_outcome=bindparam("reason"),
        updated_at=bindparam("now"),
    )
)


async def histories(session: Any, lead_ids: Sequence[int]) -> dict[int, tuple[Attempt, ...]]:
    """Each lead's earlier dials as the attempt rules count them (ended dials only)."""
    found: dict[int, list[Attempt]] = {i: [] for i in lead_ids}
    if lead_ids:
        past = await session.execute(
            select(
                DialAttempt.lead_id,
                DialAttempt.placed_at,
                DialAttempt.outcome,
                CampaignLead.last_outcome,
            )
            .join(CampaignLead, CampaignLead.id == DialAttempt.lead_id)
            .where(DialAttempt.lead_id.in_(list(lead_ids)), DialAttempt.ended_at.is_not(None))
        )
        for lead_id, placed_at, outcome, last in past:
            counted = history_outcome(outcome, last)
            if counted is not None:
                found[lead_id].append(Attempt(placed_at, counted))
    return {i: tuple(a) for i, a in found.items()}


async def apply_skips(conn: Any, skipped: Sequence[Skip], now: datetime) -> None:
    """The gate's refusals on still-pending leads: blocked, done, exhausted or due later."""
    if skipped:
        await conn.execute(
            _SKIP,
            [
                {
                    "lid": s.lead_id,
                    "status": s.status.value,
                    "next_at": s.next_attempt_at,
                    "reason": s.reason[:20],
                    "now": now,
                }
                for s in skipped
            ],
        )
