"""Outbound calls placed with the Originate action (an agent's callback to a customer).

The agent's phone rings first (a bot answers by itself, a human with SimPhone answer); once it
is answered the OriginateResponse goes out with the action's ActionID, then the simulated
customer's phone is dialled through the trunk. What the customer does is an *outcome*:

========  ==============================================================================
answer    rings ``ring_seconds``, answers: ``DialEnd`` ANSWER and both legs are bridged
noanswer  rings until Dial gives up: ``DialEnd`` NOANSWER, both legs hung up (cause 19)
busy      no ringing, ~1 s: ``DialEnd`` BUSY, both legs hung up (cause 17, SIP 486)
failed    no ringing, ~0.5 s: ``DialEnd`` CONGESTION, both legs hung up (cause 34, SIP 503)
========  ==============================================================================

A number that is not a dial string (letters, nothing) cannot be routed: ``DialEnd``
CHANUNAVAIL at once, both legs hung up with cause 3 (No route to destination). These are the
DialStatus values and causes app_dial publishes for the same trunk answers on a real
Asterisk; the OriginateResponse is the same whatever the customer does, since it only reports
the agent's leg.

The outcome of a dial is, in order: the next one scripted for that number (``script``, the
SimOutbound action), else a draw from the scenario's ``[outbound]`` shares (`OutboundProfile`,
with its own random stream), else answer.
"""

from __future__ import annotations

import random
import re
from collections import deque
from dataclasses import dataclass

from callkit.audience import AMD_RESULTS, dial_key
from callkit.specs import (
    ALWAYS_ANSWER,
    ANSWER,
    BUSY,
    FAILED,
    MACHINE,
    NOANSWER,
    OUTCOMES,
    OutboundProfile,
)
from telephony_sim.acd import DEV_INUSE, DEV_NOT_INUSE, DEV_RINGING, Device
from telephony_sim.callflow import Acd
from telephony_sim.pbx import DOWN, NO_ANSWER, RINGING, UP, Channel, Fields, SimError

_CALLER_ID = re.compile(r'^\s*"?([^"<]*?)"?\s*<([^>]*)>\s*$')
_DIAL_STRING = re.compile(r"\+?[0-9*#]+")

# OriginateResponse Reason codes (ast_control_frame_type values Asterisk reports).
REASON_FAILED, REASON_HANGUP, REASON_NO_ANSWER, REASON_ANSWERED, REASON_BUSY = 0, 1, 3, 4, 5

# Q.850 causes of the unsuccessful dials (see pbx.CAUSE_TXT for their Cause-txt).
USER_BUSY, CONGESTION, NO_ROUTE = 17, 34, 3
# outcome → (DialStatus, cause of both legs' Hangup); answer has neither.
_ENDINGS = {
    NOANSWER: ("NOANSWER", NO_ANSWER),
    BUSY: ("BUSY", USER_BUSY),
    FAILED: ("CONGESTION", CONGESTION),
}
_UNROUTABLE = ("CHANUNAVAIL", NO_ROUTE)


@dataclass(frozen=True, slots=True)
class OriginateRequest:
    """An Originate action (main/manager.c action_originate()).

    Agent-first: ``channel`` is an agent's phone (``PJSIP/1001``), rung first, then ``exten``
    is dialled. Customer-first: ``channel`` is the customer through a trunk
    (``PJSIP/<number>@trunk``); once answered it runs ``context``/``exten``/``priority`` or
    ``application``(``data``) (telephony_sim/campaigns.py).
    """

    channel: str
    exten: str
    context: str = "from-internal"
    caller_id: str = ""
    timeout_ms: int = 30_000
    action_id: str = ""  # echoed by the OriginateResponse event
    priority: str = ""
    application: str = ""
    data: str = ""
    variables: tuple[tuple[str, str], ...] = ()  # Variable: NAME=value lines, in order


def split_caller_id(caller_id: str) -> tuple[str, str]:
    """``"Name" <number>`` → (number, name); a bare value is the number."""
    m = _CALLER_ID.match(caller_id or "")
    if m:
        return m.group(2).strip(), m.group(1).strip()
    return (caller_id or "").strip(), ""


def is_dial_string(number: str) -> bool:
    """Whether the trunk can route ``number``: digits (with * and #), an optional leading +."""
    return _DIAL_STRING.fullmatch(dial_key(number)) is not None


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
    """Runs Originate requests against the ACD's devices.

    ``rng`` times the calls (bot answers, rings, talk); ``profile`` and ``outcome_rng`` decide
    what customers do (no profile: they always answer, drawing nothing from ``outcome_rng``).
    """

    def __init__(
        self,
        acd: Acd,
        rng: random.Random,
        talk_mean: float = 180.0,
        profile: OutboundProfile | None = None,
        outcome_rng: random.Random | None = None,
    ) -> None:
        self.acd = acd
        self.pbx = acd.pbx
        self.clock = acd.clock
        self.rng = rng
        self.talk_mean = talk_mean
        self.profile = profile
        self.outcome_rng = outcome_rng or random.Random(0)
        # dial key → [outcome, dials left, AMD verdict] entries, used first to last
        # (SimOutbound); shared with the customer-first dialler (campaigns.py).
        self.scripted: dict[str, deque[list[str | int]]] = {}

    # Scripting ---------------------------------------------------------------------------

    def script(self, number: str, outcome: str, count: int = 1, amd: str = "") -> int:
        """The next ``count`` dials to ``number`` get ``outcome`` (after any already scripted),
        and AMD (in a campaign's dialplan) reports ``amd`` for them (``""``: what the
        campaign's accuracy draws); returns how many dials to the number are now scripted."""
        if outcome not in OUTCOMES:
            raise SimError(f"Unknown outcome: {outcome} (use one of {', '.join(OUTCOMES)})")
        if amd and amd not in AMD_RESULTS:
            raise SimError(f"Unknown AMD result: {amd} (use one of {', '.join(AMD_RESULTS)})")
        if not is_dial_string(number):
            raise SimError(f"Invalid Number: {number!r} is not a dial string")
        if count < 1:
            raise SimError("Invalid Count: must be at least 1")
        queue = self.scripted.setdefault(dial_key(number), deque())
        queue.append([outcome, count, amd])
        return sum(int(entry[1]) for entry in queue)

    def take_script(self, number: str) -> tuple[str, str] | None:
        """The (outcome, AMD verdict) scripted for the next dial to ``number``, used up."""
        queue = self.scripted.get(dial_key(number))
        if not queue:
            return None
        entry = queue[0]
        outcome, left, amd = str(entry[0]), int(entry[1]) - 1, str(entry[2])
        if left:
            entry[1] = left
        else:
            queue.popleft()
            if not queue:
                del self.scripted[dial_key(number)]
        return outcome, amd

    def _outcome(self, number: str) -> str:
        scripted = self.take_script(number)
        if scripted is not None:
            outcome = scripted[0]
        elif self.profile is not None:
            outcome = self.profile.draw(self.outcome_rng)
        else:
            outcome = ANSWER
        # A callback reaching voicemail: the machine answers, and the agent hears it.
        return ANSWER if outcome == MACHINE else outcome

    # The agent's leg -----------------------------------------------------------------------

    def respond(
        self,
        request: OriginateRequest,
        chan_name: str,
        ok: bool,
        reason: int,
        chan: Channel | None = None,
        uniqueid: str = "",
    ) -> None:
        """OriginateResponse as main/manager.c fast_originate() sends it: the channel (or,
        when none was made, the requested one and ``Uniqueid: <null>``), the CallerID the
        action gave, and per manager.conf channelvar ``ChanVariable(<channel>): NAME=value``
        (__ast_manager_event_multichan() → append_channel_vars(), for the channel made).
        ``uniqueid`` overrides the Uniqueid (an agent-first failure names the agent's leg)."""
        if not self.pbx.listeners:
            return
        fields: Fields = [("ActionID", request.action_id)] if request.action_id else []
        num, name = split_caller_id(request.caller_id)
        fields += [
            ("Response", "Success" if ok else "Failure"),
            ("Channel", chan_name),
            ("Context", request.context),
            ("Exten", request.exten),
            ("Application", request.application),
            ("Data", request.data),
            ("Reason", str(reason)),
            ("Uniqueid", uniqueid or (chan.uniqueid if chan is not None else "<null>")),
            ("CallerIDNum", num or "<unknown>"),
            ("CallerIDName", name or "<unknown>"),
        ]
        if chan is not None:
            key = f"ChanVariable({chan.name})"
            fields += [(key, f"{n}={chan.variables.get(n, '')}") for n in self.pbx.manager_vars]
        self.pbx.emit("OriginateResponse", fields)

    def originate(self, request: OriginateRequest) -> None:
        """Ring the agent's phone ``request.channel`` (``PJSIP/1001``), then dial its exten."""
        num, name = split_caller_id(request.caller_id)
        dev = self.acd.devices.get(request.channel)
        if dev is None or not dev.available or dev.wrap_pending is not None:
            reason = REASON_FAILED if dev is None else REASON_BUSY
            # Async originate: the failure arrives as an event, after the action's response.
            self.clock.call_later(0.0, self.respond, request, request.channel, False, reason)
            return
        dev.available = False
        chan = self.pbx.new_channel(
            request.channel, num, name, request.context, request.exten, DOWN
        )
        # main/pbx_outgoing.c pbx_outgoing_attempt(): ast_set_variables() on the channel just
        # requested (VarSet per Variable), before it is called.
        for key, value in request.variables:
            self.pbx.var_set(chan, key, value)
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
        endpoint = chan.name.rsplit("-", 1)[0]
        self.respond(ob.request, endpoint, False, reason, uniqueid=chan.uniqueid)
        self.pbx.hangup(chan, cause)
        self._finish(ob)

    # The customer's leg ----------------------------------------------------------------------

    def agent_answer(self, ob: Outbound) -> None:
        """The agent picked up: report success, then dial the customer."""
        ob.state = "dialing"
        ob.gen += 1
        achan = ob.agent_chan
        self.pbx.set_state(achan, UP)
        self.respond(ob.request, achan.name, True, REASON_ANSWERED, achan)
        exten, context = ob.request.exten, ob.request.context
        routable = is_dial_string(exten)
        outcome = self._outcome(exten) if routable else FAILED
        cchan = self.pbx.new_channel("PJSIP/trunk", exten, "", context, exten, DOWN, achan.linkedid)
        cchan.owner = ob
        ob.customer_chan = cchan
        self.pbx.dial_begin(achan, cchan, f"PJSIP/{exten}@trunk")
        if not routable:
            self.clock.call_later(0.0, self._customer_fails, ob, ob.gen, *_UNROUTABLE)
            return
        if outcome in (ANSWER, NOANSWER):
            self.pbx.set_state(cchan, RINGING)
        if outcome == ANSWER:
            low, high = (self.profile or ALWAYS_ANSWER).ring_seconds
            delay = low + (high - low) * self.rng.random()
            self.clock.call_later(delay, self._customer_answer, ob, ob.gen)
            return
        if outcome == NOANSWER:
            delay = self._no_answer_ring(ob)
        elif outcome == BUSY:
            delay = 0.5 + self.rng.random()  # the 486 comes back within a second or so
        else:
            delay = 0.2 + 0.6 * self.rng.random()  # the 503 too
        self.clock.call_later(delay, self._customer_fails, ob, ob.gen, *_ENDINGS[outcome])

    def _no_answer_ring(self, ob: Outbound) -> float:
        """How long an unanswered customer rings: the scenario's ``no_answer_seconds``, else
        what is left of the Originate's Timeout (at least a second)."""
        if self.profile is not None and self.profile.no_answer_seconds is not None:
            return self.profile.no_answer_seconds
        timeout_s = max(ob.request.timeout_ms, 1000) / 1000.0
        return max(timeout_s - (self.clock.now() - ob.started), 1.0)

    def _customer_fails(self, ob: Outbound, gen: int, status: str, cause: int) -> None:
        """No answer, busy or failed: Dial ends, then the customer's and the agent's legs go."""
        if ob.gen != gen or ob.state != "dialing" or ob.customer_chan is None:
            return
        self.pbx.dial_end(ob.agent_chan, ob.customer_chan, status)
        self.pbx.hangup(ob.customer_chan, cause)
        self.pbx.hangup(ob.agent_chan, cause)
        self._finish(ob)

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
