"""What the supervisor's campaign screens do: build a segment and see who it selects, then
create a campaign from it (and start it), without writing a campaign file.

`CampaignDesk` is a thin facade over `SegmentService` and `CampaignService`: the same
checks, the same audit rows, the same list building as ``callconsole segment`` and
``callconsole campaign``. A campaign made here takes the defaults a campaign file leaves out
(the purpose's dispositions, attempt rules, the country's calling window, the 3 % cap), a
script text (each purpose has a starting text the supervisor may edit), and optionally the
survey questions of an existing campaign.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from console.db import Database
from console.models import Campaign
from console.models.enums import CampaignPurpose, DialMode
from console.services.audit import AuditLog
from console.services.crm.queues import QueueDirectory
from console.services.errors import ServiceError
from console.services.outbound.campaigns import CampaignError, CampaignFile, CampaignService
from console.services.outbound.scripts import CampaignScript
from console.services.outbound.segments import (
    SavedSegment,
    SegmentCriteria,
    SegmentError,
    SegmentMember,
    SegmentService,
)
from console.services.service import utcnow

#: The script a new campaign starts from, by purpose ({fields}: console.services.outbound.scripts).
STARTING_SCRIPTS: Mapping[CampaignPurpose, str] = {
    CampaignPurpose.SALES: (
        "Hello {first_name}, this is {agent} calling for Acme. As one of our {tier} customers "
        "you can try our new plan at a member price. May I tell you about it?"
    ),
    CampaignPurpose.RETENTION: (
        "Hello {first_name}, this is {agent} from Acme. We have missed you, and I would like "
        "to hear how we can serve you better."
    ),
    CampaignPurpose.SURVEY: (
        "Hello {first_name}, this is {agent} from Acme. Would you answer a few short questions "
        "about our service? It takes two minutes."
    ),
    CampaignPurpose.NOTIFICATION: (
        "Hello {first_name}, this is {agent} from Acme with a short notice about your account."
    ),
}


@dataclass(frozen=True, slots=True)
class SurveySource:
    """An existing campaign whose survey questions a new one can reuse."""

    name: str
    questions: int


@dataclass(frozen=True, slots=True)
class NewCampaign:
    """What the builder asks for; `CampaignDesk.create` checks it as a campaign file would."""

    name: str
    purpose: CampaignPurpose
    mode: DialMode
    queue: str
    criteria: SegmentCriteria
    segment_name: str = ""  # saved under this name (replacing one of that name); "": inline
    caller_id: str = ""
    script_text: str = ""
    survey_from: str = ""  # a campaign whose questions this one asks


class CampaignDesk:
    """The campaign builder's source, acting as ``agent_id`` (the supervisor)."""

    def __init__(
        self,
        db: Database,
        audit: AuditLog | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        agent_id: int | None = None,
    ) -> None:
        self.db = db
        self.agent_id = agent_id
        self.segments = SegmentService(db, audit, clock=clock)
        self.campaigns = CampaignService(db, audit, clock=clock)

    async def saved_segments(self) -> Sequence[SavedSegment]:
        """Every saved segment, by name (a campaign's inline ones too)."""
        return await self.segments.all()

    async def count(self, criteria: SegmentCriteria) -> int:
        return await self.segments.count(criteria)

    async def preview(self, criteria: SegmentCriteria, limit: int = 20) -> list[SegmentMember]:
        return await self.segments.preview(criteria, limit)

    async def queues(self) -> list[str]:
        """The CRM's queues, the campaign queue (``outbound``) first when there is one."""
        names = [q.name for q in await QueueDirectory(self.db).all()]
        return sorted(names, key=lambda n: (n != "outbound", names.index(n)))

    async def survey_sources(self) -> list[SurveySource]:
        """Campaigns with survey questions, by name."""
        async with self.db.session() as conn:
            rows = (
                await conn.execute(select(Campaign.name, Campaign.script).order_by(Campaign.name))
            ).all()
        out = []
        for name, raw in rows:
            script = _script(raw)
            if script is not None and script.questions:
                out.append(SurveySource(name, len(script.questions)))
        return out

    async def create(self, spec: NewCampaign, *, start: bool = False) -> tuple[int, int | None]:
        """Create the campaign (status draft), saving its segment first when named; with
        ``start``, run it at once. Returns (campaign id, list size when started).

        Raises `ServiceError` with one line for the supervisor (nothing is written then,
        except a segment saved before the campaign was refused)."""
        questions: Sequence[Any] = ()
        if spec.survey_from:
            questions = await self._questions_of(spec.survey_from)
        data: dict[str, Any] = {
            "name": spec.name.strip(),
            "purpose": spec.purpose,
            "mode": spec.mode,
            "queue": spec.queue,
            "caller_id": spec.caller_id.strip(),
            "segment": spec.segment_name.strip() or spec.criteria.as_json(),
            "script": {"text": spec.script_text, "questions": [q.model_dump() for q in questions]},
        }
        try:
            checked = CampaignFile.model_validate(data)
        except ValidationError as exc:
            raise CampaignError(_first_error(exc)) from None
        if spec.segment_name.strip().startswith("campaign: "):
            raise CampaignError(
                "segment names starting with 'campaign: ' are campaigns' own; choose another"
            )
        async with self.db.session() as conn:  # refused before the segment is saved
            if await conn.scalar(select(Campaign.id).where(Campaign.name == checked.name)):
                raise CampaignError(f"a campaign named {checked.name!r} exists already")
        if spec.segment_name.strip():
            await self.segments.save(spec.segment_name, spec.criteria, agent_id=self.agent_id)
        campaign_id = await self.campaigns.create(checked, agent_id=self.agent_id)
        leads = None
        if start:
            leads = await self.campaigns.start(checked.name, agent_id=self.agent_id)
        return campaign_id, leads

    async def _questions_of(self, campaign: str) -> Sequence[Any]:
        async with self.db.session() as conn:
            raw = await conn.scalar(select(Campaign.script).where(Campaign.name == campaign))
        script = _script(raw)
        if script is None:
            raise CampaignError(f"no campaign named {campaign!r} with a survey")
        return script.questions


def parse_criteria(data: dict[str, Any]) -> SegmentCriteria:
    """The builder's fields as criteria, or one `SegmentError` line naming the field."""
    return SegmentCriteria.parse(data)


def _script(raw: object) -> CampaignScript | None:
    if not raw:
        return None
    try:
        return CampaignScript.model_validate_json(str(raw))
    except ValidationError:
        return None  # a script stored by an older version: not offered for reuse


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"] if not str(p).startswith("function-"))
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


__all__ = [
    "STARTING_SCRIPTS",
    "CampaignDesk",
    "NewCampaign",
    "SegmentError",
    "ServiceError",
    "SurveySource",
    "parse_criteria",
]
