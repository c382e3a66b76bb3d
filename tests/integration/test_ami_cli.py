"""The telephony_sim command line: arguments, users, one-line errors, serving and replaying."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path

import pytest

from console.cli import main as callconsole_main
from console.simproc import start_simulator
from telephony_sim.ami_server import DEMO_USER
from telephony_sim.cli import CliError, ServeOptions, load_users, main, serve_engine
from tests.integration.ami_support import FakeEngine, FakeSimError, RawClient

HEADER = {"format": "callconsole-ami-recording", "version": 1, "started": "x"}


def write_recording(path: Path) -> None:
    event = {"t": 0.0, "kind": "event", "client": 0, "frame": "Event: Newchannel\r\n\r\n"}
    path.write_text(json.dumps(HEADER) + "\n" + json.dumps(event) + "\n", "utf-8")


def test_default_user_is_the_documented_demo_user() -> None:
    assert load_users(None, None, None) == {DEMO_USER[0]: DEMO_USER[1]}
    assert DEMO_USER == ("callconsole", "callconsole")


def test_users_from_config_and_command_line(tmp_path: Path) -> None:
    config = tmp_path / "ami.toml"
    config.write_text('[users.supervisor]\nsecret = "sup"\n[users.wall]\nsecret = "w"\n')
    assert load_users(config, "agent", "a") == {"supervisor": "sup", "wall": "w", "agent": "a"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("users = 3", r"needs a \[users.NAME\] table"),
        ("[users.bob]\nsecret = 4\n", r"\[users.bob\] needs secret"),
        ("[users\n", "Expected"),
    ],
)
def test_bad_user_config_is_one_clear_error(tmp_path: Path, content: str, message: str) -> None:
    config = tmp_path / "ami.toml"
    config.write_text(content)
    with pytest.raises(CliError, match=message):
        load_users(config, None, None)


def test_user_needs_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEPHONY_SIM_SECRET", raising=False)
    with pytest.raises(CliError, match="--user needs --secret"):
        load_users(None, "bob", None)
    with pytest.raises(CliError, match="--user needs --secret"):
        load_users(None, None, "orphan")
    monkeypatch.setenv("TELEPHONY_SIM_SECRET", "from-env")
    assert load_users(None, "bob", None) == {"bob": "from-env"}


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--port", "abc"],
        ["serve", "--port", "70000"],
        ["serve", "--speed", "0"],
        ["serve", "--speed", "10", "--virtual"],
        ["serve", "--bots", "-1"],
        ["replay"],
        ["frobnicate"],
        [],
    ],
)
def test_wrong_arguments_get_usage_and_status_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: telephony_sim")
    assert "Traceback" not in err


def test_missing_recording_is_one_line_status_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(tmp_path / "none.jsonl"), "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("telephony_sim: error: ")
    assert "cannot read recording" in err
    assert err.count("\n") == 1


def test_port_in_use_is_one_line_status_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recording = tmp_path / "r.jsonl"
    write_recording(recording)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["replay", str(recording), "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"telephony_sim: error: cannot listen on 127.0.0.1:{port}: ")
    assert err.count("\n") == 1


async def test_serve_engine_prints_port_serves_and_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = FakeEngine()
    stop = asyncio.Event()
    record = tmp_path / "rec.jsonl"
    options = ServeOptions("127.0.0.1", 0, {"agent": "pw"}, record)
    task = asyncio.create_task(serve_engine(engine, (FakeSimError,), options, stop))
    out = ""
    async with asyncio.timeout(5):
        while "listening on" not in out:
            await asyncio.sleep(0.01)
            out += capsys.readouterr().out
    port = int(out.strip().rsplit(":", 1)[1])
    client = await RawClient.connect(port)
    try:
        await client.login("agent", "pw")
        engine.emit("Newchannel", [("Channel", "PJSIP/trunk-1")])
        assert (await client.read()).get("Channel") == "PJSIP/trunk-1"
    finally:
        await client.close()
        stop.set()
        await asyncio.wait_for(task, timeout=5)
    kinds = [json.loads(line).get("kind") for line in record.read_text().splitlines()[1:]]
    assert "event" in kinds and "reply" in kinds


async def test_replay_command_in_a_subprocess(tmp_path: Path) -> None:
    recording = tmp_path / "r.jsonl"
    write_recording(recording)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "telephony_sim",
        "replay",
        str(recording),
        "--port",
        "0",
        "--speed",
        "50",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    assert proc.stdout is not None
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout=20)).decode()
        assert line.startswith("telephony_sim: AMI listening on 127.0.0.1:")
        client = await RawClient.connect(int(line.strip().rsplit(":", 1)[1]))
        await client.login(*DEMO_USER)
        assert (await client.read()).get("Event") == "Newchannel"
        await client.close()
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(proc.communicate(), timeout=10)
    assert proc.returncode == 0, err.decode()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--scenario", "no-such-scenario"], "no-such-scenario:1: no such scenario"),
        (["--db", "missing.sqlite"], "missing.sqlite: no such CRM database file"),
    ],
)
def test_serve_runtime_errors_are_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--port", "0", *argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith("telephony_sim: error: ")
    assert message in err
    assert err.count("\n") == 1


UNSTAFFED = """
name = "unstaffed"
[[queues]]
name = "sales"
extension = "700"
strategy = "leastrecent"
[queues.traffic]
rate = 600
handle_time = 20
"""


async def test_serve_with_bots_staffs_the_queues_and_answers_calls(tmp_path: Path) -> None:
    scenario = tmp_path / "unstaffed.toml"
    scenario.write_text(UNSTAFFED, encoding="utf-8")
    sim = await start_simulator(["--scenario", str(scenario), "--bots", "5", "--speed", "60"])
    client = await RawClient.connect(sim.port)
    try:
        await client.login(*DEMO_USER, events="off")
        await client.send(("Action", "QueueStatus"), ("Queue", "sales"))
        items = await client.read_until(lambda m: m.get("Event") == "QueueStatusComplete")
        members = {
            m.get("Location"): m.get("Name") for m in items if m.get("Event") == "QueueMember"
        }
        assert len(members) == 5
        assert all(name.startswith("Bot ") for name in members.values())

        await client.action(("Action", "Events"), ("EventMask", "on"))
        # 600 calls/hour at 60x: a caller every 0.1 s of wall time; bots answer after 2 s.
        events = await client.read_until(lambda m: m.get("Event") == "AgentComplete")
        connects = [m for m in events if m.get("Event") == "AgentConnect"]
        assert connects and {m.get("Interface") for m in connects} <= set(members)
    finally:
        await client.close()
        await sim.stop()


def test_callconsole_sim_forwards_bots_to_the_simulator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "unstaffed.toml"
    scenario.write_text(UNSTAFFED, encoding="utf-8")
    argv = ["sim", "run", "--scenario", str(scenario), "--duration", "10m", "--report", "json"]
    assert callconsole_main([*argv, "--bots", "4"]) == 0
    sales = json.loads(capsys.readouterr().out)["queues"]["sales"]
    assert sales["answered"] > 50
    with pytest.raises(SystemExit) as caught:
        callconsole_main([*argv, "--bots", "-4"])
    assert caught.value.code == 2
    assert "argument --bots: must be 0 or more" in capsys.readouterr().err
