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
from console.services.agent_figures import missed_rings
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


async def load_roster(
    db: Database, today: tuple[datetime, datetime] | None = None
) -> dict[str, RosterEntry]:
    """Every active agent with a queue interface, by interface; with ``today`` (local midnight
    and the next, as `agent_figures.today_bounds` gives them), their missed rings in it, from
    the interaction log each agent's console writes (the agent screen counts the same rows)."""
    theirs = and_(
        FollowUp.status.in_(PENDING_FOLLOWUP_STATUSES),
        or_(FollowUp.claimed_by == Agent.id, FollowUp.target_agent_id == Agent.id),
    )
    stmt = (
        select(Agent.id, Agent.display_name, Agent.team, Agent.interface, func.count(FollowUp.id))
        .outerjoin(FollowUp, theirs)
        .where(Agent.active.is_(True), Agent.interface != "")
        .group_by(Agent.id, Agent.display_name, Agent.team, Agent.interface)
        .order_by(Agent.id)
    )
    async with db.session() as session:
        rows = (await session.execute(stmt)).all()
    missed = await missed_rings(db, *today) if today is not None else {}
    roster: dict[str, RosterEntry] = {}
    for agent_id, name, team, interface, count in rows:
        entry = RosterEntry(
            agent_id=int(agent_id),
            name=clean_text(name or "", single_line=True, max_length=120),
            team=clean_text(team or "", single_line=True, max_length=60),
            interface=str(interface),
            followups_open=int(count),
            missed_today=missed.get(int(agent_id), 0),
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
