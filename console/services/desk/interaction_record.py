"""What the interaction log hands out and takes in: a row as the console shows it
(`InteractionRecord`) and the wrap-up an agent submits (`WrapUp`, with its form in the call
journal). Plain data: `interactions` writes the rows, `durable_log` journals the writes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from console.models.enums import Channel, Direction, InteractionStatus

S = InteractionStatus
IN_CALL_STATUSES = (S.RINGING, S.ACTIVE, S.HELD)
UNFINISHED_STATUSES = (S.RINGING, S.ACTIVE, S.HELD, S.WRAPUP)


@dataclass(frozen=True, slots=True)
class WrapUp:
    """What the agent submits at the end of a contact."""

    disposition: str
    notes: str = ""
    ticket_id: int | None = None
    resolved_first_contact: bool = False
    csat: int | None = None  # 1–5 when the customer gave one
    category: str = ""
    # A campaign call's (console.services.outbound.campaign_wrapup): the amount sold, in the
    # customer's currency's cents; when to call the lead back; this call's survey answers.
    sale_cents: int | None = None
    retry_at: datetime | None = None
    survey: Mapping[str, str] | None = None

    def journal_form(self) -> dict[str, Any]:
        """As the call journal keeps it (JSON: the retry time as ISO text)."""
        return {
            "disposition": self.disposition,
            "notes": self.notes,
            "ticket_id": self.ticket_id,
            "resolved_first_contact": self.resolved_first_contact,
            "csat": self.csat,
            "category": self.category,
            "sale_cents": self.sale_cents,
            "retry_at": None if self.retry_at is None else self.retry_at.isoformat(),
            "survey": None if self.survey is None else dict(self.survey),
        }

    @classmethod
    def from_journal(cls, data: Mapping[str, Any]) -> WrapUp:
        """A wrap-up from `journal_form` (or an older journal's, without the campaign keys)."""
        retry = data.get("retry_at")
        survey = data.get("survey")
        return cls(
            disposition=data.get("disposition", ""),
            notes=data.get("notes", ""),
            ticket_id=data.get("ticket_id"),
            resolved_first_contact=bool(data.get("resolved_first_contact", False)),
            csat=data.get("csat"),
            category=data.get("category", ""),
            sale_cents=data.get("sale_cents"),
            retry_at=datetime.fromisoformat(retry) if isinstance(retry, str) else retry,
            survey={str(k): str(v) for k, v in survey.items()} if survey else None,
        )


@dataclass(frozen=True, slots=True)
class InteractionRecord:
    """One interaction as the console shows it. Times are aware UTC."""

    id: int
    channel: Channel
    direction: Direction
    status: InteractionStatus
    agent_id: int | None
    customer_id: int | None
    queue_id: int | None
    queue_name: str
    ticket_id: int | None
    uniqueid: str
    linkedid: str
    caller_raw: str
    caller_e164: str | None
    caller_name: str
    offered_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    wrapped_at: datetime | None
    hold_started_at: datetime | None
    wait_seconds: int
    ring_seconds: int
    talk_seconds: int
    hold_seconds: int
    wrap_seconds: int
    disposition: str
    category: str
    notes: str
    csat: int | None
    resolved_first_contact: bool | None
    transferred_to: str
    end_reason: str
    updated_at: datetime
    campaign_id: int | None = None  # a campaign call's campaign…
    lead_id: int | None = None  # …and list entry

    @property
    def is_in_call(self) -> bool:
        """Ringing, talking or on hold."""
        return self.status in IN_CALL_STATUSES

    @property
    def is_unfinished(self) -> bool:
        """Not yet wrapped up (what a restart offers back)."""
        return self.status in UNFINISHED_STATUSES

    @property
    def was_answered(self) -> bool:
        return self.answered_at is not None


def _record(row: Mapping[str, Any]) -> InteractionRecord:
    return InteractionRecord(
        id=row["id"],
        channel=Channel(row["channel"]),
        direction=Direction(row["direction"]),
        status=S(row["status"]),
        agent_id=row["agent_id"],
        customer_id=row["customer_id"],
        queue_id=row["queue_id"],
        queue_name=row["queue_name"] or "",
        ticket_id=row["ticket_id"],
        uniqueid=row["uniqueid"] or "",
        linkedid=row["linkedid"] or "",
        caller_raw=row["caller_raw"] or "",
        caller_e164=row["caller_e164"],
        caller_name=row["caller_name"] or "",
        offered_at=row["offered_at"],
        answered_at=row["answered_at"],
        ended_at=row["ended_at"],
        wrapped_at=row["wrapped_at"],
        hold_started_at=row["hold_started_at"],
        wait_seconds=row["wait_seconds"],
        ring_seconds=row["ring_seconds"],
        talk_seconds=row["talk_seconds"],
        hold_seconds=row["hold_seconds"],
        wrap_seconds=row["wrap_seconds"],
        disposition=row["disposition"] or "",
        category=row["category"] or "",
        notes=row["notes"] or "",
        csat=row["csat"],
        resolved_first_contact=row["resolved_first_contact"],
        transferred_to=row["transferred_to"] or "",
        end_reason=row["end_reason"] or "",
        updated_at=row["updated_at"],
        campaign_id=row.get("campaign_id"),
        lead_id=row.get("lead_id"),
    )
