"""The compliance gate: one pure decision per dial candidate, allowed or skipped with a reason.

Every outbound dial passes `ComplianceGate.check(candidate, now)` first. It reads nothing
itself: the do-not-call entries and consents it consults are `ComplianceFacts` loaded for a
batch of candidates just before (`ComplianceService.screen`, which also logs each decision),
so one check is a few dictionary lookups and a time-zone conversion.

The checks, in this order (the first failure is the reason):
1. invalid_number: the number does not parse as a valid number of the default region.
2. dnc: the number is on a do-not-call list (an entry not expired at `now`), or the record's
   history holds a DNC request.
3. no_consent: the purpose needs consent (sales, retention: marketing calls; surveys: survey
   consent) and the customer's latest record for it is not a grant.
4. finished: a right-party contact ended the record.
5. attempts_exhausted: the record's attempts are used up.
6. too_soon: the last outcome's spacing, or the per-period cap, has not passed.
7. outside_window: `now` is outside the calling window in one of the number's zones.
Permanent reasons come first, so a dialer can drop the record; too_soon and outside_window
carry `not_before`, when to ask again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from console.models.enums import (
    AttemptOutcome,
    CampaignPurpose,
    ComplianceVerdict,
    ConsentPurpose,
    SkipReason,
)
from console.services.crm.phones import normalise
from console.services.outbound.attempts import Attempt, AttemptRules
from console.services.outbound.windows import CallingWindows

P = CampaignPurpose

#: The consent each campaign purpose needs (None: none). Notifications (an order, an
#: appointment) are service calls the customer expects; they still obey DNC and windows.
CONSENT_NEEDED: Mapping[CampaignPurpose, ConsentPurpose | None] = MappingProxyType(
    {
        P.SALES: ConsentPurpose.MARKETING_CALLS,
        P.RETENTION: ConsentPurpose.MARKETING_CALLS,
        P.SURVEY: ConsentPurpose.SURVEYS,
        P.NOTIFICATION: None,
    }
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A record a dialer would dial: whose number, why, and its earlier attempts."""

    number: str  # as stored (E.164) or typed; the gate normalises it
    purpose: CampaignPurpose
    customer_id: int | None = None
    attempts: tuple[Attempt, ...] = ()
    campaign_id: int | None = None


@dataclass(frozen=True, slots=True)
class DncHit:
    """One do-not-call entry for a number."""

    source: str  # "internal" or the imported list's name
    reason: str = ""
    expires_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at > now


@dataclass(frozen=True, slots=True)
class ConsentState:
    """A customer's latest consent record for one purpose."""

    granted: bool
    at: datetime
    source: str


@dataclass(frozen=True, slots=True)
class ComplianceFacts:
    """What the gate consults, loaded for a batch: DNC entries by E.164, latest consents."""

    dnc: Mapping[str, tuple[DncHit, ...]]
    consent: Mapping[tuple[int, ConsentPurpose], ConsentState]


NO_FACTS = ComplianceFacts(MappingProxyType({}), MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class Decision:
    """The gate's answer for one candidate."""

    candidate: Candidate
    number: str  # E.164, or the sanitised input when invalid
    reason: SkipReason | None  # None: allowed
    detail: str
    at: datetime
    not_before: datetime | None = None  # too_soon / outside_window: when to ask again

    @property
    def allowed(self) -> bool:
        return self.reason is None

    @property
    def verdict(self) -> ComplianceVerdict:
        return ComplianceVerdict.ALLOWED if self.reason is None else ComplianceVerdict.SKIPPED


class ComplianceGate:
    """Decides each candidate against one batch's facts (see the module docstring)."""

    def __init__(
        self,
        facts: ComplianceFacts,
        windows: CallingWindows,
        attempts: AttemptRules,
        *,
        region: str = "US",
    ) -> None:
        self.facts = facts
        self.windows = windows
        self.attempts = attempts
        self.region = region

    def check(self, candidate: Candidate, now: datetime) -> Decision:
        """Allowed, or skipped with the first failing check's reason (see the module)."""
        if now.tzinfo is None:
            raise ValueError("naive datetime; pass an aware (UTC) datetime")
        parsed = normalise(candidate.number, self.region)
        if parsed.e164 is None:
            why = parsed.reason or "withheld"
            return Decision(candidate, parsed.raw, SkipReason.INVALID_NUMBER, why, now)
        e164 = parsed.e164

        def skip(reason: SkipReason, detail: str, not_before: datetime | None = None) -> Decision:
            return Decision(candidate, e164, reason, detail, now, not_before)

        listed = [hit for hit in self.facts.dnc.get(e164, ()) if hit.active(now)]
        if listed:
            return skip(SkipReason.DNC, "on the do-not-call list " + _lists(listed))
        asked = [a.at for a in candidate.attempts if a.outcome is AttemptOutcome.DNC_REQUEST]
        if asked:
            return skip(
                SkipReason.DNC, f"asked not to be called on {min(asked):%Y-%m-%d %H:%M} UTC"
            )
        needed = CONSENT_NEEDED[candidate.purpose]
        if needed is not None:
            problem = self._consent_problem(candidate.customer_id, needed)
            if problem:
                return skip(SkipReason.NO_CONSENT, problem)
        tried = self.attempts.check(candidate.attempts, now)
        if tried.reason is not None:
            return skip(tried.reason, tried.detail, tried.not_before)
        window = self.windows.check(e164, now, parsed.region)
        if not window.open:
            return skip(SkipReason.OUTSIDE_WINDOW, window.detail, window.next_open)
        return Decision(candidate, e164, None, window.detail, now)

    def _consent_problem(self, customer_id: int | None, needed: ConsentPurpose) -> str:
        if customer_id is None:
            return f"needs {needed.value} consent; the number belongs to no customer"
        state = self.facts.consent.get((customer_id, needed))
        if state is None:
            return f"no {needed.value} consent on record"
        if not state.granted:
            when = f"{state.at:%Y-%m-%d %H:%M} UTC"
            return f"{needed.value} consent withdrawn {when} ({state.source})"
        return ""


def _lists(hits: list[DncHit]) -> str:
    shown = []
    for hit in hits:
        reason = f": {hit.reason}" if hit.reason else ""
        shown.append(f"{hit.source!r}{reason}")
    return "; ".join(shown)
