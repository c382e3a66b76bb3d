"""The ACD's call flow: callers join queues, members are rung, answer or not, talk, wrap up.

`Acd` owns the queues and the agents' devices and moves callers through app_queue's life cycle,
emitting the AMI events (QueueCallerJoin, AgentCalled, AgentRingNoAnswer, AgentConnect,
AgentComplete, QueueCallerAbandon, QueueCallerLeave, QueueMember*) and queue_log lines.
Events are built only when a listener is attached (``if self.pbx.listeners``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from telephony_sim import consult
from telephony_sim.acd import (
    CONNECTED,
    DEV_INUSE,
    DEV_NOT_INUSE,
    DEV_ONHOLD,
    DEV_RINGING,
    GONE,
    RINGING,
    WAITING,
    Caller,
    Device,
    Membership,
    Queue,
)
from telephony_sim.consult import hang_up_linked
from telephony_sim.legs import answer_legs, hang_up_legs, optimise_away, ring_legs
from telephony_sim.legs import hold as legs_hold
from telephony_sim.pbx import (
    ANSWERED_ELSEWHERE,
    NO_ANSWER,
    NORMAL_CLEARING,
    USER_BUSY,
    Fields,
    SimError,
)
from telephony_sim.queue_exits import QueueExits


class Acd(QueueExits):
    """The call flow between callers, queues and members."""

    #: Hook set by the engine's training runs: a pinned caller left its phone for good (hung
    #: up, abandoned, sent away, or transferred / overflowed to another queue).
    on_release: Callable[[Caller, Device], None] | None = None

    # ------------------------------------------------------------------ callers
    def enter(self, caller: Caller, queue: Queue) -> bool:
        """A caller runs Queue(): join (or be refused by joinempty); False when refused."""
        now = self.clock.now()
        first = caller.queue is None
        if not first:
            self._release(caller)  # transferred or overflowed: served by the new queue's members
        if not queue.joinempty and not queue.has_staff():
            queue.rejected += 1
            caller.state = GONE
            self.pbx.hangup(caller.chan, NORMAL_CLEARING)
            self._release(caller)
            return False
        caller.queue = queue
        caller.joined = now
        caller.state = WAITING
        caller.gen += 1
        waiting = queue.waiting
        idx = queue.position_for(caller.priority)
        waiting.insert(idx, caller)
        if caller.pinned is not None:
            queue.pinned_waiting += 1
        caller.orig_position = idx + 1
        queue.offered += 1
        chan = caller.chan
        chan.application, chan.app_data = "Queue", queue.name
        if caller.on_queue_timeout is None:  # a campaign's leg stays in its own dialplan
            chan.set_dialplan(chan.context, queue.extension)
        if self.pbx.listeners:
            extra = [
                ("Queue", queue.name),
                ("Position", str(idx + 1)),
                ("Count", str(len(waiting))),
            ]
            self.pbx.emit_call("QueueCallerJoin", chan, extra)
            self.pbx.music(chan, True)  # queue_exec(): music on hold while waiting
        if self.qlog is not None:
            self.qlog.write(
                self._epoch(now),
                chan.uniqueid,
                queue.name,
                "NONE",
                "ENTERQUEUE",
                "",
                chan.caller_num,
            )
        if first and caller.patience_at != math.inf:
            self.clock.call_at(caller.patience_at, self._patience_expired, caller)
        if queue.max_wait is not None:
            self.clock.call_later(queue.max_wait, self._max_wait, caller, caller.gen)
        if caller.queue_timeout is not None:
            self.clock.call_later(caller.queue_timeout, self._queue_timeout, caller, caller.gen)
        self._offer(queue)
        return True

    def _offer(self, queue: Queue) -> None:
        """Ring free members for waiting callers, in queue order, while both remain.

        A pinned caller whose phone is busy does not hold up the callers behind it; once no
        member is free for the others, only pinned callers are still looked at.
        """
        waiting = queue.waiting
        i = 0
        others = True  # members may still be free for callers that are not pinned
        while i < len(waiting):
            caller = waiting[i]
            if caller.state != WAITING or not (others or caller.pinned is not None):
                i += 1
                continue
            members = queue.pick_members(caller.pinned)
            if not members:
                if caller.pinned is None:
                    if not queue.pinned_waiting:
                        return
                    others = False
                i += 1
                continue
            self._ring(caller, members)
            if i < len(waiting) and waiting[i] is caller:
                i += 1

    def _ring(self, caller: Caller, members: list[Membership]) -> None:
        queue = caller.queue
        assert queue is not None
        caller.state = RINGING
        caller.ring_started = self.clock.now()
        rung: list[Device] = []
        for m in members:
            dev = m.device
            dev.available = False
            dev.ringing = True
            dev.call = caller
            dev.ring_gen += 1
            # apps/app_queue.c ring_entry(): Newchannel, AgentCalled, DialBegin (legs.py).
            leg = dev.chan = ring_legs(self.pbx, dev, caller, m.member_name, queue.name)
            caller.ringing.append((dev, leg))
            if self.pbx.listeners:
                self.set_status(dev, DEV_RINGING)
            else:
                dev.status = DEV_RINGING
            self.clock.call_later(queue.timeout, self._ring_timeout, dev, dev.ring_gen)
            rung.append(dev)
        # Bots learn of the ring only once every member is rung: a bot answering at once must
        # cancel a complete ringall, not half of one.
        for dev in rung:
            if dev.bot is not None and dev.ringing and dev.call is caller:
                dev.bot.on_ring(dev, dev.ring_gen)
            elif dev.bot is None and queue.autoanswer is not None:
                # The phone answers itself, as on an auto-answer header: the same events as a
                # person answering (the agent's console cannot tell, and need not).
                self.clock.call_later(queue.autoanswer, self.answer, dev, dev.ring_gen)

    def _drop_ring(self, caller: Caller, dev: Device, cause: int) -> None:
        """Hang up one member's ringing legs and free the device (its DialEnds are sent by
        the caller of this method, in app_queue's order)."""
        caller.ringing = [(d, c) for d, c in caller.ringing if d is not dev]
        dev.ringing = False
        dev.call = None
        dev.ring_gen += 1
        dev.available = True
        hang_up_legs(self.pbx, dev, cause, ringing=True)
        self.set_status(dev, DEV_NOT_INUSE)

    def _ring_timeout(self, dev: Device, gen: int) -> None:
        if dev.ring_gen != gen or not dev.ringing:
            return
        self.no_answer(dev)

    def no_answer(self, dev: Device, *, busy: bool = False) -> None:
        """A member did not answer in time, rejected, or was busy: AgentRingNoAnswer, retry.

        apps/app_queue.c wait_for_answer(): a ring timing out gives rna() (AgentRingNoAnswer,
        then with autopause QueueMemberPause "Auto-Pause"), DialEnd NOANSWER, and from
        hangupcalls() DialEnd CANCEL and the Hangup; a busy phone (AST_CONTROL_BUSY) gives
        DialEnd BUSY, rna() with RingTime counted in whole seconds, and the Hangup (cause 17).
        """
        caller = dev.call
        if caller is None or not dev.ringing:
            raise SimError("Phone is not ringing")
        queue = caller.queue
        assert queue is not None
        ring_ms = int((self.clock.now() - caller.ring_started) * 1000)
        if busy:
            ring_ms = int(self.clock.now() - caller.ring_started) * 1000
        m = dev.memberships.get(queue.name)
        name = m.member_name if m is not None else dev.name
        if busy and dev.chan is not None:
            self.pbx.dial_end(caller.chan, dev.chan, "BUSY")
        if self.pbx.listeners and dev.chan is not None:
            extra = [
                ("Queue", queue.name),
                ("Interface", dev.interface),
                ("MemberName", name),
                ("RingTime", str(ring_ms)),
            ]
            self.pbx.emit_call("AgentRingNoAnswer", caller.chan, extra, dest=dev.chan)
        if self.qlog is not None:
            self.qlog.write(
                self.pbx.epoch_now(),
                caller.chan.uniqueid,
                queue.name,
                name,
                "RINGNOANSWER",
                ring_ms,
            )
        if queue.autopause and m is not None and not m.paused and not busy:
            self.queue_pause(dev.interface, True, queue.name, "Auto-Pause")
        if not busy and dev.chan is not None:
            self.pbx.dial_end(caller.chan, dev.chan, "NOANSWER")
            self.pbx.dial_end(caller.chan, dev.chan, "CANCEL")
        self._drop_ring(caller, dev, USER_BUSY if busy else NO_ANSWER)
        if not caller.ringing:
            self.clock.call_later(queue.retry, self._retry, caller, caller.gen)
        self.device_free(dev)

    def _retry(self, caller: Caller, gen: int) -> None:
        if caller.gen == gen and caller.state == RINGING and not caller.ringing:
            caller.state = WAITING
            assert caller.queue is not None
            self._offer(caller.queue)

    def answer(self, dev: Device, gen: int | None = None) -> None:
        """A rung member answers: the others stop ringing and the caller is connected."""
        caller = dev.call
        if caller is None or not dev.ringing or (gen is not None and gen != dev.ring_gen):
            if gen is not None:
                return  # a bot's stale answer: the ring ended meanwhile
            raise SimError("Phone is not ringing")
        # apps/app_queue.c wait_for_answer(): the winner's DialEnd ANSWER, then every other
        # member's DialEnd CANCEL; try_calling() -> hangupcalls(): CANCEL again, Hangup (26).
        others = [(d, c) for d, c in caller.ringing if d is not dev]
        dev.ringing = False
        dev.ring_gen += 1
        answer_legs(self.pbx, dev)
        assert dev.chan is not None
        self.pbx.dial_end(caller.chan, dev.chan, "ANSWER")
        for _other, chan in others:
            self.pbx.dial_end(caller.chan, chan, "CANCEL")
        for other, chan in others:
            self.pbx.dial_end(caller.chan, chan, "CANCEL")
            self._drop_ring(caller, other, ANSWERED_ELSEWHERE)
        caller.ringing = []
        self._connect(caller, dev)
        for other, _chan in others:
            self.device_free(other)

    def _connect(self, caller: Caller, dev: Device) -> None:
        pbx = self.pbx
        queue = caller.queue
        assert queue is not None and dev.chan is not None
        now = self.clock.now()
        wait = now - caller.joined
        waiting = queue.waiting
        position = waiting.index(caller) + 1
        del waiting[position - 1]
        if caller.pinned is not None:
            queue.pinned_waiting -= 1
        caller.state = CONNECTED
        caller.device = dev
        achan = caller.agent_chan = dev.chan
        caller.connected_at = now
        queue.answered += 1
        queue.total_wait_answered += wait
        if wait <= queue.service_level:
            queue.answered_within += 1
        if wait > queue.longest_wait:
            queue.longest_wait = wait
        m = dev.memberships.get(queue.name)
        name = m.member_name if m is not None else dev.name
        cchan = caller.chan
        # try_calling(): ast_moh_stop(), leave_queue(), AgentConnect, then the bridge.
        if pbx.listeners:
            pbx.music(cchan, False)
            self._leave_event(caller, queue, position)
            extra = [
                ("Queue", queue.name),
                ("MemberName", name),
                ("Interface", dev.interface),
                ("HoldTime", str(int(wait))),
                ("RingTime", str(int(now - caller.ring_started))),
            ]
            pbx.emit_call("AgentConnect", cchan, extra, dest=achan)
            bridge = pbx.bridge(cchan, achan)
            pbx.var_set(cchan, "BRIDGEPEER", achan.name)
            # Media reports: noise every real PBX sends, which a console must ignore.
            pbx.emit_call("RTCPSent", achan, [("SSRC", "0x1a2b3c4d"), ("PT", "200(SR)")])
            self.set_status(dev, DEV_INUSE)
        else:
            bridge = pbx.bridge(cchan, achan)
            dev.status = DEV_INUSE
        if dev.optimize:
            optimise_away(pbx, dev, caller, bridge)
        if self.qlog is not None:
            self.qlog.write(
                self._epoch(now),
                cchan.uniqueid,
                queue.name,
                name,
                "CONNECT",
                int(wait),
                achan.uniqueid,
                int(now - caller.ring_started),
            )
        if caller.script is not None and self.on_connect is not None:
            self.on_connect(caller)
        if dev.bot is not None:
            dev.bot.on_connect(dev, caller)
        elif caller.hangup_after is not None:
            self.clock.call_later(caller.hangup_after, self._caller_ends, caller, caller.gen)

    def _caller_ends(self, caller: Caller, gen: int) -> None:
        if caller.gen == gen and caller.state == CONNECTED:
            self.end_call(caller, "caller")

    def _release(self, caller: Caller) -> None:
        """A pinned caller leaves its phone for good: unpin it and tell the training run."""
        dev = caller.pinned
        if dev is not None:
            caller.pinned = None
            if self.on_release is not None:
                self.on_release(caller, dev)

    def hold(self, dev: Device, on: bool) -> None:
        """The agent puts the connected caller on hold, or takes them off it."""
        caller = dev.call
        if caller is None or caller.state != CONNECTED or dev.chan is None:
            raise SimError("No call in progress")
        now = self.clock.now()
        if on == (caller.hold_started is not None):
            raise SimError("Call already on hold" if on else "Call is not on hold")
        if on:
            caller.hold_started = now
        else:
            assert caller.hold_started is not None
            caller.hold_total += now - caller.hold_started
            caller.hold_started = None
        legs_hold(self.pbx, dev, caller, on)
        self.set_status(dev, DEV_ONHOLD if on else DEV_INUSE)

    def end_call(self, caller: Caller, reason: str) -> None:
        """Finish a connected call; ``reason`` is AgentComplete's: caller, agent or transfer."""
        if caller.state != CONNECTED:
            return
        dev, achan, queue = caller.device, caller.agent_chan, caller.queue
        assert dev is not None and achan is not None and queue is not None
        pbx = self.pbx
        now = self.clock.now()
        if caller.hold_started is not None:
            self.hold(dev, False)
        total = now - caller.connected_at
        hold = caller.hold_total
        wait = caller.connected_at - caller.joined
        m = dev.memberships.get(queue.name)
        name = m.member_name if m is not None else dev.name
        cchan = caller.chan
        local_n = dev.local_two is not None  # a /n member: ;1 talks to the caller, ;2 to the phone
        phone = dev.phone_chan or achan
        complete: Fields = []
        if pbx.listeners:
            complete = [
                ("Queue", queue.name),
                ("MemberName", name),
                ("Interface", dev.interface),
                ("HoldTime", str(int(wait))),
                ("TalkTime", str(int(total))),
                ("Reason", {"attended": "transfer", "conference": "agent"}.get(reason, reason)),
            ]

        def agent_complete() -> None:
            if complete:
                pbx.emit_call("AgentComplete", cchan, complete, dest=achan)

        # apps/app_queue.c handle_hangup() sends AgentComplete on the caller's or the member's
        # HangupRequest, before the hang-ups; it runs on a stasis thread, and a /n member's
        # arrives after its Local chain has unwound. handle_blind_transfer(): Reason transfer,
        # only when the transfer happened in the queue's own bridge (not a /n member's).
        if reason == "caller":
            pbx.hangup_request(cchan)
            if not local_n:
                agent_complete()
            pbx.hangup(cchan)
            hang_up_legs(pbx, dev, NORMAL_CLEARING, ringing=False)
            if local_n:
                agent_complete()
        elif reason == "agent":
            pbx.hangup_request(phone)
            if local_n:
                pbx.hangup(phone)
                if dev.local_two is not None:
                    pbx.hangup(dev.local_two)
                pbx.hangup_request(achan)
            agent_complete()
            pbx.hangup(achan)
            dev.chan = dev.local_two = dev.phone_chan = None
            pbx.device_state(dev.phone, "NOT_INUSE")
            pbx.unbridge(cchan)
            pbx.hangup(cchan)
        elif reason in ("attended", "conference"):
            # consult.complete() / leave(): the caller stays, on the Local chain
            agent_complete()
            hang_up_legs(pbx, dev, NORMAL_CLEARING, ringing=False)
        else:
            if not local_n:
                agent_complete()
            pbx.unbridge(cchan)
            hang_up_legs(pbx, dev, NORMAL_CLEARING, ringing=False)
        if self.qlog is not None:
            event = {
                "caller": "COMPLETECALLER",
                "agent": "COMPLETEAGENT",
                "conference": "COMPLETEAGENT",
            }.get(reason)
            if reason == "attended":  # log_attended_transfer(): BRIDGE|<bridge>|hold|talk|pos
                data: tuple[object, ...] = ("BRIDGE", cchan.bridge_id, int(wait), int(total))
                data += (caller.orig_position,)
                event = "ATTENDEDTRANSFER"
            elif event is None:
                data = (cchan.exten, cchan.context, int(wait), int(total))
                event = "TRANSFER"
            else:
                data = (int(wait), int(total), caller.orig_position)
            self.qlog.write(self._epoch(now), cchan.uniqueid, queue.name, name, event, *data)
        queue.handled += 1
        queue.talk_time += total - hold
        queue.hold_time += hold
        dev.busy_time += total
        if m is not None:
            m.calls_taken += 1
            m.last_call = self._epoch(now)
            m.busy_time += total
        dev.call = None
        dev.chan = None
        caller.state = GONE
        caller.device = None
        caller.agent_chan = None
        wrap = dev.wrapuptime if dev.wrapuptime is not None else queue.wrapuptime
        if pbx.listeners:
            self.set_status(dev, DEV_NOT_INUSE)
        else:
            dev.status = DEV_NOT_INUSE
        dev.wrap_gen += 1
        if wrap > 0:
            dev.wrap_pending = (queue, m, now)
            self.clock.call_later(wrap, self._wrap_end, dev, dev.wrap_gen)
        else:
            self.device_free(dev)
        self._release(caller)
        if caller.linked is not None and reason not in ("attended", "conference"):
            hang_up_linked(self, caller)  # the consult's caller: its Local chain unwinds
        if caller.consult_of is not None:
            consult.target_gone(self, caller)  # a consult call's target hung up
        if dev.consult is not None:
            consult.caller_gone(self, dev)  # the caller hung up during a consult

    def _wrap_end(self, dev: Device, gen: int) -> None:
        if dev.wrap_gen != gen or dev.wrap_pending is None:
            return
        self.end_wrapup(dev)

    def end_wrapup(self, dev: Device) -> None:
        """Wrap-up is over (its timer ran out, or a human agent said "ready")."""
        if dev.wrap_pending is None:
            return
        queue, m, started = dev.wrap_pending
        dev.wrap_pending = None
        dev.wrap_gen += 1
        spent = self.clock.now() - started
        queue.wrap_time += spent
        dev.busy_time += spent
        if m is not None:
            m.busy_time += spent
        self.device_free(dev)

    def device_free(self, dev: Device) -> None:
        """The device can take calls again: offer it the waiting callers of its queues."""
        if dev.call is not None or dev.ringing or dev.outbound is not None:
            return
        dev.available = True
        if dev.bot is not None and dev.bot.on_free(dev):
            return  # the bot went on a break
        self.offer_device(dev)

    def offer_device(self, dev: Device) -> None:
        """Offer a free device the waiting callers of its queues (heavier queues first)."""
        queues = [m.queue for m in dev.memberships.values() if m.queue.waiting]
        if len(queues) > 1:
            # Heavier queues first, then the one whose head caller waited longest.
            queues.sort(key=lambda q: (-q.weight, q.waiting[0].joined))
        for queue in queues:
            if not dev.available:
                break
            self._offer(queue)

    def transfer(self, caller: Caller, target: Queue, exten: str, context: str) -> None:
        """Blind-transfer the caller to another queue (from talk or straight from waiting).

        From talk, as the phone's REFER or the BlindTransfer action does it (main/bridge.c
        ast_bridge_transfer_blind()): an Unhold for the transferer (held or not), then
        BlindTransfer (main/stasis_bridges.c blind_transfer_to_ami(): Transferer = the
        agent's phone, Transferee = its bridge peer — the caller, or a /n member's ;2 half —
        the bridge, IsExternal Yes), AgentComplete Reason transfer, the legs torn down.
        Simplified: a /n member's ;1/;2 halves hang up at once instead of carrying the caller
        on to the target.
        """
        if caller.state == CONNECTED:
            dev, achan = caller.device, caller.agent_chan
            assert dev is not None and achan is not None and caller.queue is not None
            if caller.hold_started is not None:
                self.hold(dev, False)
            phone = dev.phone_chan or achan
            peer = dev.local_two or caller.chan
            if self.pbx.listeners:
                self.pbx.hold(phone, False)
                bridge = phone.bridge_id
                fields: Fields = [("Result", "Success")]
                fields += phone.fields("Transferer")
                fields += peer.fields("Transferee")
                fields += self.pbx.bridge_fields(bridge, len(self.pbx.bridges.get(bridge, [])))
                fields += [("IsExternal", "Yes"), ("Context", context), ("Extension", exten)]
                self.pbx.emit("BlindTransfer", fields)
            caller.chan.set_dialplan(context, exten)
            caller.queue.transferred += 1
            self.end_call(caller, "transfer")
        elif caller.state in (WAITING, RINGING):
            queue, position, _wait = self._leave(caller)
            self._leave_event(caller, queue, position)
        else:
            raise SimError("Channel is not in a call")
        # Transferred callers were already served once: they wait for tier 2 without giving up.
        caller.patience_at = math.inf
        caller.hold_total = 0.0
        self.enter(caller, target)
