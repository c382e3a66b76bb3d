"""Trainers' runs (``Action: SimTraining``): a scenario's scripted calls played to one trainee.

A trainer picks a scenario (shipped, or a ``.toml`` file the simulator can read) and a human
desk phone of the running engine. `Training.start` then:

- creates the scenario's queues the engine lacks (configured as the file says, without random
  traffic) and the scenario's bots whose interfaces are new, as members of those queues only
  (so a transfer lands with the scenario's own tier-2 bots); existing queues are used as they
  are, and the scenario's phone agents are not added;
- puts the phone in training mode: it is offered only the run's callers, and they are offered
  only to it ("pinned" callers) until they leave it for good (a transfer or an overflow hands
  them to the other queue's members);
- makes the phone a member of each scripted call's queue it is not in, paused only if it is
  paused in all its other queues (with their reason); the run takes those memberships away
  when it ends;
- schedules the calls at ``now + lead + (call.at - first call's at)``, with the caller number:
  its customer's first number in the CRM database (``--db``, read now), else the call's own,
  else one drawn from the run's own random stream (``engine.rng("training", run_id)``).

Events: ``UserEvent: TrainingStarted`` (RunId, Scenario, Interface, Calls) once set up, and
``UserEvent: TrainingFinished`` (the same plus ``Reason: done|stopped``) when every scripted
call has ended or left the trainee, or when the trainer stops the run. Neither is on a channel.
Stopping cancels the calls still to come, hangs up (abandons) the ones waiting or ringing, lets
a call in progress go on, and ends training mode at once.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from callkit.scenario import Scenario, ScriptedCall, load_scenario
from callkit.scenario_reader import ScenarioError
from telephony_sim.acd import CONNECTED, RINGING, WAITING, Caller, Device
from telephony_sim.pbx import SimError
from telephony_sim.traffic import generate_us_number, load_customer_number

if TYPE_CHECKING:
    from telephony_sim.engine import Engine

MAX_RUN_ID = 64
MAX_LEAD = 3600.0


@dataclass(eq=False)
class TrainingRun:
    """One trainee's run of one scenario."""

    run_id: str
    scenario: Scenario
    device: Device
    added: list[str] = field(default_factory=list)  # queues the run made the phone a member of
    callers: list[Caller] = field(default_factory=list)  # the scripted callers that arrived
    released: int = 0  # calls that ended or left the trainee
    active: bool = True

    @property
    def calls(self) -> int:
        """How many scripted calls the run plays."""
        return len(self.scenario.calls)


def check_run_id(run_id: str) -> str:
    """The run id, stripped; SimError when it is empty, too long or holds control characters."""
    run_id = run_id.strip()
    if not run_id:
        raise SimError("Need 'RunId' parameter.")
    if len(run_id) > MAX_RUN_ID:
        raise SimError(f"Invalid RunId: at most {MAX_RUN_ID} characters")
    if not run_id.isprintable():
        raise SimError("Invalid RunId: control characters are not allowed")
    return run_id


def load_training_scenario(name: str) -> Scenario:
    """A shipped scenario by name, or a ``.toml`` file; SimError with the parser's
    ``file:line`` message otherwise."""
    path = Path(name)
    shipped_name = path.suffix == "" and path.parent == Path(".")
    if not shipped_name and path.suffix.lower() != ".toml":
        raise SimError(f"{name}: not a scenario (use a shipped scenario's name or a .toml file)")
    try:
        return load_scenario(name)
    except ScenarioError as exc:
        raise SimError(str(exc)) from None


class Training:
    """The engine's training runs, at most one per desk phone."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.runs: dict[str, TrainingRun] = {}  # by the trainee's interface

    # ------------------------------------------------------------------ starting
    def start(self, interface: str, scenario_name: str, run_id: str, lead: float = 3.0) -> int:
        """Start a run of ``scenario_name`` on the desk phone ``interface``; returns the
        number of scripted calls. SimError (nothing changed) when it cannot start."""
        run_id = check_run_id(run_id)
        if not 0.0 <= lead <= MAX_LEAD:  # also refuses NaN
            raise SimError(f"Invalid Lead: must be between 0 and {MAX_LEAD:g} seconds")
        engine = self.engine
        dev = engine.acd.devices.get(interface)
        if dev is None:
            raise SimError(f"No such phone: {interface}")
        if dev.kind == "bot":
            raise SimError(f"{interface} is a bot, not a desk phone")
        current = self.runs.get(interface)
        if current is not None:
            raise SimError(f"A training run is already active on {interface}: {current.run_id}")
        scenario = load_training_scenario(scenario_name)
        if not scenario.calls:
            raise SimError(f"Scenario {scenario.name} has no scripted calls")
        numbers = self._numbers(scenario, run_id)
        created = self._create_queues(scenario)
        for agent in scenario.agents:
            if (
                agent.kind == "bot"
                and agent.interface not in engine.acd.devices
                and any(q in created for q, _penalty in agent.queues)
            ):
                engine.add_agent(agent, created)
        run = TrainingRun(run_id, scenario, dev)
        self.runs[interface] = run
        dev.training = True  # before joining queues: their waiting callers are not for it
        self._join(run)
        engine.pbx.user_event(None, "TrainingStarted", self._fields(run))
        clock = engine.clock
        first = clock.now() + lead
        base = min(call.at for call in scenario.calls)
        for call, number in zip(scenario.calls, numbers, strict=True):
            clock.call_at(first + call.at - base, self._arrive, run, call, number)
        return run.calls

    def _numbers(self, scenario: Scenario, run_id: str) -> list[str]:
        """Each call's caller number: its customer's first number in the CRM, else its own
        `number`, else a drawn one (docs/scenarios.md: `number` is used when no customer
        number is found, so a trainee's pop finds the scenario's customer in this CRM)."""
        db = self.engine.crm_db
        rng = self.engine.rng("training", run_id)
        known: dict[int, str | None] = {}
        numbers = []
        for call in scenario.calls:
            number = None
            if call.customer_id is not None and db is not None:
                if call.customer_id not in known:
                    try:
                        known[call.customer_id] = load_customer_number(db, call.customer_id)
                    except (sqlite3.Error, OSError) as exc:
                        raise SimError(f"{db}: cannot read customer numbers: {exc}") from None
                number = known[call.customer_id]
            number = number or call.number
            numbers.append(number if number is not None else generate_us_number(rng))
        return numbers

    def _create_queues(self, scenario: Scenario) -> set[str]:
        """Add the scenario's queues the engine lacks; returns their names.

        A new queue whose extension another queue already answers keeps only its name as a
        dial-plan target, so the running scenario's transfers go where they went before.
        """
        acd = self.engine.acd
        created = set()
        for spec in scenario.queues:
            if spec.name in acd.queues:
                continue
            queue = self.engine.queue_from_spec(spec)
            acd.queues[queue.name] = queue
            acd.by_exten.setdefault(queue.extension, queue)
            acd.by_exten.setdefault(queue.name, queue)
            created.add(queue.name)
        return created

    def _join(self, run: TrainingRun) -> None:
        """Make the trainee a member of every scripted call's queue it is not in."""
        dev = run.device
        others = list(dev.memberships.values())
        paused = bool(others) and all(m.paused for m in others)
        reason = others[0].paused_reason if paused else ""
        name = others[0].member_name if others else dev.name
        for call in run.scenario.calls:
            if call.queue not in dev.memberships:
                run.added.append(call.queue)
                self.engine.acd.queue_add(call.queue, dev.interface, name, 0, paused, reason=reason)

    # ------------------------------------------------------------------ the calls
    def _arrive(self, run: TrainingRun, call: ScriptedCall, number: str) -> None:
        if not run.active:
            return  # stopped before this call came
        priority = call.priority
        if call.tier.lower() == "platinum":
            priority = max(priority, run.scenario.platinum_priority)
        caller = self.engine.inbound(
            call.queue,
            number,
            call.name,
            priority,
            call.handle_time,
            call.patience,
            call,
            pinned=run.device,
            training_run=run.run_id,
        )
        run.callers.append(caller)

    def on_release(self, caller: Caller, dev: Device) -> None:
        """ACD hook: a caller pinned to ``dev`` ended or left it for good."""
        run = self.runs.get(dev.interface)
        if run is None or not run.active:
            return
        run.released += 1
        if run.released >= run.calls:
            # Finish once the ACD is done with this step (the last call's own events first).
            self.engine.clock.call_later(0.0, self._finish, run, "done")

    # ------------------------------------------------------------------ ending
    def stop(self, interface: str) -> None:
        """End the run on ``interface``: calls to come are cancelled, waiting and ringing ones
        hang up, one in progress goes on; training mode ends at once."""
        run = self.runs.get(interface)
        if run is None:
            raise SimError(f"No training run on {interface}")
        run.active = False
        del self.runs[interface]
        acd = self.engine.acd
        pinned = [c for c in run.callers if c.pinned is not None]
        # Waiting callers first: dropping a ring frees the phone, which must not be offered
        # another of the run's callers meanwhile.
        for state in (WAITING, RINGING):
            for caller in pinned:
                if caller.state == state and caller.pinned is not None:
                    acd.abandon(caller)
        for caller in pinned:
            if caller.state == CONNECTED:
                caller.pinned = None  # goes on as an ordinary call
        self._end(run, "stopped")

    def _finish(self, run: TrainingRun, reason: str) -> None:
        if run.active and self.runs.get(run.device.interface) is run:
            run.active = False
            del self.runs[run.device.interface]
            self._end(run, reason)

    def _end(self, run: TrainingRun, reason: str) -> None:
        dev = run.device
        acd = self.engine.acd
        dev.training = False
        for queue in run.added:
            if dev.interface in acd.queues[queue].members:
                acd.queue_remove(queue, dev.interface)
        self.engine.pbx.user_event(
            None, "TrainingFinished", [*self._fields(run), ("Reason", reason)]
        )
        if dev.available:
            acd.offer_device(dev)  # ordinary callers may ring it again

    def _fields(self, run: TrainingRun) -> list[tuple[str, str]]:
        return [
            ("RunId", run.run_id),
            ("Scenario", run.scenario.name),
            ("Interface", run.device.interface),
            ("Calls", str(run.calls)),
        ]
