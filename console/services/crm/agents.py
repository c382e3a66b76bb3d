"""The agent directory: log in, look agents up, and the not-ready reasons agents pause with.

Passwords are checked with scrypt (console.services.crm.passwords) in a worker thread: a check
costs tens of milliseconds of CPU, which must not freeze the console's event loop. An unknown
login costs the same as a wrong password, so timing does not tell which logins exist.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import select

from console.db import Database
from console.models import Agent, AgentSkill
from console.models.enums import Role
from console.services.crm.passwords import hash_password, verify_password
from console.services.text import clean_text, stored_text

MAX_LOGIN = 64
MAX_PASSWORD = 1024  # scrypt hashes any length; a megabyte "password" is only a way to burn CPU


@dataclass(frozen=True, slots=True)
class NotReadyReason:
    """Why an agent is paused; `code` is what QueuePause sends as its Reason."""

    code: str
    label: str


BREAK = NotReadyReason("break", "Break")
LUNCH = NotReadyReason("lunch", "Lunch")
TRAINING = NotReadyReason("training", "Training")
COACHING = NotReadyReason("coaching", "Coaching")
AFTER_CALL_WORK = NotReadyReason("acw", "After-call work")
NOT_READY_REASONS: tuple[NotReadyReason, ...] = (BREAK, LUNCH, TRAINING, COACHING, AFTER_CALL_WORK)
#: Set by the console or the PBX, never chosen: a call rang out on the agent's phone.
MISSED = NotReadyReason("missed", "Missed")
AUTO_PAUSE = NotReadyReason("Auto-Pause", "Missed (auto-pause)")  # app_queue's autopause
_SYSTEM_REASONS = (MISSED, AUTO_PAUSE)


def not_ready_reason(code: str) -> NotReadyReason | None:
    """The reason with this code (as read back from a QueueMemberPause event), or None."""
    return next((r for r in NOT_READY_REASONS + _SYSTEM_REASONS if r.code == code), None)


@dataclass(frozen=True, slots=True)
class SkillLevel:
    """A skill and the agent's level in it, 1 (basic) to 10 (expert)."""

    skill: str
    level: int


@dataclass(frozen=True, slots=True)
class AgentIdentity:
    """Who is logged in, and how the PBX knows their phone."""

    id: int
    login: str
    display_name: str
    role: Role
    team: str
    extension: str
    interface: str  # the AMI queue-member interface, e.g. PJSIP/1001
    member_name: str  # the MemberName sent with QueueAdd
    skills: tuple[SkillLevel, ...]
    # May see customer data unmasked in trainer views and replays (each unmask is audited;
    # console.services.training.masking). A frozen field: read-only, as the permission was at login.
    can_unmask: bool = False
    # The phone device where it differs from ``interface`` (a Local/1001@from-queue/n member
    # rings PJSIP/1001); "" when the interface is the phone itself.
    state_interface: str = ""

    @property
    def is_supervisor(self) -> bool:
        return self.role is Role.SUPERVISOR

    @property
    def is_trainer(self) -> bool:
        return self.role is Role.TRAINER

    def skill_level(self, skill: str) -> int:
        """The agent's level in `skill`, 0 when they don't have it."""
        return next((s.level for s in self.skills if s.skill == skill), 0)


_AGENT = select(
    Agent.id,
    Agent.login,
    Agent.display_name,
    Agent.role,
    Agent.team,
    Agent.extension,
    Agent.interface,
    Agent.password_hash,
    Agent.active,
    Agent.can_unmask,
    Agent.state_interface,
)
_SKILLS = select(AgentSkill.skill, AgentSkill.level).order_by(AgentSkill.skill)


@cache
def _dummy_hash() -> str:
    """Checked against when the login is unknown, so a miss costs as much as a wrong password.

    Made on first use, not at import: hashing costs tens of milliseconds.
    """
    return hash_password("not a password")


def _verify(password: str, stored: str | None) -> bool:
    """scrypt check (in a worker thread); with no stored hash, the same work, then False."""
    if stored is None:
        verify_password(password, _dummy_hash())
        return False
    return verify_password(password, stored)


def _identity(row: Sequence[Any], skills: Sequence[Sequence[Any]]) -> AgentIdentity:
    name = stored_text(row[2], 120)
    return AgentIdentity(
        id=row[0],
        login=stored_text(row[1], MAX_LOGIN),
        display_name=name,
        role=Role(row[3]),
        team=stored_text(row[4], 60),
        extension=stored_text(row[5], 20),
        interface=stored_text(row[6], 80),
        member_name=name,
        skills=tuple(SkillLevel(stored_text(s[0], 40), int(s[1])) for s in skills),
        can_unmask=bool(row[9]),
        state_interface=stored_text(row[10], 80),
    )


class AgentDirectory:
    """Authenticates agents and looks them up."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def authenticate(self, login: str, password: str) -> AgentIdentity | None:
        """The agent if `login` and `password` match an active agent, else None.

        None for an unknown login, a wrong password, a deactivated agent or malformed input
        alike: the login screen says the same thing for all of them.
        """
        name = login.strip() if isinstance(login, str) else ""
        secret = password if isinstance(password, str) else ""
        if (
            not name
            or len(name) > MAX_LOGIN
            or clean_text(name, single_line=True) != name  # control codes: no such login
            or len(secret) > MAX_PASSWORD
            # HMAC inside scrypt zero-pads keys, so "pw" and "pw\0" would both match "pw".
            or any(ch < " " for ch in secret)
        ):
            return None
        async with self._db.session() as session:
            row = (await session.execute(_AGENT.where(Agent.login == name))).first()
            skills = (
                []
                if row is None
                else (await session.execute(_SKILLS.where(AgentSkill.agent_id == row[0]))).all()
            )
        stored = row[7] if row is not None and row[7] else None
        matches = await asyncio.to_thread(_verify, secret, stored)
        if row is None or not row[7] or not row[8] or not matches:
            return None
        return _identity(row, skills)

    async def get(self, agent_id: int) -> AgentIdentity | None:
        """The agent (active or not), or None."""
        if isinstance(agent_id, bool) or not isinstance(agent_id, int) or not 0 < agent_id < 2**63:
            return None
        async with self._db.session() as session:
            row = (await session.execute(_AGENT.where(Agent.id == agent_id))).first()
            if row is None:
                return None
            skills = (await session.execute(_SKILLS.where(AgentSkill.agent_id == agent_id))).all()
        return _identity(row, skills)
