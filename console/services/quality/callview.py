"""What an evaluator reads beside the form: the call's facts, notes and transcript, masked as
trainers see them (console.services.training.masking; docs/quality.md, "Masking").

The transcript is the call's recorded `TranscriptLine` events (the caller's speech as the
agent's console received it). Every name, number and email of the customer the call was
logged against, and the caller ID, are hunted for in the free text, as in a replay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from console.cti.protocol import TranscriptLine
from console.db import Database
from console.models import Agent, Customer, EmailAddress, Interaction, PhoneNumber, Queue
from console.services.quality.records import QaError
from console.services.training.mask_formats import mask_name, mask_phone
from console.services.training.masking import Masker
from console.services.training.session_log import RecordedEvent, SessionLog


@dataclass(frozen=True, slots=True)
class CallView:
    interaction_id: int
    linkedid: str
    agent_name: str
    queue: str
    offered_at: datetime
    talk_seconds: int
    hold_seconds: int
    wrap_seconds: int
    disposition: str
    customer: str  # masked
    caller: str  # masked
    notes: str  # masked
    transcript: tuple[tuple[str, str], ...]  # (speaker, text), masked
    recorded: bool  # the call has a recording to replay
    masked: bool = True


class CallViews:
    """Builds the evaluator's view of one call."""

    def __init__(self, db: Database, *, region: str = "US") -> None:
        self._db = db
        self._masker = Masker(region)

    async def view(self, interaction_id: int) -> CallView:
        """The call, masked (QA views never show raw customer data)."""
        async with self._db.session() as session:
            row = (
                await session.execute(
                    select(
                        Interaction.linkedid,
                        Agent.display_name,
                        Queue.name,
                        Interaction.offered_at,
                        Interaction.talk_seconds,
                        Interaction.hold_seconds,
                        Interaction.wrap_seconds,
                        Interaction.disposition,
                        Interaction.notes,
                        Interaction.caller_raw,
                        Interaction.caller_name,
                        Interaction.customer_id,
                        Customer.display_name,
                    )
                    .outerjoin(Agent, Agent.id == Interaction.agent_id)
                    .outerjoin(Queue, Queue.id == Interaction.queue_id)
                    .outerjoin(Customer, Customer.id == Interaction.customer_id)
                    .where(Interaction.id == interaction_id)
                )
            ).first()
            if row is None:
                raise QaError(f"no call {interaction_id}")
            known = [v for v in (row[9], row[10], row[12]) if v]
            if row[11] is not None:
                phones = await session.scalars(
                    select(PhoneNumber.e164).where(PhoneNumber.customer_id == row[11])
                )
                emails = await session.scalars(
                    select(EmailAddress.address).where(EmailAddress.customer_id == row[11])
                )
                known += list(phones) + list(emails)
        linkedid = row[0] or ""
        records = await SessionLog(self._db).for_call(linkedid) if linkedid else []
        lines: list[tuple[str, str]] = []
        for record in records:
            if isinstance(record, RecordedEvent) and record.event_type == "TranscriptLine":
                event = record.event()
                if isinstance(event, TranscriptLine):
                    lines.append((event.speaker, self._masker.text(event.text, known)))
        return CallView(
            interaction_id=interaction_id,
            linkedid=linkedid,
            agent_name=row[1] or "",
            queue=row[2] or "",
            offered_at=row[3],
            talk_seconds=row[4] or 0,
            hold_seconds=row[5] or 0,
            wrap_seconds=row[6] or 0,
            disposition=row[7] or "",
            customer=mask_name(row[12]) if row[12] else "(unknown caller)",
            caller=mask_phone(row[9], self._masker.region) if row[9] else "",
            notes=self._masker.text(row[8] or "", known),
            transcript=tuple(lines),
            recorded=bool(records),
        )
