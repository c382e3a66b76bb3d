"""Going not ready: the agent says why (reason codes go to the PBX with QueuePause)."""

from __future__ import annotations

from textual.binding import Binding
from textual.content import Content

from console.screens.choice import ChoiceScreen
from console.services.crm.agents import AFTER_CALL_WORK, NOT_READY_REASONS, NotReadyReason


class NotReadyScreen(ChoiceScreen[NotReadyReason]):
    """Choose a not-ready reason; dismisses with it (None: stay ready)."""

    BINDINGS = [Binding("escape", "cancel", "Stay ready")]

    def __init__(self) -> None:
        # After-call work is set by the console itself around a wrap-up.
        reasons = [r for r in NOT_READY_REASONS if r is not AFTER_CALL_WORK]
        options = [(r.code, Content(r.label), r) for r in reasons]
        super().__init__(Content.styled("Not ready — why?", "bold"), options, width=40)
        self.reasons = {r.code: r for r in reasons}
