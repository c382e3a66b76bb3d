"""Shared helpers for the simulator's unit tests: build an engine from TOML, record events."""

from __future__ import annotations

from callkit.scenario import parse_scenario
from telephony_sim.clock import VirtualClock
from telephony_sim.engine import Engine

Event = tuple[float, str, dict[str, str]]


class Recorder:
    """Listener keeping (virtual time, event name, fields as a dict)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.events: list[Event] = []
        engine.add_listener(self)

    def __call__(self, name: str, fields: list[tuple[str, str]]) -> None:
        self.events.append((self.engine.clock.now(), name, dict(fields)))

    def named(self, name: str) -> list[tuple[float, dict[str, str]]]:
        return [(t, f) for t, n, f in self.events if n == name]

    def called(self) -> list[str]:
        """Interfaces rung (AgentCalled), in order."""
        return [f["Interface"] for _t, f in self.named("AgentCalled")]

    def connected(self) -> list[str]:
        """Interfaces that took calls (AgentConnect), in order."""
        return [f["Interface"] for _t, f in self.named("AgentConnect")]


def build(toml: str, seed: int = 1) -> tuple[Engine, Recorder]:
    engine = Engine(parse_scenario(toml, "test.toml"), seed=seed, clock=VirtualClock())
    return engine, Recorder(engine)


def queue(name: str = "q", *, strategy: str = "rrmemory", extra: str = "", ext: str = "600") -> str:
    """A [[queues]] table."""
    return f'[[queues]]\nname = "{name}"\nextension = "{ext}"\nstrategy = "{strategy}"\n{extra}\n'


def bot(ext: int, queues: str, extra: str = "", delay: float = 0) -> str:
    """An [[agents]] bot table answering after ``delay`` seconds."""
    return f"""
[[agents]]
interface = "PJSIP/{ext}"
name = "Bot {ext}"
kind = "bot"
queues = {queues}
{extra}
[agents.bot]
answer_delay = {delay}
"""


def call(at: float, queue: str = "q", handle: float = 10, extra: str = "") -> str:
    """A scripted [[calls]] table."""
    return f"""
[[calls]]
at = {at}
queue = "{queue}"
number = "+14155550100"
handle_time = {handle}
{extra}
"""
