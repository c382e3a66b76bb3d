"""The real simulator in-process for console tests: engine + AMI server on a free port.

`stop`/`start` close and reopen only the AMI server while the engine (and so the call) stays
up, as when Asterisk's manager reloads or the network drops. `restart` replaces the whole
simulator, as when the `telephony_sim serve` process is killed and started again: it keeps
nothing in memory across that (as Asterisk keeps no channel across a restart), so every call,
channel and queue member is gone; the new one listens on the same port.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from callkit.scenario import parse_scenario
from telephony_sim.ami_actions import EngineActions
from telephony_sim.ami_server import AmiServer
from telephony_sim.clock import RealTimeClock
from telephony_sim.engine import Engine, SimError

USERS = {"agent": "s3cret"}
# Queues only: the console's agent joins them with QueueAdd, like a real agent logging in.
SCENARIO = """
name = "console-tests"
[[queues]]
name = "support"
extension = "601"
timeout = 300
[[queues]]
name = "sales"
extension = "600"
timeout = 300
"""


class Pbx:
    """The simulator engine with an AMI server that can be stopped and restarted."""

    def __init__(
        self,
        scenario: str = SCENARIO,
        *,
        sim_phone: bool = True,
        users: dict[str, str] | None = None,
        speed: float = 1.0,
        crm_db: Path | None = None,
        channelvars: tuple[str, ...] = (),
        recordings_dir: Path | None = None,
        noload: tuple[str, ...] = (),
    ) -> None:
        self._world = (scenario, sim_phone, speed, crm_db)
        self._monitor = (recordings_dir, noload)  # MixMonitor's folder; modules not loaded
        self._channelvars = channelvars  # manager.conf [general] channelvars
        self.engine, self.actions = self._build()
        self.engine.set_manager_vars(channelvars)
        self.users = users or USERS
        self.server: AmiServer | None = None
        self.port = 0
        self._stop_engine = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None

    def _build(self) -> tuple[Engine, dict[str, Any]]:
        scenario, sim_phone, speed, crm_db = self._world
        engine = Engine(
            parse_scenario(scenario, "console-tests.toml"),
            seed=1,
            clock=RealTimeClock(speed=speed),
            crm_db=crm_db,  # training runs read their customers' numbers from it
            recordings_dir=self._monitor[0],
            noload=self._monitor[1],
        )
        # Trainers' scenario files in these tests are written under the temp folder.
        dirs = [Path(tempfile.gettempdir())]
        actions = EngineActions(engine, (SimError,), scenario_dirs=dirs).actions()
        if not sim_phone:  # what a real Asterisk offers: no desk-phone action
            actions = {k: v for k, v in actions.items() if k != "simphone"}
        return engine, actions

    def run_engine(self) -> None:
        """Start the engine's clock (calls progress from here on)."""
        self._stop_engine = asyncio.Event()
        self._runner = asyncio.create_task(self.engine.run(self._stop_engine))

    async def halt_engine(self) -> None:
        """Stop the engine's clock and wait for it."""
        if self._runner is not None:
            self._stop_engine.set()
            await asyncio.wait_for(self._runner, timeout=5)
            self._runner = None

    async def restart(self) -> None:
        """Kill the whole simulator (no goodbye frames) and start a fresh one on the same port."""
        await self.stop()
        await self.halt_engine()
        self.engine, self.actions = self._build()
        self.engine.set_manager_vars(self._channelvars)
        await self.start()
        self.run_engine()

    async def start(self) -> None:
        self.server = AmiServer(self.actions, self.users, port=self.port)
        self.engine.add_listener(self.server.publish_event)
        self.port = await self.server.start()

    async def stop(self) -> None:
        assert self.server is not None
        self.engine.remove_listener(self.server.publish_event)
        await self.server.close()
        self.server = None

    def ring(self, number: str, name: str = "Caller", queue: str = "support") -> None:
        """A caller dials `queue` from `number` (any format a PBX might send)."""
        self.engine.inbound(queue, number, name)


@asynccontextmanager
async def running_pbx(scenario: str = SCENARIO, **kwargs: Any) -> AsyncIterator[Pbx]:
    """A started simulator, stopped on exit."""
    sim = Pbx(scenario, **kwargs)
    await sim.start()
    sim.run_engine()
    try:
        yield sim
    finally:
        await sim.halt_engine()
        if sim.server is not None:
            await sim.stop()
