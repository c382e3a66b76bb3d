"""The `callconsole` command as a user runs it: bad input gets one line, never a traceback."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path)}
    env.pop("CALLCONSOLE_DB_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "console", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    return result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["seed", "--customers", "-5"], "must be 0 or more"),
        (["seed", "--customers", "lots"], "expected a whole number"),
        (["seed", "--customers", "5", "--locale", "xx_XX"], "unsupported locale"),
        (["--db", "mysql://u@h/db", "db", "upgrade"], "unsupported database"),
        (["--db", "sqlite:///:memory:", "db", "upgrade"], "in-memory"),
        (["--db", "sqlite:////proc/no/such/dir/x.db", "db", "upgrade"], "does not exist"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_gets_one_clear_line(args: list[str], expected: str, tmp_path: Path) -> None:
    assert expected in one_line_error(run(*args, tmp_path=tmp_path))


def test_seed_then_refuse_to_reseed_and_corrupt_files(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    first = run("--db", f"sqlite:///{db}", "seed", "--customers", "200", tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "seeded 200 customers" in first.stdout
    again = run("--db", f"sqlite:///{db}", "seed", "--customers", "10", tmp_path=tmp_path)
    assert "already holds data" in one_line_error(again)
    assert sqlite3.connect(db).execute("SELECT count(*) FROM customers").fetchone()[0] == 200

    junk = tmp_path / "junk.db"
    junk.write_bytes(b"\x00garbage" * 512)
    result = run("--db", f"sqlite:///{junk}", "db", "upgrade", tmp_path=tmp_path)
    assert "not a usable SQLite database" in one_line_error(result)
    assert junk.read_bytes() == b"\x00garbage" * 512


def test_db_current_and_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert "none" in run("--db", url, "db", "current", tmp_path=tmp_path).stdout
    assert "schema at" in run("--db", url, "db", "upgrade", tmp_path=tmp_path).stdout
    assert "current" in run("--db", url, "db", "current", tmp_path=tmp_path).stdout


def test_demo_seeds_starts_the_simulator_and_takes_calls(tmp_path: Path) -> None:
    """The README's demo, headless: seed, simulator with bots, console logged in and ready."""
    result = run("demo", "--customers", "100", "--headless-seconds", "6", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "callconsole" / "callconsole.db").exists()
    assert "seeded 100 customers" in result.stdout
    summary = result.stdout.strip().splitlines()[-1]
    assert "link connected" in summary
    assert "in queues sales, support, billing" in summary
    assert "state Available" in summary


@pytest.mark.skipif(sys.platform != "linux", reason="parent-death signal is Linux-only")
def test_killing_the_demo_never_leaves_the_simulator_running(tmp_path: Path) -> None:
    """The demo's simulator child goes when the console goes, even on SIGKILL."""
    import signal
    import time

    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path)}
    env.pop("CALLCONSOLE_DB_URL", None)
    demo = subprocess.Popen(
        [sys.executable, "-m", "console", "demo", "--customers", "50", "--headless-seconds", "60"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        children: list[int] = []
        deadline = time.monotonic() + 30
        while not children and time.monotonic() < deadline:
            time.sleep(0.2)
            found = subprocess.run(["pgrep", "-P", str(demo.pid)], capture_output=True, text=True)
            children = [int(pid) for pid in found.stdout.split()]
        assert children, "the demo started no simulator"
        demo.send_signal(signal.SIGKILL)
        demo.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(Path(f"/proc/{c}").exists() for c in children):
            time.sleep(0.1)
        alive = [
            c
            for c in children
            if Path(f"/proc/{c}/status").exists()
            and "zombie" not in Path(f"/proc/{c}/status").read_text()
        ]
        assert not alive
    finally:
        if demo.poll() is None:
            demo.kill()


def test_routing_check_accepts_a_rules_file_and_warns_when_it_can_fall_through(
    tmp_path: Path,
) -> None:
    good = tmp_path / "rules.toml"
    good.write_text(
        '[[rule]]\nname = "billing"\nwhen = { ticket_category = "billing" }\n'
        'target = { queue = "tier2" }\n\n[[rule]]\nname = "gold"\nwhen = { tier = "gold" }\n'
        'target = { queue = "vip" }\n',
        encoding="utf-8",
    )
    result = run("routing", "check", str(good), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{good}: 2 rules OK (+ defaults: 8)"
    assert result.stderr == ""

    alone = tmp_path / "alone.toml"
    alone.write_text(
        'replace_defaults = true\n\n[[rule]]\nname = "gold"\nwhen = { tier = "gold" }\n'
        'target = { queue = "vip" }\n',
        encoding="utf-8",
    )
    result = run("routing", "check", str(alone), tmp_path=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"{alone}: 1 rule OK (+ defaults: 0)"
    assert result.stderr.startswith(f"{alone}:3: warning: no rule matches everything")


def test_routing_check_reports_the_first_mistake_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[rule]]\nname = "vip"\ntarget = { queue = "vip" }\n\n[[rule]]\nname = "late"\n'
        'target = { queue = "support" }\ndue_in = "soon"\n',
        encoding="utf-8",
    )
    result = run("routing", "check", str(bad), tmp_path=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert one_line_error(result) == (
        f"{bad}:8: rule 'late': due_in: bad duration 'soon' "
        '(use e.g. "90s", "15m", "1h30m", "1d")'
    )
    assert len(result.stderr.strip().splitlines()) == 1


def test_routing_check_of_a_missing_file_says_so(tmp_path: Path) -> None:
    result = run("routing", "check", str(tmp_path / "nope.toml"), tmp_path=tmp_path)
    assert result.returncode == 2
    assert one_line_error(result) == f"{tmp_path / 'nope.toml'}: no such file"


def test_routing_explain_shows_the_rule_why_and_who(tmp_path: Path) -> None:
    import asyncio

    from console.db import open_database
    from console.models.enums import FollowUpKind, FollowUpOrigin
    from console.services.routing.router import Router
    from console.services.routing.rules_file import load_rules

    db = tmp_path / "crm.db"
    assert (
        run("--db", f"sqlite:///{db}", "seed", "--customers", "200", tmp_path=tmp_path).returncode
        == 0
    )

    async def route_one() -> int:
        database = open_database(f"sqlite:///{db}")
        try:
            routed = await Router(database, load_rules()).create(
                FollowUpKind.TASK, origin=FollowUpOrigin.AGENT, customer_id=7, summary="x"
            )
            assert routed is not None
            return routed.followup_id
        finally:
            await database.dispose()

    fid = asyncio.run(route_one())
    shown = run("--db", f"sqlite:///{db}", "routing", "explain", str(fid), tmp_path=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert f"follow-up {fid}: pending" in shown.stdout
    assert "routed by rule '" in shown.stdout and "  because " in shown.stdout
    assert "match " in shown.stdout and "eligible now:" in shown.stdout
    missing = run("--db", f"sqlite:///{db}", "routing", "explain", "999999", tmp_path=tmp_path)
    assert "follow-up 999999 does not exist" in one_line_error(missing)


async def test_the_demo_simulators_secret_is_never_on_its_command_line() -> None:
    """The secret travels in the environment (``ps`` shows every command line); one that
    starts with "-" once read as an option and the demo died."""
    from console.cti.ami import AmiClient
    from console.simproc import start_simulator

    sim = await start_simulator(["--user", "callconsole"], secret="-starts-with-a-dash")
    try:
        cmdline = Path(f"/proc/{sim.process.pid}/cmdline").read_bytes()
        assert b"starts-with-a-dash" not in cmdline and b"--user" in cmdline
        client = AmiClient("127.0.0.1", sim.port, "callconsole", "-starts-with-a-dash")
        await client.start()
        await client.wait_connected()
        assert (await client.send_action("Ping")).ok
        await client.close()
    finally:
        await sim.stop()


def test_a_db_in_a_mistyped_folder_is_one_line_and_nothing_is_created(tmp_path: Path) -> None:
    wrong = tmp_path / "nope" / "crm.db"
    result = run("--db", str(wrong), "db", "current", tmp_path=tmp_path)
    assert result.returncode == 1
    assert "does not exist" in one_line_error(result)
    assert not wrong.parent.exists()
    ok = run("--db", str(tmp_path / "crm.db"), "db", "upgrade", tmp_path=tmp_path)
    assert ok.returncode == 0, ok.stderr  # a plain path is a SQLite file
