"""The interaction log: one row per call leg and agent, written from ring to wrap-up.

The row exists from the moment the call rings (`ring`) and every step (answer, hold, resume,
transfer, hang-up, notes draft, wrap-up) is committed as it happens, so a crash or a dropped CTI
link loses nothing already saved; `unfinished` hands the open rows back after a restart.

Every step is idempotent and monotonic: a step applies only from the states it belongs to (a
duplicate or late CTI event finds the row already past it and changes nothing), and a timestamp
is never set earlier than the one before it (an `at` from a skewed clock is clamped): the pure
transitions are `interaction_steps`. Steps read and update the row inside one write transaction
(BEGIN IMMEDIATE on SQLite, SELECT … FOR UPDATE on PostgreSQL), so two writers can't interleave.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, exists, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from console.db import Database
from console.models import (
    Agent,
    Campaign,
    CampaignLead,
    Customer,
    FollowUp,
    Interaction,
    Queue,
    Ticket,
)
from console.models.enums import Channel, Direction
from console.models.interaction import UNFINISHED
from console.services.desk import interaction_steps as steps
from console.services.desk.dispositions import DEFAULT_CATALOG, Disposition, DispositionCatalog

# Re-exported: what callers of the log have always imported from here.
from console.services.desk.interaction_record import (
    IN_CALL_STATUSES,
    InteractionRecord,
    S,
    WrapUp,
    _record,
)
from console.services.errors import (
    ServiceError,
    aware,
    choice,
    free_text,
    one_line,
    record_id,
    truncated,
)
from console.services.outbound.campaign_wrapup import (
    CampaignWrapUpError,
    CampaignWrapUpRules,
    apply_campaign_wrap_up,
    checked_input,
    read_wrap_up_rules,
)

# A draft may be saved until the wrap-up is submitted (missed calls may get a note too).
DRAFT_STATUSES = (S.RINGING, S.ACTIVE, S.HELD, S.WRAPUP, S.MISSED)
_E164 = re.compile(r"^\+[1-9]\d{1,14}$")


# Re-exported: callers of the log import the row and the wrap-up from here.
__all__ = [
    "DRAFT_STATUSES",
    "IN_CALL_STATUSES",
    "InteractionError",
    "InteractionLog",
    "InteractionRecord",
    "S",
    "WrapUp",
    "WrapUpError",
    "_record",
]


class InteractionError(ServiceError):
    """An interaction step was refused (unknown row, bad value); nothing was changed."""


class WrapUpError(InteractionError):
    """The wrap-up is incomplete or invalid (e.g. a disposition that needs a ticket)."""


_SELECT: Select[Any] = select(
    *(c for c in Interaction.__table__.columns), Queue.name.label("queue_name")
).outerjoin(Queue, Queue.id == Interaction.queue_id)


class InteractionLog:
    """Writes the interaction log as CTI events and the agent's actions arrive."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        catalog: DispositionCatalog = DEFAULT_CATALOG,
    ) -> None:
        self._db = db
        self._clock = clock
        self.catalog = catalog
        # Campaigns' wrap-up rules as last read (the pop's, or a wrap-up's): what a journaling
        # log checks a campaign wrap-up against while the database is away.
        self._campaign_rules: dict[int, CampaignWrapUpRules] = {}

    # ------------------------------------------------------------ ring

    async def ring(
        self,
        *,
        uniqueid: str,
        linkedid: str | None,
        agent_id: int,
        queue_name: str | None,
        caller_raw: str,
        caller_e164: str | None,
        caller_name: str,
        customer_id: int | None,
        offered_at: datetime,
        wait_seconds: float = 0,
        direction: Direction | str = Direction.INBOUND,
        campaign_id: int | None = None,
        lead_id: int | None = None,
    ) -> InteractionRecord:
        """Create the row for a call ringing this agent, or return the one already there.

        Keyed by (uniqueid, agent_id): a repeated ring event returns the existing row
        untouched, except that a call this agent let ring out (missed) and is offered again
        rings again on the same row. Caller fields are sanitised and cut to fit; a
        `customer_id` that no longer exists is stored as unknown rather than failing the ring;
        a queue name the CRM has not seen yet is added to `queues` (the PBX owns queues, the
        log must not lose the name).
        """
        key = truncated(uniqueid, 64)
        if not key:
            raise InteractionError("a ringing call needs its Uniqueid")
        agent = record_id(agent_id, field="agent id", error=InteractionError)
        customer = (
            None
            if customer_id is None
            else record_id(customer_id, field="customer id", error=InteractionError)
        )
        at = aware(offered_at, field="offered_at", error=InteractionError)
        e164 = caller_e164 if isinstance(caller_e164, str) and _E164.match(caller_e164) else None
        try:
            wait = min(steps.MAX_SECONDS, max(0, round(float(wait_seconds))))
        except (TypeError, ValueError, OverflowError):
            wait = 0
        values = {
            "uniqueid": key,
            "linkedid": truncated(linkedid, 64) or None,
            "agent_id": agent,
            "caller_raw": truncated(caller_raw, 80),
            "caller_e164": e164,
            "caller_name": truncated(caller_name, 120),
            "offered_at": at,
            "wait_seconds": wait,
            "status": S.RINGING,
            "channel": Channel.VOICE,
            "direction": choice(Direction, direction, field="direction", error=InteractionError),
            "updated_at": self._clock(),
        }
        queue = truncated(queue_name, 80)
        insert = self._db.insert
        async with self._db.write_connection() as conn:
            if await conn.scalar(select(Agent.id).where(Agent.id == agent)) is None:
                raise InteractionError(f"agent {agent} does not exist")
            values["queue_id"] = await self._queue_id(conn, queue) if queue else None
            values["customer_id"] = (
                None
                if customer is None
                else await conn.scalar(select(Customer.id).where(Customer.id == customer))
            )
            if campaign_id is not None:  # a campaign call (one that no longer exists: none)
                values["campaign_id"] = await conn.scalar(
                    select(Campaign.id).where(Campaign.id == campaign_id)
                )
                if lead_id is not None and values["campaign_id"] is not None:
                    values["lead_id"] = await conn.scalar(  # the campaign's own entries only
                        select(CampaignLead.id).where(
                            CampaignLead.id == lead_id, CampaignLead.campaign_id == campaign_id
                        )
                    )
            await conn.execute(
                insert(Interaction)
                .values(**values)
                .on_conflict_do_nothing(
                    index_elements=["uniqueid", "agent_id"],
                    index_where=Interaction.uniqueid.is_not(None),
                )
            )
            # Rang out here once (ring-no-answer) and is offered to this agent again: the same
            # row rings again; it keeps its first offer time and takes the longer wait.
            await conn.execute(
                update(Interaction)
                .where(
                    Interaction.uniqueid == key,
                    Interaction.agent_id == agent,
                    Interaction.status == S.MISSED,
                )
                .values(
                    status=S.RINGING,
                    ended_at=None,
                    end_reason="",
                    wait_seconds=wait,
                    updated_at=self._clock(),
                )
            )
            row = (
                (
                    await conn.execute(
                        _SELECT.where(Interaction.uniqueid == key, Interaction.agent_id == agent)
                    )
                )
                .mappings()
                .one()
            )
        return _record(row)

    async def _queue_id(self, conn: AsyncConnection, name: str) -> int:
        """The queue's id; a queue the CRM has not seen yet is added (the PBX owns queues)."""
        found = await conn.scalar(select(Queue.id).where(Queue.name == name))
        if found is not None:
            return int(found)
        insert = self._db.insert
        await conn.execute(
            insert(Queue).values(name=name).on_conflict_do_nothing(index_elements=["name"])
        )
        return int(await conn.scalar(select(Queue.id).where(Queue.name == name)) or 0)

    # ------------------------------------------------------------ call steps

    async def answered(
        self,
        interaction_id: int,
        at: datetime,
        *,
        wait_seconds: int | None = None,
        ring_seconds: int | None = None,
    ) -> InteractionRecord:
        """The agent answered: ringing → active.

        ``wait_seconds`` / ``ring_seconds``: the PBX's own queue wait and ring time
        (AgentConnect's HoldTime and RingTime), kept over the console's estimates.
        """
        return await self._step(
            interaction_id,
            at,
            lambda row, when: steps.answer(row, when, wait_seconds, ring_seconds),
        )

    async def held(self, interaction_id: int, at: datetime) -> InteractionRecord:
        """The call was put on hold: active → held."""
        return await self._step(interaction_id, at, steps.hold)

    async def resumed(self, interaction_id: int, at: datetime) -> InteractionRecord:
        """The call came off hold: held → active, the hold time added to hold_seconds."""
        return await self._step(interaction_id, at, steps.resume)

    async def ended(
        self, interaction_id: int, at: datetime, *, reason: str = ""
    ) -> InteractionRecord:
        """The agent's leg ended: answered → wrapup (talk = end − answer − hold); else missed.

        ``reason``: why (an `EndReason` value); a reason already stored (transfer) stays.
        """
        return await self._step(interaction_id, at, lambda row, when: steps.end(row, when, reason))

    async def missed(
        self,
        interaction_id: int,
        at: datetime,
        *,
        reason: str = "",
        wait_seconds: int | None = None,
    ) -> InteractionRecord:
        """It rang but this agent never answered (ring-no-answer, caller abandoned, another
        member answered first); ``reason`` says which. ``wait_seconds``: the caller's queue
        wait when it was learnt after the ring was written (None: the ring's stays)."""
        return await self._step(
            interaction_id, at, lambda row, when: steps.miss(row, when, reason, wait_seconds)
        )

    async def transferred(
        self, interaction_id: int, target: str, at: datetime
    ) -> InteractionRecord:
        """The agent transferred the call to `target`: the agent's part ends here.

        An active or held call ends as `ended` would (the hang-up that follows is then a
        no-op), and an empty draft disposition becomes "transferred" when the catalog has it
        (not on a campaign call: its campaign's dispositions are the ones to choose from). A
        transfer reported after the hang-up only records the target.
        """
        where = truncated(target, 80) or "(unknown)"
        return await self._step(
            interaction_id,
            at,
            lambda row, when: steps.transfer(row, when, where, self.transfer_prefill(row)),
        )

    def transfer_prefill(self, row: Mapping[str, Any]) -> str:
        """The draft disposition a transfer leaves on ``row`` ("" : none)."""
        inbound = row.get("campaign_id") is None
        return "transferred" if inbound and "transferred" in self.catalog else ""

    async def set_customer(self, interaction_id: int, customer_id: int | None) -> InteractionRecord:
        """Link the interaction to the customer the agent picked or created (None: unlink)."""
        wanted = (
            None
            if customer_id is None
            else record_id(customer_id, field="customer id", error=InteractionError)
        )
        async with self._db.write_connection() as conn:
            if (
                wanted is not None
                and await conn.scalar(select(Customer.id).where(Customer.id == wanted)) is None
            ):
                raise InteractionError(f"customer {wanted} does not exist")
            return await self._apply(
                conn,
                interaction_id,
                lambda row: {} if row["customer_id"] == wanted else {"customer_id": wanted},
            )

    async def _step(
        self,
        interaction_id: int,
        at: datetime,
        change: Callable[[Mapping[str, Any], datetime], dict[str, Any]],
    ) -> InteractionRecord:
        when = aware(at, field="event time", error=InteractionError)
        async with self._db.write_connection() as conn:
            return await self._apply(conn, interaction_id, lambda row: change(row, when))

    async def _apply(
        self,
        conn: AsyncConnection,
        interaction_id: int,
        change: Callable[[Mapping[str, Any]], dict[str, Any]],
    ) -> InteractionRecord:
        row = await self._locked(conn, interaction_id)
        values = change(row)
        if values:
            values["updated_at"] = self._clock()
            await conn.execute(
                update(Interaction).where(Interaction.id == row["id"]).values(**values)
            )
            row = {**row, **values}
        return _record(row)

    async def _locked(self, conn: AsyncConnection, interaction_id: int) -> Mapping[str, Any]:
        """The row, locked for this transaction (FOR UPDATE on PostgreSQL)."""
        wanted = record_id(interaction_id, field="interaction id", error=InteractionError)
        row = (
            (
                await conn.execute(
                    _SELECT.where(Interaction.id == wanted).with_for_update(of=Interaction)
                )
            )
            .mappings()
            .one_or_none()
        )
        if row is None:
            raise InteractionError(f"interaction {wanted} does not exist")
        return dict(row)

    # ------------------------------------------------------------ notes and wrap-up

    async def save_draft(
        self,
        interaction_id: int,
        *,
        notes: str | None = None,
        disposition: str | None = None,
        category: str | None = None,
        csat: int | None = None,
        resolved_first_contact: bool | None = None,
    ) -> bool:
        """Save what the agent has typed so far (one UPDATE; None leaves a field as it is).

        Returns False, changing nothing, when the interaction is unknown or already wrapped up
        (a debounced save arriving after the wrap-up must not overwrite it).
        """
        wanted = record_id(interaction_id, field="interaction id", error=InteractionError)
        values = self._draft_values(notes, disposition, category, csat, resolved_first_contact)
        if not values:
            return True
        values["updated_at"] = self._clock()
        async with self._db.write_connection() as conn:
            code = values.get("disposition")
            if code and code not in self.catalog:  # a campaign's code: its campaign's?
                rules = await self._rules_of_row(conn, wanted)
                if rules is None or code not in rules.catalog:
                    raise self._unknown(code, rules.catalog if rules else self.catalog)
            result = await conn.execute(
                update(Interaction)
                .where(Interaction.id == wanted, Interaction.status.in_(DRAFT_STATUSES))
                .values(**values)
            )
        return bool(result.rowcount)

    async def _rules_of_row(
        self, conn: AsyncConnection, interaction_id: int
    ) -> CampaignWrapUpRules | None:
        campaign = await conn.scalar(
            select(Interaction.campaign_id).where(Interaction.id == interaction_id)
        )
        return None if campaign is None else await self._campaign_rules_in(conn, int(campaign))

    async def _campaign_rules_in(
        self, conn: AsyncConnection, campaign_id: int
    ) -> CampaignWrapUpRules | None:
        try:
            rules = await read_wrap_up_rules(conn, campaign_id)
        except CampaignWrapUpError as exc:
            raise WrapUpError(str(exc)) from None
        if rules is not None:
            self.remember(rules)
        return rules

    def remember(self, rules: CampaignWrapUpRules) -> None:
        """Keep a campaign's wrap-up rules (the pop read them): a journaled wrap-up of its
        calls is checked against them while the database is away."""
        self._campaign_rules[rules.campaign_id] = rules

    def known_rules(self, campaign_id: int) -> CampaignWrapUpRules | None:
        """A campaign's wrap-up rules as last read here (None: not read yet)."""
        return self._campaign_rules.get(campaign_id)

    async def catalog_for(self, record: InteractionRecord) -> DispositionCatalog:
        """The dispositions the wrap-up of ``record`` offers: its campaign's for a campaign
        call (read once, then kept), else this console's catalog."""
        if record.campaign_id is None:
            return self.catalog
        known = self.known_rules(record.campaign_id)
        if known is not None:
            return known.catalog
        async with self._db.session() as session:
            conn = await session.connection()
            rules = await self._campaign_rules_in(conn, record.campaign_id)
        return self.catalog if rules is None else rules.catalog

    def _draft_values(
        self,
        notes: str | None = None,
        disposition: str | None = None,
        category: str | None = None,
        csat: int | None = None,
        resolved_first_contact: bool | None = None,
    ) -> dict[str, Any]:
        """A draft's checked columns (None: left as it is); InteractionError if one is bad."""
        values: dict[str, Any] = {}
        if notes is not None:
            values["notes"] = free_text(notes, field="notes", error=InteractionError)
        if disposition is not None:
            # A campaign call's code is checked against its campaign where the row is known.
            values["disposition"] = _code(disposition)
        if category is not None:
            values["category"] = one_line(
                category, field="category", max_length=40, error=InteractionError
            )
        if csat is not None:
            values["csat"] = _csat(csat)
        if resolved_first_contact is not None:
            values["resolved_first_contact"] = bool(resolved_first_contact)
        return values

    async def wrap_up(self, interaction_id: int, wrap: WrapUp, at: datetime) -> InteractionRecord:
        """Submit the wrap-up: wrapup → completed, wrap_seconds = at − ended_at.

        Raises WrapUpError (nothing changed) for an unknown disposition, a disposition whose
        required ticket or follow-up is missing, or a call still in progress. Submitting again
        after it completed returns the completed row unchanged.

        A campaign call's disposition is one of its campaign's, read in this transaction;
        what it means is done here too, once (`console.services.outbound.campaign_wrapup`:
        the sale, the survey answers, the list entry and its dial).
        """
        when = aware(at, field="wrap-up time", error=WrapUpError)
        code = _code(wrap.disposition)
        if not code:
            raise WrapUpError("choose a disposition")
        notes = free_text(wrap.notes, field="notes", error=WrapUpError)
        category = one_line(wrap.category, field="category", max_length=40, error=WrapUpError)
        csat = None if wrap.csat is None else _csat(wrap.csat)
        ticket = (
            None
            if wrap.ticket_id is None
            else record_id(wrap.ticket_id, field="ticket number", error=WrapUpError)
        )
        async with self._db.write_connection() as conn:
            row = await self._locked(conn, interaction_id)
            status = row["status"]
            if status == S.COMPLETED:
                return _record(row)
            if status in IN_CALL_STATUSES:
                raise WrapUpError("the call is still in progress; wrap up after it ends")
            if status != S.WRAPUP:
                raise WrapUpError(f"a {status.value} interaction has no wrap-up")
            rules = (
                None
                if row["campaign_id"] is None
                else await self._campaign_rules_in(conn, int(row["campaign_id"]))
            )
            disposition = self._chosen(code, rules.catalog if rules else self.catalog)
            if ticket is not None and (
                await conn.scalar(select(Ticket.id).where(Ticket.id == ticket)) is None
            ):
                raise WrapUpError(f"ticket #{ticket} does not exist")
            ticket = ticket or row["ticket_id"]
            if disposition.requires_ticket and ticket is None:
                raise WrapUpError(
                    f"“{disposition.label}” needs a ticket: open one or enter its number"
                )
            if disposition.requires_followup and not await conn.scalar(
                select(exists().where(FollowUp.interaction_id == row["id"]))
            ):
                raise WrapUpError(
                    f"“{disposition.label}” needs a follow-up: schedule it before wrapping up"
                )
            done = WrapUp(code, notes, ticket, wrap.resolved_first_contact, csat, category)
            if rules is not None:
                try:
                    given = checked_input(
                        rules,
                        disposition,
                        at=when,
                        sale_cents=wrap.sale_cents,
                        retry_at=wrap.retry_at,
                        survey=wrap.survey,
                    )
                    await apply_campaign_wrap_up(conn, row, rules, disposition, given, at=when)
                except CampaignWrapUpError as exc:
                    raise WrapUpError(str(exc)) from None
            return await self._apply(conn, row["id"], lambda row: steps.complete(row, when, done))

    def _chosen(self, code: str, catalog: DispositionCatalog) -> Disposition:
        chosen = catalog.get(code)
        if chosen is None:
            raise self._unknown(code, catalog)
        return chosen

    @staticmethod
    def _unknown(code: str, catalog: DispositionCatalog) -> WrapUpError:
        return WrapUpError(
            f"unknown disposition {code!r}; choose one of {', '.join(catalog.codes)}"
        )

    def resolve(self, interaction_id: int) -> int:
        """The row's id in the database (a journaling log may have handed out a provisional
        one before the row existed: `durable_log`)."""
        return interaction_id

    async def find(self, uniqueid: str, agent_id: int) -> int | None:
        """The id of the row of call ``uniqueid`` on ``agent_id``, if there is one."""
        async with self._db.session() as session:
            found = await session.scalar(
                select(Interaction.id).where(
                    Interaction.uniqueid == truncated(uniqueid, 64),
                    Interaction.agent_id == agent_id,
                )
            )
        return None if found is None else int(found)

    # ------------------------------------------------------------ reads

    async def get(self, interaction_id: int) -> InteractionRecord | None:
        """The interaction, or None if there is no such row."""
        wanted = record_id(interaction_id, field="interaction id", error=InteractionError)
        async with self._db.session() as session:
            row = (
                (await session.execute(_SELECT.where(Interaction.id == wanted)))
                .mappings()
                .one_or_none()
            )
        return None if row is None else _record(row)

    async def unfinished(self, agent_id: int, *, limit: int = 20) -> list[InteractionRecord]:
        """This agent's rows still ringing, active, held or in wrap-up, newest first.

        After a crash or kill these are the calls whose draft the console offers back. The
        condition is spelled exactly as the partial index `ix_interactions_agent_unfinished`
        is (literal statuses, not bound parameters) so both SQLite and PostgreSQL use it:
        milliseconds however long the agent's history.
        """
        wanted = record_id(agent_id, field="agent id", error=InteractionError)
        stmt = (
            _SELECT.where(Interaction.agent_id == wanted, text(UNFINISHED))
            .order_by(Interaction.offered_at.desc(), Interaction.id.desc())
            .limit(max(1, min(limit, 200)))
        )
        async with self._db.session() as session:
            rows = (await session.execute(stmt)).mappings().all()
        return [_record(r) for r in rows]


def _code(value: object) -> str:
    """A disposition code as stored (cut to the column); which codes exist is the
    catalog's (or the call's campaign's) to say."""
    return truncated(value, 40)


def _csat(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise WrapUpError(f"CSAT must be a whole number from 1 to 5, not {value!r}")
    return value
