"""A throwaway PostgreSQL server for the test session (skipped, with the reason, if impossible).

Under CI (`CALLCONSOLE_REQUIRE_POSTGRES=1`, set by .ci/run) a server that cannot start fails
the session instead: a skipped PostgreSQL suite would pass CI while testing nothing.

Starts `initdb` + `pg_ctl` from Debian's packages on a free port with its socket in a temporary
directory. PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

REQUIRE_ENV = "CALLCONSOLE_REQUIRE_POSTGRES"


class PostgresUnavailable(Exception):
    """Why no server could be started."""


def unavailable(reason: str) -> NoReturn:
    """Skip the PostgreSQL tests with ``reason``, or fail them when CI requires PostgreSQL."""
    import pytest  # here, not at the top: bench/routing.py starts servers with this module

    if os.environ.get(REQUIRE_ENV, "") == "1":
        pytest.fail(f"PostgreSQL unavailable and {REQUIRE_ENV}=1: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL unavailable: {reason}")


def _binary(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))), None
    )
    if not found:
        raise PostgresUnavailable(f"{name} not found (install Debian's postgresql package)")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    """A running throwaway server that a test may stop and start again (an outage)."""

    url: str
    _ctl: Callable[..., subprocess.CompletedProcess[str]]

    def stop(self) -> None:
        """Stop it at once (``-m immediate``: as a crash or a pulled plug would)."""
        result = self._ctl("-m", "immediate", "stop")
        if result.returncode:
            raise PostgresUnavailable(f"pg_ctl stop failed: {result.stderr.strip()[:200]}")

    def start(self) -> None:
        """Start it again and wait until it takes connections."""
        result = self._ctl("start")
        if result.returncode:
            raise PostgresUnavailable(f"pg_ctl start failed: {result.stderr.strip()[:200]}")


@contextmanager
def postgres_server(*, max_connections: int = 300) -> Iterator[str]:
    """Yield a `postgresql://` URL of a fresh server with an empty database `callconsole`."""
    with controlled_postgres_server(max_connections=max_connections) as server:
        yield server.url


@contextmanager
def controlled_postgres_server(*, max_connections: int = 300) -> Iterator[PostgresServer]:
    """A fresh server with an empty database `callconsole`, that can be stopped and started."""
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    as_user: list[str] = []
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailable("running as root and no 'postgres' user exists") from None
        as_user = ["runuser", "-u", "postgres", "--"]
    base = Path(tempfile.mkdtemp(prefix="callconsole-pg-"))
    data = base / "data"
    if owner is not None:
        os.chown(base, owner.pw_uid, owner.pw_gid)
    port = _free_port()
    run = lambda *cmd: subprocess.run(  # noqa: E731
        [*as_user, *cmd], capture_output=True, text=True, timeout=120
    )
    try:
        result = run(initdb, "-D", str(data), "-U", "callconsole", "--auth=trust", "-E", "UTF8")
        if result.returncode:
            raise PostgresUnavailable(f"initdb failed: {result.stderr.strip()[:200]}")
        # max_connections: bench/routing.py --pg runs up to 200 consoles, a pool each;
        # bench/seats.py sets it from its seats and their pools.
        options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
        options += f" -c max_connections={int(max_connections)}"
        result = run(pg_ctl, "-D", str(data), "-o", options, "-w", "-l", str(base / "log"), "start")
        if result.returncode:
            raise PostgresUnavailable(f"pg_ctl start failed: {result.stderr.strip()[:200]}")
        try:
            createdb = run(
                _binary("createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "callconsole",
                "callconsole",
            )
            if createdb.returncode:
                raise PostgresUnavailable(f"createdb failed: {createdb.stderr.strip()[:200]}")
            yield PostgresServer(
                f"postgresql://callconsole@127.0.0.1:{port}/callconsole",
                lambda *args: run(
                    pg_ctl, "-D", str(data), "-o", options, "-w", "-l", str(base / "log"), *args
                ),
            )
        finally:
            run(pg_ctl, "-D", str(data), "-m", "immediate", "stop")
    finally:
        shutil.rmtree(base, ignore_errors=True)
