"""Settling a campaign's list entry after a connected call's wrap-up.

The dialer leaves a lead whose call reached an agent in ``dialing``, its dial's outcome
``connected``. The wrap-up of that call settles both, in the wrap-up's own transaction
(`console.services.outbound.campaign_wrapup`), so it happens exactly once: only the write
that moves the interaction row from wrap-up to completed settles, and a wrap-up applied again
(a retry, a journal replayed after a kill) finds the row completed and does nothing.

What the disposition means for the list (`settlement`, pure):

- opt_out: blocked, last outcome ``dnc_request``;
- retry: pending at the agent's time, else after the attempt rules' spacing of its outcome:
  ``no_answer`` when the right party asked to be called later, ``wrong_party`` when someone
  else answered, ``machine`` when nobody spoke (a machine the AMD missed); exhausted, whatever
  the time, once the lead's attempts are used up;
- right party: done, ``right_party``;
- anything else (a wrong number, no retry): done, ``wrong_party`` (``machine`` without a
  contact).

A right-party retry is recorded as ``no_answer``, not ``right_party``: the attempt rules end a
record at its first right-party outcome, and this one must stay open. A lead already done,
blocked or exhausted is never reopened (an opt-out still blocks it).

The dial gets the agent and the disposition: contact, right-party and conversion counts read
them (`console.services.outbound.results`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from console.models import CampaignLead, DialAttempt
from console.models.enums import AttemptOutcome, LeadStatus
from console.services.desk.dispositions import Disposition
from console.services.outbound.attempts import DEFAULT_SPACING, AttemptRules

Out = AttemptOutcome
#: Leads the wrap-up never reopens (a later opt-out still blocks them).
FINAL = (LeadStatus.DONE, LeadStatus.BLOCKED, LeadStatus.EXHAUSTED)
#: A retry time further ahead than this is refused (a typo, not a plan).
MAX_RETRY_AHEAD = timedelta(days=90)


@dataclass(frozen=True, slots=True)
class Settlement:
    """What becomes of a lead after its connected call."""

    status: LeadStatus
    outcome: AttemptOutcome
    next_attempt_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LeadSettled:
    """A lead settled by a wrap-up: the dial marked (None: no dial of the lead was open) and
    the lead's new state (None: it was final already and stays so)."""

    lead_id: int
    attempt_id: int | None
    settlement: Settlement | None


class RetryTimeError(ValueError):
    """A time to call back that is not one; one line for the agent."""


_AHEAD = re.compile(r"^\+\s*(\d{1,5})\s*(m|min|h|d)$")
_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86_400}


def parse_retry_time(text: str, *, now: datetime, tz: tzinfo | None = None) -> datetime | None:
    """When the agent wants the lead called back, as typed: empty (the attempt rules
    decide), ``+30m`` / ``+2h`` / ``+1d``, ``HH:MM`` (the next such time) or ``YYYY-MM-DD
    HH:MM``, in ``tz`` (None: this machine's zone). Aware; later than ``now`` and within
    `MAX_RETRY_AHEAD` of it."""
    raw = " ".join(str(text).split()).lower()
    if not raw:
        return None
    local_now = now.astimezone(tz)
    ahead = _AHEAD.match(raw)
    if ahead:
        when = now + timedelta(seconds=int(ahead.group(1)) * _UNITS[ahead.group(2)])
    else:
        try:
            if len(raw) <= 5:
                clock = datetime.strptime(raw, "%H:%M").time()
                when = local_now.replace(
                    hour=clock.hour, minute=clock.minute, second=0, microsecond=0
                )
                if when <= local_now:
                    when = datetime.combine(
                        when.date() + timedelta(days=1), clock, local_now.tzinfo
                    )
            else:
                naive = datetime.strptime(raw, "%Y-%m-%d %H:%M")
                when = naive.astimezone() if tz is None else naive.replace(tzinfo=tz)
        except ValueError:
            raise RetryTimeError(
                f"{text.strip()!r} is not a time: write HH:MM, YYYY-MM-DD HH:MM or +2h"
            ) from None
    if when <= now:
        raise RetryTimeError(f"{text.strip()!r} has passed: give a later time")
    if when > now + MAX_RETRY_AHEAD:
        raise RetryTimeError(f"call back within {MAX_RETRY_AHEAD.days} days")
    return when


def attempt_outcome(disposition: Disposition) -> AttemptOutcome:
    """The disposition in the attempt rules' vocabulary (see the module docstring)."""
    if disposition.opt_out:
        return Out.DNC_REQUEST
    if disposition.right_party:
        return Out.NO_ANSWER if disposition.retry else Out.RIGHT_PARTY
    return Out.WRONG_PARTY if disposition.contact else Out.MACHINE


def settlement(
    disposition: Disposition,
    *,
    attempts: int,
    rules: AttemptRules,
    dialled_at: datetime,
    retry_at: datetime | None = None,
) -> Settlement:
    """The lead's new state after a connected call with this disposition. ``attempts``: the
    dials made for the lead, this one included; ``dialled_at``: when this one was placed (the
    spacing counts from it, as the gate's does)."""
    outcome = attempt_outcome(disposition)
    if disposition.opt_out:
        return Settlement(LeadStatus.BLOCKED, outcome)
    if not disposition.retry:
        return Settlement(LeadStatus.DONE, outcome)
    if attempts >= rules.max_attempts:
        return Settlement(LeadStatus.EXHAUSTED, outcome)
    due = retry_at if retry_at is not None else dialled_at + rules.spacing[outcome]
    return Settlement(LeadStatus.PENDING, outcome, due)


def attempt_rules(rules: Any) -> AttemptRules:
    """A campaign's attempt rules from its stored ``rules``: the ``attempts`` part as the
    dialer's campaign files store it (``max``, ``spacing`` in seconds by outcome,
    ``per_period`` as [attempts, seconds]); the defaults for whatever is missing or does not
    read (the wrap-up must not fail on a hand-edited row: the dialer's own screen refuses it)."""
    raw = json.loads(rules) if isinstance(rules, str) else (rules or {})
    section = raw.get("attempts") if isinstance(raw, Mapping) else None
    if not isinstance(section, Mapping):
        return AttemptRules()
    try:
        spacing = dict(DEFAULT_SPACING)
        for key, seconds in (section.get("spacing") or {}).items():
            spacing[Out(key)] = timedelta(seconds=float(seconds))
        per = section.get("per_period")
        period = None if per is None else (int(per[0]), timedelta(seconds=float(per[1])))
        most = int(section.get("max", 6))
        return AttemptRules(max_attempts=most, spacing=spacing, per_period=period)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return AttemptRules()


async def settle_lead(
    conn: AsyncConnection,
    interaction: Mapping[str, Any],
    disposition: Disposition,
    *,
    rules: Any,
    agent_id: int | None,
    at: datetime,
    retry_at: datetime | None = None,
) -> LeadSettled | None:
    """Settle the list entry of the campaign call ``interaction`` (its row, locked by the
    wrap-up) inside ``conn``'s transaction; None when it has none (or it is another
    campaign's)."""
    lead_id, campaign_id = interaction.get("lead_id"), interaction.get("campaign_id")
    if lead_id is None or campaign_id is None:
        return None
    lead = (
        await conn.execute(
            select(CampaignLead.status, CampaignLead.attempts)
            .where(CampaignLead.id == lead_id, CampaignLead.campaign_id == campaign_id)
            .with_for_update()
        )
    ).one_or_none()
    if lead is None:
        return None
    attempt = await _open_attempt(conn, int(lead_id), interaction)
    attempt_id = None
    dialled_at = at
    if attempt is not None:
        attempt_id, dialled_at = int(attempt.id), attempt.placed_at
        await conn.execute(
            update(DialAttempt)
            .where(DialAttempt.id == attempt_id)
            .values(
                agent_id=agent_id if agent_id is not None else attempt.agent_id,
                disposition=disposition.code,
                ended_at=attempt.ended_at or interaction.get("ended_at") or at,
            )
        )
    status = LeadStatus(lead.status)
    if status in FINAL and not disposition.opt_out:
        return LeadSettled(int(lead_id), attempt_id, None)
    settled = settlement(
        disposition,
        attempts=max(1, int(lead.attempts)),
        rules=attempt_rules(rules),
        dialled_at=dialled_at,
        retry_at=retry_at,
    )
    await conn.execute(
        update(CampaignLead)
        .where(CampaignLead.id == lead_id)
        .values(
            status=settled.status,
            last_outcome=settled.outcome.value,
            next_attempt_at=settled.next_attempt_at,
            updated_at=at,
        )
    )
    return LeadSettled(int(lead_id), attempt_id, settled)


async def _open_attempt(conn: AsyncConnection, lead_id: int, interaction: Mapping[str, Any]) -> Any:
    """The lead's dial this call came from: not dispositioned yet; the one whose channel is
    this call's first, else a connected one, else the latest."""
    ids = [v for v in (interaction.get("linkedid"), interaction.get("uniqueid")) if v]
    same_call = case((DialAttempt.uniqueid.in_(ids), 0), else_=1) if ids else None
    connected = case((DialAttempt.outcome == "connected", 0), else_=1)
    order = [*([same_call] if same_call is not None else []), connected]
    return (
        await conn.execute(
            select(
                DialAttempt.id, DialAttempt.placed_at, DialAttempt.agent_id, DialAttempt.ended_at
            )
            .where(DialAttempt.lead_id == lead_id, DialAttempt.disposition == "")
            .order_by(*order, DialAttempt.placed_at.desc(), DialAttempt.id.desc())
            .limit(1)
        )
    ).first()
