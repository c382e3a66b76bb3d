"""The supervisor's live view of one agent (``v`` on the agent grid): the agent's console,
read-only, as it is drawn now — the call, the caller's record, the live transcript, the
timers — followed from the agent's session recording (`LiveTail`, as a trainer watches a
trainee). ``m`` sends the agent a coach message: it appears on their console at once, never on
the call (`console.services.supervision.coaching`). A supervisor sees customer data, as on
their own console; the view is audited as a view of the agent's session.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from textual.binding import Binding

from console.screens.reason import ReasonScreen
from console.screens.replay import ReplayScreen
from console.services.errors import ServiceError
from console.services.supervision.coaching import MAX_TEXT, CoachService
from console.services.training.replay_sources import LiveTail


class MonitorScreen(ReplayScreen):
    """See the module docstring. Esc closes."""

    BINDINGS = [
        *ReplayScreen.BINDINGS,
        Binding("m", "coach", "Coach message"),
    ]

    def __init__(
        self,
        tail: LiveTail,
        *,
        title: str,
        coach: CoachService,
        supervisor_id: int,
        agent_id: int,
        agent_name: str,
        clock: Callable[[], datetime] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(tail, title=title, follow=True, clock=clock, **kwargs)
        self.coach = coach
        self.supervisor_id = supervisor_id
        self.agent_id = agent_id
        self.agent_name = agent_name
        self.sent: list[int] = []  # coach messages sent from this view (tests read it)

    def action_coach(self) -> None:
        async def send(text: str | None) -> None:
            if not text:
                return
            try:
                sent = await self.coach.send(self.supervisor_id, self.agent_id, text)
            except ServiceError as exc:
                self.notify(str(exc), severity="warning", markup=False)
                return
            except Exception as exc:  # the database away: one line, nothing sent
                self.notify(f"Coach message not sent: {exc}", severity="error", markup=False)
                return
            self.sent.append(sent)
            self.notify(f"Coach message sent to {self.agent_name}", timeout=3, markup=False)

        question = f"Coach message to {self.agent_name} (their screen only, never the call)"
        self.app.push_screen(ReasonScreen(question, max_length=MAX_TEXT), callback=send)
