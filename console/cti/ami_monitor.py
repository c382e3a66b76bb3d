"""Spying and recording over AMI, for every CTI link (a mixin over ``send_action``).

- Spy: ``Originate`` to the supervisor's own phone with ``Application: ChanSpy`` and
  ``Data: <the agent's channel>,<options>`` (apps/app_chanspy.c). Options: ``q`` (no beep or
  name: the agent hears nothing of the start), ``d`` (DTMF 4/5/6 switch listen / whisper /
  barge, change_spy_mode()), ``E`` (leave when the agent's leg hangs up, so the supervisor's
  phone hangs up with the call), plus ``w`` (whisper: the agent hears the supervisor) or ``B``
  (barge: both parties do). The full channel name is the prefix, so exactly that leg matches.
- Switching modes: ``PlayDTMF`` ``Receive: yes`` (Asterisk 16+) of 4, 5 or 6 on the spyer's
  channel; ChanSpy reads it as if the supervisor's phone had sent it.
- Recording: ``MixMonitor`` / ``StopMixMonitor`` / ``MixMonitorMute`` (Direction both,
  State 1/0) on the agent's leg (apps/app_mixmonitor.c). res_monitor's PauseMonitor is not
  used: deprecated in Asterisk 16-20, removed in 21.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from console.cti.ami_types import ActionResult

LISTEN, WHISPER, BARGE = "listen", "whisper", "barge"
MODES = (LISTEN, WHISPER, BARGE)
#: ChanSpy's options per mode: always quiet, DTMF mode switching and exit on the spyee's hang-up.
SPY_OPTIONS = {LISTEN: "qdE", WHISPER: "qdEw", BARGE: "qdEB"}
#: change_spy_mode()'s digits.
MODE_DIGITS = {LISTEN: "4", WHISPER: "5", BARGE: "6"}


class MonitorActions:
    """ChanSpy through Originate, its mode digits, and the MixMonitor actions."""

    if TYPE_CHECKING:

        async def send_action(
            self, action: str, /, **fields: str | Sequence[str]
        ) -> ActionResult: ...

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
        """Ring ``device`` (the supervisor's phone) and, once answered, spy on ``channel`` in
        ``mode``; the answer's ``ActionID`` names the OriginateResponse that follows."""
        if mode not in SPY_OPTIONS:
            raise ValueError(f"unknown spy mode {mode!r} (use one of {', '.join(MODES)})")
        fields: dict[str, str | Sequence[str]] = {
            "Channel": device,
            "Application": "ChanSpy",
            "Data": f"{channel},{SPY_OPTIONS[mode]}",
            "Timeout": str(timeout_ms),
            "Async": "true",
        }
        if caller_id:
            fields["CallerID"] = caller_id
        if variables:
            fields["Variable"] = list(variables)
        return await self.send_action("Originate", **fields)

    async def spy_mode(self, spyer_channel: str, mode: str) -> ActionResult:
        """Switch a running spy (started with ``d``) to ``mode``: its digit, received."""
        if mode not in MODE_DIGITS:
            raise ValueError(f"unknown spy mode {mode!r} (use one of {', '.join(MODES)})")
        return await self.send_action(
            "PlayDTMF", Channel=spyer_channel, Digit=MODE_DIGITS[mode], Receive="yes"
        )

    async def mix_monitor(self, channel: str, file: str, options: str = "") -> ActionResult:
        """MixMonitor: record ``channel`` (both directions mixed) to ``file``."""
        fields = {"Channel": channel, "File": file}
        if options:
            fields["Options"] = options
        return await self.send_action("MixMonitor", **fields)

    async def stop_mix_monitor(self, channel: str) -> ActionResult:
        """StopMixMonitor: stop recording ``channel`` (the file is complete afterwards)."""
        return await self.send_action("StopMixMonitor", Channel=channel)

    async def mix_monitor_mute(self, channel: str, muted: bool) -> ActionResult:
        """MixMonitorMute both directions: pause (``muted``) or resume the recording."""
        return await self.send_action(
            "MixMonitorMute", Channel=channel, Direction="both", State="1" if muted else "0"
        )

    async def module_check(self, module: str) -> ActionResult:
        """ModuleCheck (main/manager.c): Success when ``module`` is loaded."""
        return await self.send_action("ModuleCheck", Module=module)
