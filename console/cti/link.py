"""The CTI link the console depends on: a `CtiLink` protocol with capability flags.

Screens and services speak to the PBX through this interface, never through one client
(the way an adapter interface keeps an app free of any one database): `console.cti.ami.AmiClient`
is the implementation for Asterisk's AMI (and the simulator), `console.cti.fake.FakeLink`
serves unit tests. What a PBX offers beyond the standard actions is told by `capabilities`
(`Capabilities.sim_phone`: the simulator's desk-phone buttons; `sim_training`: scripted
training runs); a screen checks the flag before it offers the key.

Failure contract (every implementation): actions raise `AmiNotConnected` while the link is
down and `AmiConnectionLost` when it drops with the action in flight, never queue across an
outage; a PBX's refusal is returned (``ActionResult.ok`` False), not raised; the simulator's
own actions raise `AmiUnsupported` where the PBX lacks them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from console.cti.ami_types import ActionResult, Capabilities
    from console.cti.protocol import CtiEvent, LinkStateChanged
    from console.cti.tracker import CallTracker


class EventSource(Protocol):
    """A stream of typed CTI events, in the order the PBX sent them (ends when the link closes)."""

    def __aiter__(self) -> AsyncIterator[CtiEvent]: ...

    def close(self) -> None:
        """End the stream (its iteration stops)."""


@runtime_checkable
class CtiLink(Protocol):
    """One link to a PBX: life cycle, typed events, call-control actions, capability flags."""

    @property
    def capabilities(self) -> Capabilities:
        """What the connected PBX offers beyond standard AMI (learnt at every login)."""
        ...

    @property
    def tracker(self) -> CallTracker | None:
        """The call tracker fed by this link (active calls, queues, members), if any."""
        ...

    @property
    def peer(self) -> str:
        """Where the link goes, for people (``host:port``)."""
        ...

    @property
    def link_state(self) -> LinkStateChanged:
        """The current link state."""
        ...

    def events(self) -> EventSource:
        """A new stream of every typed event from now on (create it before `start`)."""
        ...

    async def start(self) -> None:
        """Start connecting; return once the first attempt succeeded or failed."""

    async def wait_connected(self) -> None:
        """Wait until the link is connected and resynchronised."""

    async def close(self) -> None:
        """Log off, disconnect and end every event stream."""

    async def send_action(self, action: str, /, **fields: str | Sequence[str]) -> ActionResult:
        """Send one action with its fields; its answer (refusals returned, not raised)."""
        ...

    async def queue_pause(
        self, interface: str, paused: bool, *, queue: str = "", reason: str = ""
    ) -> ActionResult:
        """Pause (with a reason) or unpause a member in ``queue`` (default: all its queues)."""
        ...

    async def hangup(self, channel: str, cause: int = 16) -> ActionResult:
        """Hang up one channel."""
        ...

    async def blind_transfer(self, channel: str, exten: str, context: str = "") -> ActionResult:
        """Send ``channel``'s bridge peer to ``exten``."""
        ...

    async def atxfer(self, channel: str, exten: str, context: str = "") -> ActionResult:
        """Consult: the caller holds while ``channel`` dials ``exten``."""
        ...

    async def cancel_atxfer(self, channel: str) -> ActionResult:
        """End a consult and go back to the caller."""
        ...

    async def feature_code(self, channel: str, code: str) -> ActionResult:
        """Dial a DTMF feature code on ``channel`` (e.g. the three-way code)."""
        ...

    async def redirect(self, channel: str, exten: str, context: str = "") -> ActionResult:
        """Redirect a channel to ``exten``."""
        ...

    async def spy(
        self,
        device: str,
        channel: str,
        mode: str,
        *,
        caller_id: str = "",
        timeout_ms: int = 30_000,
        variables: Sequence[str] = (),
    ) -> ActionResult:
        """ChanSpy (`Capabilities.chanspy`): ring ``device`` and spy on ``channel`` in ``mode``
        (console/cti/ami_monitor.py)."""
        ...

    async def spy_mode(self, spyer_channel: str, mode: str) -> ActionResult:
        """Switch a running spy to ``mode`` (listen, whisper, barge)."""
        ...

    async def mix_monitor(self, channel: str, file: str, options: str = "") -> ActionResult:
        """MixMonitor (`Capabilities.mixmonitor`): record ``channel`` to ``file``."""
        ...

    async def stop_mix_monitor(self, channel: str) -> ActionResult:
        """StopMixMonitor: stop recording ``channel``."""
        ...

    async def mix_monitor_mute(self, channel: str, muted: bool) -> ActionResult:
        """MixMonitorMute: pause (``muted``) or resume the recording of ``channel``."""
        ...

    async def sim_phone(self, interface: str, command: str) -> ActionResult:
        """Simulator only (`Capabilities.sim_phone`): press a desk-phone button."""
        ...

    async def start_training(
        self, interface: str, scenario: str, run_id: str, *, lead: float = 3.0
    ) -> int:
        """Simulator only (`Capabilities.sim_training`): play a scenario to a desk phone."""
        ...

    async def stop_training(self, interface: str) -> None:
        """Simulator only (`Capabilities.sim_training`): end the run on a desk phone."""
