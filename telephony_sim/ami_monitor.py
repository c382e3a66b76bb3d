"""AMI actions for recording and module checks: ``MixMonitor``, ``StopMixMonitor``,
``MixMonitorMute`` (apps/app_mixmonitor.c, registered only while app_mixmonitor is loaded) and
``ModuleCheck`` (main/manager.c, always there), with Asterisk 20's answers.

ChanSpy has no AMI action of its own: it is an Originate's ``Application`` (telephony_sim/spy.py).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from callkit.ami_frames import Message
from telephony_sim.ami_actions import Action, ActionError, Fields, error, success


@runtime_checkable
class MonitorControl(Protocol):
    """An engine with modules to check and channels to record (the simulator's Engine)."""

    def has_module(self, name: str) -> bool: ...
    def mix_monitor(self, channel: str, file: str, options: str) -> None: ...
    def stop_mix_monitor(self, channel: str) -> None: ...
    def mix_monitor_mute(self, channel: str, direction: str, state: str) -> None: ...


class MonitorActions:
    """The handlers, bound to one engine."""

    def __init__(self, engine: MonitorControl) -> None:
        self._engine = engine

    def actions(self) -> list[Action]:
        """ModuleCheck always; the MixMonitor actions while app_mixmonitor is loaded
        (load_module() registers them, so without it they are unknown commands)."""
        table = [Action("ModuleCheck", "Check if module is loaded.", self.module_check)]
        if self._engine.has_module("app_mixmonitor"):
            table += [
                Action(
                    "MixMonitor",
                    "Record a call and mix the audio during the recording.",
                    self.start,
                ),
                Action("StopMixMonitor", "Stop recording a call through MixMonitor.", self.stop),
                Action("MixMonitorMute", "Mute / unMute a Mixmonitor recording.", self.mute),
            ]
        return table

    def module_check(self, request: Message) -> list[Fields]:
        """manager_modulecheck(): ``Module`` loaded → Success with an empty ``Version`` (kept
        for compatibility since the move to git), else ``Module not loaded``."""
        if not self._engine.has_module(request.get("Module")):
            return [error(request, "Module not loaded")]
        return [success(request, None, ("Version", ""))]

    def start(self, request: Message) -> list[Fields]:
        """manager_mixmonitor(): Channel required; File, Options; ``Response: Success``."""
        channel = request.get("Channel").strip()
        if not channel:
            raise ActionError("No channel specified")
        self._engine.mix_monitor(channel, request.get("File").strip(), request.get("Options"))
        return [success(request, None)]

    def stop(self, request: Message) -> list[Fields]:
        """manager_stop_mixmonitor(): Channel required; ``Response: Success``."""
        channel = request.get("Channel").strip()
        if not channel:
            raise ActionError("No channel specified")
        self._engine.stop_mix_monitor(channel)
        return [success(request, None)]

    def mute(self, request: Message) -> list[Fields]:
        """manager_mute_mixmonitor(): Direction (read|write|both), Channel, State."""
        self._engine.mix_monitor_mute(
            request.get("Channel"), request.get("Direction"), request.get("State")
        )
        return [success(request, None)]
