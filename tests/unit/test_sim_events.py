"""How the engine builds events: cached channel blocks, their wire text, and no work headless."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from callkit.ami_frames import encode, encode_text
from callkit.scenario import load_scenario
from telephony_sim import pbx
from telephony_sim.clock import VirtualClock
from telephony_sim.engine import Engine
from telephony_sim.pbx import RINGING, UP, Channel

ROOT = Path(__file__).parents[2]


def leg() -> Channel:
    return Channel("PJSIP/trunk-0000002a", "1.42", "1.42", "+14155550123", "", "ctx", "600", 0, 4)


def test_a_legs_block_and_wire_text_follow_every_change() -> None:
    chan = leg()
    assert dict(chan.fields())["ChannelState"] == "4"
    assert dict(chan.fields("Dest"))["DestCallerIDName"] == "<unknown>"
    changes = [
        (lambda: chan.set_state(UP), "ChannelStateDesc", "Up"),
        (lambda: chan.set_connected("3001", "Bot 3001"), "ConnectedLineName", "Bot 3001"),
        (lambda: chan.set_dialplan("from-queue", "601"), "Exten", "601"),
        (lambda: chan.set_state(RINGING), "ChannelState", "5"),
    ]
    for change, key, shown in changes:
        for prefix in ("", "Dest"):
            chan.wire(prefix)  # cached before the change
        change()
        assert dict(chan.fields())[key] == shown
        assert dict(chan.fields("Dest"))["Dest" + key] == shown
        for prefix in ("", "Dest"):
            assert chan.wire(prefix) == encode_text(chan.fields(prefix))[:-2]
    with pytest.raises(AttributeError):
        chan.state = UP  # type: ignore[misc]  # only through set_state, which keeps the cache


def test_wire_text_cleans_line_breaks_as_the_codec_does() -> None:
    chan = leg()
    chan.set_connected("3001", "Mallory\r\nEvent: Forged")
    assert chan.wire() == encode_text(chan.fields())[:-2]
    assert "Forged" in chan.wire() and "\nEvent:" not in chan.wire()


@pytest.mark.parametrize("name", ["normal_day", "spike_with_abandons", "transfer_to_tier2"])
def test_every_event_serialises_to_the_codecs_bytes(name: str) -> None:
    engine = Engine(load_scenario(name), seed=5, clock=VirtualClock())
    checked: list[str] = []

    def check(event: str, fields: list[tuple[str, str]]) -> None:
        wire = "Event: " + event + "\r\n" + fields.wire_text() + "\r\n"  # type: ignore[attr-defined]
        assert wire.encode() == encode([("Event", event), *fields])
        checked.append(event)

    engine.add_listener(check)
    engine.run_virtual(2 * 3600)
    assert {"Newchannel", "QueueCallerJoin", "Hangup"} <= set(checked)


def test_a_headless_run_builds_no_event(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("an event was built with nobody listening")

    monkeypatch.setattr(pbx.Channel, "block", refuse)
    monkeypatch.setattr(pbx.Pbx, "emit_call", refuse)
    engine = Engine(load_scenario("normal_day"), seed=5, clock=VirtualClock())
    engine.run_virtual(3600)
    assert engine.stats()["support"]["answered"] > 50  # type: ignore[operator]


ENGINE_SIDE = "The simulator's engine side never imports its AMI side, even indirectly"


def test_every_simulator_module_is_on_a_side_of_the_import_contract() -> None:
    # The contract in pyproject.toml (checked by lint-imports) keeps the engine side from
    # importing the AMI side; a module on neither list would escape it unseen.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = [
        c for c in config["tool"]["importlinter"]["contracts"] if c["name"] == ENGINE_SIDE
    ]
    assert contract["allow_indirect_imports"] is False
    listed = set(contract["source_modules"]) | set(contract["forbidden_modules"])
    on_disk = {f"telephony_sim.{p.stem}" for p in (ROOT / "telephony_sim").glob("*.py")}
    entry = {"telephony_sim.__init__", "telephony_sim.__main__"}  # see the contract's comment
    assert on_disk - entry - listed == set()
    assert listed - on_disk == set()
