"""The ACD's call flow: callers join queues, members are rung, answer or not, talk, wrap up.

`Acd` owns the queues and the agents' devices and moves callers through app_queue's life cycle,
emitting the AMI events (QueueCallerJoin, AgentCalled, AgentRingNoAnswer, AgentConnect,
AgentComplete, QueueCallerAbandon, QueueCallerLeave, QueueMember*) and queue_log lines.
Events are built only when a listener is attached (``if self.pbx.listeners``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

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
from telephony_sim.members import AcdBase
from telephony_sim.pbx import (
    ANSWERED_ELSEWHERE,
    DOWN,
    NO_ANSWER,
    NORMAL_CLEARING,
    UP,
    Fields,
    SimError,
)
from telephony_sim.pbx import (
    RINGING as CHAN_RINGING,
)


class Acd(AcdBase):
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
        chan.set_dialplan(chan.context, queue.extension)
        if self.pbx.listeners:
            extra = [
                ("Queue", queue.name),
                ("Position", str(idx + 1)),
                ("Count", str(len(waiting))),
            ]
            self.pbx.emit_call("QueueCallerJoin", chan, extra)
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
        pbx = self.pbx
        queue = caller.queue
        assert queue is not None
        caller.state = RINGING
        caller.ring_started = self.clock.now()
        cchan = caller.chan
        rung: list[Device] = []
        for m in members:
            dev = m.device
            dev.available = False
            dev.ringing = True
            dev.call = caller
            dev.ring_gen += 1
            # The member's leg shows the member as its caller ID and the caller as its connected
            # line, as a dialled PJSIP channel does once connected-line updates arrive.
            achan = pbx.new_channel(
                dev.interface,
                dev.interface.rpartition("/")[2],
                m.member_name,
                "from-queue",
                queue.extension,
                DOWN,
                cchan.linkedid,
            )
            achan.set_connected(cchan.caller_num, cchan.caller_name)
            achan.owner = caller
            achan.application, achan.app_data = "AppQueue", "(Outgoing Line)"
            dev.chan = achan
            caller.ringing.append((dev, achan))
            if pbx.listeners:
                pbx.dial_begin(cchan, achan, dev.interface)
                extra = [
                    ("Queue", queue.name),
                    ("Interface", dev.interface),
                    ("MemberName", m.member_name),
                ]
                pbx.emit_call("AgentCalled", cchan, extra, dest=achan)
                pbx.set_state(achan, CHAN_RINGING)
                self.set_status(dev, DEV_RINGING)
            else:
                achan.set_state(CHAN_RINGING)
                dev.status = DEV_RINGING
            self.clock.call_later(queue.timeout, self._ring_timeout, dev, dev.ring_gen)
            rung.append(dev)
        # Bots learn of the ring only once every member is rung: a bot answering at once must
        # cancel a complete ringall, not half of one.
        for dev in rung:
            if dev.bot is not None and dev.ringing and dev.call is caller:
                dev.bot.on_ring(dev, dev.ring_gen)

    def _drop_ring(self, caller: Caller, dev: Device, status: str, cause: int) -> None:
        """End one member's ringing leg (DialEnd + Hangup) and free the device."""
        chan = dev.chan
        caller.ringing = [(d, c) for d, c in caller.ringing if d is not dev]
        dev.ringing = False
        dev.call = None
        dev.chan = None
        dev.ring_gen += 1
        dev.available = True
        if chan is not None:
            self.pbx.dial_end(caller.chan, chan, status)
            self.pbx.hangup(chan, cause)
        self.set_status(dev, DEV_NOT_INUSE)

    def _ring_timeout(self, dev: Device, gen: int) -> None:
        if dev.ring_gen != gen or not dev.ringing:
            return
        self.no_answer(dev)

    def no_answer(self, dev: Device) -> None:
        """A member did not answer in time (or rejected): AgentRingNoAnswer, retry later."""
        caller = dev.call
        if caller is None or not dev.ringing:
            raise SimError("Phone is not ringing")
        queue = caller.queue
        assert queue is not None
        ring_ms = int((self.clock.now() - caller.ring_started) * 1000)
        m = dev.memberships.get(queue.name)
        name = m.member_name if m is not None else dev.name
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
        self._drop_ring(caller, dev, "NOANSWER", NO_ANSWER)
        if queue.autopause and m is not None and not m.paused:
            self.queue_pause(dev.interface, True, queue.name, "Auto-Pause")
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
        others = [d for d, _c in caller.ringing if d is not dev]
        for other in others:
            self._drop_ring(caller, other, "CANCEL", ANSWERED_ELSEWHERE)
        dev.ringing = False
        dev.ring_gen += 1
        caller.ringing = []
        self._connect(caller, dev)
        for other in others:
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
        if pbx.listeners:
            pbx.set_state(achan, UP)
            pbx.dial_end(cchan, achan, "ANSWER")
            self._leave_event(caller, queue, position)
            extra = [
                ("Queue", queue.name),
                ("MemberName", name),
                ("Interface", dev.interface),
                ("RingTime", str(int(now - caller.ring_started))),
                ("HoldTime", str(int(wait))),
            ]
            pbx.emit_call("AgentConnect", cchan, extra, dest=achan)
            pbx.bridge(cchan, achan)
            self.set_status(dev, DEV_INUSE)
        else:
            achan.set_state(UP)
            pbx.bridge(cchan, achan)
            dev.status = DEV_INUSE
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
        if self.pbx.listeners:
            self.pbx.hold(dev.chan, on)
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
        pbx.unbridge(cchan, achan)
        if reason == "caller":
            pbx.hangup(cchan)
        if pbx.listeners:
            extra = [
                ("Queue", queue.name),
                ("MemberName", name),
                ("Interface", dev.interface),
                ("HoldTime", str(int(wait))),
                ("TalkTime", str(int(total))),
                ("Reason", reason),
            ]
            pbx.emit_call("AgentComplete", cchan, extra, dest=achan)
        pbx.hangup(achan)
        if reason == "agent":
            pbx.hangup(cchan)
        if self.qlog is not None:
            event = {"caller": "COMPLETECALLER", "agent": "COMPLETEAGENT"}.get(reason)
            if event is None:
                data: tuple[object, ...] = (cchan.exten, cchan.context, int(wait), int(total))
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

    # ------------------------------------------------------------------ leaving the queue
    def _leave(self, caller: Caller) -> tuple[Queue, int, float]:
        """Take a waiting or ringing caller out of its queue (rings cancelled, devices freed)."""
        queue = caller.queue
        assert queue is not None
        freed = [d for d, _c in caller.ringing]
        for dev in freed:
            self._drop_ring(caller, dev, "CANCEL", NORMAL_CLEARING)
        position = queue.waiting.index(caller) + 1
        del queue.waiting[position - 1]
        if caller.pinned is not None:
            queue.pinned_waiting -= 1
        wait = self.clock.now() - caller.joined
        if wait > queue.longest_wait:
            queue.longest_wait = wait
        caller.state = WAITING
        caller.gen += 1
        for dev in freed:
            self.device_free(dev)
        return queue, position, wait

    def _leave_event(self, caller: Caller, queue: Queue, position: int) -> None:
        if self.pbx.listeners:
            extra = [
                ("Queue", queue.name),
                ("Count", str(len(queue.waiting))),
                ("Position", str(position)),
            ]
            self.pbx.emit_call("QueueCallerLeave", caller.chan, extra)

    def _patience_expired(self, caller: Caller) -> None:
        if caller.state in (WAITING, RINGING) and self.clock.now() >= caller.patience_at:
            self.abandon(caller)

    def abandon(self, caller: Caller) -> None:
        """The waiting caller hangs up: QueueCallerAbandon, QueueCallerLeave, Hangup."""
        queue, position, wait = self._leave(caller)
        queue.abandoned += 1
        if wait < queue.short_abandon:
            queue.short_abandoned += 1
        if wait <= queue.service_level:
            queue.abandoned_within += 1
        if self.pbx.listeners:
            extra = [
                ("Queue", queue.name),
                ("Position", str(position)),
                ("OriginalPosition", str(caller.orig_position)),
                ("HoldTime", str(int(wait))),
            ]
            self.pbx.emit_call("QueueCallerAbandon", caller.chan, extra)
        self._left_unanswered(caller, queue, position, wait, "ABANDON")
        caller.state = GONE
        self.pbx.hangup(caller.chan)
        self._release(caller)

    def _left_unanswered(
        self, caller: Caller, queue: Queue, position: int, wait: float, qlog_event: str
    ) -> None:
        """QueueCallerLeave plus the queue_log line for a caller who leaves without an agent."""
        self._leave_event(caller, queue, position)
        if self.qlog is not None:
            self.qlog.write(
                self.pbx.epoch_now(),
                caller.chan.uniqueid,
                queue.name,
                "NONE",
                qlog_event,
                position,
                caller.orig_position,
                int(wait),
            )

    def _max_wait(self, caller: Caller, gen: int) -> None:
        if caller.gen != gen or caller.state not in (WAITING, RINGING):
            return
        queue, position, wait = self._leave(caller)
        queue.timed_out += 1
        self._left_unanswered(caller, queue, position, wait, "EXITWITHTIMEOUT")
        target = queue.overflow
        if target.startswith("queue:") and target[6:] in self.queues:
            queue.overflowed += 1
            self.enter(caller, self.queues[target[6:]])
            return
        if target == "callback":
            queue.callbacks_requested += 1
            self.pbx.user_event(
                caller.chan,
                "CallbackRequest",
                [
                    ("Queue", queue.name),
                    ("Number", caller.chan.caller_num),
                    ("WaitTime", str(int(wait))),
                ],
            )
        caller.state = GONE
        self.pbx.hangup(caller.chan)
        self._release(caller)

    def _check_leave_empty(self, queue: Queue) -> None:
        """leavewhenempty: with nobody left to answer, waiting callers leave the queue."""
        if not queue.leavewhenempty or not queue.waiting or queue.has_staff():
            return
        for caller in list(queue.waiting):
            q, position, wait = self._leave(caller)
            q.left_empty += 1
            self._left_unanswered(caller, q, position, wait, "EXITEMPTY")
            caller.state = GONE
            self.pbx.hangup(caller.chan)
            self._release(caller)

    def transfer(self, caller: Caller, target: Queue, exten: str, context: str) -> None:
        """Blind-transfer the caller to another queue (from talk or straight from waiting)."""
        if caller.state == CONNECTED:
            dev, achan = caller.device, caller.agent_chan
            assert dev is not None and achan is not None and caller.queue is not None
            if self.pbx.listeners:
                fields: Fields = [("Result", "Success")]
                fields += achan.fields("Transferer")
                fields += caller.chan.fields("Transferee")
                fields += self.pbx.bridge_fields(achan.bridge_id, 2)
                fields += [("IsExternal", "No"), ("Context", context), ("Extension", exten)]
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
