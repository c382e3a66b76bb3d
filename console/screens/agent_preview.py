"""The agent screen's preview key (o): the next lead of a running preview campaign on the
agent's queues, dialled or skipped from `console.screens.preview_call`.

A mixin of `AgentScreen`. Only between calls: a preview dial rings the agent's own phone
first, so a call in progress would be in its way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work

from console.screens.preview_call import PreviewCallScreen
from console.services.outbound.preview import PreviewDial

if TYPE_CHECKING:
    from console.services.desk.desk import AgentDesk
    from console.services.desk.session import AgentSession


class PreviewKeys:
    """Preview dialing for `AgentScreen` (see the module docstring)."""

    runtime: AgentSession
    desk: AgentDesk

    if TYPE_CHECKING:
        app: Any

        def notify(self, message: str, **kwargs: Any) -> None: ...

    def action_preview(self) -> None:
        if self.desk.state.call is not None:
            self.notify("Preview dialing waits for this call to end", markup=False)
            return
        self._open_preview()

    @work(group="preview", exclusive=True, exit_on_error=False)
    async def _open_preview(self) -> None:
        runtime = self.runtime
        try:
            campaigns = await runtime.preview_campaigns()
        except Exception as exc:  # the database away: one line
            self.notify(f"Preview campaigns not read: {exc}", severity="error", markup=False)
            return
        if not campaigns:
            self.notify("No preview campaign is running on your queues", markup=False)
            return
        agent = runtime.agent

        def dialled(placed: PreviewDial | None) -> None:
            if placed is not None:
                self.notify(f"Dialling {placed.number}: your phone rings first", markup=False)

        screen = PreviewCallScreen(
            runtime.ctx.previews,
            agent_id=runtime.agent_id,
            agent_name=agent.display_name if agent else runtime.member_name,
            campaigns=campaigns,
            dial=runtime.preview_dial,
            on_call=lambda: self.desk.state.call is not None,
        )
        self.app.push_screen(screen, dialled)
