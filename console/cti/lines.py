"""Which queue members and channels are the agent's: the member, the phone, and their legs.

A PBX may know one agent by several names. A member is added with an ``Interface`` (what
app_queue dials: ``PJSIP/1001``, or FreePBX's ``Local/1001@from-queue/n``), a ``MemberName``
and a ``StateInterface`` (the device whose state says "in use": ``PJSIP/1001``, or a
``hint:1001@ext-local``). Channels are named after the device with a sequence number:
``PJSIP/1001-0000002a``, and a Local channel's two halves ``Local/1001@from-queue-0000abcd;1``
and ``;2``. `AgentLines` keeps every name the agent is known by, learns the others from the
QueueMember frames that carry them together, and tells whether a channel belongs to the agent.
"""

from __future__ import annotations

from collections.abc import Iterable


def device_of(channel: str) -> str:
    """The device a channel name belongs to.

    ``PJSIP/1001-0000002a`` → ``PJSIP/1001``; ``Local/1001@from-queue-0000abcd;1`` →
    ``Local/1001@from-queue``; a name with no sequence number is its own device.
    """
    name = channel.strip()
    if name[:6].lower() == "local/" and len(name) > 2 and name[-2] == ";":
        name = name[:-2]  # the ;1 / ;2 half
    base, sep, _sequence = name.rpartition("-")
    return base if sep and "/" in base else name


def interface_device(interface: str) -> str:
    """A member interface as its channels' device: ``Local/1001@from-queue/n`` →
    ``Local/1001@from-queue`` (dial options dropped; no context means ``default``);
    anything else unchanged."""
    iface = interface.strip()
    if iface[:6].lower() != "local/":
        return iface
    exten, sep, rest = iface[6:].partition("@")
    if not sep:
        exten, _slash, _options = exten.partition("/")
        return f"{iface[:6]}{exten}@default"
    context = rest.split("/", 1)[0]
    return f"{iface[:6]}{exten}@{context}"


def is_local(channel: str) -> bool:
    """A Local channel half (``Local/…;1`` or ``;2``)."""
    return channel[:6].lower() == "local/"


def local_partner(channel: str) -> str:
    """The other half of a Local channel: ``…;1`` ↔ ``…;2`` ("" when not a Local half)."""
    if not is_local(channel) or len(channel) < 3 or channel[-2] != ";":
        return ""
    other = {"1": "2", "2": "1"}.get(channel[-1])
    return channel[:-1] + other if other else ""


class AgentLines:
    """Every name the PBX knows the agent by, and the devices their channels are named after.

    ``agent``: the member interface or member name the console was configured with;
    ``state_interfaces``: the phone device(s) where they differ from the member interface
    (``PJSIP/1001`` for a ``Local/1001@from-queue/n`` member).
    """

    def __init__(self, agent: str, state_interfaces: Iterable[str] = ()) -> None:
        self.interfaces = {agent}
        self.names = {agent}
        self.devices: set[str] = set()
        self._add_device(agent)
        for device in state_interfaces:
            self._add_device(device)

    def _add_device(self, interface: str) -> None:
        interface = interface.strip()
        # "hint:1001@ext-local" (FreePBX) names a dial-plan hint, not a channel device.
        if interface and "/" in interface and not interface.lower().startswith("hint:"):
            self.devices.add(interface_device(interface))

    def member(self, interface: str, member_name: str) -> bool:
        """Whether a queue frame's Interface / MemberName is the agent."""
        return interface in self.interfaces or member_name in self.names

    def learn(self, interface: str, member_name: str, state_interface: str = "") -> None:
        """A QueueMember frame that names the agent also names their other identities."""
        if not self.member(interface, member_name):
            return
        if interface:
            self.interfaces.add(interface)
            self._add_device(interface)
        if member_name:
            self.names.add(member_name)
        self._add_device(state_interface)

    def owns(self, channel: str) -> bool:
        """Whether ``channel`` (``PJSIP/1001-0000002a``, ``Local/…;2``) is one of the agent's
        devices' channels (or the bare interface itself)."""
        name = channel.strip()
        return bool(name) and (device_of(name) in self.devices or name in self.interfaces)
