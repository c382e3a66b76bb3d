"""`callconsole replay`: a recorded call, shift or run opens in the read-only view (headless
here), masked; a bad request is one line and exit 2."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from console.cli import main
from console.db import open_database
from console.schema import upgrade
from tests.unit.test_replay import record, recorded_call


@pytest.fixture
def recorded(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'crm.db'}"

    async def build() -> None:
        database = open_database(url)
        try:
            await upgrade(database)
            await record(database, recorded_call("L1"))
        finally:
            await database.dispose()

    asyncio.run(build())
    return url


def test_a_recorded_call_replays_headless(
    recorded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["--db", recorded, "replay", "--call", "L1", "--speed", "16", "--headless-seconds", "1"]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "replayed" in out and "of " in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--call", "nope"], "nothing recorded there"),
        (["--agent", "nobody"], "no agent with login 'nobody'"),
        (["--run", "7"], "no training run 7"),
    ],
)
def test_a_bad_replay_request_is_one_line(
    recorded: str, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["--db", recorded, "replay", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"callconsole replay: error: {message}"]
