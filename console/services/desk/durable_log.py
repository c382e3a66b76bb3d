"""The interaction log that never loses a call: the database when it takes writes, else the
local journal, applied later in order.

`DurableInteractionLog` is the `InteractionLog` every console uses. Each call write (ring,
answer, hold, resume, transfer, hang-up, miss, customer, draft, wrap-up) goes to the database;
when the database refuses it for a reason that will pass (`console.db.is_unavailable`: locked
past the busy timeout, full, read-only, unreachable), the write is appended to this console's
`journal.CallJournal` (fsynced) and the console carries on with the row as the write would have
left it (the same pure steps, `interaction_steps`). From then on every write joins the journal
behind it, so they reach the database in the order they happened. A background task applies the
journal as soon as the database takes writes again; the agent hears once that it is away and
once that it is back (`on_change`).

Applied exactly once: entries are applied in order and each is acknowledged in the journal before
the next is applied. A kill between applying and acknowledging applies that one entry again on the
next start, and every step is idempotent (a step applies only from the states it belongs to; a
ring of an existing row returns it; a draft sets the same values; a completed wrap-up returns
the row), so the row ends the same. A ring journaled before its row existed gets a provisional
(negative) id; later writes find the row by its natural key (Uniqueid, agent).

A wrap-up journaled while the database was away is checked again when applied; if the database
refuses it then (a disposition whose follow-up was never made), its notes are kept as the draft
and the row stays in wrap-up, offered back like any unfinished wrap-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from console.db import Database, is_unavailable, one_line_reason
from console.models.enums import Channel, Direction
from console.services.desk import interaction_steps as steps
from console.services.desk.dispositions import DEFAULT_CATALOG, DispositionCatalog
from console.services.desk.interactions import (
    DRAFT_STATUSES,
    IN_CALL_STATUSES,
    InteractionError,
    InteractionLog,
    InteractionRecord,
    S,
    WrapUp,
    WrapUpError,
    _record,
)
from console.services.desk.journal import CallJournal, Entry
from console.services.errors import aware, record_id, truncated
from console.services.outbound.campaign_wrapup import (
    CampaignWrapUpError,
    check_survey_complete,
    checked_input,
)

log = logging.getLogger(__name__)

KNOWN = 64  # rows remembered (the calls of this console lately)
RETRY_FIRST, RETRY_MAX = 0.25, 2.0  # seconds between attempts to apply the journal
_TIMES = ("at", "offered_at")


@dataclass(frozen=True, slots=True)
class JournalState:
    """What the agent is told: the database is away (``reason``) with ``pending`` writes
    journaled, or back (``reason`` "") with ``applied`` writes applied."""

    reason: str
    pending: int
    applied: int = 0
    in_memory: bool = False  # the journal could not grow on this disk: some writes only here


class DurableInteractionLog(InteractionLog):
    """See the module docstring."""

    def __init__(
        self,
        db: Database,
        journal_dir: Path,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        catalog: DispositionCatalog = DEFAULT_CATALOG,
        on_change: Callable[[JournalState], None] | None = None,
    ) -> None:
        super().__init__(db, clock=clock, catalog=catalog)
        self.on_change = on_change
        self._folder = journal_dir
        self._journal: CallJournal | None = None
        self._orphans: list[CallJournal] = []
        self._known: OrderedDict[int, dict[str, Any]] = OrderedDict()  # id -> row, as we see it
        self._real: dict[int, int] = {}  # provisional id -> the row's id
        self._next_provisional = -1
        self._drainer: asyncio.Task[None] | None = None
        self._direct = asyncio.Lock()
        self._draining = asyncio.Lock()
        self._reason = ""
        self._applied = 0  # in this outage
        self._in_memory = False  # said that the journal could not take more on disk
        self.refused: list[str] = []  # journaled writes the database refused when applied
        self.journal_error: OSError | None = None  # why there is no journal, if there is none

    # ------------------------------------------------------------------ the journal

    def open(self) -> None:
        """Lock this console's journal file and take over any a killed console left; what they
        hold is applied in the background. Safe to call again."""
        if self._journal is None:
            try:
                self._journal = CallJournal.open(self._folder)
            except OSError as exc:
                self.journal_error = exc
                raise
            self.journal_error = None
            self._orphans = list(CallJournal.orphans(self._folder))
        if self.pending:
            self._reason = self._reason or "writes left from an earlier session"
            self._start_drainer()

    @property
    def pending(self) -> int:
        """Writes journaled and not applied yet."""
        journals = [*self._orphans, *([self._journal] if self._journal else [])]
        return sum(len(j.pending) for j in journals)

    async def close(self) -> None:
        """Stop applying and unlock the journal (what is pending stays for the next start)."""
        if self._drainer is not None:
            self._drainer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._drainer
            self._drainer = None
        for journal in [*self._orphans, *([self._journal] if self._journal else [])]:
            journal.close()
        self._orphans, self._journal = [], None

    async def drain(self) -> int:
        """Apply what is journaled, in order, until done or the database refuses again (then
        it raises). The number applied."""
        async with self._draining:  # one applier at a time: each entry is applied once
            return await self._drain()

    async def _drain(self) -> int:
        applied = 0
        for journal in [*self._orphans, *([self._journal] if self._journal else [])]:
            for entry in journal.pending:
                await self._replay(entry)
                journal.ack(entry.seq)
                applied += 1
                self._applied += 1
            if journal is not self._journal:
                journal.close()
                self._orphans.remove(journal)
        return applied

    def _start_drainer(self) -> None:
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.get_running_loop().create_task(self._drain_until_done())

    async def _drain_until_done(self) -> None:
        delay = RETRY_FIRST
        while self.pending:
            await asyncio.sleep(delay)
            try:
                await self.drain()
            except Exception as exc:
                if not is_unavailable(exc):
                    log.exception("applying the call journal failed")
                delay = min(RETRY_MAX, delay * 2)
        applied, self._applied, self._reason = self._applied, 0, ""
        self._tell(JournalState("", 0, applied))

    def _tell(self, state: JournalState) -> None:
        if self.on_change is not None:
            self.on_change(state)

    # ------------------------------------------------------------------ writes

    async def ring(self, **call: Any) -> InteractionRecord:
        """`InteractionLog.ring`, journaled when the database is away (a provisional id)."""
        return await self._row_write("ring", None, call)

    async def answered(
        self,
        interaction_id: int,
        at: datetime,
        *,
        wait_seconds: int | None = None,
        ring_seconds: int | None = None,
    ) -> InteractionRecord:
        args = {"at": at, "wait_seconds": wait_seconds, "ring_seconds": ring_seconds}
        return await self._row_write("answered", interaction_id, args)

    async def held(self, interaction_id: int, at: datetime) -> InteractionRecord:
        return await self._row_write("held", interaction_id, {"at": at})

    async def resumed(self, interaction_id: int, at: datetime) -> InteractionRecord:
        return await self._row_write("resumed", interaction_id, {"at": at})

    async def ended(
        self, interaction_id: int, at: datetime, *, reason: str = ""
    ) -> InteractionRecord:
        return await self._row_write("ended", interaction_id, {"at": at, "reason": reason})

    async def missed(
        self,
        interaction_id: int,
        at: datetime,
        *,
        reason: str = "",
        wait_seconds: int | None = None,
    ) -> InteractionRecord:
        args = {"at": at, "reason": reason, "wait_seconds": wait_seconds}
        return await self._row_write("missed", interaction_id, args)

    async def transferred(
        self, interaction_id: int, target: str, at: datetime
    ) -> InteractionRecord:
        return await self._row_write("transferred", interaction_id, {"target": target, "at": at})

    async def set_customer(self, interaction_id: int, customer_id: int | None) -> InteractionRecord:
        return await self._row_write("customer", interaction_id, {"customer_id": customer_id})

    async def save_draft(self, interaction_id: int, **draft: Any) -> bool:
        values = self._draft_values(**draft)  # a bad draft is refused here, never journaled
        if not values:
            return True
        saved = await self._write("draft", interaction_id, draft)
        if isinstance(saved, InteractionRecord):  # journaled: the row as it now stands
            return saved.status in DRAFT_STATUSES
        known = self._known.get(interaction_id)
        if saved and known is not None:
            known.update(values)
        return bool(saved)

    async def wrap_up(self, interaction_id: int, wrap: WrapUp, at: datetime) -> InteractionRecord:
        args = {"wrap": wrap.journal_form(), "at": at}
        return await self._row_write("wrap_up", interaction_id, args)

    def resolve(self, interaction_id: int) -> int:
        return self._real.get(interaction_id, interaction_id)

    async def _row_write(
        self, op: str, interaction_id: int | None, args: dict[str, Any]
    ) -> InteractionRecord:
        record = await self._write(op, interaction_id, args)
        assert isinstance(record, InteractionRecord)
        return record

    async def _write(self, op: str, interaction_id: int | None, args: dict[str, Any]) -> Any:
        if self._journal is None and self.journal_error is None:
            try:
                self.open()
            except OSError as exc:  # no journal here: writes go to the database only
                self.journal_error = exc
        async with self._direct:
            if not self.pending and (interaction_id is None or self.resolve(interaction_id) > 0):
                try:
                    record = await self._to_database(op, self._real_id(interaction_id), args)
                except Exception as exc:
                    if not is_unavailable(exc) or self._journal is None:
                        raise
                    self._reason = one_line_reason(exc)
                else:
                    if isinstance(record, InteractionRecord):
                        self._remember(record)
                    return record
            return self._journaled(op, interaction_id, args)

    def _real_id(self, interaction_id: int | None) -> int:
        return 0 if interaction_id is None else self.resolve(interaction_id)

    async def _to_database(self, op: str, interaction_id: int, args: Mapping[str, Any]) -> Any:
        """One write to the database (the base class's own step)."""
        base, i = InteractionLog, interaction_id
        if op == "ring":
            return await base.ring(self, **args)
        if op == "answered":
            wait, ring = args["wait_seconds"], args["ring_seconds"]
            return await base.answered(self, i, _at(args), wait_seconds=wait, ring_seconds=ring)
        if op == "held":
            return await base.held(self, i, _at(args))
        if op == "resumed":
            return await base.resumed(self, i, _at(args))
        if op == "ended":
            return await base.ended(self, i, _at(args), reason=args["reason"])
        if op == "missed":
            wait = args.get("wait_seconds")  # absent from journals written before it existed
            return await base.missed(self, i, _at(args), reason=args["reason"], wait_seconds=wait)
        if op == "transferred":
            return await base.transferred(self, i, args["target"], _at(args))
        if op == "customer":
            return await base.set_customer(self, i, args["customer_id"])
        if op == "draft":
            return await base.save_draft(self, i, **args)
        if op == "wrap_up":
            return await base.wrap_up(self, i, WrapUp.from_journal(args["wrap"]), _at(args))
        raise ValueError(f"unknown journaled write {op!r}")

    # ------------------------------------------------------------------ journaling

    def _journaled(self, op: str, interaction_id: int | None, args: dict[str, Any]) -> Any:
        """Keep the write in the journal; the row as it leaves it."""
        assert self._journal is not None
        if op == "ring":
            row = self._ring_row(args)
        else:
            assert interaction_id is not None
            known = self._known.get(interaction_id)
            if known is None:
                raise InteractionError(
                    f"interaction {interaction_id} is not known here and {self._reason}"
                )
            row = dict(known)
            row.update(self._local_step(op, row, args))
        first = not self.pending
        if first:
            self._in_memory = False
        real = self.resolve(row["id"])
        entry = {
            "op": op,
            "id": real if real > 0 else None,
            "key": [row["uniqueid"], row["agent_id"]],
            "args": _encode(args),
        }
        on_disk = self._journal.append(entry)
        self._remember(row)
        if first or (not on_disk and not self._in_memory):
            self._in_memory = not on_disk
            self._tell(JournalState(self._reason, self.pending, in_memory=not on_disk))
        self._start_drainer()
        return _record(row)

    def _ring_row(self, call: Mapping[str, Any]) -> dict[str, Any]:
        key = truncated(call.get("uniqueid"), 64)
        if not key:
            raise InteractionError("a ringing call needs its Uniqueid")
        agent = record_id(call.get("agent_id"), field="agent id", error=InteractionError)
        for row in self._known.values():
            if row["uniqueid"] == key and row["agent_id"] == agent:
                return dict(row)  # rang before (a resync): the row we have
        at = aware(_at({"at": call.get("offered_at")}), field="offered_at", error=InteractionError)
        provisional, self._next_provisional = self._next_provisional, self._next_provisional - 1
        return {
            "id": provisional,
            "channel": Channel.VOICE,
            "direction": Direction(call.get("direction") or Direction.INBOUND),
            "status": S.RINGING,
            "agent_id": agent,
            "customer_id": call.get("customer_id"),
            "queue_id": None,
            "queue_name": truncated(call.get("queue_name"), 80),
            "ticket_id": None,
            "uniqueid": key,
            "linkedid": truncated(call.get("linkedid"), 64),
            "caller_raw": truncated(call.get("caller_raw"), 80),
            "caller_e164": call.get("caller_e164"),
            "caller_name": truncated(call.get("caller_name"), 120),
            "offered_at": at,
            "answered_at": None,
            "ended_at": None,
            "wrapped_at": None,
            "hold_started_at": None,
            "wait_seconds": max(0, int(call.get("wait_seconds") or 0)),
            "ring_seconds": 0,
            "talk_seconds": 0,
            "hold_seconds": 0,
            "wrap_seconds": 0,
            "disposition": "",
            "category": "",
            "notes": "",
            "csat": None,
            "resolved_first_contact": None,
            "transferred_to": "",
            "end_reason": "",
            "updated_at": self._clock(),
            "campaign_id": call.get("campaign_id"),
            "lead_id": call.get("lead_id") if call.get("campaign_id") is not None else None,
        }

    def _local_step(
        self, op: str, row: Mapping[str, Any], args: Mapping[str, Any]
    ) -> dict[str, Any]:
        """What ``op`` does to the row: the database's own steps, run here."""
        if op == "customer":
            return {"customer_id": args["customer_id"]}
        if op == "draft":
            if row["status"] not in DRAFT_STATUSES:
                return {}
            values = self._draft_values(**args)
            code = values.get("disposition")
            if code:  # checked here when this console knows the call's dispositions
                catalog = self._local_catalog(row)
                if catalog is not None and code not in catalog:
                    raise self._unknown(code, catalog)
            return values
        at = aware(_at(args), field="event time", error=InteractionError)
        if op == "answered":
            return steps.answer(row, at, args["wait_seconds"], args["ring_seconds"])
        if op == "held":
            return steps.hold(row, at)
        if op == "resumed":
            return steps.resume(row, at)
        if op == "ended":
            return steps.end(row, at, args["reason"])
        if op == "missed":
            return steps.miss(row, at, args["reason"], args.get("wait_seconds"))
        if op == "transferred":
            where = truncated(args["target"], 80) or "(unknown)"
            return steps.transfer(row, at, where, self.transfer_prefill(row))
        if op == "wrap_up":
            return self._local_wrap_up(row, WrapUp.from_journal(args["wrap"]), at)
        raise ValueError(f"unknown journaled write {op!r}")

    def _local_catalog(self, row: Mapping[str, Any]) -> DispositionCatalog | None:
        """The row's dispositions as known here (None: a campaign's not read yet)."""
        campaign = row.get("campaign_id")
        if campaign is None:
            return self.catalog
        rules = self.known_rules(int(campaign))
        return None if rules is None else rules.catalog

    def _local_wrap_up(self, row: Mapping[str, Any], wrap: WrapUp, at: datetime) -> dict[str, Any]:
        """The checks `wrap_up` can make without the database, then the completed row. A
        campaign call's are made against the campaign's rules as the pop read them, and its
        own survey answers (the stored ones are checked when the journal is applied)."""
        if row["status"] == S.COMPLETED:
            return {}
        if row["status"] in IN_CALL_STATUSES:
            raise WrapUpError("the call is still in progress; wrap up after it ends")
        if row["status"] != S.WRAPUP:
            raise WrapUpError(f"a {row['status'].value} interaction has no wrap-up")
        code = truncated(wrap.disposition, 40)
        if not code:
            raise WrapUpError("choose a disposition")
        campaign = row.get("campaign_id")
        rules = None if campaign is None else self.known_rules(int(campaign))
        if campaign is not None and rules is None:
            away = self._reason or "the database is away"
            raise WrapUpError(
                f"this campaign's dispositions can't be checked now ({away}); try again in a moment"
            )
        disposition = self._chosen(code, rules.catalog if rules else self.catalog)
        ticket = wrap.ticket_id or row["ticket_id"]
        if disposition.requires_ticket and ticket is None:
            raise WrapUpError(f"“{disposition.label}” needs a ticket: open one or enter its number")
        if rules is not None:
            try:
                given = checked_input(
                    rules,
                    disposition,
                    at=at,
                    sale_cents=wrap.sale_cents,
                    retry_at=wrap.retry_at,
                    survey=wrap.survey,
                )
                check_survey_complete(rules, disposition, given.survey or {})
            except CampaignWrapUpError as exc:
                raise WrapUpError(str(exc)) from None
        checked = self._draft_values(wrap.notes, None, wrap.category, wrap.csat, None)
        done = WrapUp(
            code,
            checked.get("notes", ""),
            ticket,
            wrap.resolved_first_contact,
            checked.get("csat"),
            checked.get("category", ""),
        )
        return steps.complete(row, at, done)

    async def catalog_for(self, record: InteractionRecord) -> DispositionCatalog:
        """`InteractionLog.catalog_for`; a campaign's not read yet while the database is away
        is a WrapUpError (one line: try again)."""
        try:
            return await super().catalog_for(record)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            raise WrapUpError(
                f"the campaign's dispositions can't be read now ({one_line_reason(exc)}); "
                "try again in a moment"
            ) from None

    def _remember(self, record: InteractionRecord | Mapping[str, Any]) -> None:
        row = dict(record) if isinstance(record, Mapping) else _row(record)
        self._known[row["id"]] = row
        self._known.move_to_end(row["id"])
        while len(self._known) > KNOWN:
            self._known.popitem(last=False)

    # ------------------------------------------------------------------ applying

    async def _replay(self, entry: Entry) -> None:
        """Apply one journaled write (raises when the database still refuses it)."""
        op, data = entry.data.get("op"), entry.data
        args = _decode(data.get("args") or {})
        uniqueid, agent_id = (data.get("key") or ["", 0])[:2]
        try:
            if op == "ring":
                record = await self._to_database("ring", 0, args)
                self._learn_real_id(record)
                return
            row_id = data.get("id") or await self.find(str(uniqueid), int(agent_id))
            if row_id is None:
                raise InteractionError(f"no row for call {uniqueid} of agent {agent_id}")
            try:
                await self._to_database(str(op), int(row_id), args)
            except WrapUpError:
                if op == "draft":
                    await self._keep_draft(int(row_id), args)
                elif op == "wrap_up":
                    wrap = args["wrap"]  # refused now: keep what the agent wrote as the draft
                    await self._keep_draft(
                        int(row_id),
                        {
                            "notes": wrap["notes"],
                            "disposition": wrap["disposition"],
                            "csat": wrap["csat"],
                            "resolved_first_contact": wrap["resolved_first_contact"],
                        },
                    )
                raise
        except InteractionError as exc:  # the write itself is wrong now: say so, go on
            self.refused.append(f"{op} of call {uniqueid}: {exc}")
            log.warning("journaled %s of call %s refused: %s", op, uniqueid, exc)

    async def _keep_draft(self, row_id: int, draft: dict[str, Any]) -> None:
        """Save what a refused write carried as the row's draft: all of it, else all but a
        disposition the database no longer knows (the notes are never dropped with it)."""
        try:
            await InteractionLog.save_draft(self, row_id, **draft)
        except WrapUpError:
            if not draft.get("disposition"):
                raise
            await InteractionLog.save_draft(self, row_id, **{**draft, "disposition": None})

    def _learn_real_id(self, record: InteractionRecord) -> None:
        for provisional, row in list(self._known.items()):
            if (
                provisional < 0
                and row["uniqueid"] == record.uniqueid
                and row["agent_id"] == record.agent_id
            ):
                self._real[provisional] = record.id

    # ------------------------------------------------------------------ reads

    async def get(self, interaction_id: int) -> InteractionRecord | None:
        """The row as this console sees it: while writes wait in the journal, its own view."""
        known = self._known.get(interaction_id)
        real = self.resolve(interaction_id)
        if known is not None and (self.pending or real < 0):
            return _record(known)
        try:
            found = await super().get(real)
        except Exception as exc:
            if known is None or not is_unavailable(exc):
                raise
            return _record(known)
        if found is not None:
            self._remember(found)  # a later step may have to be journaled from it
        return found

    async def unfinished(self, agent_id: int, *, limit: int = 20) -> list[InteractionRecord]:
        """`InteractionLog.unfinished`, with this console's journaled rows over the database's."""
        try:
            rows = await super().unfinished(agent_id, limit=limit)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            rows = []
        for row in rows:  # recovery's next steps may have to be journaled from them
            if not self.pending or row.id not in self._known:
                self._remember(row)
        if not self.pending:
            return rows
        mine = {
            row["uniqueid"]: _record(row)
            for row in self._known.values()
            if row["agent_id"] == agent_id
        }
        merged = [mine.pop(r.uniqueid, r) for r in rows] + list(mine.values())
        return [r for r in merged if r.is_unfinished][:limit]


def _at(args: Mapping[str, Any]) -> datetime:
    at = args["at"]
    if not isinstance(at, datetime):
        raise InteractionError(f"a call step needs its time, not {at!r}")
    return at


def _row(record: InteractionRecord) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in fields(record)}


def _encode(args: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in args.items():
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, Direction):
            value = value.value
        out[name] = value
    return out


def _decode(args: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(args)
    for name in _TIMES:
        if isinstance(out.get(name), str):
            out[name] = datetime.fromisoformat(out[name])
    return out
