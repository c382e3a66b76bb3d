"""`callconsole dialer`: the loop headless against the configured PBX and database, one line per
campaign state change, and Ctrl-C (SIGINT) stopping it cleanly with its lease given back."""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.cli import build_parser
from console.cli_outbound import dialer
from console.db import Database
from console.services.outbound.dial_store import DialStore
from console.services.outbound.windows_file import load_windows
from tests.dialer_support import (
    CHANNELVARS,
    add_customers,
    campaign_file,
    number,
    originated,
    scenario,
    start_campaign,
    wait_until,
)
from tests.pbx import running_pbx


async def test_the_dialer_command_dials_and_stops_on_ctrl_c(
    db: Database, db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await add_customers(db, [number(i) for i in range(2)])
    # The real clock: run the test in New York's afternoon or not, the command must say what
    # it does; a notification campaign with no window of its own is dialled whenever the
    # legal window is open, so the test only asks for a dial when it is.
    campaign_id = await start_campaign(db, campaign_file(), clock=_now)
    async with running_pbx(scenario(agents=2), channelvars=CHANNELVARS) as pbx:
        config = tmp_path / "settings.toml"
        config.write_text(
            f'[pbx]\nhost = "127.0.0.1"\nport = {pbx.port}\nuser = "agent"\nsecret = "s3cret"\n',
            encoding="utf-8",
        )
        args = build_parser().parse_args(
            ["--db", f"sqlite:///{db_path}", "--config", str(config), "dialer", "--tick", "0.2",
             "--site", "test-site"]
        )  # fmt: skip
        task = asyncio.create_task(dialer(args))
        lines: list[str] = []

        def said(text: str) -> bool:
            lines.extend(capsys.readouterr().out.splitlines())
            return any(text in line for line in lines)

        await wait_until(lambda: said("'Test': running here (progressive)"))
        assert any("test-site" in line and "connected" in line for line in lines)
        if _window_open():
            await wait_until(lambda: len(originated(pbx)) >= 1)
        os.kill(os.getpid(), signal.SIGINT)
        assert await asyncio.wait_for(task, 10) == 0
        said("stopped")
    assert lines[-1] == "callconsole dialer: stopped"
    assert "'Test': stopped here (dialer closed)" in "\n".join(lines)
    assert await DialStore(db, owner="x").lease_holder(campaign_id) is None


def _now() -> datetime:
    return datetime.now(UTC)


def _window_open() -> bool:
    return load_windows().check(number(0), _now()).open
