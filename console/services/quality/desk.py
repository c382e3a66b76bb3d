"""What the QA screens use: one object per viewer over the QA services (docs/quality.md).

Screens hold a `QaDesk` and call it; it builds the services on the console's database and
clock, knows the viewer (what they may see and do is checked again by the services), and
returns only masked views of customer data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from functools import partial
from pathlib import Path

from console.db import Database
from console.services.crm.agents import AgentIdentity
from console.services.quality.calibration import Calibration, calibrate, calibration_form_id
from console.services.quality.callview import CallView, CallViews
from console.services.quality.evaluations import QaService
from console.services.quality.forms import Form, FormLibrary
from console.services.quality.records import EvaluationRecord, QaError, is_evaluator
from console.services.quality.reports import QaReport, QaReportBy, QaReports
from console.services.quality.sampling import CallCandidate, CallFilter, CallSampler
from console.services.service import utcnow
from console.services.training.masking import Masker, MaskingService
from console.services.training.replay import Replay
from console.services.training.replay_sources import ReplaySources


@dataclass
class QaDesk:
    """The QA services for one viewer."""

    db: Database
    viewer: AgentIdentity
    clock: Callable[[], datetime] = field(default=utcnow)
    region: str = "US"
    forms_dir: Path | None = None  # the evaluator's own forms (besides the shipped ones)
    tz: tzinfo = UTC

    @property
    def is_evaluator(self) -> bool:
        return is_evaluator(self.viewer)

    @property
    def _qa(self) -> QaService:
        return QaService(self.db, clock=self.clock)

    # forms ----------------------------------------------------------------------------
    def library(self) -> FormLibrary:
        return FormLibrary(self.forms_dir)

    async def form_of(self, record: EvaluationRecord) -> Form:
        return await self._qa.form(record.form_id)

    # evaluators -------------------------------------------------------------------------
    async def calls(self, wanted: CallFilter) -> list[CallCandidate]:
        return await CallSampler(self.db, clock=self.clock).calls(wanted)

    async def worklist(self) -> list[EvaluationRecord]:
        return await self._qa.worklist(self.viewer.id)

    async def recent(self) -> list[EvaluationRecord]:
        return await self._qa.recent()

    async def start(
        self, interaction_id: int, form: Form, *, calibration: bool = False
    ) -> EvaluationRecord:
        return await self._qa.start(interaction_id, form, self.viewer, calibration=calibration)

    async def save(
        self,
        evaluation_id: int,
        answers: Mapping[str, object],
        *,
        comments: Mapping[str, str] | None = None,
        comment: str | None = None,
    ) -> EvaluationRecord:
        return await self._qa.save(
            evaluation_id, self.viewer, answers, comments=comments, comment=comment
        )

    async def submit(self, evaluation_id: int) -> EvaluationRecord:
        return await self._qa.submit(evaluation_id, self.viewer)

    async def review(self, evaluation_id: int, reply: str) -> EvaluationRecord:
        return await self._qa.review(evaluation_id, self.viewer, reply)

    async def calibration(self, interaction_id: int) -> Calibration:
        evaluations = await self._qa.for_call(interaction_id)
        form_id = calibration_form_id(evaluations)
        if form_id is None:
            raise QaError(f"call {interaction_id} has no submitted evaluation yet")
        return calibrate(await self._qa.form(form_id), evaluations)

    async def report(self, by: QaReportBy, start: datetime, end: datetime) -> QaReport:
        return await QaReports(self.db, clock=self.clock).report(by, start, end, self.tz)

    # agents -----------------------------------------------------------------------------
    async def mine(self) -> list[EvaluationRecord]:
        return await self._qa.for_agent(self.viewer.id)

    async def evaluation(self, evaluation_id: int) -> EvaluationRecord:
        return await self._qa.get(evaluation_id, self.viewer)

    async def acknowledge(self, evaluation_id: int) -> EvaluationRecord:
        return await self._qa.acknowledge(evaluation_id, self.viewer)

    async def dispute(self, evaluation_id: int, comment: str) -> EvaluationRecord:
        return await self._qa.dispute(evaluation_id, self.viewer, comment)

    # the call ----------------------------------------------------------------------------
    async def call_view(self, interaction_id: int) -> CallView:
        return await CallViews(self.db, region=self.region).view(interaction_id)

    async def replay(
        self, linkedid: str, *, interaction_id: int | None = None, unmask_reason: str = ""
    ) -> Replay:
        """The call's recording, masked, ready for the replay view. With ``unmask_reason``,
        unmasked as a trainer's replay is: only for a viewer with the unmask permission, and
        audited with the reason (MaskingError otherwise, nothing shown)."""
        if not linkedid:
            raise QaError("this call has no recording")
        records = await ReplaySources(self.db).call(linkedid)
        if not records:
            raise QaError("nothing was recorded for this call")
        masker: Masker | None = Masker(self.region)
        if unmask_reason:
            viewer = MaskingService(self.db, self.viewer, clock=self.clock, region=self.region)
            await viewer.allow_raw("interaction", interaction_id, unmask_reason)
            masker = None
        build = partial(Replay, records, masker=masker)
        return await asyncio.to_thread(build)
