"""The simulator's own AMI actions, for `AmiClient`: detecting them and calling them.

telephony_sim offers two actions a real Asterisk does not: ``SimPhone`` (press a desk-phone
button) and ``SimTraining`` (a trainer's run of scripted calls). `probe_capabilities` detects
them once per login, from ListCommands or, where that is refused, by trying each and seeing
``Invalid/unknown command``; `SimActions` (mixed into `AmiClient`) calls them, raising
`AmiUnsupported` against a PBX without them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from console.cti.ami_types import (
    ActionResult,
    AmiError,
    AmiProtocolError,
    AmiUnsupported,
    Capabilities,
)

#: Sends one action (its ``(key, value)`` pairs, ``Action`` first) on the link being set up.
Request = Callable[[list[tuple[str, str]]], Awaitable[ActionResult]]


def _unknown_action(result: ActionResult) -> bool:
    """A refusal meaning the PBX has no such action (Asterisk's wording)."""
    refusal = result.message.strip().lower()
    return refusal.startswith(("invalid/unknown command", "permission denied"))


async def _module_loaded(request: Request, module: str) -> bool | None:
    """ModuleCheck (main/manager.c manager_modulecheck()): True loaded, False "Module not
    loaded", None when the PBX would not answer (no such action, no permission, a replay)."""
    result = await request([("Action", "ModuleCheck"), ("Module", module)])
    if result.ok:
        return True
    if result.message.strip().lower() == "module not loaded":
        return False
    return None


async def probe_capabilities(request: Request) -> Capabilities:
    """What the PBX offers beyond standard AMI: ListCommands, or else a try of each action;
    ChanSpy (an application, not an action) by ModuleCheck."""
    chanspy = await _module_loaded(request, "app_chanspy.so")
    listed = await request([("Action", "ListCommands")])
    if listed.ok:
        names = {key.lower() for key, _value in listed.response}
        actions = frozenset(names - {"response", "actionid", "message"})
        return Capabilities(
            sim_phone="simphone" in actions,
            actions=actions,
            sim_training="simtraining" in actions,
            chanspy=chanspy,
            mixmonitor="mixmonitor" in actions,
        )
    # ListCommands refused: try each action once (incomplete, so it does nothing); a PBX
    # without it says it is unknown.
    phone = await request([("Action", "SimPhone")])
    training = await request([("Action", "SimTraining"), ("Command", "stop")])
    return Capabilities(
        sim_phone=not _unknown_action(phone),
        sim_training=not _unknown_action(training),
        chanspy=chanspy,
        mixmonitor=await _module_loaded(request, "app_mixmonitor.so"),
    )


class SimActions:
    """`AmiClient`'s simulator-only actions (a mixin: the client provides `capabilities`,
    set at every login, and `send_action`)."""

    capabilities: Capabilities

    if TYPE_CHECKING:

        async def send_action(
            self, action: str, /, **fields: str | Sequence[str]
        ) -> ActionResult: ...

    async def sim_phone(self, interface: str, command: str) -> ActionResult:
        """Simulator only: press a desk-phone button (answer, hold, unhold, hangup, ready,
        notready). Raises `AmiUnsupported` against a PBX without SimPhone (a real Asterisk)."""
        if not self.capabilities.sim_phone:
            raise AmiUnsupported("this PBX has no SimPhone: use the agent's own phone")
        return await self.send_action("SimPhone", Interface=interface, Command=command)

    async def start_training(
        self, interface: str, scenario: str, run_id: str, *, lead: float = 3.0
    ) -> int:
        """Simulator only: play ``scenario``'s scripted calls to the desk phone ``interface``
        as run ``run_id``, the first ``lead`` seconds from now; returns how many calls the run
        has. Raises `AmiError` with the PBX's message when it refuses, `AmiUnsupported`
        against a PBX without SimTraining."""
        if not self.capabilities.sim_training:
            raise AmiUnsupported("this PBX has no SimTraining: training runs need the simulator")
        result = await self.send_action(
            "SimTraining",
            Command="start",
            Interface=interface,
            Scenario=scenario,
            RunId=run_id,
            Lead=repr(float(lead)),
        )
        if not result.ok:
            raise AmiError(result.message or "SimTraining refused")
        calls = result.response.get("Calls").strip()
        if not calls.isdigit():
            raise AmiProtocolError(f"SimTraining: no call count in the answer ({calls!r})")
        return int(calls)

    async def stop_training(self, interface: str) -> None:
        """Simulator only: end the training run on ``interface``. Raises `AmiError` with the
        PBX's message when it refuses (no run there), `AmiUnsupported` without SimTraining."""
        if not self.capabilities.sim_training:
            raise AmiUnsupported("this PBX has no SimTraining: training runs need the simulator")
        result = await self.send_action("SimTraining", Command="stop", Interface=interface)
        if not result.ok:
            raise AmiError(result.message or "SimTraining refused")
