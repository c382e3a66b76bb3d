"""SQLAlchemy models: one module per aggregate. Importing this package registers every table."""

from console.models.agent import Agent, AgentSkill
from console.models.audit import AuditLog
from console.models.base import Base, UtcDateTime, utcnow
from console.models.campaign import Campaign, CampaignLead, DialAttempt, Segment, SurveyAnswer
from console.models.coaching import CoachMessage
from console.models.customer import Customer, EmailAddress, PhoneNumber
from console.models.dialer import DialerLease, PreviewHold
from console.models.event import CallEvent
from console.models.followup import FollowUp
from console.models.interaction import Interaction
from console.models.outbound import ComplianceDecision, ConsentRecord, DncEntry
from console.models.quality import QaEvaluation, QaForm
from console.models.queue import Queue, QueueSkill
from console.models.recording import CallRecording, RecordingPause
from console.models.sale import Sale
from console.models.session import AgentAction, ConsoleSession
from console.models.ticket import Ticket, TicketComment
from console.models.training import TrainingRun
from console.models.upkeep import UpkeepTurn

__all__ = [
    "Agent",
    "AgentAction",
    "AgentSkill",
    "AuditLog",
    "Base",
    "CallEvent",
    "CallRecording",
    "Campaign",
    "CampaignLead",
    "CoachMessage",
    "ComplianceDecision",
    "ConsentRecord",
    "ConsoleSession",
    "Customer",
    "DialAttempt",
    "DialerLease",
    "DncEntry",
    "EmailAddress",
    "FollowUp",
    "Interaction",
    "PhoneNumber",
    "PreviewHold",
    "QaEvaluation",
    "QaForm",
    "Queue",
    "QueueSkill",
    "RecordingPause",
    "Sale",
    "Segment",
    "SurveyAnswer",
    "Ticket",
    "TicketComment",
    "TrainingRun",
    "UpkeepTurn",
    "UtcDateTime",
    "utcnow",
]
