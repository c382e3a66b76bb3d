"""ChanSpy: a supervisor listens to (whispers to, barges into) an agent's call.

Started the way a console does it on Asterisk: ``Originate`` with ``Application: ChanSpy``
and ``Data: <channel prefix>,<options>`` to the supervisor's own phone. What follows is what
main/pbx_outgoing.c and apps/app_chanspy.c make of it:

1. The supervisor's phone is dialled (pbx_outgoing_attempt(): Newchannel, a VarSet per
   ``Variable``, Newstate Ringing). A phone the ACD does not know (a supervisor's, not an
   agent's desk phone) answers by itself after `ANSWER_DELAY` seconds: sites set supervisors'
   phones to auto-answer spy calls (an intercom header), and the simulator has no button to
   press on a phone it does not model. An agent's own desk phone that is on a call is busy
   (``OriginateResponse`` Failure, Reason 5).
2. Answered: Newstate Up, then ``OriginateResponse`` Success Reason 4 (manager.c
   fast_originate() reports once the dial is answered, AST_OUTGOING_WAIT), then the
   application starts in pbx_outgoing_exec(): Newexten ``ChanSpy`` (the snapshot's new
   application). A PBX without app_chanspy logs "No such application" and hangs the channel
   up at once (Hangup 16): the Originate still said Success.
3. common_exec() looks every 100 ms (ast_waitfordigit(chan, 100)) for a channel whose name
   starts with the prefix (``u``: the exact name or Uniqueid), skipping itself, other spies'
   channels (AST_FLAG_SPYING) and, with ``b``, channels not in a bridge. None yet: it waits,
   for ever, as ChanSpy does on an idle phone.
4. channel_spy() publishes **ChanSpyStart** (publish_chanspy_message(): the spyer's channel
   block with the ``Spyer`` prefix, the spyee's with ``Spyee``; main/manager_channels.c
   channel_chanspy_start_cb()). Whisper (``w``) and barge (``B``) attach audiohooks: no event.
5. It ends when the spyee hangs up (the audiohook stops: **ChanSpyStop**, then, with ``E``,
   the application exits and the spyer hangs up; without it, ChanSpy goes back to step 3)
   or when the spyer hangs up (ChanSpyStop, Hangup). ChanSpyStop carries the spyer's block
   only (publish_chanspy_message(chan, NULL, 0); channel_chanspy_stop_cb()).

Mode switching is ChanSpy's own ``d`` option (change_spy_mode()): DTMF 4 listen, 5 whisper,
6 barge, read from the spyer's channel. Over AMI that is ``PlayDTMF`` with ``Receive: yes``
on the spyer's channel (the digit is queued as if the phone sent it); it publishes a
``DTMFEnd`` (``Direction: Received``, main/channel.c send_dtmf_end_event()) and no spy event.
Without ``d`` the digits build a channel name instead (not modelled: ignored).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from telephony_sim.acd import DEV_INUSE, DEV_NOT_INUSE, DEV_RINGING, Device
from telephony_sim.callflow import Acd
from telephony_sim.outbound import (
    REASON_ANSWERED,
    REASON_BUSY,
    REASON_FAILED,
    REASON_NO_ANSWER,
    Dialer,
    OriginateRequest,
    split_caller_id,
)
from telephony_sim.pbx import DOWN, NO_ANSWER, RINGING, UP, Channel, Fields

ANSWER_DELAY = 1.0  # a supervisor's phone auto-answers a spy call
POLL = 0.1  # common_exec(): ast_waitfordigit(chan, 100) between looks for a spyee
LISTEN, WHISPER, BARGE = "listen", "whisper", "barge"
_DTMF_MODES = {"4": LISTEN, "5": WHISPER, "6": BARGE}


@dataclass(frozen=True, slots=True)
class SpyOptions:
    """ChanSpy's options as app_chanspy.c's spy_opts table reads them (the ones modelled)."""

    quiet: bool = False  # q: no beep, no name spoken
    bridged: bool = False  # b: only channels in a bridge
    whisper: bool = False  # w (or W)
    barge: bool = False  # B
    dtmf_modes: bool = False  # d: 4/5/6 switch modes
    exit_on_hangup: bool = False  # E: leave when the spyee hangs up
    uniqueid: bool = False  # u: the prefix is an exact channel name or a Uniqueid

    @classmethod
    def parse(cls, text: str) -> SpyOptions:
        """Option letters, as ast_app_parse_options() reads them; arguments in brackets
        (``g(grp)``, ``v(2)``…) are skipped, unknown letters ignored."""
        letters: set[str] = set()
        depth = 0
        for ch in text:
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth = max(depth - 1, 0)
            elif depth == 0:
                letters.add(ch)
        return cls(
            quiet="q" in letters,
            bridged="b" in letters,
            # W (private whisper) sets whisper too (chanspy_exec()).
            whisper="w" in letters or "W" in letters,
            barge="B" in letters,
            dtmf_modes="d" in letters,
            exit_on_hangup="E" in letters,
            uniqueid="u" in letters,
        )

    def mode(self) -> str:
        """The mode these flags give (barge wins: channel_spy() tests it first)."""
        return BARGE if self.barge else WHISPER if self.whisper else LISTEN


@dataclass
class Spy:
    """One ChanSpy session: the spyer's channel and whom it spies on."""

    request: OriginateRequest
    chan: Channel
    prefix: str
    options: SpyOptions
    device: Device | None
    mode: str = LISTEN
    state: str = "ringing"  # ringing → up (looking) → spying → done
    spyee: Channel | None = None
    gen: int = 0
    history: list[tuple[float, str]] = field(default_factory=list)  # (time, mode) switches


class Spies:
    """Every ChanSpy session on the PBX (the engine's ``Originate Application: ChanSpy``)."""

    def __init__(
        self, acd: Acd, dialer: Dialer, *, has_chanspy: Callable[[], bool] = lambda: True
    ) -> None:
        self.acd = acd
        self.pbx = acd.pbx
        self.clock = acd.clock
        self.dialer = dialer  # for OriginateResponse, built as for any Originate
        self.has_chanspy = has_chanspy
        self.active: dict[str, Spy] = {}  # spyer channel name -> session
        self.pbx.hangup_hooks.append(self._hung_up)

    # Originate ----------------------------------------------------------------------------

    def originate(self, request: OriginateRequest) -> None:
        """Dial the supervisor's phone ``request.channel``; ChanSpy(``data``) once answered."""
        prefix, _comma, opts = request.data.partition(",")
        prefix = prefix.strip()
        if prefix == "all":  # chanspy_exec(): "all" is no prefix
            prefix = ""
        dev = self.acd.devices.get(request.channel)
        if dev is not None and (not dev.available or dev.call is not None):
            self.clock.call_later(
                0.0, self.dialer.respond, request, request.channel, False, REASON_BUSY
            )
            return
        num, name = split_caller_id(request.caller_id)
        chan = self.pbx.new_channel(
            request.channel, num, name, request.context, request.exten or "s", DOWN
        )
        for key, value in request.variables:
            self.pbx.var_set(chan, key, value)
        options = SpyOptions.parse(opts)
        spy = Spy(request, chan, prefix, options, dev, mode=options.mode())
        chan.owner = spy
        self.active[chan.name] = spy
        if dev is not None:
            dev.available = False
            self.acd.set_status(dev, DEV_RINGING)
        self.pbx.set_state(chan, RINGING)
        timeout_s = max(request.timeout_ms, 1000) / 1000.0
        if timeout_s <= ANSWER_DELAY:
            self.clock.call_later(timeout_s, self._no_answer, spy, spy.gen)
        else:
            self.clock.call_later(ANSWER_DELAY, self._answer, spy, spy.gen)

    def _no_answer(self, spy: Spy, gen: int) -> None:
        if spy.gen != gen or spy.state != "ringing":
            return
        endpoint = spy.chan.name.rsplit("-", 1)[0]
        self.dialer.respond(
            spy.request, endpoint, False, REASON_NO_ANSWER, uniqueid=spy.chan.uniqueid
        )
        self._finish(spy, NO_ANSWER)

    def _answer(self, spy: Spy, gen: int) -> None:
        if spy.gen != gen or spy.state != "ringing":
            return
        spy.state = "up"
        self.pbx.set_state(spy.chan, UP)
        if spy.device is not None:
            self.acd.set_status(spy.device, DEV_INUSE)
        self.dialer.respond(spy.request, spy.chan.name, True, REASON_ANSWERED, spy.chan)
        if not self.has_chanspy():
            # pbx_outgoing_exec(): pbx_findapp() fails, "No such application", ast_hangup().
            self._finish(spy)
            return
        self.pbx.new_exten(spy.chan, "ChanSpy", spy.request.data)
        spy.history.append((self.clock.now(), spy.mode))
        self._look(spy, spy.gen)

    # Looking for the spyee (common_exec()) ----------------------------------------------------

    def _look(self, spy: Spy, gen: int) -> None:
        if spy.gen != gen or spy.state != "up":
            return
        target = self._candidate(spy)
        if target is None:
            self.clock.call_later(POLL, self._look, spy, gen)
            return
        spy.state = "spying"
        spy.spyee = target
        self._publish("ChanSpyStart", spy, target)

    def _candidate(self, spy: Spy) -> Channel | None:
        spying = {s.chan.name for s in self.active.values() if s.state in ("up", "spying")}
        for chan in self.pbx.channels.values():
            if chan is spy.chan or chan.name in spying:
                continue  # next_channel() skips itself; AST_FLAG_SPYING channels are skipped
            if spy.options.uniqueid:
                if spy.prefix not in (chan.name, chan.uniqueid):
                    continue
            elif not chan.name.startswith(spy.prefix):
                continue
            if spy.options.bridged and not chan.bridge_id:
                continue
            return chan
        return None

    def _publish(self, event: str, spy: Spy, spyee: Channel | None) -> None:
        """ChanSpyStart (spyer + spyee blocks) or ChanSpyStop (spyer only)."""
        if not self.pbx.listeners:
            return
        head: Fields = list(spy.chan.block("Spyer"))
        if spyee is not None:
            head += spyee.block("Spyee")
        self.pbx.emit_call(event, None, head=head)

    # Ending ---------------------------------------------------------------------------------

    def _hung_up(self, chan: Channel) -> None:
        """A leg hung up: the spyer itself (ChanSpy ends), or a spied-on channel."""
        for spy in list(self.active.values()):
            if spy.spyee is chan and spy.state == "spying":
                # The spy audiohook stops: channel_spy() returns 0, ChanSpyStop.
                spy.spyee = None
                self._publish("ChanSpyStop", spy, None)
                if spy.options.exit_on_hangup:
                    self._finish(spy)
                else:
                    spy.state = "up"
                    self.clock.call_later(POLL, self._look, spy, spy.gen)

    def hangup(self, spy: Spy, cause: int = 16) -> None:
        """The spyer's channel is hung up (Hangup action, or the supervisor's phone)."""
        if spy.state == "ringing":
            endpoint = spy.chan.name.rsplit("-", 1)[0]
            self.dialer.respond(spy.request, endpoint, False, 1, uniqueid=spy.chan.uniqueid)
        elif spy.state == "spying":
            # ast_read() fails: running = -1, the hooks detach, ChanSpyStop, then the hang-up.
            self._publish("ChanSpyStop", spy, None)
        self._finish(spy, cause)

    def dtmf(self, spy: Spy, digits: str) -> None:
        """Digits read on the spyer's channel (PlayDTMF Receive: yes)."""
        for digit in digits:
            if self.pbx.listeners:
                self.pbx.emit_call(
                    "DTMFEnd",
                    spy.chan,
                    [("Digit", digit), ("DurationMs", "100"), ("Direction", "Received")],
                )
            if spy.options.dtmf_modes and spy.state in ("up", "spying") and digit in _DTMF_MODES:
                spy.mode = _DTMF_MODES[digit]  # change_spy_mode()
                spy.history.append((self.clock.now(), spy.mode))

    def _finish(self, spy: Spy, cause: int = 16) -> None:
        spy.state = "done"
        spy.gen += 1
        spy.spyee = None
        self.active.pop(spy.chan.name, None)
        self.pbx.hangup(spy.chan, cause)
        dev = spy.device
        if dev is not None:
            self.acd.set_status(dev, DEV_NOT_INUSE)
            self.acd.device_free(dev)


def is_chanspy(request: OriginateRequest) -> bool:
    """An Originate running the ChanSpy application (any case, as pbx_findapp() matches)."""
    return request.application.strip().lower() == "chanspy"


__all__ = [
    "BARGE",
    "LISTEN",
    "REASON_FAILED",
    "WHISPER",
    "Spies",
    "Spy",
    "SpyOptions",
    "is_chanspy",
]
