"""Masking customer data for trainer views and replays, and the audited way to unmask it.

Masking happens here, in the services layer, so a trainer screen never holds the raw values: it
is given masked copies of the services' frozen dataclasses (`Masker.apply`, `mask_pop`). Only
`MaskingService.unmask` returns raw data, and only to a viewer with the unmask permission, after
it has written an audit entry (who, what, why, when).

How each phone, email, name and free text is masked is `mask_formats`; here, which fields of
which dataclass are masked, and how. Employees' names (agent, assignee, account owner) and
queue names stay: a trainer scores them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, is_dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import select

from console.cti.protocol import CallOffered, TranscriptLine
from console.db import Database
from console.models import Agent
from console.services.audit import AuditLog
from console.services.crm.agents import AgentIdentity
from console.services.crm.customer_search import CustomerHit
from console.services.crm.customers import TimelineEntry, TimelinePage
from console.services.crm.phones import PhoneNumberResult
from console.services.crm.tickets import TicketCommentRecord, TicketDetail, TicketRecord
from console.services.desk.interactions import InteractionRecord
from console.services.desk.screenpop import (
    ContactPoint,
    CustomerMatch,
    CustomerProfile,
    FollowUpSummary,
    InteractionSummary,
    ScreenPop,
    TicketSummary,
)
from console.services.errors import ServiceError, one_line
from console.services.training.mask_formats import (
    Redactor,
    mask_email,
    mask_name,
    mask_phone,
    mask_text,
)

T = TypeVar("T")

UNMASK = "unmask"  # audit_log.action of an unmask
MAX_REASON = 200
REMEMBERED_VIEWS = 256  # masked copies a MaskingService can map back to raw data on unmask
NOT_ALLOWED = (
    "you are not allowed to unmask customer data; a supervisor can grant the unmask permission"
)


class MaskingError(ServiceError):
    """An unmask was refused, or a value cannot be masked."""


# --- masking the services' dataclasses ----------------------------------------------------

# How each field that can carry personal data is masked. NESTED fields hold dataclasses (or
# tuples of them) masked by their own rules; every other `str` field of a listed class is in
# _KEPT (not personal), which tests/unit/test_masking.py checks against the classes' fields.
NAME, PHONE, EMAIL, CONTACT, TEXT, NESTED = "name", "phone", "email", "contact", "text", "nested"
_RULES: dict[type, Mapping[str, str]] = {
    ScreenPop: {
        "caller": NESTED,
        "matches": NESTED,
        "profile": NESTED,
        "history": NESTED,
        "open_tickets": NESTED,
        "followups": NESTED,
    },
    PhoneNumberResult: {"raw": PHONE, "e164": PHONE, "national": PHONE, "international": PHONE},
    CustomerMatch: {"display_name": NAME, "organisation_name": NAME, "phone_label": TEXT},
    CustomerProfile: {
        "display_name": NAME,
        "organisation_name": NAME,
        "tags": TEXT,
        "notes": TEXT,
        "contact_points": NESTED,
    },
    ContactPoint: {"value": CONTACT, "label": TEXT},
    InteractionSummary: {"note_excerpt": TEXT, "disposition": TEXT},
    TicketSummary: {"subject": TEXT, "category": TEXT},
    FollowUpSummary: {"summary": TEXT},
    InteractionRecord: {
        "caller_raw": PHONE,
        "caller_e164": PHONE,
        "caller_name": NAME,
        "disposition": TEXT,
        "category": TEXT,
        "notes": TEXT,
        "transferred_to": TEXT,
    },
    TimelinePage: {"entries": NESTED},
    TimelineEntry: {
        "caller": PHONE,
        "disposition": TEXT,
        "category": TEXT,
        "notes": TEXT,
        "transferred_to": TEXT,
    },
    CustomerHit: {
        "display_name": NAME,
        "organisation_name": NAME,
        "matched_value": TEXT,
        "phone": PHONE,
        "email": EMAIL,
    },
    TicketDetail: {"ticket": NESTED, "comments": NESTED},
    TicketRecord: {"customer_name": NAME, "subject": TEXT, "category": TEXT},
    TicketCommentRecord: {"body": TEXT},
    CallOffered: {"caller_id": PHONE, "caller_name": NAME, "channel": TEXT},
    TranscriptLine: {"text": TEXT},
}
# String fields left as they are: codes, statuses, CTI ids, employees' and queues' names.
_KEPT: dict[type, frozenset[str]] = {
    cls: frozenset(names.split())
    for cls, names in (
        (ScreenPop, "unavailable"),  # the driver's reason the CRM could not be read
        (PhoneNumberResult, "region line_type reason"),
        (CustomerMatch, "kind tier lifecycle phone_kind"),
        (CustomerProfile, "kind language tier lifecycle currency account_owner"),
        (ContactPoint, "kind subtype"),
        (InteractionSummary, "channel direction status agent_name queue_name"),
        (TicketSummary, "priority status assignee"),
        (FollowUpSummary, "kind status claimed_by"),
        (InteractionRecord, "queue_name uniqueid linkedid end_reason"),
        (TimelineEntry, "channel direction status agent_name queue_name"),
        (CustomerHit, "kind tier lifecycle"),
        (TicketRecord, "assignee_name assignee_team"),
        (TicketCommentRecord, "author_name"),
        (
            CallOffered,
            "uniqueid linkedid queue interface member_name agent_channel direction action_id"
            " script training_run campaign lead",
        ),
        (TranscriptLine, "uniqueid linkedid speaker script"),
    )
}
MASKABLE: tuple[type, ...] = tuple(_RULES)


def masking_rules(cls: type) -> tuple[Mapping[str, str], frozenset[str]]:
    """The masked and the kept `str` fields of a maskable class (for tests and docs)."""
    return _RULES[cls], _KEPT.get(cls, frozenset())


def _rules_for(subject: object) -> Mapping[str, str]:
    rules = _RULES.get(type(subject))
    if rules is None:
        raise MaskingError(f"cannot mask a {type(subject).__name__}: no masking rules for it")
    return rules


def known_values(subject: object) -> tuple[str, ...]:
    """Every name, number and email held in `subject`'s fields (nested ones too): the values to
    hunt for in its free text. Employees' names are not among them."""
    found: dict[str, None] = {}

    def walk(item: object) -> None:
        if isinstance(item, tuple):
            for element in item:
                walk(element)
            return
        if item is None or not is_dataclass(item):
            return
        for name, how in _rules_for(item).items():
            value = getattr(item, name)
            if how == NESTED:
                walk(value)
            elif how in (NAME, PHONE, EMAIL, CONTACT) and isinstance(value, str) and value:
                found[value] = None

    walk(subject)
    return tuple(found)


def _mask_value(how: str, value: Any, item: object, redactor: Redactor) -> Any:
    if value is None:
        return value
    if isinstance(value, tuple):
        return tuple(_mask_value(how, v, item, redactor) for v in value)
    if how == NAME:
        return mask_name(value)
    if how == PHONE:
        return mask_phone(value, redactor.region) if value else value
    if how == EMAIL:
        return mask_email(value)
    if how == CONTACT:
        is_email = getattr(item, "kind", "") == "email"
        return mask_email(value) if is_email else mask_phone(value, redactor.region)
    return redactor.text(value)


def _masked(item: T, redactor: Redactor) -> T:
    if isinstance(item, tuple):
        return tuple(_masked(element, redactor) for element in item)  # type: ignore[return-value]
    if item is None:
        return item
    changes: dict[str, Any] = {}
    for name, how in _rules_for(item).items():
        value = getattr(item, name)
        if how == NESTED:
            changes[name] = _masked(value, redactor)
        else:
            changes[name] = _mask_value(how, value, item, redactor)
    return replace(item, **changes)  # type: ignore[type-var]


@dataclass(frozen=True, slots=True)
class Masker:
    """The masking policy: how values are masked (see the module doc) and for whom.

    `apply` masks a copy of any of the services' dataclasses listed in `MASKABLE`; a class
    with no rules raises MaskingError rather than pass through unmasked.
    """

    region: str = "US"  # the region national-format numbers in free text are read in

    @staticmethod
    def masks_for(viewer: AgentIdentity, *, unmask_requested: bool = False) -> bool:
        """Whether `viewer` sees masked data: yes, unless they may unmask and asked to."""
        return not (viewer.can_unmask and unmask_requested)

    def apply(self, subject: T) -> T:
        """A masked copy of `subject`, its free text masked with the values it holds."""
        if isinstance(subject, str):
            return self.text(subject)  # type: ignore[return-value]
        return _masked(subject, Redactor(known_values(subject), self.region))

    def text(self, note: object, known: Iterable[str] = ()) -> str:
        """`mask_text` in this policy's region."""
        return mask_text(note, known, self.region)


def mask_pop(pop: ScreenPop, region: str = "US") -> ScreenPop:
    """A copy of the screen pop with every name, number, email and free text masked."""
    return Masker(region).apply(pop)


# --- the service ----------------------------------------------------------------------------


def _audited_entity(subject: object) -> tuple[str, int | None, dict[str, Any]]:
    """What an unmask is about, for its audit entry (entity type, id, extra details)."""
    if isinstance(subject, ScreenPop):
        ids = [m.customer_id for m in subject.matches]
        if subject.profile is not None:
            return "customer", subject.profile.id, {"matched_customers": ids}
        return "caller", None, {"matched_customers": ids}
    for cls, entity, attribute in (
        (CustomerProfile, "customer", "id"),
        (CustomerMatch, "customer", "customer_id"),
        (CustomerHit, "customer", "customer_id"),
        (InteractionSummary, "interaction", "id"),
        (InteractionRecord, "interaction", "id"),
        (TimelineEntry, "interaction", "id"),
        (TicketSummary, "ticket", "id"),
        (TicketRecord, "ticket", "id"),
        (TicketCommentRecord, "ticket", "ticket_id"),
        (FollowUpSummary, "followup", "id"),
    ):
        if isinstance(subject, cls):
            return entity, getattr(subject, attribute), {}
    if isinstance(subject, TicketDetail):
        return "ticket", subject.ticket.id, {}
    if isinstance(subject, CallOffered | TranscriptLine):
        return "call", None, {"uniqueid": subject.uniqueid}
    if isinstance(subject, TimelinePage):
        ids = [e.id for e in subject.entries]
        return "interaction", ids[0] if len(ids) == 1 else None, {"interactions": ids}
    if isinstance(subject, PhoneNumberResult | ContactPoint):
        return "caller", None, {}
    if isinstance(subject, str):
        return "text", None, {}
    raise MaskingError(f"cannot unmask a {type(subject).__name__}: no masking rules for it")


class MaskingService:
    """What a trainer view or replay shows one viewer: masked data, or raw data after an
    audited unmask by a viewer with the permission.

    A screen keeps only what `view` gave it and passes that back to `unmask`: the service
    remembers the raw data behind its last views, so the raw data never needs to reach a
    screen before it is unmasked.
    """

    def __init__(
        self,
        db: Database,
        viewer: AgentIdentity,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        region: str = "US",
    ) -> None:
        self._db = db
        self._viewer = viewer
        self._audit = AuditLog(db, clock=clock)
        self._masker = Masker(region)
        # id(masked copy) → (masked copy, raw): the copy is kept, so its id is not reused.
        self._raw_behind: OrderedDict[int, tuple[object, object]] = OrderedDict()

    @property
    def viewer(self) -> AgentIdentity:
        return self._viewer

    @property
    def may_unmask(self) -> bool:
        """Whether the viewer had the unmask permission at login (screens show the button)."""
        return self._viewer.can_unmask

    def view(self, subject: T) -> T:
        """A masked copy of `subject`, whoever the viewer. Raw data only comes from `unmask`."""
        shown = self._masker.apply(subject)
        self._raw_behind[id(shown)] = (shown, subject)
        self._raw_behind.move_to_end(id(shown))
        while len(self._raw_behind) > REMEMBERED_VIEWS:
            self._raw_behind.popitem(last=False)
        return shown

    async def unmask(self, subject: T, reason: str) -> T:
        """The raw data, after writing the audit entry (who, what, why, when).

        `subject` is a masked copy `view` returned (one of its last REMEMBERED_VIEWS), or raw
        data the caller holds (a service), returned as it is.

        Refused with MaskingError, writing nothing and returning nothing, when the viewer has
        no unmask permission (checked at login and again in the database, so a permission
        withdrawn since counts), the agent is deactivated, or `reason` is empty.
        """
        kept = self._raw_behind.get(id(subject))
        raw: T = kept[1] if kept is not None and kept[0] is subject else subject  # type: ignore[assignment]
        entity_type, entity_id, details = _audited_entity(raw)
        await self._audited(
            entity_type, entity_id, reason, {"subject": type(raw).__name__, **details}
        )
        return raw

    async def allow_raw(self, entity_type: str, entity_id: int | None, reason: str) -> None:
        """Let the viewer see a whole recording unmasked (a replay of a run or a call):
        refused and audited exactly as `unmask`; the caller then builds its view unmasked."""
        await self._audited(entity_type, entity_id, reason, {"subject": "recording"})

    async def _audited(
        self, entity_type: str, entity_id: int | None, reason: str, details: dict[str, Any]
    ) -> None:
        if Masker.masks_for(self._viewer, unmask_requested=True):
            raise MaskingError(NOT_ALLOWED)
        why = one_line(
            reason,
            field="the reason to unmask",
            max_length=MAX_REASON,
            required=True,
            error=MaskingError,
        )
        details = {"reason": why, "role": self._viewer.role.value, **details}
        async with self._db.write_connection() as conn:
            allowed = (
                await conn.execute(
                    select(Agent.can_unmask, Agent.active).where(Agent.id == self._viewer.id)
                )
            ).first()
            if allowed is None or not allowed[0] or not allowed[1]:
                raise MaskingError(NOT_ALLOWED)
            await self._audit.add(conn, self._viewer.id, UNMASK, entity_type, entity_id, details)
