"""Run the simulator as a child process for the demo (a real PBX would be elsewhere)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass

_LISTENING = re.compile(rb"AMI listening on ([^\s:]+):(\d+)")


class SimulatorError(Exception):
    """The simulator did not start; the message is one line for the user."""


@dataclass
class SimulatorProcess:
    """A `telephony_sim serve` child listening on `host:port`."""

    process: asyncio.subprocess.Process
    host: str
    port: int

    async def stop(self) -> None:
        """Terminate the child and wait for it (kill it if it lingers)."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 5)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()


async def start_simulator(
    args: Sequence[str], *, startup_s: float = 20.0, secret: str | None = None
) -> SimulatorProcess:
    """Start `python -m telephony_sim serve --port 0 ARGS…` and wait for its port.

    ``secret``: the ``--user``'s secret, passed in the child's environment (never on its
    command line, which every local user can read with ``ps``).
    """
    env = None
    if secret is not None:
        env = {**os.environ, "TELEPHONY_SIM_SECRET": secret}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "telephony_sim",
        "serve",
        "--port",
        "0",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        async with asyncio.timeout(startup_s):
            while line := await process.stdout.readline():
                found = _LISTENING.search(line)
                if found:
                    # Keep draining its output so the child never blocks on a full pipe.
                    asyncio.get_running_loop().create_task(_drain(process.stdout))
                    asyncio.get_running_loop().create_task(_drain(process.stderr))
                    return SimulatorProcess(process, found[1].decode(), int(found[2]))
    except TimeoutError:
        pass
    error = b""
    if process.returncode is None:
        process.kill()
    with contextlib.suppress(Exception):
        error = await asyncio.wait_for(process.stderr.read(), 2)
    await process.wait()
    last = error.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
    raise SimulatorError(f"the simulator did not start: {last[0]}")


def _die_with_parent() -> None:
    """Linux: the simulator gets SIGTERM if the console dies, even by SIGKILL (no orphans)."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.read(65536):
        pass
