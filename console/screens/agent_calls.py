"""The agent screen's call keys: answer, hold, hang up, transfer, consult, conference.

A mixin of `AgentScreen`: it turns the agent's key presses into `CallControl` requests
(console.services.desk.call_control decides which AMI action goes on which leg) and says in
one line what the PBX refused. It records each request in the session's recording.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from console.screens.transfer import TransferScreen
from console.services.crm.queues import QueueDirectory

if TYPE_CHECKING:
    from textual.app import App

    from console.cti.ami_types import ActionResult
    from console.services.desk.desk import AgentDesk, DeskState
    from console.services.desk.session import AgentSession


class CallKeys:
    """Call-control actions for `AgentScreen` (see the module docstring)."""

    runtime: AgentSession
    desk: AgentDesk
    sim_phone: bool

    if TYPE_CHECKING:
        app: App[Any]

        def notify(self, message: str, **kwargs: Any) -> None: ...
        def show(self, state: DeskState) -> None: ...
        def _record(self, kind: str, **details: Any) -> None: ...

    async def _phone(self, command: str) -> None:
        if not self.sim_phone:
            self.notify(
                "This PBX has no desk-phone control: use your phone.",
                severity="warning",
                markup=False,
            )
            return
        self._record(command)  # answer, hold, unhold, hangup: what the agent asked for
        await self._ask(command, self.runtime.calls.phone(command))

    async def action_answer(self) -> None:
        if self.desk.state.phase == "ringing":
            await self._phone("answer")

    async def action_hold(self) -> None:
        phase = self.desk.state.phase
        if phase == "talking":
            await self._phone("hold")
        elif phase == "held":
            await self._phone("unhold")

    async def action_hangup(self) -> None:
        call = self.desk.state.call
        if call is None or call.phase not in ("ringing", "talking", "held"):
            return
        if call.consulting:
            # Hanging up the agent's leg now would complete the transfer (Asterisk's rule):
            # never by accident.
            self.notify(
                f"You are consulting {call.consulting}: F4 completes the transfer, "
                "F7 makes a conference, F8 goes back to the caller.",
                severity="warning",
                markup=False,
            )
            return
        await self._hang_up_leg("hangup")

    async def _hang_up_leg(self, what: str) -> None:
        """Hang up the agent's own leg (the desk phone's button, or the standard Hangup)."""
        call = self.desk.state.call
        if call is None:
            return
        self._record(what)
        if self.runtime.calls.has_desk_phone and what != "hangup":
            self._record("hangup")  # the desk phone's button, as the agent pressed it
        await self._ask(what, self.runtime.calls.hang_up(call))

    async def _targets(self, consult: bool) -> TransferScreen | None:
        if self.desk.state.phase not in ("talking", "held"):
            return None
        queues = await self.runtime.calls.transfer_queues(QueueDirectory(self.runtime.db))
        return TransferScreen(queues, consult=consult)

    async def action_transfer(self) -> None:
        screen = await self._targets(consult=False)
        if screen is not None:
            self.app.push_screen(screen, callback=self._transfer_to)

    async def action_consult(self) -> None:
        screen = await self._targets(consult=True)
        if screen is not None:
            self.app.push_screen(screen, callback=self._consult_to)

    async def _transfer_to(self, extension: str | None) -> None:
        call = self.desk.state.call
        if extension is None or call is None or call.phase not in ("talking", "held"):
            return
        self._record("transfer", target=extension)
        # The log follows the PBX's events (BlindTransfer, AgentComplete transfer).
        await self._ask(f"transfer to {extension}", self.runtime.calls.transfer(call, extension))

    async def _consult_to(self, extension: str | None) -> None:
        """The caller holds, the agent's phone calls ``extension``."""
        call = self.desk.state.call
        if extension is None or call is None or call.phase not in ("talking", "held"):
            return
        self._record("consult", target=extension)
        if not await self._ask(f"consult {extension}", self.runtime.calls.consult(call, extension)):
            return
        self.show(self.desk.consult_started(extension))
        self.notify(
            f"Consulting {extension}; the caller holds. F4 complete · F7 conference · "
            "F8 back to the caller.",
            timeout=8,
            markup=False,
        )

    async def action_complete_transfer(self) -> None:
        """The agent leaves the consult: the caller goes to the consulted party."""
        call = self.desk.state.call
        if call is not None and call.consulting:
            await self._hang_up_leg("complete_transfer")

    async def action_conference(self) -> None:
        """The consult joins the caller (the PBX's three-way feature code)."""
        call = self.desk.state.call
        if call is None or not call.consulting:
            return
        self._record("conference_requested", target=call.consulting)
        await self._ask("conference", self.runtime.calls.conference(call))

    async def action_cancel_consult(self) -> None:
        """Drop the consult and go back to the caller (CancelAtxfer)."""
        call = self.desk.state.call
        if call is None or not call.consulting:
            return
        self._record("consult_cancelled", target=call.consulting)
        await self._ask("back to the caller", self.runtime.calls.cancel_consult(call))

    async def _ask(self, what: str, request: Awaitable[ActionResult]) -> bool:
        """Await a request to the PBX; one line when it fails or is refused. True when done."""
        try:
            result = await request
        except Exception as exc:  # the link is down, or no answer came
            self.notify(f"{what} failed: {exc}", severity="error", markup=False)
            return False
        if not result.ok:  # e.g. "Transfer invalid" / "Extension does not exist"
            reason = result.message or "refused by the PBX"
            self.notify(f"{what} failed: {reason}", severity="error", markup=False)
            return False
        return True
