"""Closed vocabularies stored as short strings (portable across SQLite and PostgreSQL)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import Enum as SqlEnum


class CustomerKind(StrEnum):
    PERSON = "person"
    ORGANISATION = "organisation"


class Tier(StrEnum):
    """The customer pyramid, most valuable first."""

    PLATINUM = "platinum"
    GOLD = "gold"
    IRON = "iron"
    LEAD = "lead"


class Lifecycle(StrEnum):
    PROSPECT = "prospect"
    NEW = "new"
    GROWING = "growing"
    MATURE = "mature"
    DECLINING = "declining"
    CHURNED = "churned"


class PhoneKind(StrEnum):
    MOBILE = "mobile"
    LANDLINE = "landline"
    WORK = "work"
    FAX = "fax"


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    TRAINER = "trainer"


class Channel(StrEnum):
    VOICE = "voice"
    EMAIL = "email"
    WEB = "web"
    CHAT = "chat"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class InteractionStatus(StrEnum):
    """Where an interaction is in its life; updated at each step so nothing is lost."""

    RINGING = "ringing"
    ACTIVE = "active"
    HELD = "held"
    WRAPUP = "wrapup"
    COMPLETED = "completed"
    MISSED = "missed"  # offered to this agent, not answered by them
    ABANDONED = "abandoned"


class TicketPriority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class TicketStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_TICKET_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)


class FollowUpKind(StrEnum):
    CALLBACK = "callback"
    ESCALATION = "escalation"
    TASK = "task"


class FollowUpStatus(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"


PENDING_FOLLOWUP_STATUSES = (FollowUpStatus.PENDING, FollowUpStatus.CLAIMED)


class FollowUpOrigin(StrEnum):
    """How a follow-up came to exist."""

    AGENT = "agent"  # scheduled by an agent (wrap-up, customer screen)
    ABANDONED = "abandoned"  # a known customer hung up in the queue
    OVERFLOW = "overflow"  # the queue's max wait sent the caller to a callback
    DISPOSITION = "disposition"  # the wrap-up disposition requires one
    ESCALATION = "escalation"  # created by the SLA engine


class Presence(StrEnum):
    """An agent's console presence, as routing sees it."""

    OFFLINE = "offline"
    READY = "ready"
    NOT_READY = "not_ready"
    BUSY = "busy"  # on a call or in wrap-up


class SessionKind(StrEnum):
    """What a console session was: real work, or a trainee's scripted run."""

    LIVE = "live"
    TRAINING = "training"


class DialMode(StrEnum):
    PREVIEW = "preview"  # the agent sees the record and script, then dials or skips
    PROGRESSIVE = "progressive"  # one dial per free agent
    PREDICTIVE = "predictive"  # dials ahead of the agents, under the abandon cap


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"  # ended by a supervisor; its list is kept
    COMPLETED = "completed"  # nothing left to dial


class LeadStatus(StrEnum):
    """A campaign list entry."""

    PENDING = "pending"  # to be dialled (now or at next_attempt_at)
    DIALING = "dialing"  # a dial is in flight or the call is on
    DONE = "done"  # reached: a right-party contact, or a final outcome
    EXHAUSTED = "exhausted"  # attempts used up
    BLOCKED = "blocked"  # never to be dialled: DNC, no consent, no valid number


def str_enum(enum_cls: type[StrEnum], length: int = 16) -> SqlEnum:
    """A column type storing the enum's value as VARCHAR with a CHECK constraint."""
    values: Any = lambda cls: [member.value for member in cls]  # noqa: E731
    return SqlEnum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=values,
        validate_strings=True,
        name=enum_cls.__name__.lower(),
    )


class ConsentPurpose(StrEnum):
    """What a customer may consent to (docs/outbound.md): one record per grant or withdrawal."""

    MARKETING_CALLS = "marketing_calls"
    RECORDING = "recording"
    SURVEYS = "surveys"


class CampaignPurpose(StrEnum):
    """Why an outbound campaign calls; decides the consent a call needs (docs/outbound.md)."""

    SALES = "sales"
    RETENTION = "retention"
    SURVEY = "survey"
    NOTIFICATION = "notification"


class ComplianceVerdict(StrEnum):
    ALLOWED = "allowed"
    SKIPPED = "skipped"


class SkipReason(StrEnum):
    """Why the compliance gate refused a call, in the order the gate checks them."""

    INVALID_NUMBER = "invalid_number"
    DNC = "dnc"
    NO_CONSENT = "no_consent"
    FINISHED = "finished"  # the record's last outcome ended it (a right-party contact)
    ATTEMPTS_EXHAUSTED = "attempts_exhausted"
    TOO_SOON = "too_soon"
    OUTSIDE_WINDOW = "outside_window"


class AttemptOutcome(StrEnum):
    """How one outbound dial ended, as the attempt rules see it."""

    NO_ANSWER = "no_answer"
    BUSY = "busy"
    MACHINE = "machine"  # answering machine or voicemail
    WRONG_PARTY = "wrong_party"  # answered by someone other than the customer
    FAILED = "failed"  # the network refused it (congestion, unreachable)
    RIGHT_PARTY = "right_party"  # the customer was reached: the record is done
    DNC_REQUEST = "dnc_request"  # the customer asked not to be called again
