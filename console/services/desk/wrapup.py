"""Submitting a wrap-up: the ticket, the follow-ups and the interaction row, each made once.

A wrap-up touches three services: a new ticket may be opened (TicketService), a callback and
an escalation may be scheduled (FollowUpService, then routed at once by the Router), and the
interaction row is completed (InteractionLog). Any step can fail (a disposition that needs a
ticket, a database that is away); the agent fixes the form and submits again. What an
earlier attempt already created is kept and reused, never made twice: `WrapUpSubmission`
holds it for the life of the wrap-up, so a retry links the same ticket and follow-ups.

The escalation is due when the routing rules' escalation SLA says (`RuleSet.escalation_due`).
A campaign call offers its campaign's dispositions (`catalog`): a sale's amount and a time
to call the lead back are parsed here, and the interaction log does the rest in the wrap-up's
transaction (`console.services.outbound.campaign_wrapup`).

A disposition marked ``opt_out`` ("don't call me again") records the opt-out first
(`console.services.outbound.optout`): the customer's numbers go on the internal do-not-call
list and their marketing consent is withdrawn before the row completes, so the next outbound
screen skips them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from console.db import is_unavailable, one_line_reason
from console.services.crm.tickets import TicketService
from console.services.desk.dispositions import DispositionCatalog
from console.services.desk.interactions import (
    InteractionLog,
    InteractionRecord,
    WrapUp,
    WrapUpError,
)
from console.services.errors import ServiceError
from console.services.outbound.leads import parse_retry_time
from console.services.outbound.optout import OptOutDone, OptOutError, OptOutService
from console.services.outbound.sales import parse_amount
from console.services.routing.followups import FollowUpService
from console.services.routing.router import Router
from console.services.routing.rules_file import load_rules

MAX_CALLBACK_HOURS = 24 * 30
SUBJECT_FROM_NOTES = 80  # a new ticket without a subject is named by the notes' start
SUMMARY_FROM_NOTES = 200


@dataclass(frozen=True, slots=True)
class NewTicket:
    """A ticket to open with the wrap-up (subject "" : the notes' first words)."""

    subject: str = ""
    category: str = "general"
    priority: str = "normal"


@dataclass(frozen=True, slots=True)
class WrapUpForm:
    """What the agent filled in."""

    disposition: str
    notes: str = ""
    ticket: int | NewTicket | None = None  # an existing ticket's id, a new one, or none
    resolved_first_contact: bool = False
    csat: int | None = None
    callback_hours: int | None = None  # schedule a callback this many hours ahead
    escalate: bool = False
    # A campaign call's, as typed (console.services.outbound.campaign_wrapup): the amount of a
    # sale, when to call the lead back ("" : per the attempt rules), the survey's answers.
    sale_amount: str = ""
    retry_at: str = ""
    survey: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Routed:
    """Where a follow-up made by the wrap-up was routed."""

    what: str  # "Callback" | "Escalation"
    followup_id: int
    where: str
    rule: str


@dataclass(frozen=True, slots=True)
class WrapUpSaved:
    """The completed row and what the wrap-up created (over all its attempts)."""

    record: InteractionRecord
    ticket_opened: int | None
    callback_id: int | None
    escalation_id: int | None
    routed: tuple[Routed, ...]  # routed during the attempt that saved
    opted_out: OptOutDone | None = None  # the opt-out recorded (an opt_out disposition)


class WrapUpSubmission:
    """One interaction's wrap-up submit (see the module docstring)."""

    def __init__(
        self,
        interactions: InteractionLog,
        record: InteractionRecord,
        *,
        agent_id: int,
        tickets: TicketService | None = None,
        followups: FollowUpService | None = None,
        router: Router | None = None,
        opt_outs: OptOutService | None = None,
        clock: Callable[[], datetime] | None = None,
        catalog: DispositionCatalog | None = None,
        tz: tzinfo | None = None,
    ) -> None:
        self.interactions = interactions
        self.record = record
        self.agent_id = agent_id
        # The dispositions offered: the call's campaign's on a campaign call.
        self.catalog = catalog if catalog is not None else interactions.catalog
        self._tz = tz  # the agent's zone, for a time to call back (None: this machine's)
        self._tickets = tickets
        self._followups = followups
        self._router = router  # routes the follow-ups made here at once (else the SLA pass)
        self._opt_outs = opt_outs
        self._clock = clock or (lambda: datetime.now(UTC))
        # Created by an earlier attempt: reused, never made again.
        self.created_ticket: int | None = None
        self.created_callback: int | None = None
        self.created_escalation: int | None = None
        self.opted_out: OptOutDone | None = None

    @property
    def can_open_tickets(self) -> bool:
        """Whether a new ticket can be opened here (a ticket service and a known customer)."""
        return self._tickets is not None and self.record.customer_id is not None

    async def submit(self, form: WrapUpForm) -> WrapUpSaved:
        """Open the ticket, schedule and route the follow-ups, complete the row. Raises
        `ServiceError` (one line for the agent) with what was made so far kept."""
        routed: list[Routed] = []
        campaign = self._campaign_fields(form)  # before anything is made: a typo stops here
        try:
            await self._opt_out(form)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            raise WrapUpError(
                f"the database is away ({one_line_reason(exc)}): the opt-out can't be recorded "
                "now, and the customer must not be called again; try again in a moment"
            ) from None
        try:
            ticket_id = await self._ticket(form)
            await self._escalation(form, ticket_id, routed)
            await self._callback(form, ticket_id, routed)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            raise WrapUpError(
                f"the database is away ({one_line_reason(exc)}): the ticket or follow-up can't "
                "be made now; try again in a moment, or save without it"
            ) from None
        wrap = WrapUp(
            disposition=form.disposition,
            notes=form.notes,
            ticket_id=ticket_id,
            resolved_first_contact=form.resolved_first_contact,
            csat=form.csat,
            **campaign,
        )
        done = await self.interactions.wrap_up(self.record.id, wrap, self._clock())
        return WrapUpSaved(
            done,
            self.created_ticket,
            self.created_callback,
            self.created_escalation,
            tuple(routed),
            self.opted_out,
        )

    def _campaign_fields(self, form: WrapUpForm) -> dict[str, Any]:
        """The amount, the time to call back and the survey of a campaign call, parsed
        (WrapUpError says what is wrong); what the disposition does not use is left out."""
        chosen = self.catalog.get(form.disposition)
        if chosen is None:
            return {}
        fields: dict[str, Any] = {"survey": dict(form.survey) if form.survey else None}
        try:
            if chosen.sale:
                fields["sale_cents"] = parse_amount(form.sale_amount)
            if chosen.retry:
                fields["retry_at"] = parse_retry_time(form.retry_at, now=self._clock(), tz=self._tz)
        except ValueError as exc:
            raise WrapUpError(str(exc)) from None
        return fields

    async def _opt_out(self, form: WrapUpForm) -> None:
        """Record the opt-out of an ``opt_out`` disposition, once over all attempts."""
        chosen = self.catalog.get(form.disposition)
        if chosen is None or not chosen.opt_out or self.opted_out is not None:
            return
        if self._opt_outs is None:
            raise WrapUpError(f"“{chosen.label}” can't be recorded from this wrap-up")
        try:
            self.opted_out = await self._opt_outs.opt_out(
                customer_id=self.record.customer_id,
                numbers=[self.record.caller_e164],
                agent_id=self.agent_id,
                interaction_id=self.interactions.resolve(self.record.id),
            )
        except OptOutError:
            raise WrapUpError(
                f"“{chosen.label}” needs a known customer or the caller's number, and this "
                "call has neither; note what was asked and choose another disposition"
            ) from None

    async def _ticket(self, form: WrapUpForm) -> int | None:
        if not isinstance(form.ticket, NewTicket):
            return form.ticket
        if self.created_ticket is not None:
            return self.created_ticket
        if self._tickets is None or self.record.customer_id is None:
            raise WrapUpError("a new ticket needs a known customer")
        subject = form.ticket.subject.strip() or " ".join(form.notes.split())[:SUBJECT_FROM_NOTES]
        if not subject:
            raise WrapUpError("give the new ticket a subject (or write notes first)")
        created = await self._tickets.create(
            self.record.customer_id,
            subject,
            agent_id=self.agent_id,
            category=form.ticket.category,
            priority=form.ticket.priority,
            interaction_id=self.interactions.resolve(self.record.id),
        )
        self.created_ticket = created.id
        return created.id

    def _summary(self, form: WrapUpForm, fallback: str) -> str:
        return " ".join(form.notes.split())[:SUMMARY_FROM_NOTES] or fallback

    async def _escalation(
        self, form: WrapUpForm, ticket_id: int | None, routed: list[Routed]
    ) -> None:
        if not form.escalate or self.created_escalation is not None:
            return
        followups = self._need_followups()
        now = self._clock()
        # The routing rules' escalation SLA (the shipped rules when nothing routes here).
        rules = self._router.rules if self._router is not None else load_rules()
        wait = rules.escalation_due(now, disposition=form.disposition, handled_by_id=self.agent_id)
        due = now + wait
        created = await followups.create(
            "escalation",
            customer_id=self.record.customer_id,
            due_at=due,
            summary=self._summary(form, f"Escalated call from {self.record.caller_raw}"),
            agent_id=self.agent_id,
            priority=2,
            interaction_id=self.interactions.resolve(self.record.id),
            ticket_id=ticket_id,
        )
        self.created_escalation = created.id
        await self._route(created.id, "Escalation", routed)

    async def _callback(
        self, form: WrapUpForm, ticket_id: int | None, routed: list[Routed]
    ) -> None:
        if form.callback_hours is None or self.created_callback is not None:
            return
        followups = self._need_followups()
        hours = max(1, min(MAX_CALLBACK_HOURS, form.callback_hours))
        chosen = self.catalog.get(form.disposition)
        required = chosen is not None and chosen.requires_followup
        created = await followups.create(
            "callback",
            customer_id=self.record.customer_id,
            due_at=self._clock() + timedelta(hours=hours),
            summary=self._summary(form, f"Call back {self.record.caller_raw}"),
            agent_id=self.agent_id,
            interaction_id=self.interactions.resolve(self.record.id),
            ticket_id=ticket_id,
            origin="disposition" if required else "agent",
        )
        self.created_callback = created.id
        await self._route(created.id, "Callback", routed)

    def _need_followups(self) -> FollowUpService:
        if self._followups is None:
            raise WrapUpError("follow-ups cannot be scheduled from this wrap-up")
        return self._followups

    async def _route(self, followup_id: int, what: str, routed: list[Routed]) -> None:
        """Route a follow-up made here now, so the agent sees where it went (if routing
        fails, the next SLA pass routes it: the follow-up is saved either way)."""
        if self._router is None:
            return
        try:
            done = await self._router.route(followup_id, by_agent_id=self.agent_id)
        except ServiceError:
            return
        routed.append(
            Routed(what, followup_id, done.decision.target.describe(), done.decision.rule)
        )
