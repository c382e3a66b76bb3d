"""Listening to an agent's call: listen, whisper, barge — ChanSpy over AMI, audited.

`MonitoringService` is what a supervisor's screen calls::

    session = await monitoring.start(agent_id, "listen")     # rings the supervisor's phone
    session = await monitoring.switch(session, "whisper")    # the agent hears the supervisor
    session = await monitoring.stop(session)

How it reaches the PBX (console/cti/ami_monitor.py): an Originate to the supervisor's own
phone running ``ChanSpy(<the agent's leg>,qdE[w|B])``. The leg is found with CoreShowChannels
(the agent's phone's channel that is Up and in a bridge), so it works on Asterisk as on the
simulator. Mode switches are ChanSpy's ``d`` digits sent with PlayDTMF ``Receive: yes``; if
the PBX refuses that (older than Asterisk 16), the switch is a new spy in the new mode.

Who may: supervisors, every mode; trainers listen and whisper (coaching), never barge into a
customer's call; agents never. A refused start changes nothing and says why in one line
(`MonitoringError`): an agent with no call, a PBX without ChanSpy, a phone that is busy.
Every start, switch and stop is written to the audit log (``monitor_start``,
``monitor_switch``, ``monitor_stop``, about the agent, with the mode, the channel and, for a
stop, why). A spy also ends by itself, audited with its reason, when the agent's call ends
(ChanSpy's ``E``), the supervisor's phone hangs up, or the agent logs out (QueueMemberRemoved:
the spy is hung up, the agent being off duty).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from console.cti.ami_monitor import MODES
from console.cti.ami_types import AmiError
from console.cti.link import CtiLink
from console.cti.monitor import (
    ChannelGone,
    MemberLeft,
    MonitorEvent,
    MonitorFeed,
    SpyAnswered,
    SpyStarted,
    SpyStopped,
)
from console.db import Database
from console.models.enums import Role
from console.services.audit import AuditLog
from console.services.crm.agents import AgentDirectory, AgentIdentity
from console.services.errors import ServiceError

# Audit actions.
MONITOR_START = "monitor_start"
MONITOR_SWITCH = "monitor_switch"
MONITOR_STOP = "monitor_stop"

# Session states.
DIALLING = "dialling"  # the supervisor's phone rings
WAITING = "waiting"  # answered; ChanSpy has not attached yet
SPYING = "spying"
ENDED = "ended"


class MonitoringError(ServiceError):
    """A monitoring request refused; the message is one line for the screen."""


@dataclass(frozen=True, slots=True)
class SpySession:
    """One supervisor listening to one agent's call, as the screen shows it."""

    id: int
    supervisor_id: int
    agent_id: int
    agent_name: str
    mode: str
    target_channel: str  # the agent's leg spied on
    state: str
    started_at: datetime
    spyer_channel: str = ""  # the supervisor's leg, once the PBX named it
    action_id: str = ""
    ended_at: datetime | None = None
    end_reason: str = ""
    linkedid: str = ""  # the spied-on call's (from ChanSpyStart): its transcript's key
    caller: str = ""  # who the agent talks to, as ChanSpyStart names them (untrusted)

    @property
    def active(self) -> bool:
        return self.state != ENDED


def may_monitor(role: Role, mode: str) -> bool:
    """Supervisors: every mode; trainers: listen and whisper; agents: none."""
    if role is Role.SUPERVISOR:
        return True
    return role is Role.TRAINER and mode != "barge"


def phone_of(agent: AgentIdentity) -> str:
    """The device whose channels are the agent's legs (``PJSIP/1001``)."""
    if agent.state_interface and not agent.state_interface.lower().startswith("hint:"):
        return agent.state_interface
    if agent.interface.lower().startswith("local/"):
        exten = agent.interface[6:].partition("@")[0]
        return f"PJSIP/{exten}"
    return agent.interface


class MonitoringService:
    """Spy sessions of one supervisor (or trainer), from one console.

    ``device`` is the supervisor's phone (``PJSIP/2001``), rung for each spy. ``on_change``
    is called with every new state of a session (on the loop; the screen redraws from it).
    """

    def __init__(
        self,
        db: Database,
        link: CtiLink,
        feed: MonitorFeed,
        *,
        actor: AgentIdentity,
        device: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_change: Callable[[SpySession], None] | None = None,
    ) -> None:
        self._db = db
        self._link = link
        self._feed = feed
        self._actor = actor
        self._device = device
        self._clock = clock
        self._audit = AuditLog(db, clock=clock)
        self._agents = AgentDirectory(db)
        self._on_change = on_change
        self._sessions: dict[int, SpySession] = {}
        self._interfaces: dict[int, frozenset[str]] = {}  # session -> the agent's names
        self._ids = itertools.count(1)
        self._pending: set[asyncio.Task[None]] = set()
        self._stopping: set[int] = set()  # stops asked for before the phone answered
        self._target_gone: set[int] = set()  # sessions whose agent's leg hung up
        self._reasons: dict[int, str] = {}  # why a session this console ended is ending
        self._unsubscribe = feed.subscribe(self._on_event)

    @property
    def feed(self) -> MonitorFeed:
        """The PBX's monitoring events this service follows (a view may subscribe too)."""
        return self._feed

    def close(self) -> None:
        """Stop following the PBX (sessions are left as they are)."""
        self._unsubscribe()

    def sessions(self) -> list[SpySession]:
        """Every session of this console, newest last."""
        return list(self._sessions.values())

    def get(self, session_id: int) -> SpySession | None:
        return self._sessions.get(session_id)

    async def settle(self) -> None:
        """Wait for the audit writes the PBX's events started (tests, shutdown)."""
        while self._pending:
            await asyncio.gather(*tuple(self._pending), return_exceptions=True)

    # Requests ------------------------------------------------------------------------------

    async def start(self, agent_id: int, mode: str) -> SpySession:
        """Listen to (``mode``: listen, whisper, barge) ``agent_id``'s current call."""
        self._check_mode(mode)
        caps = self._link.capabilities
        if caps.chanspy is False:
            raise MonitoringError(
                "Listening is not available: the PBX has no ChanSpy (app_chanspy is not loaded)"
            )
        agent = await self._agents.get(agent_id)
        if agent is None:
            raise MonitoringError(f"No agent #{agent_id}")
        if agent.id == self._actor.id:
            raise MonitoringError("You cannot listen to your own calls")
        for other in self._sessions.values():
            if other.active and other.agent_id == agent.id:
                raise MonitoringError(f"You are already listening to {agent.display_name}")
        channel = await self._agent_leg(agent)
        try:
            result = await self._link.spy(
                self._device,
                channel,
                mode,
                caller_id=f'"Monitor {agent.display_name[:40]}" <{agent.extension}>',
            )
        except AmiError as exc:
            raise MonitoringError(f"Could not start listening: {exc}") from None
        if not result.ok:
            raise MonitoringError(f"The PBX refused to start listening: {result.message}")
        action_id = result.response.get("ActionID")
        self._feed.tracker.expect(action_id)
        self._feed.tracker.watch(channel)  # its Hangup: the call ended under the spy
        session = SpySession(
            id=next(self._ids),
            supervisor_id=self._actor.id,
            agent_id=agent.id,
            agent_name=agent.display_name,
            mode=mode,
            target_channel=channel,
            state=DIALLING,
            started_at=self._clock(),
            action_id=action_id,
        )
        self._interfaces[session.id] = frozenset(
            n for n in (agent.interface, agent.member_name, agent.state_interface) if n
        )
        self._put(session)
        try:
            await self._record(MONITOR_START, session, {"mode": mode})
        except Exception as exc:  # no unaudited listening: the spy is ended at once
            with contextlib.suppress(Exception):
                await self.stop(session, reason="the audit log could not be written")
            raise MonitoringError(
                f"Listening stopped: the audit log could not be written ({exc})"
            ) from None
        return session

    async def switch(self, session: SpySession, mode: str) -> SpySession:
        """Change a running spy's mode (ChanSpy's d digits; a new spy if refused)."""
        self._check_mode(mode)
        current = self._sessions.get(session.id)
        if current is None or not current.active:
            raise MonitoringError("That listening session has ended")
        if mode == current.mode:
            return current
        if not current.spyer_channel:
            raise MonitoringError("Your phone has not answered yet: switch once it has")
        try:
            result = await self._link.spy_mode(current.spyer_channel, mode)
        except AmiError as exc:
            raise MonitoringError(f"Could not switch: {exc}") from None
        if not result.ok:  # no PlayDTMF Receive here: a new spy in the new mode
            await self.stop(current, reason="switching mode (a new spy)")
            return await self.start(current.agent_id, mode)
        switched = dataclasses.replace(current, mode=mode)
        self._put(switched)
        await self._record(MONITOR_SWITCH, switched, {"from": current.mode, "mode": mode})
        return switched

    async def stop(
        self, session: SpySession, *, reason: str = "stopped by the supervisor"
    ) -> SpySession:
        """End a spy: the supervisor's leg is hung up (ChanSpyStop follows)."""
        current = self._sessions.get(session.id)
        if current is None or not current.active:
            return current or session
        self._reasons[current.id] = reason  # the PBX's Hangup may come before the answer
        if current.spyer_channel:
            # The link down: the PBX ends the spy with the call anyway.
            with contextlib.suppress(AmiError):
                await self._link.hangup(current.spyer_channel)
        else:
            self._stopping.add(current.id)  # hung up as soon as the phone answers
        return await self._end(current, reason)

    # The PBX's side --------------------------------------------------------------------------

    def _on_event(self, event: MonitorEvent) -> None:
        if isinstance(event, SpyAnswered):
            self._answered(event)
        elif isinstance(event, SpyStarted):
            session = self._by_spyer(event.spyer_channel)
            if session is not None and session.state != SPYING:
                self._put(
                    dataclasses.replace(
                        session, state=SPYING, linkedid=event.linkedid, caller=event.caller
                    )
                )
        elif isinstance(event, SpyStopped):
            session = self._by_spyer(event.spyer_channel)
            if session is not None and session.state == SPYING:
                # The spyee went (E: the spyer's Hangup follows) or the spyer is hanging up.
                self._put(dataclasses.replace(session, state=WAITING))
        elif isinstance(event, ChannelGone):
            for session in list(self._sessions.values()):
                if session.active and session.target_channel == event.channel:
                    self._target_gone.add(session.id)
            session = self._by_spyer(event.channel)
            if session is not None:
                if session.id in self._reasons:
                    why = self._reasons[session.id]
                elif session.id in self._target_gone:
                    why = "the agent's call ended"
                elif session.state == WAITING and self._link.capabilities.chanspy is None:
                    why = "the PBX ended the spy call before it attached (no ChanSpy?)"
                else:
                    why = "your phone hung up"
                self._later(self._end(session, why))
        elif isinstance(event, MemberLeft):
            for session in list(self._sessions.values()):
                if session.active and event.interface in self._interfaces.get(session.id, ()):
                    self._later(self.stop(session, reason=f"{session.agent_name} logged out"))

    def _answered(self, event: SpyAnswered) -> None:
        session = next((s for s in self._sessions.values() if s.action_id == event.action_id), None)
        if session is None or not session.active:
            if session is not None and event.ok:
                self._later(self._hangup(event.channel))  # stopped while it rang
            return
        if not event.ok:
            self._later(self._end(session, _originate_failure(event.reason)))
            return
        self._put(dataclasses.replace(session, spyer_channel=event.channel, state=WAITING))
        if session.id in self._stopping:
            self._later(self._hangup(event.channel))

    async def _hangup(self, channel: str) -> None:
        with contextlib.suppress(AmiError):
            await self._link.hangup(channel)

    # Helpers ---------------------------------------------------------------------------------

    def _check_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise MonitoringError(f"Unknown mode {mode!r}: use listen, whisper or barge")
        if not may_monitor(self._actor.role, mode):
            if self._actor.role is Role.TRAINER:
                raise MonitoringError("Trainers may listen and whisper, not barge in")
            raise MonitoringError("Only supervisors and trainers may listen to calls")

    async def _agent_leg(self, agent: AgentIdentity) -> str:
        """The agent's leg in a call (Up, bridged), from CoreShowChannels."""
        prefix = phone_of(agent) + "-"
        try:
            result = await self._link.send_action("CoreShowChannels")
        except AmiError as exc:
            raise MonitoringError(f"Could not read the PBX's channels: {exc}") from None
        for item in result.items:
            channel = item.get("Channel")
            talking = item.get("ChannelState").strip() == "6" and item.get("BridgeId").strip()
            if channel.startswith(prefix) and talking:
                return channel
        raise MonitoringError(
            f"{agent.display_name} is not on a call: there is nothing to listen to"
        )

    def _by_spyer(self, channel: str) -> SpySession | None:
        return next(
            (s for s in self._sessions.values() if s.active and s.spyer_channel == channel),
            None,
        )

    def _put(self, session: SpySession) -> None:
        self._sessions[session.id] = session
        if self._on_change is not None:
            self._on_change(session)

    async def _end(self, session: SpySession, reason: str) -> SpySession:
        current = self._sessions.get(session.id, session)
        if not current.active:
            return current
        ended = dataclasses.replace(current, state=ENDED, ended_at=self._clock(), end_reason=reason)
        self._put(ended)
        await self._record(MONITOR_STOP, ended, {"mode": ended.mode, "reason": reason})
        return ended

    def _later(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _record(self, action: str, session: SpySession, details: dict[str, str]) -> None:
        await self._audit.record(
            self._actor.id,
            action,
            "agent",
            session.agent_id,
            {
                **details,
                "channel": session.target_channel,
                "session": session.id,
                "role": str(self._actor.role),
            },
        )


def _originate_failure(reason: str) -> str:
    """Why the supervisor's phone did not take the spy call (OriginateResponse Reason)."""
    return {
        "3": "your phone did not answer",
        "5": "your phone is busy",
        "1": "your phone hung up",
    }.get(reason.strip(), "your phone could not be rung")
