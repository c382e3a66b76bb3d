"""Keeping the supervisor's live board true, and the supervisor's actions on agents.

`LiveFeed` asks the PBX for QueueStatus every ``interval`` seconds and after every (re)connect
and corrects the `LiveBoard` with it; the board itself is fed every event by the AMI client's
``on_frame`` callback, so nothing here runs per event. `SupervisorActions` sends the
standard actions a supervisor needs (QueuePause with a reason, QueueRemove), so it works on
a real Asterisk as on the simulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable

from console.cti.ami_types import ActionResult, AmiError
from console.cti.link import CtiLink
from console.cti.protocol import LinkState, LinkStateChanged
from console.services.errors import ServiceError, one_line
from console.services.supervision.live_board import LiveBoard

log = logging.getLogger(__name__)

#: How often the board is checked against QueueStatus.
RECONCILE_SECONDS = 60.0
MAX_REASON = 40


class LiveFeed:
    """Reconciles ``board`` with QueueStatus now and then; see the module docstring."""

    def __init__(
        self, board: LiveBoard, cti: CtiLink, *, interval: float = RECONCILE_SECONDS
    ) -> None:
        self.board = board
        self.cti = cti
        self.interval = interval
        self.reconciles = 0  # QueueStatus lists applied (tests and the status line read it)
        self.last_error = ""

    async def reconcile(self) -> bool:
        """Send QueueStatus and correct the board with it; False when the PBX refused it.

        Raises `AmiError` when the link is down or drops meanwhile.
        """
        mark = self.board.events_seen  # what events change after this is as new as the list
        result = await self.cti.send_action("QueueStatus")
        if not result.ok:
            self.last_error = f"QueueStatus refused: {result.message or 'no reason given'}"
            log.warning("live board: %s", self.last_error)
            return False
        self.board.reconcile(result.items, since_event=mark)
        self.reconciles += 1
        self.last_error = ""
        return True

    async def run(self) -> None:
        """Reconcile after every (re)connect and every ``interval`` seconds, until cancelled."""
        stream = self.cti.events()
        kick = asyncio.Event()

        async def watch() -> None:
            async for event in stream:
                if isinstance(event, LinkStateChanged) and event.state is LinkState.CONNECTED:
                    kick.set()

        watcher = asyncio.create_task(watch(), name="live board link watch")
        try:
            if self.cti.link_state.state is LinkState.CONNECTED:
                kick.set()
            while True:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.interval):
                        await kick.wait()
                kick.clear()
                if self.cti.link_state.state is not LinkState.CONNECTED:
                    continue
                try:
                    await self.reconcile()
                except AmiError as exc:  # the link dropped: the reconnect kicks us again
                    self.last_error = str(exc)
        finally:
            stream.close()
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher


class SupervisorError(ServiceError):
    """The PBX refused a supervisor's action, or could not be reached."""


class SupervisorActions:
    """A supervisor changes agents' states on the PBX (standard AMI actions only)."""

    def __init__(self, cti: CtiLink) -> None:
        self.cti = cti

    async def force_not_ready(self, interface: str, reason: str) -> None:
        """Pause ``interface`` in all its queues with ``reason`` (QueuePause Paused=true)."""
        member = _checked(interface, "interface", 80)
        code = _checked(reason, "reason", MAX_REASON)
        await _run(f"not ready for {member}", self.cti.queue_pause(member, True, reason=code))

    async def make_ready(self, interface: str) -> None:
        """Unpause ``interface`` in all its queues (QueuePause Paused=false)."""
        member = _checked(interface, "interface", 80)
        await _run(f"ready for {member}", self.cti.queue_pause(member, False))

    async def log_out(self, interface: str, queue: str) -> None:
        """Take ``interface`` out of ``queue`` (QueueRemove)."""
        member = _checked(interface, "interface", 80)
        name = _checked(queue, "queue", 128)
        await _run(
            f"logging {member} out of {name}",
            self.cti.send_action("QueueRemove", Queue=name, Interface=member),
        )


def _checked(value: str, field: str, max_length: int) -> str:
    return one_line(value, field=field, max_length=max_length, required=True, error=SupervisorError)


async def _run(what: str, action: Awaitable[ActionResult]) -> None:
    try:
        result = await action
    except AmiError as exc:
        raise SupervisorError(f"{what} failed: {exc}") from None
    if not result.ok:
        raise SupervisorError(f"{what} refused by the PBX: {result.message or 'no reason given'}")
