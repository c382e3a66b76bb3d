"""The simulator's facade: one object the AMI server, the headless runner and tests drive.

``Engine(scenario, seed=…, clock=…)`` builds the queues, agents, bots, random traffic and
scripted calls of a scenario on a clock. Listeners (``add_listener``) receive every AMI event as
``(event_name, [(field, value), …])``, exactly as Asterisk 20 would send it; with no listener no
field list is ever built. Actions raise `SimError` with an Asterisk-like message.

Determinism: every random stream is ``random.Random(f"{seed}:{purpose}:{name}")`` (string seeds
hash with SHA-512, stable across processes), and the clock breaks ties by insertion order, so
the same seed and scenario give the same event stream in virtual mode.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Collection, Sequence
from pathlib import Path

from callkit.metrics import QueueFigures
from callkit.scenario import AgentSpec, QueueSpec, Scenario, ScriptedCall, TranscriptLine
from telephony_sim import consult, snapshot
from telephony_sim.acd import CONNECTED, LINKED, RINGING, WAITING, Caller, Device, Queue
from telephony_sim.bots import Bot
from telephony_sim.callflow import Acd
from telephony_sim.campaigns import CustomerCall, CustomerDialer
from telephony_sim.clock import RealTimeClock, VirtualClock
from telephony_sim.mixmonitor import Recordings
from telephony_sim.outbound import Dialer, OriginateRequest, Outbound
from telephony_sim.pbx import RING, UP, Channel, Fields, Listener, Pbx, SimError
from telephony_sim.queue_log import QueueLog
from telephony_sim.spy import Spies, Spy, is_chanspy
from telephony_sim.stats import queue_figures, queue_report
from telephony_sim.traffic import ArrivalProcess, CallerIdSource, generate_us_number
from telephony_sim.training import Training

__all__ = ["Engine", "SimError"]

#: The modules a default simulator has loaded (``ModuleCheck``); ``noload`` removes some, as
#: modules.conf's ``noload =>`` lines do.
MODULES = frozenset(
    {
        "app_chanspy",
        "app_dial",
        "app_mixmonitor",
        "app_queue",
        "app_senddtmf",
        "app_amd",
        "app_playback",
        "chan_pjsip",
        "res_pjsip",
    }
)


class _Feed:
    """The random traffic of one queue."""

    __slots__ = ("arrivals", "callers", "handle", "patience", "prio_rng", "queue", "spec")

    def __init__(
        self, queue: Queue, spec: QueueSpec, engine: Engine, numbers: Sequence[str]
    ) -> None:
        traffic = spec.traffic
        assert traffic is not None
        name = spec.name
        self.queue = queue
        self.spec = spec
        self.arrivals = ArrivalProcess(
            traffic.hourly, engine.scenario.start_of_day, engine.rng("arrivals", name)
        )
        self.callers = CallerIdSource(
            numbers, engine.scenario.callers, engine.rng("callerid", name)
        )
        self.handle = traffic.handle_time.sampler(engine.rng("handle", name))
        self.patience = traffic.patience.sampler(engine.rng("patience", name))
        self.prio_rng = engine.rng("priority", name)


class Engine:
    """PBX + ACD + traffic + bots on one clock."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        seed: int,
        clock: VirtualClock,
        numbers: Sequence[str] = (),
        customer_numbers: dict[int, str] | None = None,
        queue_log: QueueLog | None = None,
        crm_db: Path | None = None,
        recordings_dir: Path | None = None,
        noload: Collection[str] = (),
    ) -> None:
        self.scenario = scenario
        self.modules = MODULES - {_module_name(n) for n in noload}
        self.seed = seed
        self.clock = clock
        self.pbx = Pbx(clock.now, scenario.epoch)
        self.acd = Acd(self.pbx, clock, queue_log)
        self.acd.on_connect = self._start_transcript
        # QueueAdd, QueueRemove and QueuePause are the ACD's own operations, served as they are.
        self.queue_add = self.acd.queue_add
        self.queue_remove = self.acd.queue_remove
        self.queue_pause = self.acd.queue_pause
        self.customer_numbers = dict(customer_numbers or {})
        self.crm_db = crm_db  # read (read-only) when a training run names customers
        self._dtmf: dict[str, str] = {}  # digits received per channel (feature codes)
        self.training = Training(self)
        self.acd.on_release = self.training.on_release
        self.dialer = Dialer(
            self.acd,
            self.rng("outbound", "dialer"),
            profile=scenario.outbound,
            outcome_rng=self.rng("outbound", "outcomes"),
        )
        # Customer-first Originates (campaigns.py), on their own random streams so adding
        # them changes nothing else; SimOutbound scripts are the Dialer's.
        self.customers = CustomerDialer(
            self.acd,
            self.dialer,
            self.rng("campaign", "dialer"),
            self.rng("campaign", "outcomes"),
            self.rng("campaign", "amd"),
            scenario.outbound,
            scenario.start_of_day,
        )
        self._script_rng = self.rng("scripted", "numbers")
        # ChanSpy (an Originate's application) and MixMonitor (telephony_sim/spy.py,
        # mixmonitor.py); recordings are written under ``recordings_dir`` only.
        self.spies = Spies(
            self.acd, self.dialer, has_chanspy=lambda: self.has_module("app_chanspy")
        )
        self.recordings = Recordings(self.pbx, clock.now, recordings_dir)
        #: Every Originate the PBX accepted: (epoch time, request). What tests and benches
        #: check a dialer against, from the PBX's side.
        self.originated: list[tuple[float, OriginateRequest]] = []
        start = clock.now()
        for spec in scenario.queues:
            self.acd.add_queue(self.queue_from_spec(spec))
        for agent in scenario.agents:
            self.add_agent(agent)
        for spec in scenario.queues:
            if spec.traffic is not None:
                feed = _Feed(self.acd.queues[spec.name], spec, self, numbers)
                first = feed.arrivals.next_after(start)
                if first is not None:
                    clock.call_at(first, self._arrive, feed)
        for call in scenario.calls:
            clock.call_at(start + call.at, self._scripted_call, call)

    def rng(self, purpose: str, name: str) -> random.Random:
        """The random stream for one purpose and object, derived from the seed."""
        return random.Random(f"{self.seed}:{purpose}:{name}")

    def queue_from_spec(self, spec: QueueSpec) -> Queue:
        """A queue configured as ``spec`` says (its random traffic is not started here)."""
        return Queue(
            spec.name,
            extension=spec.extension,
            strategy=spec.strategy,
            timeout=spec.timeout,
            retry=spec.retry,
            wrapuptime=spec.wrapuptime,
            joinempty=spec.joinempty,
            autopause=spec.autopause,
            leavewhenempty=spec.leavewhenempty,
            max_wait=spec.max_wait,
            overflow=spec.overflow,
            weight=spec.weight,
            skills=spec.skills,
            service_level=spec.service_level,
            short_abandon=spec.short_abandon,
            autoanswer=spec.autoanswer,
            rng=self.rng("strategy", spec.name),
        )

    def add_agent(self, agent: AgentSpec, queues: Collection[str] | None = None) -> None:
        """Add a bot or desk phone with its static memberships (only those in ``queues``,
        when given)."""
        dev = Device(
            agent.interface,
            agent.name,
            agent.kind,
            agent.skills,
            agent.wrapuptime,
            state_interface=agent.state_interface,
        )
        if agent.kind == "bot":
            dev.bot = Bot(self.acd, self.clock, agent.profile, self.rng("bot", agent.interface))
        self.acd.devices[agent.interface] = dev
        for qname, penalty in agent.queues:
            if queues is None or qname in queues:
                self.acd.queue_add(
                    qname,
                    agent.interface,
                    agent.name,
                    penalty,
                    agent.paused,
                    state_interface=agent.state_interface,
                    reason=agent.pause_reason,
                    dynamic=False,
                )

    # ------------------------------------------------------------------ listeners
    def add_listener(self, fn: Listener) -> None:
        """Receive every AMI event as ``fn(event_name, fields)``."""
        self.pbx.listeners.append(fn)

    def remove_listener(self, fn: Listener) -> None:
        """Stop sending events to ``fn`` (no error if it was not attached)."""
        if fn in self.pbx.listeners:
            self.pbx.listeners.remove(fn)

    # ------------------------------------------------------------------ calls
    def _arrive(self, feed: _Feed) -> None:
        num, name = feed.callers.draw()
        traffic = feed.spec.traffic
        assert traffic is not None
        priority = 0
        if traffic.priority_share and feed.prio_rng.random() < traffic.priority_share:
            priority = traffic.priority
        self.inbound(feed.queue.name, num, name, priority, feed.handle(), feed.patience())
        nxt = feed.arrivals.next_after(self.clock.now())
        if nxt is not None:
            self.clock.call_at(nxt, self._arrive, feed)

    def inbound(
        self,
        queue: str,
        caller_num: str,
        caller_name: str = "",
        priority: int = 0,
        handle_time: float = 180.0,
        patience: float = math.inf,
        script: ScriptedCall | None = None,
        *,
        pinned: Device | None = None,
        training_run: str = "",
    ) -> Caller:
        """A call arrives from the trunk and enters ``queue``; returns its ACD record.

        ``pinned`` (a training run's call) rings that phone only; ``training_run`` is the run's
        id, added to the ScriptedCall user event.
        """
        q = self.acd.queues.get(queue)
        if q is None:
            raise SimError(f"No such queue: {queue}")
        pbx = self.pbx
        chan = pbx.new_channel(
            "PJSIP/trunk", caller_num, caller_name, "from-pstn", q.extension, RING
        )
        caller = Caller(chan, priority, handle_time, patience, self.clock.now(), script)
        caller.pinned = pinned
        chan.owner = caller
        if pbx.listeners:
            pbx.set_state(chan, UP)
            if script is not None:
                extra = [
                    ("Script", script.id),
                    ("CustomerId", str(script.customer_id or "")),
                    ("Tier", script.tier),
                    ("Expect", ",".join(script.expect)),
                ]
                if training_run:
                    extra.append(("TrainingRun", training_run))
                pbx.user_event(chan, "ScriptedCall", extra)
        else:
            chan.set_state(UP)
        if script is not None:
            caller.hangup_after = script.hangup_after
        self.acd.enter(caller, q)
        return caller

    def _scripted_call(self, call: ScriptedCall) -> None:
        # The customer's number in the CRM (--db) first, so the pop finds them; the file's
        # `number` stands in when there is none (docs/scenarios.md).
        number = None
        if call.customer_id is not None:
            number = self.customer_numbers.get(call.customer_id)
        number = number or call.number
        if number is None:
            number = generate_us_number(self._script_rng)
        priority = call.priority
        if call.tier.lower() == "platinum":
            priority = max(priority, self.scenario.platinum_priority)
        self.inbound(call.queue, number, call.name, priority, call.handle_time, call.patience, call)

    def _start_transcript(self, caller: Caller) -> None:
        script = caller.script
        if script is None:
            return
        for line in script.transcript:
            self.clock.call_later(line.at, self._say, caller, caller.gen, line)

    def _say(self, caller: Caller, gen: int, line: TranscriptLine) -> None:
        if caller.gen == gen and caller.state == CONNECTED and caller.script is not None:
            # CR/LF would end the AMI frame early: speech is one header line.
            text = line.text.replace("\r", " ").replace("\n", " ")
            self.recordings.heard(caller.chan.linkedid, line.speaker, text)
            self.pbx.user_event(
                caller.chan,
                "Transcript",
                [("Script", caller.script.id), ("Speaker", line.speaker), ("Text", text)],
            )

    # ------------------------------------------------------------------ actions
    def originate(self, request: OriginateRequest) -> None:
        """Originate (Async): the result comes later as OriginateResponse with its ActionID.

        An agent's phone (a device of the ACD, or any channel without ``@``) is rung first
        and ``exten`` dialled once it answers (outbound.py); ``PJSIP/<number>@<trunk>`` dials
        the customer first and runs the dialplan on the answer (campaigns.py)."""
        if not request.channel or "/" not in request.channel:
            raise SimError("Channel not specified" if not request.channel else "Invalid channel")
        if is_chanspy(request):
            self.spies.originate(request)  # the supervisor's phone, then ChanSpy
            self.originated.append((self.pbx.epoch_now(), request))
            return
        customer_first = request.channel not in self.acd.devices and (
            "@" in request.channel or request.channel.lower().startswith("local/")
        )
        if customer_first:
            if not request.exten and not request.application:
                raise SimError("Exten not specified")
            self.customers.originate(request)
            self.originated.append((self.pbx.epoch_now(), request))
            return
        if not request.exten:
            raise SimError("Exten not specified")
        self.dialer.originate(request)
        self.originated.append((self.pbx.epoch_now(), request))

    def outbound_outcome(self, number: str, outcome: str, count: int = 1, amd: str = "") -> int:
        """SimOutbound: the next ``count`` dials to ``number`` get ``outcome`` (answer,
        noanswer, busy, failed, machine) whatever the scenario's shares, and AMD in a
        campaign's dialplan reports ``amd`` for them (HUMAN, MACHINE, NOTSURE, HANGUP; ""
        draws it); returns how many dials to the number are now scripted."""
        return self.dialer.script(number, outcome, count, amd)

    def set_manager_vars(self, names: Sequence[str]) -> None:
        """manager.conf ``channelvars``: the variables every channel block reports."""
        self.pbx.set_manager_vars(tuple(names))

    def training_start(self, interface: str, scenario: str, run_id: str, lead: float = 3.0) -> int:
        """SimTraining start: play ``scenario``'s scripted calls to the desk phone
        ``interface`` (see telephony_sim/training.py); returns how many calls the run has."""
        return self.training.start(interface, scenario, run_id, lead)

    def training_stop(self, interface: str) -> None:
        """SimTraining stop: end the training run on ``interface``."""
        self.training.stop(interface)

    def redirect(self, channel: str, exten: str, context: str = "from-internal") -> None:
        """Redirect a caller (or the agent leg of its call) to a queue's extension."""
        chan = self.pbx.channels.get(channel)
        if chan is None:
            raise SimError("Channel does not exist: " + channel)
        caller = chan.owner
        if not isinstance(caller, Caller):
            raise SimError("Redirect failed: channel is not a queue call")
        target = self.acd.by_exten.get(exten)
        if target is None:
            raise SimError("Extension does not exist.")
        self.acd.transfer(caller, target, exten, context)

    def blind_transfer(self, channel: str, exten: str, context: str = "") -> None:
        """BlindTransfer (main/manager.c action_blind_transfer): the transferer ``channel``
        (the agent's phone leg) sends its bridge peer, the caller, to ``exten``."""
        chan = self.pbx.channels.get(channel)
        if chan is None:
            raise SimError("Channel specified does not exist")
        caller = chan.owner
        if not isinstance(caller, Caller) or caller.state != CONNECTED or chan is caller.chan:
            raise SimError("Transfer not permitted")
        target = self.acd.by_exten.get(exten)
        if target is None:
            raise SimError("Transfer invalid")
        self.acd.transfer(caller, target, exten, context or "from-internal")

    def atxfer(self, channel: str, exten: str, context: str = "") -> None:
        """Atxfer (main/manager.c action_atxfer, the attended-transfer feature): the agent's
        leg ``channel`` starts a consult call to ``exten``; the agent hanging up completes it."""
        chan = self.pbx.channels.get(channel)
        if chan is None:
            raise SimError("Channel specified does not exist")
        caller = chan.owner
        if not isinstance(caller, Caller) or caller.device is None or chan is caller.chan:
            raise SimError("No call in progress")
        dev = caller.device
        target = self.acd.by_exten.get(exten)
        if target is None:
            raise SimError("Extension does not exist.")
        consult.start(self.acd, dev, target, exten, context or "from-internal")

    def cancel_atxfer(self, channel: str) -> None:
        """CancelAtxfer (main/manager.c action_cancel_atxfer): queue the abort feature's DTMF
        on the transferer ``channel``; a consult in progress goes back to the caller."""
        self.play_dtmf(channel, "*1", receive=True)

    def play_dtmf(self, channel: str, digits: str, *, receive: bool = False) -> None:
        """PlayDTMF: with ``receive`` the digits are read as if the phone sent them, so the
        bridge's DTMF features see them (``*1`` abort, ``*2`` complete, ``*3`` three-way
        during a consult); without it they go out to the far end (no effect here)."""
        chan = self.pbx.channels.get(channel)
        if chan is None:
            raise SimError("Channel not found")
        if isinstance(chan.owner, Spy):
            if receive:  # ChanSpy reads the digit (its d option switches modes)
                self.spies.dtmf(chan.owner, digits)
            return
        dev = self._device_of(chan)
        if not receive or dev is None or dev.consult is None:
            return
        buffer = self._dtmf.get(chan.name, "") + digits
        self._dtmf[chan.name] = buffer[-2:]
        if consult.feature(self.acd, dev, buffer[-2:]):
            self._dtmf.pop(chan.name, None)

    def _device_of(self, chan: Channel) -> Device | None:
        """The phone whose own leg ``chan`` is (the transferer of a consult)."""
        for dev in self.acd.devices.values():
            if chan is dev.phone_chan or chan is dev.chan:
                return dev
        return None

    def hangup(self, channel: str, cause: int = 16) -> None:
        """Hang up a channel, ending whatever call it belongs to."""
        chan = self.pbx.find(channel)
        owner = chan.owner
        if isinstance(owner, Spy):
            self.spies.hangup(owner, cause)
            return
        dev = self._device_of(chan)
        if dev is not None and dev.consult is not None:
            consult.complete(self.acd, dev)  # the transferer hangs up: transfer or leave
            return
        if isinstance(owner, Caller) and owner.state == LINKED:
            consult.hang_up_linked(self.acd, owner)
            return
        if isinstance(owner, Outbound):
            self.dialer.hangup(owner)
        elif isinstance(owner, CustomerCall):
            self.customers.hangup(owner, cause)
        elif isinstance(owner, Caller):
            if owner.state == CONNECTED:
                self.acd.end_call(owner, "caller" if chan is owner.chan else "agent")
            elif chan is owner.chan and owner.state in (WAITING, RINGING):
                self.acd.abandon(owner)
            else:
                ringing = [d for d, c in owner.ringing if c is chan]
                if ringing:
                    self.acd.no_answer(ringing[0])
                else:
                    self.pbx.hangup(chan, cause)
        else:
            self.pbx.hangup(chan, cause)

    def phone(self, interface: str, command: str) -> None:
        """SimPhone: a human agent's desk phone (answer, hold, unhold, hangup, ready, notready)."""
        dev = self.acd.devices.get(interface) or next(
            (d for d in self.acd.devices.values() if d.phone == interface), None
        )
        if dev is None:
            raise SimError(f"No such phone: {interface}")
        command = command.strip().lower()
        ob = dev.outbound
        if command == "answer":
            if ob is not None and ob.state == "ringing":
                self.dialer.agent_answer(ob)
            else:
                self.acd.answer(dev)
        elif command == "busy":
            if not dev.ringing:
                raise SimError("Phone is not ringing")
            self.acd.no_answer(dev, busy=True)  # 486 Busy Here
        elif command in ("hold", "unhold"):
            self.acd.hold(dev, command == "hold")
        elif command == "hangup":
            if dev.consult is not None:
                consult.complete(self.acd, dev)  # the transferer hangs up: transfer done
            elif ob is not None:
                self.dialer.hangup(ob)
            elif dev.ringing:
                self.acd.no_answer(dev)  # rejecting counts as not answering, as in app_queue
            elif dev.call is not None and dev.call.state == CONNECTED:
                self.acd.end_call(dev.call, "agent")
            else:
                raise SimError("No call in progress")
        elif command == "ready":
            self.acd.end_wrapup(dev)
            if any(m.paused for m in dev.memberships.values()):
                self.acd.queue_pause(interface, False)
        elif command == "notready":
            self.acd.queue_pause(interface, True, None, "Not ready")
        else:
            raise SimError(
                f"Unknown phone command: {command} (answer|hold|unhold|hangup|ready|notready)"
            )

    # ------------------------------------------------------------------ modules, recording
    def has_module(self, name: str) -> bool:
        """ModuleCheck (main/manager.c manager_modulecheck()): is the module loaded?"""
        return _module_name(name) in self.modules

    def mix_monitor(self, channel: str, file: str, options: str = "") -> None:
        """MixMonitor: start recording ``channel`` to ``file`` (inside the recordings
        folder); the events follow on the next turn, after the action's response."""
        rec = self.recordings.start(channel, file, options)
        self.clock.call_later(0.0, self.recordings.announce_start, rec)

    def stop_mix_monitor(self, channel: str) -> None:
        """StopMixMonitor: stop the channel's (oldest) recording and write its file."""
        chan = self.recordings.stop(channel)
        self.clock.call_later(0.0, self.recordings.announce_stop, chan)

    def mix_monitor_mute(self, channel: str, direction: str, state: str) -> None:
        """MixMonitorMute: mute (pause) or unmute the channel's recording."""
        chan, direction, shown = self.recordings.mute(channel, direction, state)
        self.clock.call_later(0.0, self.recordings.announce_mute, chan, direction, shown)

    # ------------------------------------------------------------------ snapshots
    def queue_status_items(self, queue: str | None = None) -> list[tuple[str, Fields]]:
        """QueueStatus list items: QueueParams, QueueMember, QueueEntry."""
        return snapshot.queue_status_items(self.acd, queue)

    def queue_summary_items(self, queue: str | None = None) -> list[tuple[str, Fields]]:
        """QueueSummary list items."""
        return snapshot.queue_summary_items(self.acd, queue)

    def core_show_channels_items(self) -> list[tuple[str, Fields]]:
        """CoreShowChannels list items (CoreShowChannel)."""
        return snapshot.core_show_channels_items(self.pbx, self.clock.now())

    def status_items(self, channel: str | None = None) -> list[tuple[str, Fields]]:
        """Status list items for one channel or all."""
        return snapshot.status_items(self.pbx, self.clock.now(), channel)

    # ------------------------------------------------------------------ running
    def run_virtual(self, duration_s: float) -> int:
        """Run ``duration_s`` of virtual time as fast as possible; returns events processed."""
        return self.clock.run_until(self.clock.now() + duration_s)

    async def run(self, stop_event: asyncio.Event) -> None:
        """Run in real or scaled time (RealTimeClock), or in virtual time yielding to the loop."""
        if isinstance(self.clock, RealTimeClock):
            await self.clock.run(stop_event)
            return
        while not stop_event.is_set():
            # Virtual time while serving clients: advance in slices so frames get written.
            self.clock.run_until(self.clock.now() + 1.0)
            await asyncio.sleep(0)

    # ------------------------------------------------------------------ statistics
    def stats(self) -> dict[str, dict[str, float | int | None]]:
        """Per-queue figures (metrics.py definitions), JSON-ready."""
        now = self.clock.now()
        return {name: queue_report(q, now) for name, q in self.acd.queues.items()}

    def figures(self, queue: str) -> QueueFigures:
        """Raw QueueFigures for one queue (see callkit/metrics.py)."""
        return queue_figures(self.acd.queues[queue], self.clock.now())


def _module_name(name: str) -> str:
    """``app_chanspy.so`` and ``app_chanspy`` name the same module (ast_module_check())."""
    name = name.strip().lower()
    return name[:-3] if name.endswith(".so") else name
