"""The agent screen's recording line and pause key, and the "supervisor listening" notice.

A mixin of `AgentScreen`. With ``[desk] record_calls`` each answered call is recorded
(`CallRecordingService.start`, MixMonitor on the agent's leg); ``r`` pauses the recording
while card details are taken and resumes it; a pause resumes by itself after
``recording_pause_seconds``. The line under the call bar says which, every second:
"● Recording (r to pause)", "Recording paused — resumes in 37s (r to resume)", and, where
the site tells agents (``show_supervisor_listening``), "Supervisor listening". The key is
not in the footer (it is full); the line names it. Refusals are one line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from textual import work
from textual.widgets import Static

from console.services.quality.call_recording import RecordingError

if TYPE_CHECKING:
    from textual.widget import Widget

    from console.cti.protocol import CallAnswered
    from console.services.desk.desk import AgentDesk
    from console.services.desk.session import AgentSession


class RecordingKeys:
    """The pause-recording key and the recording line (see the module docstring)."""

    runtime: AgentSession
    desk: AgentDesk

    if TYPE_CHECKING:

        def notify(self, message: str, **kwargs: Any) -> None: ...
        def _record(self, kind: str, **details: Any) -> None: ...

    def recording_line(self) -> str:
        """What the recording line says now ("" hides it)."""
        parts = []
        call = self.desk.state.call
        if call is not None and call.interaction_id is not None:
            state = self.runtime.recordings.state(call.interaction_id)
            if state is not None and state.paused:
                left = state.resumes_in(self.runtime.clock())
                parts.append(f"Recording paused — resumes in {left}s (r to resume)")
            elif state is not None and state.recording:
                parts.append("● Recording (r to pause)")
        if self.runtime.listening.listening:
            parts.append("Supervisor listening")
        return "   ·   ".join(parts)

    def _tick_recording(self) -> None:
        line = cast("Widget", self).query_one("#recording", Static)
        text = self.recording_line()
        line.update(text)
        line.display = bool(text)

    def _start_recording_line(self) -> None:
        # A recording row the database refused: the PBX's state stands; the agent is told.
        self.runtime.recordings.on_warning = lambda line: self.notify(
            line, severity="warning", markup=False
        )
        self._tick_recording()
        cast("Widget", self).set_interval(1.0, self._tick_recording)

    def recording_answered(self, event: CallAnswered) -> None:
        """A call of the agent's was answered: record it when the site records calls."""
        call = self.desk.state.call
        if not self.runtime.options.record_calls or call is None:
            return
        if call.interaction_id is None or call.interaction_id < 0:
            return  # no row in the database yet (an outage): nothing to attach it to
        self._start_recording(call.interaction_id, event.agent_channel, call.uniqueid)

    @work(group="recording", exit_on_error=False)
    async def _start_recording(self, interaction_id: int, channel: str, uniqueid: str) -> None:
        try:
            await self.runtime.recordings.start(interaction_id, channel, uniqueid)
        except RecordingError as exc:
            self.notify(str(exc), severity="warning", markup=False)
        except Exception as exc:  # the link or database away: one line; the call goes on
            self.notify(f"Recording not started: {exc}", severity="error", markup=False)
        self._tick_recording()

    # Its own group: an exclusive worker in the start's group would cancel a start in flight.
    @work(group="recording-pause", exclusive=True, exit_on_error=False)
    async def action_pause_recording(self) -> None:
        call = self.desk.state.call
        recordings = self.runtime.recordings
        state = None
        if call is not None and call.interaction_id is not None:
            state = recordings.state(call.interaction_id)
        if call is None or state is None or not state.recording:
            self.notify("This call is not being recorded.", markup=False)
            return
        try:
            if state.paused:
                await recordings.resume(state.interaction_id)
                self._record("recording_resumed")
            else:
                await recordings.pause(state.interaction_id)
                self._record("recording_paused")
        except RecordingError as exc:
            self.notify(str(exc), severity="error", markup=False)
        except Exception as exc:
            self.notify(f"Recording not changed: {exc}", severity="error", markup=False)
        self._tick_recording()
