"""The agent screen's survey key (v): a campaign call's survey questions, asked one at a time
(`console.screens.survey`), the answers saved to the campaign's results.

A mixin of `AgentScreen`. Answers are kept per call while it lasts, so closing the survey and
opening it again goes on where it stopped; saving is `SurveyService.record`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work

from console.screens.survey import SurveyResult, SurveyScreen
from console.services.errors import ServiceError
from console.services.outbound.surveys import SurveyService
from console.widgets.format import money

if TYPE_CHECKING:
    from console.services.desk.desk import AgentDesk
    from console.services.desk.session import AgentSession


class SurveyKeys:
    """Survey handling for `AgentScreen` (see the module docstring)."""

    runtime: AgentSession
    desk: AgentDesk
    _survey_answers: dict[str, dict[str, str]]  # call Uniqueid -> answers so far

    if TYPE_CHECKING:
        app: Any

        def notify(self, message: str, **kwargs: Any) -> None: ...

    def action_survey(self) -> None:
        state = self.desk.state
        pop, call = state.pop, state.call
        campaign = pop.campaign if pop is not None else None
        if call is None or campaign is None or not campaign.script.questions:
            self.notify("No survey on this call", markup=False)
            return
        profile = pop.profile if pop is not None else None
        agent = self.runtime.agent
        fields = campaign.fields(
            name=profile.display_name if profile else "",
            kind=profile.kind if profile else "person",
            tier=profile.tier if profile else "",
            language=profile.language if profile else "",
            lifetime_value=money(profile.lifetime_value_cents, profile.currency) if profile else "",
            agent=agent.display_name if agent else "",
        )
        uniqueid = call.uniqueid
        answers = self._survey_answers.get(uniqueid, {})

        def done(result: SurveyResult | None) -> None:
            if result is None:
                return
            self._survey_answers = {uniqueid: dict(result.answers)}  # this call's only
            if result.answers and profile is not None:
                self._save_survey(
                    campaign.campaign_id, profile.id, dict(result.answers), call.interaction_id
                )

        screen = SurveyScreen(campaign.script, fields, answers, title=f"Survey · {campaign.name}")
        self.app.push_screen(screen, done)

    @work(group="survey", exit_on_error=False)
    async def _save_survey(
        self, campaign_id: int, customer_id: int, answers: dict[str, str], interaction: int | None
    ) -> None:
        service = SurveyService(self.runtime.db, clock=self.runtime.clock)
        try:
            saved = await service.record(
                campaign_id,
                customer_id,
                answers,
                interaction_id=interaction,
                agent_id=self.runtime.agent_id,
            )
        except ServiceError as exc:
            self.notify(f"Survey not saved: {exc}", severity="error", markup=False)
            return
        except Exception as exc:  # the database is away: the answers stay on this call
            self.notify(f"Survey not saved yet (v to try again): {exc}", severity="warning",
                        markup=False)  # fmt: skip
            return
        self.notify(f"Survey: {saved} answers saved", markup=False)
