"""Virtual agents ("bots"): they answer after a delay (or now and then miss a call), talk for the
caller's drawn handle time, sometimes put the caller on hold, wrap up, and take breaks (a pause
with a reason). Each bot draws from its own random stream, so its behaviour is fixed by the seed.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from callkit.specs import BotProfile
from telephony_sim.acd import CONNECTED, Caller, Device, Membership
from telephony_sim.clock import VirtualClock

if TYPE_CHECKING:
    from telephony_sim.callflow import Acd


class Bot:
    """The behaviour attached to one bot device (``device.bot``)."""

    __slots__ = ("_answer_delay", "_break_time", "_hold_time", "acd", "clock", "profile", "rng")

    def __init__(
        self, acd: Acd, clock: VirtualClock, profile: BotProfile, rng: random.Random
    ) -> None:
        self.acd = acd
        self.clock = clock
        self.profile = profile
        self.rng = rng
        self._answer_delay = profile.answer_delay.sampler(rng)
        self._hold_time = profile.hold_time.sampler(rng)
        self._break_time = profile.break_time.sampler(rng)

    def on_ring(self, dev: Device, gen: int) -> None:
        """The bot's phone rings: answer after the drawn delay, unless it misses this one."""
        profile = self.profile
        if profile.miss_share and self.rng.random() < profile.miss_share:
            return  # the queue's ring timeout will raise AgentRingNoAnswer
        delay = self._answer_delay()
        if delay <= 0:
            self.acd.answer(dev, gen)
        else:
            self.clock.call_later(delay, self.acd.answer, dev, gen)

    def on_connect(self, dev: Device, caller: Caller) -> None:
        """Talk for the caller's handle time, perhaps with a hold in the middle."""
        talk = caller.handle_time
        hold = 0.0
        if self.profile.hold_share and self.rng.random() < self.profile.hold_share:
            hold = self._hold_time()
            self.clock.call_later(talk * 0.4, self._hold, dev, caller, caller.gen, hold)
        self.clock.call_later(talk + hold, self._end, dev, caller, caller.gen)

    def _valid(self, dev: Device, caller: Caller, gen: int) -> bool:
        return caller.gen == gen and caller.state == CONNECTED and caller.device is dev

    def _hold(self, dev: Device, caller: Caller, gen: int, hold: float) -> None:
        if self._valid(dev, caller, gen):
            self.acd.hold(dev, True)
            self.clock.call_later(hold, self._unhold, dev, caller, gen)

    def _unhold(self, dev: Device, caller: Caller, gen: int) -> None:
        if self._valid(dev, caller, gen) and caller.hold_started is not None:
            self.acd.hold(dev, False)

    def _end(self, dev: Device, caller: Caller, gen: int) -> None:
        if self._valid(dev, caller, gen):
            agent = self.rng.random() < self.profile.agent_hangup_share
            self.acd.end_call(caller, "agent" if agent else "caller")

    def on_free(self, dev: Device) -> bool:
        """Called when the bot could take a call; True when it goes on a break instead.

        The break pauses only the queues the bot is not already paused in (a supervisor may
        have paused it in some), and its end unpauses only the pauses the bot made itself and
        nobody changed since: a supervisor's "not ready" or "log out" outlasts the break.
        """
        profile = self.profile
        if not profile.break_share or not dev.memberships:
            return False
        if all(m.paused for m in dev.memberships.values()):
            return False  # already away (a supervisor paused this bot)
        if self.rng.random() >= profile.break_share:
            return False
        reasons = profile.break_reasons
        reason = reasons[self.rng.randrange(len(reasons))] if reasons else "Break"
        free = [m for m in dev.memberships.values() if not m.paused]
        if len(free) == len(dev.memberships):
            self.acd.queue_pause(dev.interface, True, None, reason)
        else:
            for m in free:
                self.acd.queue_pause(dev.interface, True, m.queue.name, reason)
        mine = tuple((m, m.last_pause) for m in free)
        self.clock.call_later(self._break_time(), self._back, dev, mine, reason)
        return True

    def _back(self, dev: Device, mine: tuple[tuple[Membership, float], ...], reason: str) -> None:
        if not dev.memberships or dev.interface not in self.acd.devices:
            return
        still = [
            m
            for m, paused_at in mine
            if m.queue.members.get(dev.interface) is m
            and m.paused
            and m.paused_reason == reason
            and m.last_pause == paused_at
        ]
        if len(still) == len(dev.memberships):
            self.acd.queue_pause(dev.interface, False)
        else:
            for m in still:
                self.acd.queue_pause(dev.interface, False, m.queue.name)
