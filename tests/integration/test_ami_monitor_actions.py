"""ModuleCheck and the MixMonitor actions on the wire, as main/manager.c and
apps/app_mixmonitor.c answer them; the users file's ``[modules] noload``."""

from __future__ import annotations

from pathlib import Path

import pytest

from callkit.scenario import parse_scenario
from telephony_sim.cli import CliError, load_noload
from telephony_sim.clock import VirtualClock
from telephony_sim.engine import Engine, SimError
from tests.integration.ami_support import RawClient, serving

SCENARIO = """
[[queues]]
name = "q"
extension = "600"
[[agents]]
interface = "PJSIP/1001"
name = "Alice"
kind = "phone"
queues = ["q"]
[[calls]]
at = 0
queue = "q"
number = "+14155550100"
"""


def engine(tmp_path: Path, noload: tuple[str, ...] = ()) -> Engine:
    sim = Engine(
        parse_scenario(SCENARIO, "t.toml"),
        seed=1,
        clock=VirtualClock(),
        recordings_dir=tmp_path,
        noload=noload,
    )
    sim.run_virtual(1)
    sim.phone("PJSIP/1001", "answer")
    return sim


async def test_modulecheck_and_mixmonitor_answers(tmp_path: Path) -> None:
    sim = engine(tmp_path)
    leg = next(n for n in sim.pbx.channels if n.startswith("PJSIP/1001-"))
    async with serving(sim, (SimError,), {"admin": "s3cret"}) as server:
        client = await RawClient.connect(server.port)
        await client.login()
        loaded = await client.action(
            ("Action", "ModuleCheck"), ("Module", "app_chanspy.so"), ("ActionID", "m1")
        )
        assert dict(loaded) == {"Response": "Success", "ActionID": "m1", "Version": ""}
        missing = await client.action(("Action", "ModuleCheck"), ("Module", "app_nothing.so"))
        assert missing.get("Message") == "Module not loaded"
        started = await client.action(
            ("Action", "MixMonitor"), ("Channel", leg), ("File", "a.wav"), ("ActionID", "x")
        )
        assert dict(started) == {"Response": "Success", "ActionID": "x"}  # no Message
        refused = await client.action(
            ("Action", "MixMonitor"), ("Channel", leg), ("File", "../../etc/x")
        )
        assert refused.get("Message") == "Could not start monitoring channel"
        none = await client.action(("Action", "MixMonitor"), ("File", "a.wav"))
        assert none.get("Message") == "No channel specified"
        mute = await client.action(("Action", "MixMonitorMute"), ("Channel", leg), ("State", "1"))
        assert mute.get("Message") == "No direction specified. Must be read, write or both"
        mute = await client.action(
            ("Action", "MixMonitorMute"), ("Channel", leg), ("Direction", "both"), ("State", "1")
        )
        assert mute.get("Response") == "Success"
        stop = await client.action(("Action", "StopMixMonitor"), ("Channel", leg))
        assert stop.get("Response") == "Success"
        again = await client.action(("Action", "StopMixMonitor"), ("Channel", leg))
        assert again.get("Message") == "Could not stop monitoring channel"
        listed = await client.action(("Action", "ListCommands"))
        assert {"MixMonitor", "StopMixMonitor", "MixMonitorMute", "ModuleCheck"} <= set(
            dict(listed)
        )
        await client.close()


async def test_noload_removes_the_mixmonitor_actions(tmp_path: Path) -> None:
    sim = engine(tmp_path, noload=("app_mixmonitor.so", "app_chanspy"))
    async with serving(sim, (SimError,), {"admin": "s3cret"}) as server:
        client = await RawClient.connect(server.port)
        await client.login()
        listed = await client.action(("Action", "ListCommands"))
        assert "MixMonitor" not in dict(listed) and "ModuleCheck" in dict(listed)
        unknown = await client.action(("Action", "MixMonitor"), ("Channel", "x"), ("File", "y"))
        assert unknown.get("Message", "").startswith("Invalid/unknown command: MixMonitor.")
        check = await client.action(("Action", "ModuleCheck"), ("Module", "app_chanspy.so"))
        assert check.get("Message") == "Module not loaded"
        await client.close()


def test_users_file_modules_noload(tmp_path: Path) -> None:
    config = tmp_path / "users.toml"
    config.write_text('[modules]\nnoload = ["app_chanspy.so"]\n[users.a]\nsecret = "s"\n')
    assert load_noload(config) == ("app_chanspy.so",)
    config.write_text('[modules]\nnoload = 3\n[users.a]\nsecret = "s"\n')
    with pytest.raises(CliError, match=r"\[modules\] noload must be a module name or a list"):
        load_noload(config)
    assert load_noload(None) == ()
