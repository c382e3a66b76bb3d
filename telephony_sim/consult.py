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

The other ends of the feature (bridge_basic.c's attended-transfer states): the abort feature
(``CancelAtxfer``, or ``*1`` received) and the target hanging up or not answering within
``atxfernoanswertimeout`` (15 s) rebridge the transferer with the caller (rebridge_enter():
the phone moves back, Unhold, the Local chain hangs up); the three-way feature (``*3``
received, e.g. ``PlayDTMF`` with ``Receive: yes``) merges the consult bridge into the caller's
(threeway_enter(): Unhold, the phone and the ``;1`` half move in, AttendedTransfer ``DestType
Threeway``, which app_queue ignores). The agent hanging up then leaves the caller and the
target talking (AgentComplete Reason agent).

Simplification: the caller hanging up during a consult or conference ends the consult call too
(Asterisk lets the transferer and target talk on outside the queue).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from telephony_sim.acd import CONNECTED, GONE, LINKED, RINGING, WAITING, Caller, Device, Queue
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
    threeway: bool = False  # merged into one bridge with the caller (a conference)
    gen: int = 0  # the no-answer timer's generation


ATXFER_NO_ANSWER = 15.0  # features.conf atxfernoanswertimeout's default (seconds)
# features.conf [general] defaults (main/features_config.c DEFAULT_ATXFER_*).
FEATURE_CODES = {"*1": "abort", "*2": "complete", "*3": "threeway"}


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
    target.consult_of = dev
    dev.consult = Consult(caller, one, target, exten)
    acd.enter(target, queue)
    acd.clock.call_later(ATXFER_NO_ANSWER, _no_answer, acd, dev, dev.consult)


def _no_answer(acd: Acd, dev: Device, consult: Consult) -> None:
    """atxfernoanswertimeout: a target still not answering by now is given up."""
    if dev.consult is consult and not consult.threeway and consult.target.state != CONNECTED:
        abort(acd, dev)


def abort(acd: Acd, dev: Device) -> None:
    """The transferer cancels (atxferabort), or the target hung up or never answered:
    rebridge_enter() moves the phone back to the caller and unholds it; the consult's Local
    chain hangs up (a target still queued abandons, a connected one's call ends)."""
    consult = dev.consult
    assert isinstance(consult, Consult)
    dev.consult = None
    caller, pbx = consult.caller, acd.pbx
    phone = dev.phone_chan or dev.chan
    assert phone is not None
    if caller.chan.bridge_id:
        pbx.enter(caller.chan.bridge_id, phone)  # BridgeLeave (consult), BridgeEnter
    if caller.hold_started is not None:
        acd.hold(dev, False)
    else:
        pbx.hold(phone, False)
    _drop_target(acd, consult)


def threeway(acd: Acd, dev: Device) -> None:
    """atxferthreeway: the consult bridge merges into the caller's; all three talk."""
    consult = dev.consult
    assert isinstance(consult, Consult)
    if consult.threeway:
        return
    caller, pbx = consult.caller, acd.pbx
    phone = dev.phone_chan or dev.chan
    assert phone is not None
    if caller.hold_started is not None:
        acd.hold(dev, False)
    else:
        pbx.hold(phone, False)
    queue_bridge, consult_bridge = caller.chan.bridge_id, phone.bridge_id
    fields: Fields = []
    if pbx.listeners:
        fields = [("Result", "Success")]
        fields += phone.fields("OrigTransferer")
        fields += _bridge(pbx, "OrigBridge", queue_bridge)
        fields += phone.fields("SecondTransferer")
        fields += _bridge(pbx, "SecondBridge", consult_bridge)
        fields += caller.chan.fields("Transferee")
        fields += consult.one.fields("TransferTarget")
        fields += [("IsExternal", "No"), ("DestType", "Threeway")]
        fields += [("DestBridgeUniqueid", queue_bridge), ("DestTransfererChannel", phone.name)]
    pbx.enter(queue_bridge, phone)  # bridge_merge(): each channel leaves and enters
    pbx.enter(queue_bridge, consult.one)
    consult.threeway = True
    if fields:
        pbx.emit("AttendedTransfer", fields)


def leave(acd: Acd, dev: Device) -> None:
    """The agent hangs up in a conference: the caller and the target talk on."""
    consult = dev.consult
    assert isinstance(consult, Consult)
    dev.consult = None
    caller = consult.caller
    consult.target.consult_of = None
    caller.linked, consult.target.linked = consult.target, caller
    acd.end_call(caller, "conference")
    caller.state = LINKED


def feature(acd: Acd, dev: Device, code: str) -> bool:
    """A feature code received on the transferer's channel during a consult (Atxfer and
    CancelAtxfer queue theirs; PlayDTMF with Receive sends any). Whether one matched."""
    action = FEATURE_CODES.get(code)
    consult = dev.consult
    if action is None or not isinstance(consult, Consult):
        return False
    if action == "abort" and not consult.threeway:
        abort(acd, dev)
    elif action == "complete" and not consult.threeway:
        complete(acd, dev)
    elif action == "threeway":
        threeway(acd, dev)
    else:
        return False
    return True


def target_gone(acd: Acd, target: Caller) -> None:
    """The consult's queue call ended (the consulted agent hung up): back to the caller, or,
    in a conference, the agent and the caller talk on."""
    dev = target.consult_of
    target.consult_of = None
    consult = dev.consult if dev is not None else None
    if dev is None or not isinstance(consult, Consult) or consult.target is not target:
        return
    acd.pbx.hangup(consult.one)
    if consult.threeway:
        dev.consult = None
    else:
        abort(acd, dev)


def caller_gone(acd: Acd, dev: Device) -> None:
    """The caller hung up during a consult or conference: the consult call ends too."""
    consult = dev.consult
    if not isinstance(consult, Consult):
        return
    dev.consult = None
    _drop_target(acd, consult)


def _drop_target(acd: Acd, consult: Consult) -> None:
    target = consult.target
    target.consult_of = None
    acd.pbx.hangup(consult.one)
    if target.state in (WAITING, RINGING):
        acd.abandon(target)
    elif target.state == CONNECTED:
        acd.end_call(target, "caller")


def complete(acd: Acd, dev: Device) -> None:
    """The transferer hangs up during the consult: the caller goes to the consulted party."""
    consult = dev.consult
    assert isinstance(consult, Consult)
    if consult.threeway:
        leave(acd, dev)
        return
    dev.consult = None
    consult.target.consult_of = None
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
