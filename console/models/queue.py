"""ACD queues as the CRM knows them (the PBX owns live queue state)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from console.models.base import Base


class Queue(Base):
    """A queue: its AMI name, dialled number, required skills and service-level threshold."""

    __tablename__ = "queues"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    number: Mapped[str] = mapped_column(String(32), default="")  # DNIS / extension
    description: Mapped[str] = mapped_column(String(200), default="")
    sl_threshold_seconds: Mapped[int] = mapped_column(Integer, default=20)
    sl_target_percent: Mapped[int] = mapped_column(SmallInteger, default=80)

    skills: Mapped[list[QueueSkill]] = relationship(back_populates="queue", lazy="raise")


class QueueSkill(Base):
    """A skill a queue requires, with the minimum level an agent needs."""

    __tablename__ = "queue_skills"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id", ondelete="CASCADE"))
    skill: Mapped[str] = mapped_column(String(40))
    min_level: Mapped[int] = mapped_column(SmallInteger, default=1)

    queue: Mapped[Queue] = relationship(back_populates="skills", lazy="raise")

    __table_args__ = (UniqueConstraint("queue_id", "skill"),)
