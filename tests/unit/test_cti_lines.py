"""Channel and member-interface names: which channels are the agent's (console/cti/lines.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.cti.lines import AgentLines, device_of, interface_device, local_partner


@pytest.mark.parametrize(
    ("channel", "device"),
    [
        ("PJSIP/1001-0000002a", "PJSIP/1001"),
        ("PJSIP/trunk-provider-00000001", "PJSIP/trunk-provider"),
        ("SIP/2001-0000000b", "SIP/2001"),
        ("Local/1001@from-queue-0000abcd;1", "Local/1001@from-queue"),
        ("Local/1001@from-queue-0000abcd;2", "Local/1001@from-queue"),
        ("PJSIP/1001", "PJSIP/1001"),
        ("", ""),
    ],
)
def test_a_channel_names_its_device(channel: str, device: str) -> None:
    assert device_of(channel) == device


@pytest.mark.parametrize(
    ("interface", "device"),
    [
        ("Local/1001@from-queue/n", "Local/1001@from-queue"),
        ("Local/1001@from-queue", "Local/1001@from-queue"),
        ("Local/1001/n", "Local/1001@default"),
        ("PJSIP/1001", "PJSIP/1001"),
    ],
)
def test_a_member_interface_is_named_as_its_channels_are(interface: str, device: str) -> None:
    assert interface_device(interface) == device


def test_a_local_half_knows_its_partner() -> None:
    assert local_partner("Local/1001@from-queue-0000abcd;1") == "Local/1001@from-queue-0000abcd;2"
    assert local_partner("Local/1001@from-queue-0000abcd;2") == "Local/1001@from-queue-0000abcd;1"
    assert local_partner("PJSIP/1001-0000002a") == ""


def test_a_hint_state_interface_is_not_a_device() -> None:
    lines = AgentLines("Local/1001@from-queue/n", ["hint:1001@ext-local"])
    assert lines.owns("Local/1001@from-queue-0000abcd;1")
    assert not lines.owns("PJSIP/1001-0000002a")  # unknown until configured or dialled


@given(st.text(max_size=60))
def test_any_text_is_a_channel_name_or_not_without_raising(name: str) -> None:
    lines = AgentLines("PJSIP/1001", ["PJSIP/1001"])
    assert isinstance(lines.owns(name), bool)
    assert isinstance(device_of(name), str)
    assert isinstance(local_partner(name), str)
