"""Queues as the CRM defines them: which ones an agent's skills qualify them for."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from console.db import Database
from console.models import Queue, QueueSkill
from console.services.crm.agents import AgentIdentity
from console.services.text import clean_text


@dataclass(frozen=True, slots=True)
class QueueInfo:
    """A queue as the CRM knows it: its name and the number (extension) callers dial."""

    id: int
    name: str
    number: str
    description: str


class QueueDirectory:
    """Reads queue definitions."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def queues_for(self, agent: AgentIdentity) -> list[str]:
        """Names of the queues whose every required skill the agent has at the minimum level."""
        async with self._db.session() as session:
            queues = (await session.execute(select(Queue.id, Queue.name).order_by(Queue.id))).all()
            needs = (
                await session.execute(
                    select(QueueSkill.queue_id, QueueSkill.skill, QueueSkill.min_level)
                )
            ).all()
        required: dict[int, list[tuple[str, int]]] = {}
        for queue_id, skill, level in needs:
            required.setdefault(queue_id, []).append((skill, level))
        return [
            name
            for queue_id, name in queues
            if all(agent.skill_level(skill) >= level for skill, level in required.get(queue_id, []))
        ]

    async def all(self) -> list[QueueInfo]:
        """Every queue, in id order (transfer targets, wallboards)."""
        async with self._db.session() as session:
            rows = (
                await session.execute(
                    select(Queue.id, Queue.name, Queue.number, Queue.description).order_by(Queue.id)
                )
            ).all()
        return [
            QueueInfo(
                id=r[0],
                name=clean_text(r[1], single_line=True),
                number=r[2] or "",
                description=clean_text(r[3] or "", single_line=True),
            )
            for r in rows
        ]
