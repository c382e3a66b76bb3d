"""The dialer: places running campaigns' calls through AMI Originate and follows each to its end.

One `Dialer` per site, fed every frame of a full-stream AMI session (`feed`: the `LiveBoard`
learns the agents from it, the `DialTracker` the dials). Each round (`step`, every ``tick``
seconds in `run`) it:

1. writes what the dials did since the last round (attempt rows, leads settled: dial_store);
2. reads the campaigns; for each running one it takes or renews its lease (`DialerLease`: a
   campaign is dialled by one dialer process at a time; on taking one over it reconciles the
   attempts left open, by `CoreShowChannels`); a paused or stopped one gets no new dial at
   once (the claim checks the status in its own transaction), its calls in flight finish;
3. for a progressive or predictive campaign: its agents (members of its queue: ready,
   talking, wrapping up, from the board), its dials in flight, and its rates (`RateBook`, the
   30-day live and abandoned counts) go to `pacing.decide`; for as many dials as it says, the
   next due leads (priority, then longest due) are screened by `ComplianceService.screen`
   right then (skipped: blocked, finished or exhausted, or rescheduled at ``not_before``),
   claimed with their attempt rows in one transaction fenced by the status and the lease, and
   only then dialled: ``Originate`` customer-first, Async, ``CC_CAMPAIGN`` / ``CC_LEAD``.

Nothing is dialled twice: a lead is claimed (pending → dialing) before its Originate is sent,
and a dial whose fate is uncertain (the link dropped with the action in flight) stays open
until the dialer sees it again. After a reconnect, and when taking a campaign over, every open
dial is looked for in `CoreShowChannels` (by its channel variables): found, it is followed on;
gone without a word, it ends as ``unknown`` (the lead waits the failure spacing). A database
outage stops new dials (nothing can be claimed) while the dials in flight are still followed
and written once it is back.

Preview campaigns are not paced: agents ask `console.services.outbound.preview` for their next
lead and dial it from their own phone; the dialer follows those dials like its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError, OperationalError

from callkit.ami_frames import Message
from console.cti.ami_types import AmiConnectionLost, AmiError, AmiNotConnected, AmiTimeout
from console.cti.link import CtiLink
from console.cti.protocol import LinkState, LinkStateChanged
from console.db import Database, DatabaseError
from console.models.enums import CampaignPurpose, CampaignStatus, DialMode
from console.services.outbound.attempts import AttemptRules
from console.services.outbound.campaign_rules import CampaignRules, CampaignRulesError, rules_of
from console.services.outbound.compliance import ComplianceService
from console.services.outbound.dial_events import (
    ABANDONED,
    LIVE,
    NOT_PLACED,
    NOT_SENT,
    REFUSED,
    UNKNOWN,
    Dial,
    DialTracker,
    outcome_of,
)
from console.services.outbound.dial_leads import DueLead, skip_for
from console.services.outbound.dial_rates import DialRecord, RateBook
from console.services.outbound.dial_store import CampaignRow, DialStore
from console.services.outbound.gate import Candidate
from console.services.outbound.pacing import AgentsNow, PacingDecision, decide
from console.services.outbound.windows import CallingWindows
from console.services.service import utcnow
from console.services.supervision.live_board import LiveBoard
from console.services.supervision.live_types import AgentActivity
from console.services.text import clean_text

log = logging.getLogger(__name__)

_DB_ERRORS = (OperationalError, DBAPIError, DatabaseError, OSError)
_BUSY = (AgentActivity.ON_CALL, AgentActivity.RINGING)
#: Seconds a dial may go without a channel in sight before a reconcile gives it up: an
#: Originate just queued (or a preview dial just written) has none yet.
_GRACE = 30.0
_ADOPT_RETRY = 5.0  # seconds before looking again for a stranger dial's attempt row
LEARNING_LINES = 2.0  # lines per agent while a campaign's rates are still priors
BOARD_REFRESH = 60.0  # seconds between QueueStatus checks of the agents' states


@dataclass(frozen=True)
class DialerSettings:
    """How often the dialer looks, how long its leases last, how much it screens at once."""

    tick: float = 1.0  # seconds between rounds
    lease_seconds: float = 15.0  # another dialer takes a campaign over this long after we die
    batch: int = 100  # leads screened at most per round and campaign
    refused_pause: float = 60.0  # a PBX refusing Originates: the campaign waits this long
    housekeeping: float = 30.0  # seconds between lapsed-hold and completion checks


@dataclass(eq=False)
class _Campaign:
    """A campaign as this dialer runs it."""

    row: CampaignRow
    rules: CampaignRules
    windows: CallingWindows
    rates: RateBook = field(default_factory=RateBook)
    held: bool = False
    lease_until: datetime | None = None
    live_30d: int = 0
    abandoned_30d: int = 0
    state: str = ""
    paused_until: float = 0.0  # after the PBX refused an Originate (epoch seconds)
    decision: PacingDecision | None = None
    agents: AgentsNow = field(default_factory=lambda: AgentsNow(0))
    members: dict[str, tuple[AgentActivity, float]] = field(default_factory=dict)
    dialled: int = 0  # Originates this dialer sent for it

    @property
    def id(self) -> int:
        return self.row.id


class Dialer:
    """See the module docstring. ``owner`` names this process in its leases; ``on_state`` gets
    one line per campaign state change (the CLI prints them)."""

    def __init__(
        self,
        db: Database,
        cti: CtiLink,
        board: LiveBoard,
        *,
        owner: str,
        compliance: ComplianceService | None = None,
        clock: Callable[[], datetime] = utcnow,
        settings: DialerSettings | None = None,
        on_state: Callable[[str], None] | None = None,
    ) -> None:
        self.cti = cti
        self.board = board
        self.settings = settings or DialerSettings()
        self.owner = owner
        self._clock = clock
        self.store = DialStore(db, clock=clock, owner=owner)
        self.compliance = compliance or ComplianceService(db, clock=clock)
        self.tracker = DialTracker()
        self.campaigns: dict[int, _Campaign] = {}
        self._on_state = on_state
        self._resync = False  # the link came back: reconcile before dialling again
        self._housekept = 0.0
        self._board_read = -math.inf  # when the board was last checked against QueueStatus
        self._tried: dict[tuple[int, int], float] = {}  # stranger dials looked up, when
        # What the last pacing decisions cost (the bench reads it); bounded for a long run.
        self.decision_ns: deque[int] = deque(maxlen=100_000)
        self.db_error = ""
        self.draining = False  # stopping: no new dials, the ones out followed to their end

    # Frames -----------------------------------------------------------------------------------

    def feed(self, msg: Message) -> None:
        """One AMI event frame (the AMI client's ``on_frame``)."""
        self.board.feed(msg)
        self.tracker.feed(msg, self._clock().timestamp())

    def link_changed(self, event: LinkStateChanged) -> None:
        """The CTI link's state (a reconnect means events were missed: reconcile)."""
        if event.state is LinkState.CONNECTED:
            self._resync = True
            self._board_read = -math.inf

    # The loop ---------------------------------------------------------------------------------

    async def run(
        self, stop: asyncio.Event, *, drain: float = 0.0, hurry: asyncio.Event | None = None
    ) -> None:
        """Rounds every ``tick`` until ``stop`` is set; then, with ``drain`` seconds, `drain`
        (cut short by ``hurry``); then `close`."""
        stream = self.cti.events()

        async def watch() -> None:
            async for event in stream:
                if isinstance(event, LinkStateChanged):
                    self.link_changed(event)

        watcher = asyncio.create_task(watch(), name="dialer link watch")
        try:
            while not stop.is_set():
                await self.guarded_step()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.settings.tick):
                        await stop.wait()
            if drain > 0:
                await self.drain(drain, hurry)
        finally:
            stream.close()
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await self.close()

    async def drain(self, within: float, hurry: asyncio.Event | None = None) -> int:
        """Stop placing dials but go on following and writing this dialer's dials in flight
        until none is left, ``within`` seconds pass or ``hurry`` is set; the number still out
        (left to the next dialer's reconcile)."""
        self.draining = True
        deadline = time.monotonic() + within
        hurry = hurry or asyncio.Event()
        said = -1
        while (out := self.unended()) and time.monotonic() < deadline and not hurry.is_set():
            if out != said:
                said = out
                self._say(f"draining: {out} dial(s) in flight, no new dials")
            await self.guarded_step()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(self.settings.tick, deadline - time.monotonic())):
                    await hurry.wait()
        return self.unended()

    def unended(self) -> int:
        """This dialer's dials not over yet (placed, not yet hung up)."""
        return sum(
            1
            for d in self.tracker.dials.values()
            if d.attempt_id is not None and d.ended_at is None
        )

    async def guarded_step(self) -> bool:
        """`step`, a database outage reported (once) instead of raised; False then."""
        try:
            await self.step()
        except _DB_ERRORS as exc:
            reason = clean_text(str(exc), single_line=True, max_length=160)
            if reason != self.db_error:
                self.db_error = reason
                self._say(f"database unavailable ({reason}): no new dials until it is back")
            return False
        if self.db_error:
            self.db_error = ""
            self._say("database back")
        return True

    async def step(self) -> None:
        """One round (see the module docstring)."""
        now = self._clock()
        if self._connected() and time.monotonic() - self._board_read >= BOARD_REFRESH:
            await self._refresh_board()
        if self._resync and self._connected():
            self._resync = False
            await self._reconcile(list(self.campaigns.values()), now)
        await self.write()
        rows = await self.store.campaigns()
        seen = set()
        for row in rows:
            seen.add(row.id)
            await self._round(row, now)
        for gone in [c for c in self.campaigns.values() if c.id not in seen]:
            await self._let_go(gone, f"{gone.row.status.value if gone.held else 'ended'}")
            self.campaigns.pop(gone.id, None)
        await self._adopt_strangers(now)
        await self.write()
        if time.monotonic() - self._housekept >= self.settings.housekeeping:
            self._housekept = time.monotonic()
            await self._housekeeping(now)

    async def close(self) -> None:
        """Write what is left and give the leases back (another dialer may take over at
        once; the dials still out are reconciled by whoever runs the campaign next)."""
        with contextlib.suppress(*_DB_ERRORS):
            await self.write()
        for c in list(self.campaigns.values()):
            if c.held:
                with contextlib.suppress(*_DB_ERRORS):
                    await self.store.release_lease(c.id)
                c.held = False
                self._set_state(c, "stopped here (dialer closed)")

    # One campaign -----------------------------------------------------------------------------

    async def _round(self, row: CampaignRow, now: datetime) -> None:
        c = self.campaigns.get(row.id)
        if c is None or c.row.rules != row.rules:
            try:
                rules = rules_of(row.rules)
            except CampaignRulesError as exc:
                if c is None or c.state != str(exc):
                    self._say(f"campaign {row.id} {row.name!r}: {exc}; not dialled")
                return
            windows = rules.windows(self.compliance.windows)
            if c is None:
                c = self.campaigns[row.id] = _Campaign(row, rules, windows)
            else:
                c.rules, c.windows = rules, windows
        c.row = row
        if row.status is not CampaignStatus.RUNNING:
            await self._let_go(c, row.status.value)
            return
        if not await self._lease(c, now):
            return
        if row.mode == DialMode.PREVIEW.value:
            self._set_state(c, "running here (preview: agents dial)")
            return
        if not self._connected():
            self._set_state(c, "waiting for the PBX link")
            return
        await self._pace(c, now)

    async def _lease(self, c: _Campaign, now: datetime) -> bool:
        ttl = timedelta(seconds=self.settings.lease_seconds)
        if c.held and c.lease_until is not None and c.lease_until - now > ttl / 2:
            return True
        if not await self.store.take_lease(c.id, now, ttl):
            if c.held:
                self._say(f"campaign {c.id} {c.row.name!r}: lease lost; another dialer runs it")
            c.held = False
            holder = await self.store.lease_holder(c.id)
            who = holder[0] if holder else "another dialer"
            self._set_state(c, f"running elsewhere ({who})")
            return False
        c.lease_until = now + ttl
        if not c.held:
            c.held = True
            await self._take_over(c, now)
        return True

    async def _take_over(self, c: _Campaign, now: datetime) -> None:
        """A campaign this dialer now runs: its 30-day counts, its recent rates, and the dials
        a previous dialer left open."""
        c.live_30d, c.abandoned_30d = await self.store.counts_30d(c.id, now)
        c.rates = RateBook(settle=c.rules.dial.ring_timeout_ms / 1000 + 15)
        for past in await self.store.recent(c.id, c.rates.window):
            if past.outcome in NOT_PLACED or past.outcome in ("", UNKNOWN):
                continue
            c.rates.placed(
                DialRecord(
                    past.placed_at.timestamp(),
                    _epoch(past.answered_at),
                    _epoch(past.live_at),
                    _epoch(past.ended_at),
                    past.outcome in LIVE,
                )
            )
            if past.connected_at is not None and past.ended_at is not None:
                c.rates.talk_ended(past.connected_at.timestamp(), past.ended_at.timestamp())
        if self._connected():
            await self._reconcile([c], now)
        else:
            self._resync = True

    async def _let_go(self, c: _Campaign, status: str) -> None:
        if c.held:
            await self.store.release_lease(c.id)
            c.held = False
        state = f"{status}: no new dials"
        if state != c.state:
            out = self.tracker.in_flight(c.id)
            c.state = state
            self._say(
                f"campaign {c.id} {c.row.name!r}: {state}" + (f" ({out} in flight)" if out else "")
            )

    def _agents_now(self, c: _Campaign) -> AgentsNow:
        """The campaign queue's members (ready, talking, wrapping), and wrap-ups just ended."""
        ready = talking = wrapping = 0
        members = {}
        for interface, activity, since, paused in self.board.queue_members(c.row.queue):
            members[interface] = (activity, since)
            before = c.members.get(interface)
            if before and before[0] is AgentActivity.WRAP_UP and activity is not before[0]:
                c.rates.wrap_seen(since - before[1])
            if activity in _BUSY:
                talking += 1
            elif activity is AgentActivity.WRAP_UP:
                wrapping += 1
            elif activity is AgentActivity.AVAILABLE and not paused:
                ready += 1
        c.members = members
        c.agents = AgentsNow(ready, talking, wrapping)
        return c.agents

    async def _pace(self, c: _Campaign, now: datetime) -> None:
        agents = self._agents_now(c)
        at = now.timestamp()
        c.rates.refresh(at)
        flying = [d for d in self.tracker.of_campaign(c.id) if d.in_flight]
        chances = c.rates.live_chances(flying, at)
        rates = c.rates.rates(c.live_30d, c.abandoned_30d)
        mode = DialMode(c.row.mode)
        started = time.perf_counter_ns()
        decision = decide(
            mode,
            agents,
            len(flying),
            rates,
            cap=c.row.abandon_cap,
            # Until its rates are learnt from settled dials, a campaign dials at most two
            # lines per agent: the priors could be far off, and the first wave is the largest.
            max_lines_per_agent=min(c.row.max_lines_per_agent, LEARNING_LINES)
            if c.rates.learning
            else c.row.max_lines_per_agent,
            live_chances=chances,
        )
        self.decision_ns.append(time.perf_counter_ns() - started)
        c.decision = decision
        if now.timestamp() < c.paused_until or self.draining:
            return
        self._set_state(c, f"running here ({mode.value})")
        if decision.dials > 0:
            await self._dial(c, decision.dials, now)

    # Dialling -------------------------------------------------------------------------------

    async def _dial(self, c: _Campaign, wanted: int, now: datetime) -> None:
        """Screen, claim and dial up to ``wanted`` due leads (a few rounds if the gate skips
        some)."""
        placed = 0
        looked: list[int] = []
        purpose = CampaignPurpose(c.row.purpose)
        for _ in range(3):
            need = wanted - placed
            if need <= 0:
                return
            limit = min(need + need // 2 + 1, self.settings.batch)
            leads = await self.store.due_leads(c.id, now, limit, skip=looked)
            if not leads:
                return
            looked += [lead.id for lead in leads]
            asked = len(leads)
            decisions = await self.compliance.screen(
                [
                    Candidate(lead.e164, purpose, lead.customer_id, lead.attempts, c.id)
                    for lead in leads
                ],
                now=now,
                attempts=c.rules.attempts,
                windows=c.windows,
                dnc_lists=c.rules.dnc_lists,
            )
            # Dialled as the gate read it: E.164, whatever form the list holds.
            allowed = [
                replace(lead, e164=d.number)
                for lead, d in zip(leads, decisions, strict=True)
                if d.allowed
            ][:need]
            skipped = [
                skip_for(lead.id, d.reason, d.not_before, now)
                for lead, d in zip(leads, decisions, strict=True)
                if d.reason is not None
            ]
            claimed = await self.store.claim(c.id, now, allowed, skipped)
            if claimed is None:  # paused or stopped meanwhile, or the lease lost
                c.lease_until = None
                return
            chosen = [(lead, claimed[lead.id]) for lead in allowed if lead.id in claimed]
            await self._send(c, chosen, now)
            placed += len(chosen)
            if asked < limit:  # the list has no more due now
                return

    async def _send(self, c: _Campaign, chosen: list[tuple[DueLead, int]], now: datetime) -> None:
        at = now.timestamp()
        dials = [
            (lead, self.tracker.expect(c.id, lead.id, attempt, agent_first=False, at=at))
            for lead, attempt in chosen
        ]
        for _lead, dial in dials:
            c.rates.placed(dial)
        await asyncio.gather(*(self._originate(c, lead, dial) for lead, dial in dials))

    async def _originate(self, c: _Campaign, lead: DueLead, dial: Dial) -> None:
        variables = [f"CC_CAMPAIGN={c.id}", f"CC_LEAD={lead.id}"]
        fields = c.rules.dial.customer_first(lead.e164, c.row.queue, c.row.caller_id, variables)
        try:
            result = await self.cti.send_action("Originate", **fields)
        except AmiNotConnected:
            self.tracker.end(dial, NOT_SENT, self._clock().timestamp())
            return
        except (AmiConnectionLost, AmiTimeout):
            # It may have reached the PBX: followed, and looked for after the reconnect.
            self._resync = True
            return
        except AmiError as exc:
            log.warning("dialer: Originate for lead %d: %s", lead.id, exc)
            self._resync = True
            return
        at = self._clock().timestamp()
        if result.ok:
            c.dialled += 1
            self.tracker.sent(dial, result.response.get("ActionID"), at)
            return
        self.tracker.end(dial, REFUSED, at)
        c.paused_until = at + self.settings.refused_pause
        message = clean_text(result.message or "no reason given", single_line=True, max_length=120)
        self._set_state(
            c, f"the PBX refused a dial ({message}); retrying in {self.settings.refused_pause:g}s"
        )

    # Writing and reconciling ------------------------------------------------------------------

    async def write(self) -> None:
        """Write every dial's progress; settle the leads of those that ended."""
        changed = self.tracker.take_changed()
        if not changed:
            return
        try:
            written = await self.store.write(changed, self._attempt_rules, self._clock())
        except BaseException:
            self.tracker.changed_again(changed)
            raise
        for dial in written:
            c = self.campaigns.get(dial.campaign_id)
            if c is not None:
                if dial.connected_at is not None and dial.ended_at is not None:
                    c.rates.talk_ended(dial.connected_at, dial.ended_at)
                if dial.outcome in LIVE:
                    c.live_30d += 1
                if dial.outcome == ABANDONED:
                    c.abandoned_30d += 1
            self.tracker.forget(dial)

    def _attempt_rules(self, campaign_id: int) -> AttemptRules:
        c = self.campaigns.get(campaign_id)
        return c.rules.attempts if c is not None else AttemptRules()

    async def _refresh_board(self) -> None:
        """Correct the board from QueueStatus (after a connect, then now and then): the
        members' states as the PBX has them, whatever events were missed."""
        mark = self.board.events_seen
        try:
            result = await self.cti.send_action("QueueStatus")
        except AmiError:
            return
        if result.ok:
            self.board.reconcile(list(result.items), since_event=mark)
            self._board_read = time.monotonic()

    async def _channels(self) -> list[Message] | None:
        """The PBX's live channels (None: the link is down or the PBX refused)."""
        try:
            result = await self.cti.send_action("CoreShowChannels")
        except AmiError:
            return None
        return list(result.items) if result.ok else None

    async def _reconcile(self, campaigns: list[_Campaign], now: datetime) -> None:
        """Match the campaigns' open attempts and the dials in sight to the PBX's channels:
        found, followed on; gone, ended (as what was seen of them, else ``unknown``). A dial
        placed in the last `_GRACE` seconds may not have its channel yet: asked again."""
        listed = await self._channels()
        if listed is None:
            self._resync = True
            return
        at = now.timestamp()
        alive = {d.key for d in self.tracker.bind_listed(listed, at)}
        uids = {item.get("Uniqueid").strip() for item in listed}
        held = {c.id for c in campaigns if c.held}
        for c in campaigns:
            if not c.held:
                continue
            for row in await self.store.open_attempts(c.id):
                placed = row.placed_at.timestamp()
                dial = self.tracker.dials.get((c.id, row.lead_id))
                if dial is not None and dial.attempt_id == row.id:
                    continue
                if dial is not None and dial.attempt_id is None and dial.seen_at >= placed - 5:
                    self.tracker.adopt(dial, row.id, placed)
                    c.rates.placed(dial)
                    continue
                if at - placed < _GRACE:
                    self._resync = True
                    continue
                dial = self.tracker.expect(
                    c.id, row.lead_id, row.id, agent_first=row.preview, at=placed
                )
                self.tracker.end(dial, UNKNOWN, at)
        for dial in list(self.tracker.dials.values()):
            if dial.campaign_id not in held or dial.ended or dial.key in alive:
                continue
            if dial.uniqueid in uids:
                continue
            if not dial.uniqueid and at - dial.seen_at < _GRACE:
                self._resync = True
                continue
            self.tracker.end(dial, _lost(dial), at)

    async def _adopt_strangers(self, now: datetime) -> None:
        """Dials of campaigns this dialer runs that it did not place (an agent's preview dial,
        a dial a previous dialer placed): their open attempt rows, written from now on."""
        at = now.timestamp()
        strangers = [
            d
            for d in self.tracker.dials.values()
            if d.attempt_id is None
            and d.uniqueid
            and (c := self.campaigns.get(d.campaign_id)) is not None
            and c.held
            and at - self._tried.get(d.key, -_ADOPT_RETRY) >= _ADOPT_RETRY
        ]
        if not strangers:
            return
        for d in strangers:
            self._tried[d.key] = at
        if len(self._tried) > 10_000:
            self._tried.clear()
        by_campaign: dict[int, list[Dial]] = {}
        for d in strangers:
            by_campaign.setdefault(d.campaign_id, []).append(d)
        for campaign_id, dials in by_campaign.items():
            rows = {r.lead_id: r for r in await self.store.open_attempts(campaign_id)}
            for d in dials:
                row = rows.get(d.lead_id)
                if row is not None:
                    self.tracker.adopt(d, row.id, row.placed_at.timestamp())
                    if d.agent_first is None:
                        d.agent_first = row.preview

    async def _housekeeping(self, now: datetime) -> None:
        await self.store.release_lapsed_holds(now)
        if forgotten := await self.store.settle_forgotten(now):
            self._say(f"{forgotten} connected lead(s) no wrap-up settled: done (unsettled)")
        cutoff = now.timestamp() - 600
        for d in list(self.tracker.dials.values()):  # others' dials, over long ago
            if d.attempt_id is None and d.ended_at is not None and d.ended_at < cutoff:
                self.tracker.forget(d)
        for c in self.campaigns.values():
            if (
                c.held
                and self.tracker.in_flight(c.id) == 0
                and await self.store.set_completed(c.id)
            ):
                self._set_state(c, "completed: nothing left to dial")

    # Reporting --------------------------------------------------------------------------------

    def _connected(self) -> bool:
        return self.cti.link_state.state is LinkState.CONNECTED

    def _set_state(self, c: _Campaign, state: str) -> None:
        if state != c.state:
            c.state = state
            self._say(f"campaign {c.id} {c.row.name!r}: {state}")

    def _say(self, line: str) -> None:
        log.info("dialer: %s", line)
        if self._on_state is not None:
            self._on_state(line)


def _epoch(at: datetime | None) -> float | None:
    return None if at is None else at.timestamp()


def _lost(dial: Dial) -> str:
    """A dial whose end was missed: what was seen of it if that decides it, else unknown."""
    seen = outcome_of(dial)
    decided = dial.connected_at is not None or dial.abandoned or seen == "machine"
    return seen if decided else UNKNOWN
