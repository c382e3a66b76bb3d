"""Call control from the agent's desk: which AMI action each key sends, on which leg.

The screen says what the agent asked for (answer, hold, hang up, transfer, consult, complete,
conference, back to the caller); this decides how the PBX is asked:

- the desk-phone buttons (answer, hold, unhold) exist only on a PBX with the simulator's
  ``SimPhone`` (`Capabilities.sim_phone`); hanging up uses it there, the standard ``Hangup``
  of the agent's own leg elsewhere;
- the agent's leg is the one the tracker follows now (it moves with Local optimisation);
- a transfer is the transferer's ``BlindTransfer`` (Asterisk 12+: the PBX reports it as a phone's
  REFER would), or ``Redirect`` of the caller on a PBX whose ListCommands lacks it;
- a consult is ``Atxfer``; completing it hangs up the agent's leg (Asterisk's rule), the
  conference is the three-way feature code (features.conf ``atxferthreeway``) played on the
  agent's leg, and going back is ``CancelAtxfer``.

Every method returns the PBX's answer (check ``ok``; refusals are not raised) and raises the
link's errors (`AmiNotConnected`, `AmiUnsupported`…) for the screen to show in one line.
"""

from __future__ import annotations

from dataclasses import dataclass

from console.cti.ami_types import ActionResult
from console.cti.link import CtiLink
from console.services.crm.queues import QueueDirectory, QueueInfo
from console.services.desk.desk import DeskCall


@dataclass(frozen=True, slots=True)
class CallControl:
    """One agent's call-control keys on one CTI link (see the module docstring)."""

    link: CtiLink
    interface: str  # the agent's member interface (SimPhone's Interface)
    threeway_code: str = "*3"

    @property
    def has_desk_phone(self) -> bool:
        """Whether the PBX offers the simulator's desk-phone buttons."""
        return self.link.capabilities.sim_phone

    def agent_leg(self, call: DeskCall) -> str:
        """The agent's current leg of the call."""
        tracker = self.link.tracker
        leg = tracker.agent_channel(call.uniqueid, call.agent_channel) if tracker else ""
        return leg or call.agent_channel

    async def phone(self, command: str) -> ActionResult:
        """Press a desk-phone button (answer, hold, unhold, hangup): the simulator only."""
        return await self.link.sim_phone(self.interface, command)

    async def hang_up(self, call: DeskCall) -> ActionResult:
        """Hang up the agent's own leg: the desk phone's button, or the standard Hangup."""
        if self.has_desk_phone:
            return await self.phone("hangup")
        return await self.link.hangup(self.agent_leg(call))

    async def transfer(self, call: DeskCall, extension: str) -> ActionResult:
        """Send the caller to ``extension`` (blind)."""
        actions = self.link.capabilities.actions
        if not actions or "blindtransfer" in actions:
            return await self.link.blind_transfer(self.agent_leg(call), extension)
        return await self.link.redirect(call.channel, extension)  # Asterisk older than 12

    async def consult(self, call: DeskCall, extension: str) -> ActionResult:
        """The caller holds while the agent's phone calls ``extension``."""
        return await self.link.atxfer(self.agent_leg(call), extension)

    async def conference(self, call: DeskCall) -> ActionResult:
        """The consulted party joins the caller and the agent."""
        return await self.link.feature_code(self.agent_leg(call), self.threeway_code)

    async def cancel_consult(self, call: DeskCall) -> ActionResult:
        """Drop the consult, back to the caller."""
        return await self.link.cancel_atxfer(self.agent_leg(call))

    async def transfer_queues(self, directory: QueueDirectory) -> list[QueueInfo]:
        """The CRM's queues a call can go to: those this PBX has (when it told us)."""
        queues = await directory.all()
        tracker = self.link.tracker
        on_pbx = set(tracker.queues()) if tracker is not None else set()
        return [q for q in queues if q.name in on_pbx] if on_pbx else list(queues)
