"""The standard call-control actions, as AMI fields: one implementation for every CTI link.

A mixin over the link's ``send_action``: `AmiClient` sends them to Asterisk (or the simulator),
`FakeLink` records them for unit tests, so tests see exactly the fields a PBX would get.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from console.cti.ami_types import ActionResult


class CallActions:
    """QueuePause, Hangup, BlindTransfer, Atxfer, CancelAtxfer, PlayDTMF and Redirect."""

    if TYPE_CHECKING:

        async def send_action(
            self, action: str, /, **fields: str | Sequence[str]
        ) -> ActionResult: ...

    async def queue_pause(
        self, interface: str, paused: bool, *, queue: str = "", reason: str = ""
    ) -> ActionResult:
        """QueuePause: pause or unpause a member in ``queue`` (default: all its queues)."""
        fields = {"Interface": interface, "Paused": "true" if paused else "false"}
        if queue:
            fields["Queue"] = queue
        if reason:
            fields["Reason"] = reason
        return await self.send_action("QueuePause", **fields)

    async def hangup(self, channel: str, cause: int = 16) -> ActionResult:
        """Hangup a channel (e.g. ``CallAnswered.agent_channel``); standard, works on Asterisk."""
        return await self.send_action("Hangup", Channel=channel, Cause=str(cause))

    async def blind_transfer(self, channel: str, exten: str, context: str = "") -> ActionResult:
        """BlindTransfer (Asterisk 12+): the transferer ``channel`` sends its bridge peer to
        ``exten``; the PBX reports it (BlindTransfer, AgentComplete transfer)."""
        fields = {"Channel": channel, "Exten": exten}
        if context:
            fields["Context"] = context
        return await self.send_action("BlindTransfer", **fields)

    async def atxfer(self, channel: str, exten: str, context: str = "") -> ActionResult:
        """Atxfer (the attended-transfer DTMF feature, main/bridge_basic.c): the caller is held
        and the transferer ``channel`` dials ``exten``. The transferer hanging up completes it
        (AttendedTransfer), `cancel_atxfer` goes back to the caller."""
        fields = {"Channel": channel, "Exten": exten}
        if context:
            fields["Context"] = context
        return await self.send_action("Atxfer", **fields)

    async def cancel_atxfer(self, channel: str) -> ActionResult:
        """CancelAtxfer (Asterisk 13.18+): the atxferabort feature on the transferer."""
        return await self.send_action("CancelAtxfer", Channel=channel)

    async def feature_code(self, channel: str, code: str) -> ActionResult:
        """Send a DTMF feature code as if ``channel``'s phone dialled it (PlayDTMF with
        ``Receive: yes``, Asterisk 16+), e.g. features.conf atxferthreeway ``*3``. The first
        error answer stops it."""
        if not code:
            raise ValueError("no feature code")
        for digit in code:
            result = await self.send_action("PlayDTMF", Channel=channel, Digit=digit, Receive="yes")
            if not result.ok:
                break
        return result

    async def redirect(self, channel: str, exten: str, context: str = "") -> ActionResult:
        """Redirect (blind transfer) a channel, usually the caller's, to ``exten``."""
        fields = {"Channel": channel, "Exten": exten, "Priority": "1"}
        if context:
            fields["Context"] = context
        return await self.send_action("Redirect", **fields)
