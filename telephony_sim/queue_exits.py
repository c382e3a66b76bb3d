"""Callers leaving a queue unanswered: they hang up (abandon), wait too long (max wait: overflow
to another queue or a callback request), or nobody is left to answer (leavewhenempty).

`QueueExits` sits between the member administration (members.AcdBase) and the call flow
(callflow.Acd): it takes a caller out of its queue with the ringing legs cancelled, and emits
QueueCallerAbandon / QueueCallerLeave and the queue_log line, in app_queue's order.
"""

from __future__ import annotations

from telephony_sim.acd import GONE, RINGING, WAITING, Caller, Device, Queue
from telephony_sim.members import AcdBase
from telephony_sim.pbx import NORMAL_CLEARING


class QueueExits(AcdBase):
    """Taking callers out of their queue without an agent (see the module docstring)."""

    def _leave(self, caller: Caller) -> tuple[Queue, int, float]:
        """Take a waiting or ringing caller out of its queue (rings cancelled, devices freed)."""
        queue = caller.queue
        assert queue is not None
        # wait_for_answer() "Got hung up": DialEnd CANCEL for each ringing member; try_calling()
        # out: hangupcalls(): CANCEL again and the Hangup.
        ringing = list(caller.ringing)
        for _dev, chan in ringing:
            self.pbx.dial_end(caller.chan, chan, "CANCEL")
        for dev, chan in ringing:
            self.pbx.dial_end(caller.chan, chan, "CANCEL")
            self._drop_ring(caller, dev, NORMAL_CLEARING)
        freed = [d for d, _c in ringing]
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
        """The waiting caller hangs up: HangupRequest (main/channel.c, before app_queue reads
        the hang-up), the ringing legs cancelled, QueueCallerAbandon, QueueCallerLeave, Hangup
        (apps/app_queue.c queue_exec(): record_abandoned(), leave_queue())."""
        self.pbx.hangup_request(caller.chan)
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

    def _queue_timeout(self, caller: Caller, gen: int) -> None:
        """Queue()'s own timeout ran out (its 5th argument): the caller leaves the queue and
        the dialplan goes on (a campaign plays its safe-harbor message).

        apps/app_queue.c: try_calling() rings members only until qe->expire, so a ring still
        going stops as a ring timeout does (wait_for_answer(): rna() — AgentRingNoAnswer —
        DialEnd NOANSWER; hangupcalls(): DialEnd CANCEL, Hangup). queue_exec() then finds
        qe.expire passed: record_abandoned() (VarSet ABANDONED=TRUE, QueueCallerAbandon),
        EXITWITHTIMEOUT in the queue_log; at ``stop:`` ast_moh_stop() (MusicOnHoldStop),
        leave_queue() (QueueCallerLeave), set_queue_result() (VarSet QUEUESTATUS=TIMEOUT).
        Asterisk checks the expiry between ring cycles (after ``retry``); the simulator
        leaves at the second it runs out, as a campaign queue with a short retry does.
        """
        if caller.gen != gen or caller.state not in (WAITING, RINGING):
            return
        for dev, _chan in list(caller.ringing):
            self.no_answer(dev)
        queue, position, wait = self._leave(caller)
        queue.timed_out += 1
        chan = caller.chan
        self.pbx.var_set(chan, "ABANDONED", "TRUE")
        if self.pbx.listeners:
            extra = [
                ("Queue", queue.name),
                ("Position", str(position)),
                ("OriginalPosition", str(caller.orig_position)),
                ("HoldTime", str(int(wait))),
            ]
            self.pbx.emit_call("QueueCallerAbandon", chan, extra)
        if self.qlog is not None:
            self.qlog.write(
                self.pbx.epoch_now(),
                chan.uniqueid,
                queue.name,
                "NONE",
                "EXITWITHTIMEOUT",
                position,
                caller.orig_position,
                int(wait),
            )
        self.pbx.music(chan, False)
        self._leave_event(caller, queue, position)
        self.pbx.var_set(chan, "QUEUESTATUS", "TIMEOUT")
        caller.state = GONE
        self._release(caller)
        if caller.on_queue_timeout is not None:
            caller.on_queue_timeout(caller)
        else:
            self.pbx.hangup(chan)  # nothing after Queue() in the dialplan

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

    # Implemented by the call flow (callflow.Acd).
    def enter(self, caller: Caller, queue: Queue) -> bool:
        raise NotImplementedError

    def device_free(self, dev: Device) -> None:
        raise NotImplementedError

    def _drop_ring(self, caller: Caller, dev: Device, cause: int) -> None:
        raise NotImplementedError

    def _release(self, caller: Caller) -> None:
        raise NotImplementedError

    def no_answer(self, dev: Device, *, busy: bool = False) -> None:
        raise NotImplementedError
