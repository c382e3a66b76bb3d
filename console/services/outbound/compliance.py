"""The compliance service: screen a batch of dial candidates through the gate, logging each.

`screen` loads the facts the gate needs for the whole batch (the DNC entries of its numbers,
the latest consents of its customers: a few indexed reads), decides every candidate with the
pure `ComplianceGate`, and writes every decision to `compliance_decisions` in one transaction
before returning them. If the log cannot be written the screen fails, so nothing is dialled
that was not logged. A dialer screens each batch just before it dials it; a DNC entry or a
withdrawal written after the screen is seen by the next one.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from console.db import Database
from console.models import ComplianceDecision
from console.models.enums import CampaignPurpose, ComplianceVerdict, ConsentPurpose, SkipReason
from console.models.outbound import INTERNAL_DNC
from console.services.crm.phones import normalise
from console.services.errors import aware
from console.services.outbound.attempts import AttemptRules
from console.services.outbound.consent import ConsentService
from console.services.outbound.dnc import DncService
from console.services.outbound.gate import (
    CONSENT_NEEDED,
    Candidate,
    ComplianceFacts,
    ComplianceGate,
    Decision,
)
from console.services.outbound.windows import CallingWindows
from console.services.outbound.windows_file import load_windows
from console.services.service import utcnow
from console.services.text import clean_text


@dataclass(frozen=True, slots=True)
class LoggedDecision:
    """One row of the decision log."""

    id: int
    at: datetime
    campaign_id: int | None
    customer_id: int | None
    number: str
    purpose: CampaignPurpose
    verdict: ComplianceVerdict
    reason: SkipReason | None
    detail: str


class ComplianceService:
    """Screens candidates (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        *,
        windows: CallingWindows | None = None,
        attempts: AttemptRules | None = None,
        region: str = "US",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._clock = clock
        self.windows = windows if windows is not None else load_windows()
        self.attempts = attempts if attempts is not None else AttemptRules()
        self.region = region
        self.dnc = DncService(db, region=region, clock=clock)
        self.consent = ConsentService(db, clock=clock)

    async def facts_for(
        self, candidates: Sequence[Candidate], *, dnc_lists: Collection[str] | None = None
    ) -> ComplianceFacts:
        """The DNC entries and latest consents the gate needs for `candidates`; with
        ``dnc_lists``, only the entries of those lists and of the internal one (opt-outs are
        always obeyed)."""
        numbers = {normalise(c.number, self.region).e164 for c in candidates}
        consent_keys: set[tuple[int, ConsentPurpose]] = set()
        for c in candidates:
            needed = CONSENT_NEEDED[c.purpose]
            if needed is not None and c.customer_id is not None:
                consent_keys.add((c.customer_id, needed))
        dnc = await self.dnc.check_many(n for n in numbers if n is not None)
        if dnc_lists is not None:
            obeyed = {*dnc_lists, INTERNAL_DNC}
            kept = {n: tuple(h for h in hits if h.source in obeyed) for n, hits in dnc.items()}
            dnc = {n: hits for n, hits in kept.items() if hits}
        consent = await self.consent.latest_many(consent_keys)
        return ComplianceFacts(dnc, consent)

    async def gate_for(
        self,
        candidates: Sequence[Candidate],
        *,
        attempts: AttemptRules | None = None,
        windows: CallingWindows | None = None,
        dnc_lists: Collection[str] | None = None,
    ) -> ComplianceGate:
        """A gate holding the facts of `candidates` (for callers that log themselves); a
        campaign's own attempt rules, windows and DNC lists replace the service's."""
        facts = await self.facts_for(candidates, dnc_lists=dnc_lists)
        return ComplianceGate(
            facts, windows or self.windows, attempts or self.attempts, region=self.region
        )

    async def screen(
        self,
        candidates: Sequence[Candidate],
        *,
        now: datetime | None = None,
        attempts: AttemptRules | None = None,
        windows: CallingWindows | None = None,
        dnc_lists: Collection[str] | None = None,
    ) -> list[Decision]:
        """Decide every candidate at `now` (default: the clock) and log every decision. A
        campaign passes its own ``attempts`` rules, ``windows`` (the legal ones with its own
        hours) and the ``dnc_lists`` it obeys (None: every list; the internal one always)."""
        when = aware(now or self._clock(), field="screen time")
        if not candidates:
            return []
        gate = await self.gate_for(
            candidates, attempts=attempts, windows=windows, dnc_lists=dnc_lists
        )
        decisions = [gate.check(candidate, when) for candidate in candidates]
        async with self._db.write_connection() as conn:
            await conn.execute(insert(ComplianceDecision), [_row(d) for d in decisions])
        return decisions

    async def check(self, candidate: Candidate, *, now: datetime | None = None) -> Decision:
        """Screen one candidate (logged)."""
        return (await self.screen([candidate], now=now))[0]

    async def decisions(
        self,
        *,
        campaign_id: int | None = None,
        customer_id: int | None = None,
        limit: int = 100,
    ) -> list[LoggedDecision]:
        """The newest logged decisions, of one campaign and/or customer, newest first."""
        stmt = select(
            ComplianceDecision.id,
            ComplianceDecision.at,
            ComplianceDecision.campaign_id,
            ComplianceDecision.customer_id,
            ComplianceDecision.number,
            ComplianceDecision.purpose,
            ComplianceDecision.verdict,
            ComplianceDecision.reason,
            ComplianceDecision.detail,
        )
        if campaign_id is not None:
            stmt = stmt.where(ComplianceDecision.campaign_id == campaign_id)
        if customer_id is not None:
            stmt = stmt.where(ComplianceDecision.customer_id == customer_id)
        stmt = stmt.order_by(ComplianceDecision.at.desc(), ComplianceDecision.id.desc()).limit(
            max(1, min(limit, 10_000))
        )
        async with self._db.session() as session:
            rows = (await session.execute(stmt)).all()
        return [
            LoggedDecision(
                id=r.id,
                at=r.at,
                campaign_id=r.campaign_id,
                customer_id=r.customer_id,
                number=r.number,
                purpose=CampaignPurpose(r.purpose),
                verdict=ComplianceVerdict(r.verdict),
                reason=None if r.reason is None else SkipReason(r.reason),
                detail=r.detail,
            )
            for r in rows
        ]


def _row(decision: Decision) -> dict[str, Any]:
    candidate = decision.candidate
    return dict(
        at=decision.at,
        campaign_id=candidate.campaign_id,
        customer_id=candidate.customer_id,
        number=clean_text(decision.number, single_line=True, max_length=64),
        purpose=candidate.purpose,
        verdict=decision.verdict,
        reason=decision.reason,
        detail=clean_text(decision.detail, single_line=True, max_length=300),
    )
