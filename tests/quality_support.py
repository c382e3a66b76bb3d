"""Calls to evaluate: agents (two teams), evaluators, a queue and completed calls, written
straight into a migrated database, plus a recorded transcript for one call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from console.cti.protocol import TranscriptLine
from console.db import Database
from console.models import Agent, Customer, Interaction, PhoneNumber, Queue
from console.models.enums import InteractionStatus, Role
from console.services.crm.agents import AgentIdentity
from console.services.training.recording import SessionRecorder

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday (ISO week 45)
CUSTOMER = "Grace Hopper"
PHONE = "+14155550101"


def identity(agent_id: int, login: str, role: Role, team: str = "") -> AgentIdentity:
    return AgentIdentity(
        id=agent_id,
        login=login,
        display_name=login.capitalize(),
        role=role,
        team=team,
        extension="",
        interface=f"PJSIP/{1000 + agent_id}",
        member_name=login,
        skills=(),
    )


@dataclass
class QaWorld:
    agents: list[AgentIdentity]
    lead: AgentIdentity  # a supervisor
    second: AgentIdentity  # a trainer
    calls: list[int]  # interaction ids
    customer_id: int


async def build_world(db: Database, *, calls_per_agent: int = 12, days: int = 21) -> QaWorld:
    """Three agents (teams red, red, blue), a supervisor and a trainer; each agent's calls
    spread over ``days`` days from T0, with talk times, dispositions and queues varying."""
    people = [
        ("ann", Role.AGENT, "red"),
        ("bob", Role.AGENT, "red"),
        ("cat", Role.AGENT, "blue"),
        ("sue", Role.SUPERVISOR, "red"),
        ("tim", Role.TRAINER, ""),
    ]
    async with db.write_connection() as conn:
        ids = []
        for login, role, team in people:
            new = await conn.scalar(
                insert(Agent)
                .values(login=login, display_name=login.capitalize(), role=role, team=team)
                .returning(Agent.id)
            )
            ids.append(int(new or 0))
        queues = []
        for name in ("billing", "support"):
            queues.append(
                int(await conn.scalar(insert(Queue).values(name=name).returning(Queue.id)) or 0)
            )
        customer = int(
            await conn.scalar(insert(Customer).values(display_name=CUSTOMER).returning(Customer.id))
            or 0
        )
        await conn.execute(insert(PhoneNumber).values(customer_id=customer, e164=PHONE))
        calls = []
        for a in range(3):
            for i in range(calls_per_agent):
                offered = T0 + timedelta(days=(i * days) // calls_per_agent, hours=a, minutes=i)
                status = InteractionStatus.COMPLETED if i % 7 != 6 else InteractionStatus.MISSED
                new = await conn.scalar(
                    insert(Interaction)
                    .values(
                        status=status,
                        agent_id=ids[a],
                        queue_id=queues[i % 2],
                        customer_id=customer,
                        caller_raw=PHONE,
                        caller_name=CUSTOMER,
                        uniqueid=f"u{a}-{i}",
                        linkedid=f"l{a}-{i}",
                        offered_at=offered,
                        answered_at=offered + timedelta(seconds=10)
                        if status is InteractionStatus.COMPLETED
                        else None,
                        talk_seconds=60 + 37 * i,
                        hold_seconds=(i % 3) * 20,
                        disposition=("resolved", "callback", "sale")[i % 3],
                        notes=f"{CUSTOMER} on {PHONE} asked about invoice {i}",
                    )
                    .returning(Interaction.id)
                )
                calls.append(int(new or 0))
    agents = [identity(ids[i], people[i][0], people[i][1], people[i][2]) for i in range(3)]
    return QaWorld(
        agents=agents,
        lead=identity(ids[3], "sue", Role.SUPERVISOR, "red"),
        second=identity(ids[4], "tim", Role.TRAINER),
        calls=calls,
        customer_id=customer,
    )


async def record_transcript(db: Database, agent_id: int, linkedid: str, lines: list[str]) -> None:
    """The caller's speech on a call, recorded as the agent's console records it."""
    recorder = SessionRecorder(db, agent_id=agent_id, clock=lambda: T0)
    for n, text in enumerate(lines):
        recorder.record_event(
            TranscriptLine(
                uniqueid=linkedid,
                linkedid=linkedid,
                speaker="caller",
                text=text,
                script="",
                at=T0 + timedelta(seconds=n),
            )
        )
    await recorder.flush()
