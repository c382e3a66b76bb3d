"""A queue member's legs, as Asterisk builds and tears them down, in Asterisk's event order.

A direct member (``PJSIP/1001``) is rung on one leg, the phone's. A Local-channel member
(FreePBX's ``Local/1001@from-queue/n``) is rung on the ``;1`` half of a Local channel whose
``;2`` half runs the dial plan and Dial()s the phone: three legs, two bridges. Without ``/n``
the halves optimise away once both bridges are up and the phone is swapped into the queue's
bridge. Each function cites the Asterisk code whose order it follows; `callflow.Acd` decides
*when* they happen.
"""

from __future__ import annotations

import itertools

from telephony_sim.acd import Caller, Device
from telephony_sim.pbx import (
    NORMAL_CLEARING,
    RINGING,
    UP,
    Channel,
    Pbx,
)

_OPTIMIZATION_IDS = itertools.count(1)


def device_name(channel: Channel) -> str:
    """``PJSIP/trunk-0000002a`` -> ``PJSIP/trunk`` (the device a DeviceStateChange names)."""
    return channel.name.rpartition("-")[0] or channel.name


def ring_legs(pbx: Pbx, dev: Device, caller: Caller, member_name: str, queue: str) -> Channel:
    """Create the member's legs and announce the ring; the leg app_queue dialled.

    apps/app_queue.c ring_entry(): ast_request() (Newchannel; a Local member's two halves and
    LocalBridge, main/core_local.c local_call()), then AgentCalled, then DialBegin (DialString =
    the member interface). A Local member's ;2 runs Dial() to the phone (apps/app_dial.c:
    Newexten, Newchannel, DialBegin), and both the phone and ;1 go Ringing.
    """
    cchan = caller.chan
    listening = bool(pbx.listeners)
    if dev.phone != dev.interface:
        one, two = pbx.new_local_pair(
            dev.interface, cchan.caller_num, cchan.caller_name, cchan.linkedid
        )
        one.set_dialplan(one.context, cchan.exten)
        dev.local_two = two
        leg = one
    else:
        leg = pbx.new_channel(
            dev.interface,
            dev.interface.rpartition("/")[2],
            member_name,
            "from-queue",
            cchan.exten,
            0,
            cchan.linkedid,
        )
        two = None
    leg.set_connected(cchan.caller_num, cchan.caller_name)
    leg.owner = caller
    leg.application, leg.app_data = "AppQueue", "(Outgoing Line)"
    if listening:
        extra = [("Queue", queue), ("Interface", dev.interface), ("MemberName", member_name)]
        pbx.emit_call("AgentCalled", cchan, extra, dest=leg)
        pbx.dial_begin(cchan, leg, dev.interface)
    phone = leg
    if two is not None:
        exten = dev.interface[6:].partition("@")[0]
        pbx.new_exten(two, "Dial", f"{dev.phone},,HhtrIb")
        phone = pbx.new_channel(
            dev.phone, exten, member_name, "from-internal", exten, 0, cchan.linkedid
        )
        phone.set_connected(cchan.caller_num, cchan.caller_name)
        phone.owner = caller
        phone.application, phone.app_data = "AppDial", "(Outgoing Line)"
        two.owner = caller
        pbx.dial_begin(two, phone, exten)
    dev.phone_chan = phone
    if listening:
        pbx.set_state(phone, RINGING)
        if phone is not leg:
            pbx.set_state(leg, RINGING)
        pbx.device_state(dev.phone, "RINGING")
    else:
        phone.set_state(RINGING)
        leg.set_state(RINGING)
    return leg


def answer_legs(pbx: Pbx, dev: Device) -> None:
    """The phone picks up: a Local member's ;2 bridges with it first (apps/app_dial.c: DialEnd
    ANSWER, its own bridge), then ;1 is Up, which is the answer app_queue sees."""
    phone, two, leg = dev.phone_chan, dev.local_two, dev.chan
    assert phone is not None and leg is not None
    pbx.set_state(phone, UP)
    if two is not None:
        pbx.dial_end(two, phone, "ANSWER")
        pbx.set_state(two, UP)
        pbx.bridge(phone, two)
        pbx.set_state(leg, UP)
    pbx.device_state(dev.phone, "INUSE")


def optimise_away(pbx: Pbx, dev: Device, caller: Caller, queue_bridge: str) -> None:
    """A Local member without /n: the phone replaces ;1 in the queue's bridge.

    main/bridge.c try_swap_optimize_out() -> bridge_do_move() (the queue's bridge inhibits
    swapping *from* it, apps/app_queue.c try_calling(), so the phone moves in):
    LocalOptimizationBegin (Source = the phone), BridgeLeave from the Dial bridge, BridgeEnter
    with SwapUniqueid, BridgeLeave of ;1, LocalOptimizationEnd (Success "No" as the code
    reports a successful swap), ;2 leaves its bridge, ;1 and ;2 hang up (main/core_local.c).
    """
    one, two, phone = dev.chan, dev.local_two, dev.phone_chan
    if one is None or two is None or phone is None:
        return
    opt_id = str(next(_OPTIMIZATION_IDS))
    halves = [*one.block("LocalOne"), *two.block("LocalTwo")]
    if pbx.listeners:
        pbx.emit_call(
            "LocalOptimizationBegin",
            None,
            [*phone.block("Source"), ("DestUniqueId", two.uniqueid), ("Id", opt_id)],
            head=halves,
        )
    pbx.unbridge(phone)
    pbx.enter(queue_bridge, phone, swap=one)
    if pbx.listeners:
        pbx.emit_call(
            "LocalOptimizationEnd", None, [("Success", "No"), ("Id", opt_id)], head=halves
        )
    pbx.unbridge(two)
    pbx.hangup(one)
    pbx.hangup_request(two)
    pbx.hangup(two)
    dev.chan, dev.local_two = phone, None
    caller.agent_chan = phone


def hang_up_legs(pbx: Pbx, dev: Device, cause: int, *, ringing: bool) -> None:
    """Tear down the member's legs: the dialled leg, then what hangs off it.

    A Local member: ;1 hangs up, ;2 is asked to (main/core_unreal.c ast_unreal_hangup():
    HangupRequest), cancels its Dial if the phone still rings (DialEnd CANCEL), and the phone
    and ;2 hang up.
    """
    leg, two, phone = dev.chan, dev.local_two, dev.phone_chan
    if leg is not None:
        pbx.hangup(leg, cause)
    if two is not None:
        pbx.hangup_request(two, NORMAL_CLEARING)
        if phone is not None and ringing:
            pbx.dial_end(two, phone, "CANCEL")
    if phone is not None and phone is not leg:
        pbx.hangup(phone, cause if ringing else NORMAL_CLEARING)
    if two is not None:
        pbx.hangup(two, NORMAL_CLEARING)
    dev.chan = dev.local_two = dev.phone_chan = None
    pbx.device_state(dev.phone, "NOT_INUSE")


def hold(pbx: Pbx, dev: Device, caller: Caller, on: bool) -> None:
    """The phone holds / resumes: Hold / Unhold on the phone's channel (main/channel.c
    ast_queue_hold()); the party bridged to it hears music: the caller (chan_pjsip
    indicate: DeviceStateChange ONHOLD, MusicOnHoldStart), or a /n member's ;2 half, which
    intercepts music on hold (main/core_unreal.c ast_unreal_indicate())."""
    phone = dev.phone_chan or dev.chan
    if phone is None or not pbx.listeners:
        return
    pbx.hold(phone, on)
    if dev.local_two is not None:
        pbx.music(dev.local_two, on)
    else:
        pbx.device_state(device_name(caller.chan), "ONHOLD" if on else "INUSE")
        pbx.music(caller.chan, on)
