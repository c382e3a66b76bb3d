"""The agent screen's wrap-up: notes during the call (F9), the wrap-up at hang-up, the
after-call-work pause around it, a callback's outcome, and a wrap-up offered back after a crash.

A mixin of `AgentScreen`: the rules are the session's (`AgentSession.begin_after_call_work`,
`settle_callback`, `recover`) and the submit is `console.services.desk.wrapup`; this opens the
form and says what happened in one line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from console.screens.wrapup import WrapUpScreen
from console.services.errors import ServiceError

if TYPE_CHECKING:
    from textual.app import App

    from console.cti.protocol import CallEnded
    from console.services.desk.desk import AgentDesk, DeskState
    from console.services.desk.interactions import InteractionRecord
    from console.services.desk.session import AgentSession


class WrapUpKeys:
    """Wrap-up handling for `AgentScreen` (see the module docstring)."""

    runtime: AgentSession
    desk: AgentDesk
    _live_notes: WrapUpScreen | None
    _survey_answers: dict[str, dict[str, str]]  # call Uniqueid -> this call's answers

    if TYPE_CHECKING:
        app: App[Any]

        def notify(self, message: str, **kwargs: Any) -> None: ...
        def show(self, state: DeskState) -> None: ...
        def _record(self, kind: str, **details: Any) -> None: ...
        def refresh_figures(self) -> Any: ...

    async def _wrap_up_screen(
        self, record: InteractionRecord, *, title: str, live: bool = False
    ) -> WrapUpScreen | None:
        """The form for ``record``; a campaign call's offers its campaign's dispositions (None,
        said in one line, when they can't be read now)."""
        runtime, pop = self.runtime, self.desk.state.pop
        campaign = pop.campaign if pop is not None else None
        if campaign is not None and campaign.campaign_id == record.campaign_id:
            rules = campaign.wrap_up_rules()
            if rules is not None:  # checked against them if the wrap-up must be journaled
                runtime.interactions.remember(rules)
        try:
            catalog = await runtime.interactions.catalog_for(record)
        except ServiceError as exc:
            self.notify(f"Wrap-up not opened: {exc}", severity="error", markup=False)
            return None
        profile = pop.profile if pop is not None else None
        return WrapUpScreen(
            runtime.interactions,
            record,
            agent_id=runtime.agent_id,
            ticket_service=runtime.tickets,
            followup_service=runtime.followups,
            opt_outs=runtime.opt_outs,
            router=runtime.router,
            recorder=runtime.recorder,
            tickets=pop.open_tickets if pop else (),
            limit_seconds=runtime.options.wrap_limit_seconds,
            clock=runtime.clock,
            title=title,
            live=live,
            catalog=catalog,
            currency=profile.currency if profile is not None else "",
            survey=self._survey_answers.get(record.uniqueid),
            tz=runtime.tz,
        )

    def _caller_title(self) -> str:
        call, pop = self.desk.state.call, self.desk.state.pop
        if pop is not None and pop.profile is not None:
            return pop.profile.display_name
        return call.caller_id if call is not None else ""

    async def action_notes(self) -> None:
        """F9: write the notes and disposition during the call (saved as drafts as typed)."""
        call = self.desk.state.call
        if call is None or call.interaction_id is None:
            self.notify("Notes are for a call in progress.", timeout=3, markup=False)
            return
        if call.phase == "wrapup":
            return  # the wrap-up is already open
        record = await self.runtime.interactions.get(call.interaction_id)
        if record is None:
            return
        self._live_notes = await self._wrap_up_screen(record, title=self._caller_title(), live=True)
        if self._live_notes is not None:
            self.app.push_screen(self._live_notes, callback=self._wrapped)

    async def _start_wrap_up(self) -> None:
        call = self.desk.state.call
        if call is None or call.interaction_id is None:
            return
        record = await self.runtime.interactions.get(call.interaction_id)
        if record is None:
            return
        # After-call work: no new call rings while the agent writes up this one.
        try:
            await self.runtime.begin_after_call_work()
        except Exception as exc:  # one clear line; the console keeps running
            self.notify(f"could not change state: {exc}", severity="error", markup=False)
        notes = self._live_notes
        if notes is not None and notes in self.app.screen_stack:
            notes.call_ended(record, self._caller_title())  # the notes become the wrap-up
            return
        screen = await self._wrap_up_screen(record, title=self._caller_title())
        if screen is not None:
            self.app.push_screen(screen, callback=self._wrapped)

    async def _callback_outcome(self, action_id: str, ended: CallEnded | None) -> None:
        """A callback this console dialled is over: reschedule, escalate or close it."""
        followup_id = self.runtime.dialling.get(action_id) if action_id else None
        try:
            settled = await self.runtime.settle_callback(action_id, ended)
        except ServiceError as exc:
            self.notify(f"Callback {followup_id}: {exc}", severity="error", markup=False)
            return
        if settled is None:
            return
        outcome = settled.outcome
        self._record("callback_outcome", followup_id=followup_id, outcome=outcome, settled=settled)
        if settled.escalated:
            note = "no attempts left: escalated"
        elif settled.next_attempt is not None:
            note = f"next try {settled.next_attempt.astimezone():%a %H:%M}"
        else:
            note = settled.status
        self.notify(f"Callback {followup_id}: {outcome}; {note}", timeout=6, markup=False)

    async def _wrapped(self, saved: bool | None) -> None:
        self._live_notes = None
        if not saved:
            return
        # A follow-up the wrap-up scheduled is routed now, with the call's disposition known.
        self.app.run_worker(
            self.runtime.router.route_pending(), group="route-pending", exit_on_error=False
        )
        if self.desk.state.phase == "wrapup":
            self.show(self.desk.finish_wrap_up())
        self.refresh_figures()  # one more call handled, its wrap-up in the AHT
        try:
            await self.runtime.end_after_call_work()
        except Exception as exc:  # one clear line; the console keeps running
            self.notify(f"could not change state: {exc}", severity="error", markup=False)

    async def offer_unfinished(self) -> None:
        """After a crash or kill: close calls that ended meanwhile, offer a wrap-up back."""
        record = await self.runtime.recover()
        if record is None or self.desk.state.phase == "wrapup":
            return
        self.notify(
            f"Unfinished wrap-up from {record.offered_at:%H:%M} offered back "
            f"({record.caller_raw or 'unknown caller'}).",
            timeout=8,
            markup=False,
        )
        screen = await self._wrap_up_screen(record, title=f"(restored) {record.caller_raw}")
        if screen is not None:
            self.app.push_screen(screen)
