"""A `CtiLink` with no PBX behind it: for the unit tests of services and the desk.

It records every action sent (``sent``, in order, as the AMI action name and its fields: the
same `CallActions` and `SimActions` build them as for a real PBX), answers each with
``Response: Success`` unless told otherwise (``refuse``), raises
`AmiNotConnected` while ``connected`` is False (as `AmiClient` does during an outage), and
hands the typed events a test `push`-es to every open `events()` stream. The simulator's
actions follow the same capability flags as the real client. Integration tests use the real
simulator over a real socket instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from callkit.ami_frames import Message
from console.cti.actions import CallActions
from console.cti.ami_monitor import MonitorActions
from console.cti.ami_sim import SimActions
from console.cti.ami_types import (
    ActionResult,
    AmiNotConnected,
    Capabilities,
)
from console.cti.protocol import CtiEvent, LinkState, LinkStateChanged
from console.cti.tracker import CallTracker


@dataclass(frozen=True, slots=True)
class SentAction:
    """One action the fake link was asked to send."""

    action: str
    fields: dict[str, str | tuple[str, ...]]


class FakeEvents:
    """One `FakeLink.events()` stream."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[CtiEvent | None] = asyncio.Queue()

    def __aiter__(self) -> AsyncIterator[CtiEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[CtiEvent]:
        while (event := await self._queue.get()) is not None:
            yield event

    def push(self, event: CtiEvent | None) -> None:
        self._queue.put_nowait(event)

    def close(self) -> None:
        self._queue.put_nowait(None)


@dataclass
class FakeLink(CallActions, SimActions, MonitorActions):
    """A scriptable `CtiLink` (see the module docstring)."""

    capabilities: Capabilities = field(default_factory=Capabilities)
    tracker: CallTracker | None = None
    connected: bool = True
    refuse: dict[str, str] = field(default_factory=dict)  # action name -> error message
    training_calls: int = 1  # what a SimTraining start answers
    sent: list[SentAction] = field(default_factory=list)
    _streams: list[FakeEvents] = field(default_factory=list)
    _state: LinkStateChanged = field(
        default_factory=lambda: LinkStateChanged(
            state=LinkState.DOWN, since=datetime.now(UTC), detail="not started"
        )
    )

    # Life cycle ----------------------------------------------------------------------------

    @property
    def peer(self) -> str:
        return "fake PBX"

    @property
    def link_state(self) -> LinkStateChanged:
        return self._state

    def events(self) -> FakeEvents:
        stream = FakeEvents()
        self._streams.append(stream)
        return stream

    def push(self, event: CtiEvent) -> None:
        """Deliver ``event`` to every open stream (and follow link states it announces)."""
        if isinstance(event, LinkStateChanged):
            self._state = event
            self.connected = event.state is LinkState.CONNECTED
        for stream in self._streams:
            stream.push(event)

    async def start(self) -> None:
        self.push(
            LinkStateChanged(
                state=LinkState.CONNECTED,
                since=datetime.now(UTC),
                detail="fake link",
                sim_phone=self.capabilities.sim_phone,
            )
        )

    async def wait_connected(self) -> None:
        if not self.connected:
            raise AmiNotConnected("the fake link is down")

    async def close(self) -> None:
        self._state = replace(self._state, state=LinkState.DOWN, detail="closed")
        for stream in self._streams:
            stream.push(None)
        self._streams.clear()

    # Actions -------------------------------------------------------------------------------

    def actions(self, name: str) -> list[dict[str, str | tuple[str, ...]]]:
        """The fields of every ``name`` action sent so far, in order."""
        return [s.fields for s in self.sent if s.action == name]

    async def send_action(self, action: str, /, **fields: str | Sequence[str]) -> ActionResult:
        if not self.connected:
            raise AmiNotConnected(f"CTI link down: {action} was not sent")
        kept = {k: v if isinstance(v, str) else tuple(v) for k, v in fields.items()}
        self.sent.append(SentAction(action, kept))
        if action in self.refuse:
            return ActionResult(Message((("Response", "Error"), ("Message", self.refuse[action]))))
        if action == "SimTraining" and kept.get("Command") == "start":
            calls = str(self.training_calls)
            return ActionResult(Message((("Response", "Success"), ("Calls", calls))))
        return ActionResult(Message((("Response", "Success"),)))
