"""The agent grid's view of the database: who each queue interface is, their team, how many
follow-ups they have open and how many calls rang out on their phone today. Read every ~15 s by
the grid, never per AMI event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select

from console.db import Database
from console.models import Agent, FollowUp
from console.models.enums import PENDING_FOLLOWUP_STATUSES
from console.services.desk.agent_figures import missed_rings
from console.services.text import clean_text


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """An active agent as the grid shows them next to their live state."""

    agent_id: int
    name: str
    team: str
    interface: str
    followups_open: int  # pending or claimed follow-ups they hold or are assigned
    missed_today: int = 0  # calls that rang out on their phone today (`agent_figures`)


@dataclass(frozen=True, slots=True)
class AgentLoad:
    """An active agent, and how many open follow-ups they hold or are assigned."""

    id: int
    name: str
    team: str
    role: str
    interface: str
    open: int


async def agent_loads(db: Database) -> list[AgentLoad]:
    """Every active agent with their open follow-up load, by team then name (one query: the
    team view's reassign list, the grid's picker and `load_roster` read the same)."""
    theirs = and_(
        FollowUp.status.in_(PENDING_FOLLOWUP_STATUSES),
        or_(FollowUp.claimed_by == Agent.id, FollowUp.target_agent_id == Agent.id),
    )
    columns = (Agent.id, Agent.display_name, Agent.team, Agent.role, Agent.interface)
    stmt = (
        select(*columns, func.count(FollowUp.id))
        .outerjoin(FollowUp, theirs)
        .where(Agent.active.is_(True))
        .group_by(*columns)
        .order_by(Agent.team, Agent.display_name, Agent.id)
    )
    async with db.session() as session:
        rows = (await session.execute(stmt)).all()
    return [
        AgentLoad(
            id=int(row[0]),
            name=clean_text(row[1] or "", single_line=True, max_length=120),
            team=clean_text(row[2] or "", single_line=True, max_length=60),
            role=str(row[3]),
            interface=str(row[4] or ""),
            open=int(row[5]),
        )
        for row in rows
    ]


async def load_roster(
    db: Database, today: tuple[datetime, datetime] | None = None
) -> dict[str, RosterEntry]:
    """Every active agent with a queue interface, by interface; with ``today`` (local midnight
    and the next, as `agent_figures.today_bounds` gives them), their missed rings in it, from
    the interaction log each agent's console writes (the agent screen counts the same rows)."""
    loads = await agent_loads(db)
    missed = await missed_rings(db, *today) if today is not None else {}
    roster: dict[str, RosterEntry] = {}
    for load in sorted(loads, key=lambda a: a.id):
        if not load.interface:
            continue
        entry = RosterEntry(
            agent_id=load.id,
            name=load.name,
            team=load.team,
            interface=load.interface,
            followups_open=load.open,
            missed_today=missed.get(load.id, 0),
        )
        roster.setdefault(entry.interface, entry)  # the lowest id wins a shared phone
    return roster


async def open_followup_ids(db: Database, agent_id: int) -> list[int]:
    """The open follow-ups ``agent_id`` holds or is assigned (what "reassign all" moves)."""
    stmt = (
        select(FollowUp.id)
        .where(
            FollowUp.status.in_(PENDING_FOLLOWUP_STATUSES),
            or_(FollowUp.claimed_by == agent_id, FollowUp.target_agent_id == agent_id),
        )
        .order_by(FollowUp.id)
    )
    async with db.session() as session:
        return [int(fid) for fid in (await session.scalars(stmt)).all()]
