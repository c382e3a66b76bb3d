"""Outbound calls placed with the Originate action (an agent's callback to a customer).

The agent's phone rings first (a bot answers by itself, a human with SimPhone answer); once it
is answered the OriginateResponse goes out with the action's ActionID, then the simulated
customer's phone rings, answers after a few seconds and is bridged to the agent. Against a
real Asterisk the same Originate (Async) gives the same sequence of events.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from telephony_sim.acd import DEV_INUSE, DEV_NOT_INUSE, DEV_RINGING, Device
from telephony_sim.callflow import Acd
from telephony_sim.pbx import DOWN, NO_ANSWER, RINGING, UP, Channel, Fields

_CALLER_ID = re.compile(r'^\s*"?([^"<]*?)"?\s*<([^>]*)>\s*$')

# OriginateResponse Reason codes (ast_control_frame_type values Asterisk reports).
REASON_FAILED, REASON_HANGUP, REASON_NO_ANSWER, REASON_ANSWERED, REASON_BUSY = 0, 1, 3, 4, 5


@dataclass(frozen=True, slots=True)
class OriginateRequest:
    """An Originate action: ring the agent's phone ``channel``, then dial ``exten``."""

    channel: str
    exten: str
    context: str = "from-internal"
    caller_id: str = ""
    timeout_ms: int = 30_000
    action_id: str = ""  # echoed by the OriginateResponse event


def split_caller_id(caller_id: str) -> tuple[str, str]:
    """``"Name" <number>`` → (number, name); a bare value is the number."""
    m = _CALLER_ID.match(caller_id or "")
    if m:
        return m.group(2).strip(), m.group(1).strip()
    return (caller_id or "").strip(), ""


class Outbound:
    """One originated call: the agent's leg, then the customer's."""

    __slots__ = ("agent_chan", "customer_chan", "device", "gen", "request", "started", "state")

    def __init__(self, device: Device, agent_chan: Channel, request: OriginateRequest) -> None:
        self.device = device
        self.agent_chan = agent_chan
        self.customer_chan: Channel | None = None
        self.request = request
        self.state = "ringing"  # ringing → dialing → up → done
        self.gen = 0
        self.started = 0.0


class Dialer:
    """Runs Originate requests against the ACD's devices."""

    def __init__(self, acd: Acd, rng: random.Random, talk_mean: float = 180.0) -> None:
        self.acd = acd
        self.pbx = acd.pbx
        self.clock = acd.clock
        self.rng = rng
        self.talk_mean = talk_mean

    def _response(
        self,
        request: OriginateRequest,
        chan_name: str,
        ok: bool,
        reason: int,
        uniqueid: str = "",
        caller: tuple[str, str] = ("", ""),
    ) -> None:
        if not self.pbx.listeners:
            return
        fields: Fields = [("ActionID", request.action_id)] if request.action_id else []
        fields += [
            ("Response", "Success" if ok else "Failure"),
            ("Channel", chan_name),
            ("Context", request.context),
            ("Exten", request.exten),
            ("Application", ""),
            ("Data", ""),
            ("Reason", str(reason)),
            ("Uniqueid", uniqueid or "<null>"),
            ("CallerIDNum", caller[0] or "<unknown>"),
            ("CallerIDName", caller[1] or "<unknown>"),
        ]
        self.pbx.emit("OriginateResponse", fields)

    def originate(self, request: OriginateRequest) -> None:
        """Ring the agent's phone ``request.channel`` (``PJSIP/1001``), then dial its exten."""
        num, name = split_caller_id(request.caller_id)
        dev = self.acd.devices.get(request.channel)
        if dev is None or not dev.available or dev.wrap_pending is not None:
            reason = REASON_FAILED if dev is None else REASON_BUSY
            # Async originate: the failure arrives as an event, after the action's response.
            self.clock.call_later(
                0.0, self._response, request, request.channel, False, reason, "", (num, name)
            )
            return
        dev.available = False
        chan = self.pbx.new_channel(
            request.channel, num, name, request.context, request.exten, DOWN
        )
        ob = Outbound(dev, chan, request)
        ob.started = self.clock.now()
        chan.owner = ob
        dev.outbound = ob
        self.pbx.set_state(chan, RINGING)
        self.acd.set_status(dev, DEV_RINGING)
        timeout_s = max(request.timeout_ms, 1000) / 1000.0
        self.clock.call_later(timeout_s, self._timeout, ob, ob.gen)
        if dev.bot is not None:
            self.clock.call_later(1.0 + 2.0 * self.rng.random(), self._bot_answer, ob, ob.gen)

    def _bot_answer(self, ob: Outbound, gen: int) -> None:
        if ob.gen == gen and ob.state == "ringing":
            self.agent_answer(ob)

    def _timeout(self, ob: Outbound, gen: int) -> None:
        if ob.gen == gen and ob.state == "ringing":
            self._fail(ob, REASON_NO_ANSWER, NO_ANSWER)

    def _fail(self, ob: Outbound, reason: int, cause: int) -> None:
        chan = ob.agent_chan
        caller = (chan.caller_num, chan.caller_name)
        endpoint = chan.name.rsplit("-", 1)[0]
        self._response(ob.request, endpoint, False, reason, chan.uniqueid, caller)
        self.pbx.hangup(chan, cause)
        self._finish(ob)

    def agent_answer(self, ob: Outbound) -> None:
        """The agent picked up: report success, then ring the customer."""
        ob.state = "dialing"
        ob.gen += 1
        achan = ob.agent_chan
        self.pbx.set_state(achan, UP)
        caller = (achan.caller_num, achan.caller_name)
        self._response(ob.request, achan.name, True, REASON_ANSWERED, achan.uniqueid, caller)
        exten, context = ob.request.exten, ob.request.context
        cchan = self.pbx.new_channel("PJSIP/trunk", exten, "", context, exten, DOWN, achan.linkedid)
        cchan.owner = ob
        ob.customer_chan = cchan
        self.pbx.dial_begin(achan, cchan, f"PJSIP/{exten}@trunk")
        self.pbx.set_state(cchan, RINGING)
        self.clock.call_later(3.0 + 7.0 * self.rng.random(), self._customer_answer, ob, ob.gen)

    def _customer_answer(self, ob: Outbound, gen: int) -> None:
        if ob.gen != gen or ob.state != "dialing" or ob.customer_chan is None:
            return
        ob.state = "up"
        cchan = ob.customer_chan
        self.pbx.set_state(cchan, UP)
        self.pbx.dial_end(ob.agent_chan, cchan, "ANSWER")
        self.pbx.bridge(ob.agent_chan, cchan)
        self.acd.set_status(ob.device, DEV_INUSE)
        if ob.device.bot is not None:
            talk = self.rng.expovariate(1.0 / self.talk_mean)
            self.clock.call_later(talk, self._bot_hangup, ob, ob.gen)

    def _bot_hangup(self, ob: Outbound, gen: int) -> None:
        if ob.gen == gen and ob.state == "up":
            self.hangup(ob)

    def hangup(self, ob: Outbound) -> None:
        """Either side hung up (or the agent rejected the ringing call)."""
        if ob.state == "ringing":
            self._fail(ob, REASON_HANGUP, 21)
            return
        if ob.state == "done":
            return
        legs = [c for c in (ob.agent_chan, ob.customer_chan) if c is not None]
        if ob.state == "dialing" and ob.customer_chan is not None:
            self.pbx.dial_end(ob.agent_chan, ob.customer_chan, "CANCEL")
        self.pbx.unbridge(*legs)
        for leg in legs:
            self.pbx.hangup(leg)
        self._finish(ob)

    def _finish(self, ob: Outbound) -> None:
        ob.state = "done"
        ob.gen += 1
        dev = ob.device
        dev.busy_time += self.clock.now() - ob.started
        dev.outbound = None
        self.acd.set_status(dev, DEV_NOT_INUSE)
        self.acd.device_free(dev)
