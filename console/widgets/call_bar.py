"""The call bar: call state and timers, queue, caller's wait, agent state and CTI link.

On the agent screen it has two lines: the call and the CTI link, then the agent themselves —
their state and how long they have been in it, and today's calls, AHT and missed rings
(`AgentFigures`, refreshed by the screen). The replay keeps the one-line form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from textual.content import Content
from textual.widgets import Static

from console.services.desk.agent_figures import AgentDayFigures
from console.widgets.format import clip, duration, elapsed

PHASES = {
    "idle": ("Idle", "$text-muted"),
    "ringing": ("RINGING", "bold reverse $text-warning"),
    "talking": ("Talking", "bold $text-success"),
    "held": ("ON HOLD", "bold reverse $text-accent"),
    "wrapup": ("Wrap-up", "bold $text-primary"),
}


@dataclass(frozen=True)
class CallBarModel:
    """What the bar shows; timers are computed from the `*_since` times at each tick."""

    phase: str = "idle"  # idle | ringing | talking | held | wrapup
    phase_since: datetime | None = None
    talk_since: datetime | None = None  # answered at (talk timer runs through holds)
    hold_seconds: float = 0.0  # completed holds on this call
    queue: str = ""
    waited: float | None = None  # seconds the caller waited before it rang here
    wrap_limit: float | None = None  # seconds allowed for after-call work
    agent_state: str = "Logged out"
    agent_ready: bool = False
    agent_since: datetime | None = None  # when the agent entered ``agent_state``
    today: AgentDayFigures | None = None  # the agent's own figures (None: not read yet)
    link: str = "down"  # connected | reconnecting | down
    link_detail: str = ""
    link_since: datetime | None = None
    phone_control: bool = True  # False: the PBX has no desk-phone actions; use the phone
    direction: str = "inbound"  # "outbound": a callback the agent is dialling
    consulting: str = ""  # the extension the agent is consulting while the caller holds
    conference: str = ""  # the extension in a three-way with the agent and the caller

    def with_(self, **changes: object) -> CallBarModel:
        return replace(self, **changes)  # type: ignore[arg-type]


class CallBar(Static):
    """A one-line status bar that ticks every second."""

    DEFAULT_CSS = """
    CallBar { height: 1; background: $panel; padding: 0 1;
              text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        id: str | None = None,
        agent_line: bool = False,
    ) -> None:
        super().__init__("", id=id, markup=False)
        self.model = CallBarModel()
        self._clock = clock or (lambda: datetime.now(UTC))
        self.agent_line = agent_line  # a second line: the agent's state, time in it, figures
        if agent_line:
            self.styles.height = 2

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick)
        self._tick()

    def set_model(self, model: CallBarModel) -> None:
        self.model = model
        self._tick()

    def _tick(self) -> None:
        # One line, fixed size: repaint only, no layout pass (it ticks every second).
        self.update(render_bar(self.model, self._clock(), self.agent_line), layout=False)


def render_bar(model: CallBarModel, now: datetime, agent_line: bool = False) -> Content:
    """The bar's content at `now` (pure, for tests): one line (the call, the agent's state, the
    CTI link), or with `agent_line` two: the call and the CTI link, then `render_agent`."""
    label, style = PHASES.get(model.phase, (model.phase, ""))
    if model.direction == "outbound" and model.phase != "idle":
        # A callback the agent places must never be mistaken for a caller ringing in.
        label = {"ringing": "DIALLING ↗ callback"}.get(model.phase, f"↗ Callback · {label}")
        if model.phase == "ringing":
            style = "bold reverse $text-accent"
    if model.consulting and model.phase in ("talking", "held"):
        # The caller holds while the agent talks to the target: say what the keys do now.
        label, style = f"CONSULTING {model.consulting}", "bold reverse $text-warning"
    elif model.conference and model.phase in ("talking", "held"):
        label = f"CONFERENCE +{model.conference}"
    parts: list[Content | tuple[str, str] | str] = [(f" {label} ", style)]
    if model.phase_since and model.phase != "idle":
        elapsed = (now - model.phase_since).total_seconds()
        parts.append(f" {duration(elapsed)}")
        if model.phase == "wrapup" and model.wrap_limit:
            left = model.wrap_limit - elapsed
            parts.append((f" ({duration(max(0, left))} left)", "$text-error" if left < 15 else ""))
    if model.talk_since and model.phase in ("talking", "held"):
        talk = (now - model.talk_since).total_seconds()
        parts.append(("  talk ", "$text-muted"))
        parts.append(duration(talk))
        if model.hold_seconds or model.phase == "held":
            parts.append(("  hold ", "$text-muted"))
            held_now = 0.0
            if model.phase == "held" and model.phase_since is not None:
                held_now = (now - model.phase_since).total_seconds()
            parts.append(duration(model.hold_seconds + max(0.0, held_now)))
    if model.queue:
        parts.append(("  queue ", "$text-muted"))
        parts.append(model.queue)
    if model.waited is not None:
        parts.append(("  waited ", "$text-muted"))
        parts.append(duration(model.waited))
    if agent_line:
        parts.append("  │")
    else:
        parts.append("  │ ")
        parts.extend(_state(model, now))
        parts.append("  │")
    parts.append(" CTI ")
    link_style = {"connected": "$text-success", "reconnecting": "bold $text-warning"}
    parts.append((model.link, link_style.get(model.link, "bold $text-error")))
    if model.link != "connected" and model.link_since is not None:
        parts.append((f" since {model.link_since:%H:%M:%S}", "$text-muted"))
    if model.link != "connected" and model.link_detail:
        parts.append((f" ({model.link_detail})", "$text-muted"))
    if model.link == "connected" and not model.phone_control:
        parts.append((" · answer/hold on your phone", "$text-muted"))
    line = Content.assemble(*parts)
    return Content("\n").join([line, render_agent(model, now)]) if agent_line else line


def _state(model: CallBarModel, now: datetime) -> list[Content | tuple[str, str] | str]:
    """E.g. "Not ready: Lunch 3m": the state (cut to fit) and how long the agent is in it."""
    state = (clip(model.agent_state, 34), "$text-success" if model.agent_ready else "$text-warning")
    if model.agent_since is None:
        return [state]
    return [state, f" {elapsed((now - model.agent_since).total_seconds())}"]


def render_agent(model: CallBarModel, now: datetime) -> Content:
    """The agent's line: " Available 12m  │ Today 2 calls · AHT 4:05 · 1 missed" (≤ 80 cells).

    Calls, AHT and missed rings are `AgentDayFigures` (docs/metrics.md's definitions, since
    local midnight); nothing is shown for them until they have been read.
    """
    parts: list[Content | tuple[str, str] | str] = [" ", *_state(model, now)]
    today = model.today
    if today is not None:
        calls = "1 call" if today.handled == 1 else f"{today.handled} calls"
        parts += [
            ("  │ Today ", "$text-muted"),
            calls,
            (" · AHT ", "$text-muted"),
            duration(today.aht),
            " · ",
            (f"{today.missed} missed", "bold $text-warning" if today.missed else ""),
        ]
    return Content.assemble(*parts)
