"""Campaigns: defined in a TOML file, their list built from a segment when they start, run,
paused and stopped by supervisors, every change audited.

A campaign file::

    name = "Gold winback"
    purpose = "sales"              # sales | retention | survey | notification
    mode = "predictive"            # preview | progressive | predictive
    segment = "Gold, quiet"        # a saved segment, or a table of criteria:
    # [segment]
    # tiers = ["gold"]
    # no_contact_days = 90
    queue = "outbound"             # the PBX queue connected calls go to
    caller_id = "+14155550000"
    abandon_cap = 0.03             # at most the FCC's 3 %
    max_lines_per_agent = 3.0

    [[dispositions]]               # default: the purpose's own set (DEFAULT_DISPOSITIONS)
    code = "sale"
    label = "Sale"
    sale = true

    [script]                       # console.services.outbound.scripts
    text = "Hello {first_name}…"

    # and the dialling rules (console.services.outbound.campaign_rules): dnc_lists, [attempts],
    # [window] (the campaign's own hours), [dial] (trunk, ring timeout, dialplan target)

The list: one entry per customer of the segment, with their best number for a call (mobile,
then landline, then work; never a fax), first the most valuable tiers (platinum 1 … lead 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    model_validator,
)
from sqlalchemy import case, func, insert, literal, select, update

from callkit.located_model import LocatedValueError, validate_located
from callkit.located_toml import LocatedReader
from callkit.toml_values import optional
from console.models import Campaign, CampaignLead, DialAttempt, PhoneNumber
from console.models.enums import CampaignPurpose, CampaignStatus, DialMode, LeadStatus, PhoneKind
from console.services import audit as audit_actions
from console.services.errors import ServiceError
from console.services.outbound.campaign_rules import (
    AttemptsTable,
    DialTable,
    dnc_list_names,
    rules_json,
)
from console.services.outbound.pacing import ABANDON_CAP
from console.services.outbound.scripts import CampaignScript
from console.services.outbound.segments import SegmentCriteria, SegmentService, segment_query
from console.services.outbound.windows_file import WindowDays
from console.services.service import DbService


class CampaignError(ServiceError):
    """A campaign request refused; one line for the user."""


class CampaignFileError(ValueError):
    """A campaign file that cannot be used: ``FILE:LINE: key: message``."""


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CampaignDisposition(_Table):
    """How an agent ends a campaign call, and what it means for the results and the list."""

    code: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,40}$")]
    label: Annotated[str, Field(min_length=1, max_length=60)]
    contact: bool = True  # someone answered and spoke with the agent
    right_party: bool = False  # it was the customer the list meant
    sale: bool = False  # a sale: the agent enters the amount
    survey_complete: bool = False
    opt_out: bool = False  # the customer asked never to be called again (DNC, at once)
    retry: bool = False  # call the lead again later (per the attempt rules)


def _d(code: str, label: str, **flags: bool) -> CampaignDisposition:
    return CampaignDisposition(code=code, label=label, **flags)


_COMMON = (
    _d("callback", "Call back later", right_party=True, retry=True),
    _d("wrong_party", "Wrong person", retry=True),
    _d("do_not_call", "Do not call me", right_party=True, opt_out=True),
)
#: Each purpose's dispositions when the file gives none.
DEFAULT_DISPOSITIONS: dict[CampaignPurpose, tuple[CampaignDisposition, ...]] = {
    CampaignPurpose.SALES: (
        _d("sale", "Sale", right_party=True, sale=True),
        _d("not_interested", "Not interested", right_party=True),
        *_COMMON,
    ),
    CampaignPurpose.RETENTION: (
        _d("retained", "Stays with us", right_party=True, sale=True),
        _d("leaving", "Leaving anyway", right_party=True),
        *_COMMON,
    ),
    CampaignPurpose.SURVEY: (
        _d("survey_done", "Survey completed", right_party=True, survey_complete=True),
        _d("refused", "Refused the survey", right_party=True),
        *_COMMON,
    ),
    CampaignPurpose.NOTIFICATION: (
        _d("informed", "Informed", right_party=True),
        *_COMMON,
    ),
}


class CampaignFile(_Table):
    """A campaign file's content, checked."""

    name: Annotated[str, Field(min_length=1, max_length=120)]
    purpose: CampaignPurpose
    mode: DialMode
    segment: str | dict[str, Any]
    queue: Annotated[str, Field(min_length=1, max_length=80)]
    caller_id: Annotated[str, Field(max_length=80)] = ""
    abandon_cap: Annotated[float, Field(gt=0, le=ABANDON_CAP)] = ABANDON_CAP
    max_lines_per_agent: Annotated[float, Field(ge=1.0, le=4.0)] = 3.0
    dispositions: tuple[CampaignDisposition, ...] = ()
    script: CampaignScript = CampaignScript()
    dnc_lists: Annotated[tuple[str, ...] | None, PlainValidator(optional(dnc_list_names))] = None
    attempts: AttemptsTable = AttemptsTable()
    window: WindowDays | None = None
    dial: DialTable = DialTable()

    @model_validator(mode="after")
    def _checked(self) -> CampaignFile:
        codes = [d.code for d in self.dispositions]
        for i, code in enumerate(codes):
            if code in codes[:i]:
                raise LocatedValueError(f"code {code!r} is used twice", ("dispositions", i, "code"))
        if isinstance(self.segment, dict):
            try:
                SegmentCriteria.model_validate(self.segment)
            except ValidationError as exc:
                first = exc.errors()[0]
                at = tuple(p for p in first["loc"] if isinstance(p, str | int))
                raise LocatedValueError(str(first["msg"]), ("segment", *at)) from None
        return self

    def all_dispositions(self) -> tuple[CampaignDisposition, ...]:
        return self.dispositions or DEFAULT_DISPOSITIONS[self.purpose]


def load_campaign_file(source: str, body: str) -> CampaignFile:
    """The campaign in TOML text ``body``; errors are `CampaignFileError` with file:line."""
    reader = LocatedReader(source, body, CampaignFileError)
    return validate_located(CampaignFile, reader.load(), reader)


@dataclass(frozen=True, slots=True)
class CampaignSummary:
    id: int
    name: str
    purpose: str
    mode: str
    status: str
    queue: str
    leads: int
    pending: int
    dials: int


@dataclass(frozen=True, slots=True)
class CampaignReport:
    """A campaign's list and dials so far."""

    name: str
    status: str
    leads_by_status: dict[str, int]
    dials: int
    dials_by_outcome: dict[str, int]


_PHONE_RANK = case(
    {PhoneKind.MOBILE.value: 1, PhoneKind.LANDLINE.value: 2, PhoneKind.WORK.value: 3},
    value=PhoneNumber.kind,
    else_=9,
)
_STARTABLE = (CampaignStatus.DRAFT, CampaignStatus.PAUSED, CampaignStatus.STOPPED)


class CampaignService(DbService):
    """Create, list, start, pause, stop and report campaigns."""

    async def create(self, spec: CampaignFile, *, agent_id: int | None) -> int:
        """Store a new campaign (status draft); its segment is saved by name, or as
        ``campaign: <name>`` when given inline."""
        segments = SegmentService(self._db, self._audit, clock=self._clock)
        async with self._db.session() as conn:  # before any segment is saved under its name
            if await conn.scalar(select(Campaign.id).where(Campaign.name == spec.name)):
                raise CampaignError(f"a campaign named {spec.name!r} exists already")
        if isinstance(spec.segment, str):
            segment_id = (await segments.get(spec.segment)).id
        else:
            criteria = SegmentCriteria.model_validate(spec.segment)
            segment_id = await segments.save(f"campaign: {spec.name}", criteria, agent_id=agent_id)
        rules = {
            "dispositions": [d.model_dump() for d in spec.all_dispositions()],
            **rules_json(spec.attempts, spec.window, spec.dnc_lists, spec.dial),
        }
        async with self._db.write_connection() as conn:
            if await conn.scalar(select(Campaign.id).where(Campaign.name == spec.name)):
                raise CampaignError(f"a campaign named {spec.name!r} exists already")
            campaign_id = await conn.scalar(
                insert(Campaign)
                .values(
                    name=spec.name,
                    purpose=spec.purpose,
                    mode=spec.mode,
                    status=CampaignStatus.DRAFT,
                    segment_id=segment_id,
                    queue=spec.queue,
                    caller_id=spec.caller_id,
                    rules=rules,
                    script=spec.script.model_dump_json(),
                    abandon_cap=spec.abandon_cap,
                    max_lines_per_agent=spec.max_lines_per_agent,
                    created_by=agent_id,
                    created_at=self._clock(),
                )
                .returning(Campaign.id)
            )
            await self._audit.add(
                conn, agent_id, audit_actions.CREATE, "campaign", campaign_id,
                {"name": spec.name, "purpose": spec.purpose, "mode": spec.mode},
            )  # fmt: skip
        return int(campaign_id or 0)

    async def _find(self, conn: Any, name: str) -> Any:
        row = (
            await conn.execute(
                select(Campaign.id, Campaign.status, Campaign.segment_id).where(
                    Campaign.name == name.strip()
                )
            )
        ).first()
        if row is None:
            raise CampaignError(f"no campaign named {name.strip()!r}")
        return row

    async def start(self, name: str, *, agent_id: int | None) -> int:
        """Run the campaign; the first start builds its list. Returns the list's size."""
        now = self._clock()
        async with self._db.write_connection() as conn:
            row = await self._find(conn, name)
            status = CampaignStatus(row.status)
            if status is CampaignStatus.RUNNING:
                raise CampaignError(f"{name.strip()!r} is running already")
            if status not in _STARTABLE:
                raise CampaignError(f"{name.strip()!r} is {status.value}: nothing left to dial")
            leads = await conn.scalar(
                select(func.count()).where(CampaignLead.campaign_id == row.id)
            )
            if not leads:
                if row.segment_id is None:
                    raise CampaignError(f"{name.strip()!r} has no segment to build its list from")
                leads = await self._build_list(conn, row.id, row.segment_id, now)
            await conn.execute(
                update(Campaign)
                .where(Campaign.id == row.id)
                .values(status=CampaignStatus.RUNNING, started_at=now, ended_at=None)
            )
            await self._audit.add(
                conn, agent_id, audit_actions.STATUS, "campaign", row.id,
                {"status": "running", "from": status.value, "leads": int(leads or 0)},
            )  # fmt: skip
        return int(leads or 0)

    async def _build_list(self, conn: Any, campaign_id: int, segment_id: int, now: datetime) -> int:
        from console.models import Customer, Segment

        raw = await conn.scalar(select(Segment.criteria).where(Segment.id == segment_id))
        criteria = SegmentCriteria.model_validate(dict(raw or {}))
        members = segment_query(criteria, now).order_by(None).subquery()
        best_phone = (
            select(PhoneNumber.e164)
            .where(PhoneNumber.customer_id == Customer.id, PhoneNumber.kind != PhoneKind.FAX)
            .order_by(_PHONE_RANK, PhoneNumber.id)
            .limit(1)
            .correlate(Customer)
            .scalar_subquery()
        )
        tier = case({"platinum": 1, "gold": 2, "iron": 3}, value=Customer.tier, else_=4)
        source = (
            select(
                literal(campaign_id),
                Customer.id,
                best_phone,
                tier,
                literal(LeadStatus.PENDING.value),
                literal(0),
                literal(""),
                literal(now, type_=CampaignLead.updated_at.type),
            )
            .join(members, members.c.id == Customer.id)
            .where(best_phone.is_not(None))
        )
        result = await conn.execute(
            insert(CampaignLead).from_select(
                [
                    "campaign_id",
                    "customer_id",
                    "e164",
                    "priority",
                    "status",
                    "attempts",
                    "last_outcome",
                    "updated_at",
                ],
                source,
            )
        )
        return int(result.rowcount or 0)

    async def _set_status(
        self,
        name: str,
        to: CampaignStatus,
        allowed: tuple[CampaignStatus, ...],
        agent_id: int | None,
    ) -> None:
        async with self._db.write_connection() as conn:
            row = await self._find(conn, name)
            status = CampaignStatus(row.status)
            if status not in allowed:
                raise CampaignError(
                    f"{name.strip()!r} is {status.value}, so it cannot be {to.value}"
                )
            values: dict[str, Any] = {"status": to}
            if to is CampaignStatus.STOPPED:
                values["ended_at"] = self._clock()
            await conn.execute(update(Campaign).where(Campaign.id == row.id).values(**values))
            await self._audit.add(
                conn, agent_id, audit_actions.STATUS, "campaign", row.id,
                {"status": to.value, "from": status.value},
            )  # fmt: skip

    async def pause(self, name: str, *, agent_id: int | None) -> None:
        await self._set_status(name, CampaignStatus.PAUSED, (CampaignStatus.RUNNING,), agent_id)

    async def stop(self, name: str, *, agent_id: int | None) -> None:
        await self._set_status(
            name,
            CampaignStatus.STOPPED,
            (CampaignStatus.RUNNING, CampaignStatus.PAUSED, CampaignStatus.DRAFT),
            agent_id,
        )

    async def summaries(self) -> list[CampaignSummary]:
        leads = (
            select(
                CampaignLead.campaign_id.label("cid"),
                func.count().label("leads"),
                func.sum(case((CampaignLead.status == LeadStatus.PENDING, 1), else_=0)).label(
                    "pending"
                ),
            )
            .group_by(CampaignLead.campaign_id)
            .subquery()
        )
        dials = (
            select(DialAttempt.campaign_id.label("cid"), func.count().label("dials"))
            .group_by(DialAttempt.campaign_id)
            .subquery()
        )
        query = (
            select(
                Campaign.id,
                Campaign.name,
                Campaign.purpose,
                Campaign.mode,
                Campaign.status,
                Campaign.queue,
                func.coalesce(leads.c.leads, 0),
                func.coalesce(leads.c.pending, 0),
                func.coalesce(dials.c.dials, 0),
            )
            .outerjoin(leads, leads.c.cid == Campaign.id)
            .outerjoin(dials, dials.c.cid == Campaign.id)
            .order_by(Campaign.name)
        )
        async with self._db.session() as conn:
            rows = (await conn.execute(query)).all()
        return [
            CampaignSummary(r[0], r[1], str(r[2]), str(r[3]), str(r[4]), r[5], r[6], r[7], r[8])
            for r in rows
        ]

    async def report(self, name: str) -> CampaignReport:
        async with self._db.session() as conn:
            row = await self._find(conn, name)
            by_status = dict(
                (
                    await conn.execute(
                        select(CampaignLead.status, func.count())
                        .where(CampaignLead.campaign_id == row.id)
                        .group_by(CampaignLead.status)
                    )
                ).all()
            )
            by_outcome = dict(
                (
                    await conn.execute(
                        select(DialAttempt.outcome, func.count())
                        .where(DialAttempt.campaign_id == row.id)
                        .group_by(DialAttempt.outcome)
                    )
                ).all()
            )
        return CampaignReport(
            name=name.strip(),
            status=str(row.status),
            leads_by_status={str(k): int(v) for k, v in by_status.items()},
            dials=sum(int(v) for v in by_outcome.values()),
            dials_by_outcome={str(k) or "in flight": int(v) for k, v in by_outcome.items()},
        )
