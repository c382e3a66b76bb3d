"""The agent's state across all their queues, and the after-call-work pause around a wrap-up.

The PBX reports a member's state per queue (QueueMemberStatus / QueueMemberPause, one event
per queue); the agent has one state: available when unpaused in at least one queue, not ready
(with the reason of a paused membership) when paused in all, logged out when in none. One
queue left (a supervisor's QueueRemove, a training run's queue taken away) does not log them
out of the others.

After-call work: a ready agent whose call ends is paused with reason ``acw`` while they write
the wrap-up, so no new call rings meanwhile, and made ready again when it is saved; an agent
who was not ready stays as they were. Pure: the session sends the pauses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from console.cti.protocol import AgentStateChanged
from console.services.crm.agents import AFTER_CALL_WORK, not_ready_reason

LOGGED_OUT = "Logged out"
AVAILABLE = "Available"


@dataclass(frozen=True, slots=True)
class AgentStatus:
    """What the agent's bar says: ready or not, and the state's label."""

    ready: bool
    label: str  # "Available", "Not ready: Lunch", "Logged out"
    in_queues: bool  # a member of at least one queue

    @property
    def reason_label(self) -> str:
        """The not-ready reason alone ("Lunch"), or "" when ready or logged out."""
        return self.label.removeprefix("Not ready: ") if self.label.startswith("Not ready") else ""


@dataclass
class AgentState:
    """Folds the per-queue member events of one agent into one `AgentStatus`."""

    memberships: dict[str, tuple[bool, str]] = field(default_factory=dict)  # queue -> paused, why
    resume_after_wrap: bool = False  # paused for after-call work: ready again once saved

    def apply(self, event: AgentStateChanged) -> AgentStatus:
        """Take one member event of this agent; the agent's state over all their queues."""
        if event.logged_in:
            self.memberships[event.queue] = (event.paused, event.reason)
        else:
            self.memberships.pop(event.queue, None)
        return self.status

    @property
    def status(self) -> AgentStatus:
        states = list(self.memberships.values())
        if not states:
            return AgentStatus(ready=False, label=LOGGED_OUT, in_queues=False)
        if any(not paused for paused, _reason in states):
            return AgentStatus(ready=True, label=AVAILABLE, in_queues=True)
        reason = next((r for _p, r in states if r), "")
        known = not_ready_reason(reason)
        label = known.label if known else (reason or "paused")
        return AgentStatus(ready=False, label=f"Not ready: {label}", in_queues=True)

    @property
    def ready(self) -> bool:
        return self.status.ready

    @property
    def pause_reason(self) -> str:
        """The reason code of a paused membership ("lunch"), "" when none says one."""
        return next((r for paused, r in self.memberships.values() if paused and r), "")

    def after_call_work_pause(self) -> str | None:
        """A call ended into its wrap-up: the pause reason to set now (``acw``) if the agent
        is ready, else None (they stay as they were and stay so after the wrap-up)."""
        self.resume_after_wrap = self.ready
        return AFTER_CALL_WORK.code if self.resume_after_wrap else None

    def after_call_work_done(self) -> bool:
        """The wrap-up is saved: whether to make the agent ready again (once)."""
        resume, self.resume_after_wrap = self.resume_after_wrap, False
        return resume
