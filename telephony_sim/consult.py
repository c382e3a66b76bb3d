"""A consult (attended) transfer from an agent's phone, as Asterisk's feature path runs it.

main/bridge_basic.c (the DTMF feature and the Atxfer action, which only queues the feature's
DTMF): the caller is held (Hold on the transferer, music to the caller), the target is dialled
through a Local channel ``Local/<exten>@<context>`` whose ``;2`` half runs the dial plan (here:
the target queue) while the transferer moves to a new bridge with the ``;1`` half. When the
transferer hangs up, the transfer completes: Unhold, the ``;1`` half moves into the caller's
bridge, AttendedTransfer (the same channel as Orig and Second transferer, TransferTarget the
Local ``;1``, IsExternal No, DestType Bridge — publish_transfer_success()), app_queue's
AgentComplete Reason transfer (handle_attended_transfer(): the queue's bridge took part), and the
transferer's leg hangs up. The caller talks on with the consulted party through the Local chain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from telephony_sim.acd import CONNECTED, GONE, LINKED, Caller, Device, Queue
from telephony_sim.pbx import Channel, Fields, Pbx, SimError

if TYPE_CHECKING:
    from telephony_sim.callflow import Acd


@dataclass
class Consult:
    """A consult call in progress on one agent's phone."""

    caller: Caller  # the original caller, on hold
    one: Channel  # the Local ;1 half, bridged with the agent's phone
    target: Caller  # the ;2 half, a caller of the target queue
    exten: str


def start(acd: Acd, dev: Device, queue: Queue, exten: str, context: str) -> None:
    """The agent's phone starts a consult call to ``exten`` (a queue's extension)."""
    caller = dev.call
    if caller is None or caller.state != CONNECTED or dev.ringing:
        raise SimError("No call in progress")
    if dev.consult is not None:
        raise SimError("A transfer is already in progress")
    phone = dev.phone_chan or dev.chan
    if phone is None or dev.local_two is not None:
        raise SimError("Attended transfer is not supported for this member")
    pbx = acd.pbx
    if caller.hold_started is None:
        acd.hold(dev, True)
    one, two = pbx.new_local_pair(
        f"Local/{exten}@{context}/n", phone.caller_num, phone.caller_name, phone.linkedid
    )
    pbx.unbridge(phone)  # the transferer leaves the caller's bridge for the consult's
    pbx.bridge(phone, one)
    target = Caller(two, 0, math.inf, math.inf, acd.clock.now())
    two.owner = target
    dev.consult = Consult(caller, one, target, exten)
    acd.enter(target, queue)


def complete(acd: Acd, dev: Device) -> None:
    """The transferer hangs up during the consult: the caller goes to the consulted party."""
    consult = dev.consult
    assert isinstance(consult, Consult)
    dev.consult = None
    caller, pbx = consult.caller, acd.pbx
    phone = dev.phone_chan or dev.chan
    assert phone is not None
    if caller.hold_started is not None:
        acd.hold(dev, False)
    else:
        pbx.hold(phone, False)  # ast_bridge_channel_write_unhold(): always written
    queue_bridge = caller.chan.bridge_id
    consult_bridge = phone.bridge_id
    if pbx.listeners:
        fields: Fields = [("Result", "Success")]
        fields += phone.fields("OrigTransferer")
        fields += _bridge(pbx, "OrigBridge", queue_bridge)
        fields += phone.fields("SecondTransferer")
        fields += _bridge(pbx, "SecondBridge", consult_bridge)
        fields += caller.chan.fields("Transferee")
        fields += consult.one.fields("TransferTarget")
        fields += [("IsExternal", "No"), ("DestType", "Bridge")]
        fields += [("DestBridgeUniqueid", queue_bridge)]
    pbx.enter(queue_bridge, consult.one)  # BridgeLeave from the consult bridge, BridgeEnter
    if pbx.listeners:
        pbx.emit("AttendedTransfer", fields)
    caller.linked, consult.target.linked = consult.target, caller
    acd.end_call(caller, "attended")
    caller.state = LINKED


def _bridge(pbx: Pbx, prefix: str, bridge_id: str) -> Fields:
    """A bridge block under ``prefix`` (OrigBridge*, SecondBridge*)."""
    count = len(pbx.bridges.get(bridge_id, []))
    return [(prefix + k[6:], v) for k, v in pbx.bridge_fields(bridge_id, count)]


def hang_up_linked(acd: Acd, caller: Caller) -> None:
    """One end of an attended-transferred call hung up: the Local chain and the other end go.

    ``caller`` is the end that hung up (a LINKED original caller, or the consult's ;2 caller
    whose queue call ended)."""
    other = caller.linked
    caller.linked = None
    if other is None:
        return
    other.linked = None
    pbx = acd.pbx
    if caller.state == LINKED:  # the original caller hung up: the consult call ends too
        one = next(
            (c for c in pbx.bridges.get(caller.chan.bridge_id, []) if c is not caller.chan), None
        )
        pbx.hangup_request(caller.chan)
        pbx.hangup(caller.chan)
        caller.state = GONE
        if one is not None:
            pbx.hangup(one)
        if other.state == CONNECTED:
            acd.end_call(other, "caller")
        return
    if other.state == LINKED:  # the consult's queue call ended: the original caller goes
        one = next(
            (c for c in pbx.bridges.get(other.chan.bridge_id, []) if c is not other.chan), None
        )
        if one is not None:
            pbx.hangup(one)
        pbx.hangup(other.chan)
        other.state = GONE
