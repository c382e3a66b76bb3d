"""Agents (people who log into the console) and their skills."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from console.models.base import Base, utcnow
from console.models.enums import Presence, Role, str_enum


class Agent(Base):
    """A console user: agent, supervisor or trainer."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(str_enum(Role), default=Role.AGENT)
    team: Mapped[str] = mapped_column(String(60), default="")
    extension: Mapped[str] = mapped_column(String(20), default="")
    # The AMI queue-member interface of the agent's phone, e.g. PJSIP/1001.
    interface: Mapped[str] = mapped_column(String(80), default="")
    # The phone device where it differs from the member interface: a FreePBX member
    # Local/1001@from-queue/n rings PJSIP/1001. "" when the interface is the phone itself.
    state_interface: Mapped[str] = mapped_column(String(80), default="", server_default="")
    # "scrypt$n$r$p$salt_hex$hash_hex" (console.services.crm.passwords).
    password_hash: Mapped[str] = mapped_column(String(256), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Trainer views and replays mask customer data; an agent with this may unmask (audited).
    can_unmask: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # What routing knows of the agent's console: presence, and the console's last heartbeat
    # (a console that stops beating is gone: its presence no longer counts, its leases lapse).
    presence: Mapped[Presence] = mapped_column(
        str_enum(Presence), default=Presence.OFFLINE, server_default="offline"
    )
    presence_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    last_routed_at: Mapped[datetime | None]  # round-robin: who was given work longest ago

    skills: Mapped[list[AgentSkill]] = relationship(back_populates="agent", lazy="raise")


class AgentSkill(Base):
    """A skill an agent has, with a level from 1 (basic) to 10 (expert)."""

    __tablename__ = "agent_skills"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    skill: Mapped[str] = mapped_column(String(40), index=True)
    level: Mapped[int] = mapped_column(SmallInteger, default=1)

    agent: Mapped[Agent] = relationship(back_populates="skills", lazy="raise")

    __table_args__ = (UniqueConstraint("agent_id", "skill"),)
