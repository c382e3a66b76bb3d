"""Customer-first Originate (progressive and predictive dialers) and the campaign dialplan.

``Originate`` with ``Channel: PJSIP/<number>@<trunk>`` dials the customer first; an agent is
only involved once a live answer reaches the campaign's queue. Events follow the Asterisk
source, in its order (docs/cti.md, "Customer-first Originate", lists them):

- main/manager.c action_originate() + fast_originate(): the answer ``Originate successfully
  queued`` at once, ``OriginateResponse`` when the dial is over (Async).
- main/pbx_outgoing.c pbx_outgoing_attempt(): ast_dial_prerun() requests the channel
  (Newchannel), ast_set_variables() sets the Originate's ``Variable:`` lines (VarSet each),
  ast_dial_run() calls it (main/dial.c begin_dial_channel(): DialBegin with no caller
  channel, ``DialString`` = the device after the tech). On failure ``*reason`` comes from
  pbx_dial_reason(): 3 ringing timed out, 5 busy, 8 congestion, 0 failed; with a ``failed``
  extension in the context a channel ``OutgoingSpoolFailed`` runs it (REASON set) *before*
  the OriginateResponse Failure, which names the requested ``Channel`` (tech/data) and
  ``Uniqueid: <null>``.
- main/dial.c monitor_dial() with no owner: handle_frame_ownerless() publishes DialEnd ANSWER
  (after channel.c __ast_read() set the state Up: Newstate first), BUSY or CONGESTION and
  hangs the busy/congested leg up; handle_timeout_trip() hangs a ringing leg up at the
  Originate's Timeout *without* a DialEnd, with cause 19 (asterisk/asterisk#1660, fixed by
  PR #1661; releases before it sent cause 0 "Unknown"); a leg the far end hangs up gets
  DialEnd from ast_hangup_cause_to_dial_status() (cause 3: CHANUNAVAIL).
- main/manager.c __ast_manager_event_multichan(): the Success OriginateResponse carries
  ``ChanVariable(<channel>): NAME=value`` per manager.conf channelvar (append_channel_vars()).
- Then the dialplan runs on the answered leg (pbx_outgoing_exec() → ast_pbx_run()):
  Newexten per priority with its AppData substituted, apps/app_amd.c (VarSet AMDSTATUS,
  AMDCAUSE), apps/app_queue.c Queue() (joined through the ACD: callflow.py, queue_exits.py),
  UserEvent (apps/app_userevent.c: the channel's block, ``UserEvent: <name>``, its headers),
  Playback (VarSet PLAYBACKSTATUS), Hangup() (cause 16, main/pbx_builtins.c).

What the customer does (answer, machine, no answer, busy, failed) is the next SimOutbound
script for the number, else a draw from the scenario's ``[outbound]`` shares for that number
and hour of the simulated day (callkit.audience.outcome_shares).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from callkit.audience import (
    AMD_HANGUP,
    AMD_HUMAN,
    AMD_MACHINE,
    AMD_NOTSURE,
    CampaignSpec,
    audience_of,
    outcome_shares,
)
from callkit.specs import ALWAYS_ANSWER, ANSWER, BUSY, FAILED, MACHINE, NOANSWER, OutboundProfile
from telephony_sim.acd import Caller
from telephony_sim.callflow import Acd
from telephony_sim.outbound import (
    REASON_ANSWERED,
    REASON_BUSY,
    REASON_FAILED,
    REASON_NO_ANSWER,
    Dialer,
    OriginateRequest,
    is_dial_string,
    split_caller_id,
)
from telephony_sim.pbx import DOWN, NO_ANSWER, NORMAL_CLEARING, RINGING, UP, Channel, SimError

REASON_CONGESTION = 8  # AST_CONTROL_CONGESTION
CONGESTION, NO_ROUTE, USER_BUSY = 34, 3, 17
#: The context a PJSIP trunk's outgoing channel shows before the dialplan runs on it.
TRUNK_CONTEXT = "from-trunk"

# outcome → (DialEnd status or None, Hangup cause, OriginateResponse Reason, delay range)
_FAILURES: dict[str, tuple[str | None, int, int, tuple[float, float]]] = {
    BUSY: ("BUSY", USER_BUSY, REASON_BUSY, (0.5, 1.5)),  # SIP 486 within a second or so
    FAILED: ("CONGESTION", CONGESTION, REASON_CONGESTION, (0.2, 0.8)),  # SIP 503
}


@dataclass
class CustomerCall:
    """One customer-first Originate, from the request to the dialplan's end."""

    request: OriginateRequest
    number: str
    trunk: str
    chan: Channel
    campaign: CampaignSpec | None
    state: str = "dialing"  # dialing → up (dialplan) → queued → done
    gen: int = 0
    outcome: str = ANSWER
    amd: str = ""  # a scripted AMD verdict ("" : draw it)


class CustomerDialer:
    """Runs customer-first Originates on the ACD's PBX (see the module docstring)."""

    def __init__(
        self,
        acd: Acd,
        dialer: Dialer,
        rng: random.Random,
        outcome_rng: random.Random,
        amd_rng: random.Random,
        profile: OutboundProfile | None,
        start_of_day: float,
    ) -> None:
        self.acd = acd
        self.pbx = acd.pbx
        self.clock = acd.clock
        self.dialer = dialer  # its SimOutbound scripts are shared
        self.rng = rng
        self.outcome_rng = outcome_rng
        self.amd_rng = amd_rng
        self.profile = profile or ALWAYS_ANSWER
        self.start_of_day = start_of_day
        self.campaigns = {c.context: c for c in self.profile.campaigns}
        #: Per campaign context (or "" for other dialplans): dialled, answered, human,
        #: machine, connected, abandoned, failed… (what the simulator saw, for tests and runs).
        self.stats: dict[str, Counter[str]] = {}

    # The request ----------------------------------------------------------------------------

    def hour(self) -> int:
        """The hour (0–23) of the simulated local day now."""
        return int((self.start_of_day + self.clock.now()) // 3600) % 24

    def check(self, request: OriginateRequest) -> None:
        """Refuse, as Asterisk does before queueing it, an Originate this cannot run."""
        tech = request.channel.partition("/")[0]
        if tech.lower() == "local":
            raise SimError(
                "Local channels are not simulated for a customer-first Originate "
                "(use PJSIP/<number>@<trunk>)"
            )
        if request.application:
            return
        if request.context in self.campaigns or request.exten in self.acd.by_exten:
            return
        # main/manager.c action_originate(): ast_exists_extension() before queueing.
        raise SimError("Extension does not exist.")

    def originate(self, request: OriginateRequest) -> None:
        """Dial the customer ``request.channel`` (``PJSIP/<number>@<trunk>``): refused now, or
        dialled once the action's answer is out (action_originate() acks, then its
        fast_originate() thread dials)."""
        self.check(request)
        self.clock.call_later(0.0, self._start, request)

    def _start(self, request: OriginateRequest) -> None:
        data = request.channel.partition("/")[2]
        number, _at, trunk = data.partition("@")
        campaign = None if request.application else self.campaigns.get(request.context)
        stats = self._stats(campaign)
        stats["dialled"] += 1
        if trunk not in self.profile.trunks:
            # ast_request() finds no such endpoint: no channel at all; pbx_dial_reason() 0.
            stats["failed"] += 1
            self.clock.call_later(0.0, self._failed_before_channel, request, campaign)
            return
        num, name = split_caller_id(request.caller_id)
        # Originate's CallerID is the caller of the dialled leg and its connected line
        # (pbx_outgoing_attempt()): what the customer's phone displays.
        chan = self.pbx.new_channel(f"PJSIP/{trunk}", num, name, TRUNK_CONTEXT, "s", DOWN)
        chan.set_connected(num, name)
        call = CustomerCall(request, number, trunk, chan, campaign)
        chan.owner = call
        for key, value in request.variables:
            self.pbx.var_set(chan, key, value)
        if self.pbx.listeners:
            self.pbx.emit_call("DialBegin", None, [("DialString", data)], dest=chan)
        self._dial(call)

    def _stats(self, campaign: CampaignSpec | None) -> Counter[str]:
        return self.stats.setdefault(campaign.context if campaign else "", Counter())

    # The dial -------------------------------------------------------------------------------

    def _dial(self, call: CustomerCall) -> None:
        timeout = max(call.request.timeout_ms, 1) / 1000.0
        if not is_dial_string(call.number):
            # The trunk refuses the number (no route): DialEnd CHANUNAVAIL, Hangup 3.
            self.clock.call_later(0.0, self._fails, call, call.gen, "CHANUNAVAIL", NO_ROUTE, 0)
            return
        scripted = self.dialer.take_script(call.number)
        if scripted is not None:
            call.outcome, call.amd = scripted
        else:
            shares = outcome_shares(self.profile, call.number, self.hour())
            call.outcome = shares.draw(self.outcome_rng)
        if call.outcome in _FAILURES:
            status, cause, reason, (low, high) = _FAILURES[call.outcome]
            delay = low + (high - low) * self.rng.random()
            self.clock.call_later(delay, self._fails, call, call.gen, status, cause, reason)
            return
        self.pbx.set_state(call.chan, RINGING)  # the 180 Ringing
        if call.outcome == NOANSWER:
            self.clock.call_later(timeout, self._ring_timeout, call, call.gen)
            return
        low, high = self._ring_range(call)
        ring = low + (high - low) * self.rng.random()
        if ring >= timeout:  # rings out before anyone (or the voicemail) picks up
            call.outcome = NOANSWER
            self.clock.call_later(timeout, self._ring_timeout, call, call.gen)
            return
        self.clock.call_later(ring, self._answered, call, call.gen)

    def _ring_range(self, call: CustomerCall) -> tuple[float, float]:
        if call.outcome == MACHINE:
            return self.profile.machine_ring_seconds
        audience = audience_of(self.profile, call.number)
        if audience is not None and audience.ring_seconds is not None:
            return audience.ring_seconds
        return self.profile.ring_seconds

    def _ring_timeout(self, call: CustomerCall, gen: int) -> None:
        """main/dial.c handle_timeout_trip(): the leg is hung up, no DialEnd; Reason 3."""
        if call.gen == gen and call.state == "dialing":
            self.pbx.hangup(call.chan, NO_ANSWER)
            self._failure(call, REASON_NO_ANSWER)

    def _fails(
        self, call: CustomerCall, gen: int, status: str | None, cause: int, reason: int
    ) -> None:
        """Busy, congested or unroutable: DialEnd, the leg hung up, then the failure."""
        if call.gen != gen or call.state != "dialing":
            return
        if status is not None and self.pbx.listeners:
            self.pbx.emit_call("DialEnd", None, [("DialStatus", status)], dest=call.chan)
        self.pbx.hangup(call.chan, cause)
        self._failure(call, reason)

    def _failure(self, call: CustomerCall, reason: int) -> None:
        call.state = "done"
        call.gen += 1
        stats = self._stats(call.campaign)
        stats[{3: "noanswer", 5: "busy", 8: "congestion"}.get(reason, "failed")] += 1
        self._failed_extension(call.request, call.campaign, reason)
        self._response(call.request, False, reason)

    def _failed_before_channel(
        self, request: OriginateRequest, campaign: CampaignSpec | None
    ) -> None:
        self._failed_extension(request, campaign, REASON_FAILED)
        self._response(request, False, REASON_FAILED)

    def _failed_extension(
        self, request: OriginateRequest, campaign: CampaignSpec | None, reason: int
    ) -> None:
        """main/pbx_outgoing.c: a failed synchronous originate into a context with a
        ``failed`` extension runs it on a channel ``OutgoingSpoolFailed`` (the Originate's
        variables, REASON), to its end, before fast_originate() reports the failure. The
        simulated extension is ``failed,1,NoOp(${REASON})`` then ``failed,2,Hangup()``."""
        if campaign is None or not campaign.failed_extension:
            return
        num, name = split_caller_id(request.caller_id)
        chan = self.pbx.new_named_channel(
            "OutgoingSpoolFailed", num, name, campaign.context, "failed"
        )
        for key, value in request.variables:
            self.pbx.var_set(chan, key, value)
        self.pbx.var_set(chan, "REASON", str(reason))
        self.pbx.new_exten(chan, "NoOp", str(reason))
        chan.set_dialplan(campaign.context, "failed", 2)
        self.pbx.new_exten(chan, "Hangup", "")
        self.pbx.hangup(chan, NORMAL_CLEARING)

    def _response(self, request: OriginateRequest, ok: bool, reason: int) -> None:
        """OriginateResponse Failure: no channel, so the requested one and ``<null>``."""
        self.dialer.respond(request, request.channel, ok, reason)

    # The answer and the dialplan ----------------------------------------------------------

    def _answered(self, call: CustomerCall, gen: int) -> None:
        if call.gen != gen or call.state != "dialing":
            return
        call.state = "up"
        call.gen += 1
        chan = call.chan
        self.pbx.set_state(chan, UP)
        if self.pbx.listeners:
            self.pbx.emit_call("DialEnd", None, [("DialStatus", "ANSWER")], dest=chan)
        self.dialer.respond(call.request, chan.name, True, REASON_ANSWERED, chan)
        stats = self._stats(call.campaign)
        stats["answered"] += 1
        stats["machine" if call.outcome == MACHINE else "human"] += 1
        request = call.request
        if request.application:
            chan.application, chan.app_data = request.application, request.data
            if request.application.lower() == "queue":
                queue, timeout = _queue_args(request.data)
                self._enqueue(call, queue, timeout)
            else:  # any other application runs and the leg is hung up (pbx_outgoing_exec())
                self._hang_up(call, call.gen)
            return
        exten = request.exten or "s"
        try:
            priority = max(int(request.priority or 1), 1)
        except ValueError:
            priority = 1
        chan.set_dialplan(request.context, exten, priority)
        campaign = call.campaign
        if campaign is None:  # an extension that is a queue: exten => 600,1,Queue(support)
            target = self.acd.by_exten[exten]
            self.pbx.new_exten(chan, "Queue", target.name)
            self._enqueue(call, target.name, None)
            return
        if campaign.amd.enabled:
            self.pbx.new_exten(chan, "AMD", "")
            verdict, cause, delay = self._amd(call, campaign)
            self.clock.call_later(delay, self._amd_done, call, call.gen, verdict, cause)
        else:
            self._to_queue(call, campaign)

    def _amd(self, call: CustomerCall, campaign: CampaignSpec) -> tuple[str, str, float]:
        """AMD()'s verdict, its AMDCAUSE and how long it listened (apps/app_amd.c defaults:
        initialSilence 2500, greeting 1500, afterGreetingSilence 800, totalAnalysisTime
        5000 ms; silence and voice counted in 20 ms frames)."""
        rng = self.amd_rng
        verdict = call.amd or campaign.amd.verdict(call.outcome == MACHINE, rng)
        frames = rng.randrange(0, 10)
        if verdict == AMD_HUMAN:  # "Hello?" then the 800 ms silence after the greeting
            silence = 800 + 20 * frames
            return verdict, f"HUMAN-{silence}-800", 0.6 + rng.random() + silence / 1000
        if verdict == AMD_MACHINE:  # a greeting longer than 1500 ms
            voice = 1500 + 20 * frames
            return verdict, f"LONGGREETING-{voice}-1500", 0.3 + rng.random() * 0.5 + voice / 1000
        if verdict == AMD_NOTSURE:
            return verdict, "TOOLONG-5000", 5.0
        return AMD_HANGUP, "", 0.5 + rng.random() * 2.0

    def _amd_done(self, call: CustomerCall, gen: int, verdict: str, cause: str) -> None:
        if call.gen != gen or call.state != "up" or call.campaign is None:
            return
        chan, campaign = call.chan, call.campaign
        stats = self._stats(campaign)
        stats[f"amd_{verdict.lower()}"] += 1
        if verdict == AMD_HANGUP:
            # The callee hung up while AMD listened: ast_read() returned NULL.
            self.pbx.hangup_request(chan)
        self.pbx.var_set(chan, "AMDSTATUS", verdict)
        self.pbx.var_set(chan, "AMDCAUSE", cause)
        if verdict == AMD_HANGUP:
            self._done(call)
            self.pbx.hangup(chan, NORMAL_CLEARING)
            return
        # exten => _X.,2,GotoIf($["${AMDSTATUS}" = "MACHINE"]?machine,1) — or != "HUMAN" when
        # the campaign treats NOTSURE as a machine; Newexten shows the data substituted.
        machine = verdict == AMD_MACHINE or (
            verdict == AMD_NOTSURE and campaign.notsure == "machine"
        )
        chan.set_dialplan(chan.context, chan.exten, chan.priority + 1)
        self.pbx.new_exten(chan, "GotoIf", f"{1 if machine else 0}?machine,1")
        if machine:
            self._machine(call, campaign)
        else:
            self._to_queue(call, campaign)

    def _machine(self, call: CustomerCall, campaign: CampaignSpec) -> None:
        """exten => machine,1,Playback(message) (if leaving one), then Hangup()."""
        chan = call.chan
        self._stats(campaign)["machine_handled"] += 1
        chan.set_dialplan(campaign.context, "machine", 1)
        if campaign.machine == "message":
            self.pbx.new_exten(chan, "Playback", campaign.message)
            delay = campaign.message_seconds
            self.clock.call_later(delay, self._played_then_hangup, call, call.gen)
            return
        self._hang_up(call, call.gen)

    def _to_queue(self, call: CustomerCall, campaign: CampaignSpec) -> None:
        """exten => …,n,Queue(<queue>,,,,<timeout>)."""
        chan = call.chan
        chan.set_dialplan(chan.context, chan.exten, chan.priority + 1)
        timeout = campaign.queue_timeout
        self.pbx.new_exten(chan, "Queue", f"{campaign.queue},,,,{timeout:g}")
        self._enqueue(call, campaign.queue, timeout)

    def _enqueue(self, call: CustomerCall, queue_name: str, timeout: float | None) -> None:
        queue = self.acd.queues.get(queue_name)
        if queue is None:  # Queue() of an unknown queue returns at once: the leg hangs up
            self._hang_up(call, call.gen)
            return
        call.state = "queued"
        talk = self._talk_time(call)
        caller = Caller(call.chan, 0, talk, float("inf"), self.clock.now())
        caller.queue_timeout = timeout
        caller.on_queue_timeout = lambda c: self._abandoned(call, c)
        call.chan.owner = caller
        self._stats(call.campaign)["queued"] += 1
        if not self.acd.enter(caller, queue):
            self._done(call)

    def _talk_time(self, call: CustomerCall) -> float:
        """How long the customer talks to a bot agent: a machine plays its greeting; a person
        talks for the audience's (else the table's) talk time."""
        if call.outcome == MACHINE:
            return 15.0
        audience = audience_of(self.profile, call.number)
        dist = audience.talk_time if audience and audience.talk_time else self.profile.talk_time
        return max(dist.sampler(self.rng)(), 1.0)

    def _abandoned(self, call: CustomerCall, caller: Caller) -> None:
        """Queue() timed out: nobody took the live customer in time (the FCC's 2 s).
        exten => …,n,UserEvent(OutboundAbandon,Queue: q,Campaign: ${CC_CAMPAIGN},Lead: ${CC_LEAD})
        same => n,Playback(<safe harbor>) same => n,Hangup()."""
        chan = call.chan
        chan.owner = call
        call.state = "up"
        call.gen += 1
        campaign = call.campaign
        self._stats(campaign)["abandoned"] += 1
        if campaign is None:  # Queue() as the Application, or a plain queue extension
            self._hang_up(call, call.gen)
            return
        queue = caller.queue.name if caller.queue is not None else campaign.queue
        headers = [
            ("Queue", queue),
            ("Campaign", chan.variables.get("CC_CAMPAIGN", "")),
            ("Lead", chan.variables.get("CC_LEAD", "")),
        ]
        chan.set_dialplan(chan.context, chan.exten, chan.priority + 1)
        data = ",".join(["OutboundAbandon", *(f"{k}: {v}" for k, v in headers)])
        self.pbx.new_exten(chan, "UserEvent", data)
        self.pbx.user_event(chan, "OutboundAbandon", headers)
        chan.set_dialplan(chan.context, chan.exten, chan.priority + 1)
        self.pbx.new_exten(chan, "Playback", campaign.safe_harbor)
        delay = campaign.safe_harbor_seconds
        self.clock.call_later(delay, self._played_then_hangup, call, call.gen)

    def _played_then_hangup(self, call: CustomerCall, gen: int) -> None:
        """Playback() finished (PLAYBACKSTATUS), then the next priority's Hangup()."""
        if call.gen != gen or call.state != "up":
            return
        self.pbx.var_set(call.chan, "PLAYBACKSTATUS", "SUCCESS")
        self._hang_up(call, gen, next_priority=True)

    def _hang_up(self, call: CustomerCall, gen: int, *, next_priority: bool = False) -> None:
        """Hangup(): cause 16 (main/pbx_builtins.c pbx_builtin_hangup()), the pbx ends."""
        if call.gen != gen or call.state == "done":
            return
        chan = call.chan
        if not call.request.application:
            if next_priority:
                chan.set_dialplan(chan.context, chan.exten, chan.priority + 1)
            self.pbx.new_exten(chan, "Hangup", "")
        self._done(call)
        self.pbx.hangup(chan, NORMAL_CLEARING)

    def _done(self, call: CustomerCall) -> None:
        call.state = "done"
        call.gen += 1

    def hangup(self, call: CustomerCall, cause: int) -> None:
        """The Hangup action on the customer's leg (or the customer hanging up)."""
        if call.state == "done":
            return
        if call.state == "dialing":
            # dial.c: ast_read() gives NULL; DialEnd from the cause, Reason 0.
            if self.pbx.listeners:
                status = {17: "BUSY", 34: "CONGESTION", 3: "CHANUNAVAIL"}.get(cause, "NOANSWER")
                self.pbx.emit_call("DialEnd", None, [("DialStatus", status)], dest=call.chan)
            self.pbx.hangup(call.chan, cause)
            self._failure(call, REASON_FAILED)
            return
        self._done(call)
        self.pbx.hangup_request(call.chan, cause)
        self.pbx.hangup(call.chan, cause)


def _queue_args(data: str) -> tuple[str, float | None]:
    """Queue(queuename[,options[,URL[,announceoverride[,timeout…]]]]): name and timeout."""
    parts = data.split(",")
    timeout: float | None = None
    if len(parts) > 4 and parts[4].strip():
        try:
            timeout = max(float(parts[4]), 0.0)
        except ValueError:
            timeout = None
    return parts[0].strip(), timeout
