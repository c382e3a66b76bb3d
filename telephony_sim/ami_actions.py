"""AMI actions that reach into the PBX: queue and call control, snapshots, the Sim desk phone,
the Sim callback customers (SimOutbound) and trainers' runs (SimTraining).

The AMI server (``ami_server``) owns sessions, login and framing; this module maps the rest of
the AMI vocabulary onto the engine facade, with Asterisk 20's field names and messages.
Each handler takes the request and returns the messages to send back, ActionID included.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from callkit.ami_frames import Message
from callkit.audience import AMD_RESULTS
from callkit.specs import OUTCOMES
from telephony_sim.outbound import OriginateRequest

log = logging.getLogger(__name__)

#: One AMI message as ordered key/value pairs.
Fields = list[tuple[str, str]]
#: A snapshot item as the engine returns it: (event name, fields without Event/ActionID).
Item = tuple[str, list[tuple[str, str]]]


def default_scenario_dirs() -> list[Path]:
    """Where a trainer's own scenarios live by default: the callconsole user data folder's
    ``scenarios`` (the console's library writes there); ``serve --scenario-dir`` adds more."""
    import platformdirs

    return [Path(platformdirs.user_data_dir("callconsole", appauthor=False)) / "scenarios"]


PHONE_COMMANDS = ("answer", "hold", "unhold", "hangup", "busy", "ready", "notready")
TRAINING_COMMANDS = ("start", "stop")
_TRUE = frozenset({"yes", "true", "y", "t", "1", "on"})


class ActionError(Exception):
    """A request the server refuses; the text becomes ``Message:`` of a ``Response: Error``."""


class EngineLike(Protocol):
    """The part of the simulator's ``Engine`` facade the AMI server drives."""

    def queue_status_items(self, queue: str | None) -> list[Item]: ...
    def queue_summary_items(self, queue: str | None) -> list[Item]: ...
    def core_show_channels_items(self) -> list[Item]: ...
    def status_items(self, channel: str | None) -> list[Item]: ...
    def queue_add(
        self,
        queue: str,
        interface: str,
        member_name: str,
        penalty: int,
        paused: bool,
        state_interface: str,
    ) -> None: ...
    def queue_remove(self, queue: str, interface: str) -> None: ...
    def queue_pause(self, interface: str, paused: bool, queue: str | None, reason: str) -> None: ...
    def originate(self, request: OriginateRequest) -> None: ...
    def redirect(self, channel: str, exten: str, context: str) -> None: ...
    def hangup(self, channel: str, cause: int) -> None: ...
    def phone(self, interface: str, command: str) -> None: ...


@runtime_checkable
class OutboundScripting(Protocol):
    """An engine whose dialled customers can be scripted (SimOutbound). Optional: an engine
    without it (a test fake, a stand-in PBX) just does not offer the action."""

    def outbound_outcome(self, number: str, outcome: str, count: int, amd: str) -> int: ...


@runtime_checkable
class BlindTransferring(Protocol):
    """An engine that transfers a bridged call from the transferer's side (BlindTransfer,
    and Atxfer's consult transfer)."""

    def blind_transfer(self, channel: str, exten: str, context: str) -> None: ...
    def atxfer(self, channel: str, exten: str, context: str) -> None: ...
    def cancel_atxfer(self, channel: str) -> None: ...
    def play_dtmf(self, channel: str, digits: str, *, receive: bool = False) -> None: ...


@runtime_checkable
class TrainingControl(Protocol):
    """An engine that can play a scenario's scripted calls to a trainee (SimTraining).
    Optional, like `OutboundScripting`."""

    def training_start(self, interface: str, scenario: str, run_id: str, lead: float) -> int: ...
    def training_stop(self, interface: str) -> None: ...


Handler = Callable[[Message], list[Fields]]


@dataclass(frozen=True, slots=True)
class Action:
    """A named AMI action with its handler and the one-line synopsis ListCommands shows."""

    name: str
    synopsis: str
    handler: Handler


def with_action_id(request: Message, fields: Fields) -> Fields:
    """``fields`` with the request's ActionID inserted after the first line, if it had one."""
    action_id = request.get("ActionID")
    if not action_id:
        return fields
    return [fields[0], ("ActionID", action_id), *fields[1:]]


def success(request: Message, message: str | None = None, *extra: tuple[str, str]) -> Fields:
    """``Response: Success`` (+ ActionID, + ``Message:``, + extra fields)."""
    fields: Fields = [("Response", "Success")]
    if message is not None:
        fields.append(("Message", message))
    fields.extend(extra)
    return with_action_id(request, fields)


def error(request: Message | None, message: str, action_id: str = "") -> Fields:
    """``Response: Error`` + ActionID (from the request, or given) + ``Message:``."""
    fields: Fields = [("Response", "Error")]
    action_id = request.get("ActionID") if request is not None else action_id
    if action_id:
        fields.append(("ActionID", action_id))
    fields.append(("Message", message))
    return fields


def event_list(
    request: Message,
    will_follow: str,
    complete_event: str,
    items: Sequence[Item],
    *complete_extra: tuple[str, str],
) -> list[Fields]:
    """An Asterisk event list: ack with ``EventList: start``, the items, then ``…Complete``."""
    action_id = request.get("ActionID")
    id_field = [("ActionID", action_id)] if action_id else []
    out: list[Fields] = [
        [("Response", "Success"), *id_field, ("EventList", "start"), ("Message", will_follow)]
    ]
    for name, fields in items:
        out.append([("Event", name), *id_field, *fields])
    out.append(
        [
            ("Event", complete_event),
            *id_field,
            ("EventList", "Complete"),
            ("ListItems", str(len(items))),
            *complete_extra,
        ]
    )
    return out


def require(request: Message, *keys: str, message: str) -> list[str]:
    """The values of ``keys``; raise ``ActionError(message)`` if any is missing or empty."""
    values = [request.get(key).strip() for key in keys]
    if not all(values):
        raise ActionError(message)
    return values


def is_true(value: str) -> bool:
    """Asterisk's ast_true(): yes/true/y/t/1/on, any case."""
    return value.strip().lower() in _TRUE


def _int_field(request: Message, key: str, default: int, *, minimum: int = 0) -> int:
    raw = request.get(key).strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ActionError(f"Invalid {key}: {raw!r} is not a whole number") from None
    if value < minimum:
        raise ActionError(f"Invalid {key}: must be at least {minimum}")
    return value


def _variables(request: Message) -> tuple[tuple[str, str], ...]:
    """The ``Variable:`` headers as (name, value) pairs, in order: each header holds one
    ``NAME=value`` or several separated by commas; one without ``=`` or a name is skipped
    (main/manager.c astman_get_variables_order())."""
    out = []
    for header in request.get_all("Variable"):
        for item in header.split(","):
            name, eq, value = item.partition("=")
            if eq and name.strip():
                out.append((name.strip(), value))
    return tuple(out)


def _float_field(request: Message, key: str, default: float) -> float:
    raw = request.get(key).strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ActionError(f"Invalid {key}: {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise ActionError(f"Invalid {key}: {raw!r} is not a number")
    return value


class EngineActions:
    """Handlers for the PBX actions, bound to one engine.

    ``engine_errors`` are the exception types whose message is the engine's Asterisk-like answer
    to a refused action (the engine's ``SimError``); they become ``Response: Error``.
    """

    def __init__(
        self,
        engine: EngineLike,
        engine_errors: tuple[type[Exception], ...],
        *,
        scenario_dirs: Sequence[Path] | None = None,
    ) -> None:
        self._engine = engine
        self._errors = engine_errors
        # SimTraining reads scenario files only from these folders (shipped names always):
        # an AMI user must not learn what files exist on the simulator's host, or their keys.
        dirs = default_scenario_dirs() if scenario_dirs is None else scenario_dirs
        self._scenario_dirs = tuple(Path(d).expanduser().resolve() for d in dirs)

    def actions(self) -> Mapping[str, Action]:
        """Every action this backend serves, keyed by lower-case name."""
        table = [
            Action("QueueStatus", "Show queue status.", self.queue_status),
            Action("QueueSummary", "Show queue summary.", self.queue_summary),
            Action("CoreShowChannels", "List currently active channels.", self.channels),
            Action("Status", "List channel status.", self.status),
            Action("QueueAdd", "Add interface to queue.", self.queue_add),
            Action("QueueRemove", "Remove interface from queue.", self.queue_remove),
            Action("QueuePause", "Makes a queue member temporarily unavailable.", self.pause),
            Action("Originate", "Originate a call.", self.originate),
            Action("Redirect", "Redirect (transfer) a call.", self.redirect),
            Action("Hangup", "Hangup channel.", self.hangup),
            Action("SimPhone", "Simulator only: press a button on a desk phone.", self.phone),
        ]
        if isinstance(self._engine, BlindTransferring):
            synopsis = "Blind transfer channel(s) to the given destination"
            table.append(Action("BlindTransfer", synopsis, self.blind_transfer))
            table.append(Action("Atxfer", "Attended transfer.", self.atxfer))
            table.append(Action("CancelAtxfer", "Cancel an attended transfer.", self.cancel))
            table.append(Action("PlayDTMF", "Play DTMF signal on a specific channel.", self.dtmf))
        if isinstance(self._engine, OutboundScripting):
            synopsis = "Simulator only: choose what a dialled customer does."
            table.append(Action("SimOutbound", synopsis, self.outbound))
        if isinstance(self._engine, TrainingControl):
            synopsis = "Simulator only: play a scenario's scripted calls to a trainee's phone."
            table.append(Action("SimTraining", synopsis, self.training))
        # Local import: ami_monitor builds on this module's helpers.
        from telephony_sim.ami_monitor import MonitorActions, MonitorControl

        if isinstance(self._engine, MonitorControl):
            table += MonitorActions(self._engine).actions()
        return {action.name.lower(): self._guarded(action) for action in table}

    def _guarded(self, action: Action) -> Action:
        errors = self._errors

        def run(request: Message) -> list[Fields]:
            try:
                return action.handler(request)
            except errors as exc:
                return [error(request, str(exc) or f"{action.name} failed")]

        return Action(action.name, action.synopsis, run)

    # Snapshots (event lists) -------------------------------------------------------------

    def queue_status(self, request: Message) -> list[Fields]:
        """QueueStatus: QueueParams, QueueMember and QueueEntry items, optionally filtered."""
        items = self._engine.queue_status_items(request.get("Queue").strip() or None)
        member = request.get("Member").strip()
        if member:
            # Asterisk's filter matches a member's interface or its name.
            items = [
                (name, fields)
                for name, fields in items
                if name != "QueueMember"
                or any(k in ("Location", "Name") and v == member for k, v in fields)
            ]
        return event_list(request, "Queue status will follow", "QueueStatusComplete", items)

    def queue_summary(self, request: Message) -> list[Fields]:
        """QueueSummary: one QueueSummary item per queue."""
        items = self._engine.queue_summary_items(request.get("Queue").strip() or None)
        return event_list(request, "Queue summary will follow", "QueueSummaryComplete", items)

    def channels(self, request: Message) -> list[Fields]:
        """CoreShowChannels: one CoreShowChannel item per live channel."""
        items = self._engine.core_show_channels_items()
        return event_list(request, "Channels will follow", "CoreShowChannelsComplete", items)

    def status(self, request: Message) -> list[Fields]:
        """Status: one Status item per channel (or for the one named channel)."""
        channel = request.get("Channel").strip() or None
        items = self._engine.status_items(channel)
        if channel is not None and not items:
            raise ActionError("No such channel")
        # Asterisk 20 still adds the legacy "Items" count to StatusComplete.
        return event_list(
            request,
            "Channel status will follow",
            "StatusComplete",
            items,
            ("Items", str(len(items))),
        )

    # Queue membership --------------------------------------------------------------------

    def queue_add(self, request: Message) -> list[Fields]:
        """QueueAdd: Queue, Interface required; MemberName, Penalty, Paused, StateInterface."""
        queue, interface = require(
            request, "Queue", "Interface", message="'Queue' or 'Interface' not set."
        )
        self._engine.queue_add(
            queue,
            interface,
            request.get("MemberName").strip() or interface,
            _int_field(request, "Penalty", 0),
            is_true(request.get("Paused")),
            request.get("StateInterface").strip() or interface,
        )
        return [success(request, "Added interface to queue")]

    def queue_remove(self, request: Message) -> list[Fields]:
        """QueueRemove: Queue and Interface required."""
        queue, interface = require(
            request, "Queue", "Interface", message="Need 'Queue' and 'Interface' parameters."
        )
        self._engine.queue_remove(queue, interface)
        return [success(request, "Removed interface from queue")]

    def pause(self, request: Message) -> list[Fields]:
        """QueuePause: Interface and Paused required; Queue (else all queues), Reason."""
        interface, paused_raw = require(
            request, "Interface", "Paused", message="Need 'Interface' and 'Paused' parameters."
        )
        paused = is_true(paused_raw)
        queue = request.get("Queue").strip() or None
        self._engine.queue_pause(interface, paused, queue, request.get("Reason").strip())
        word = "paused" if paused else "unpaused"
        return [success(request, f"Interface {word} successfully")]

    # Call control ------------------------------------------------------------------------

    def originate(self, request: Message) -> list[Fields]:
        """Originate: always asynchronous here; the engine later sends OriginateResponse.

        As main/manager.c action_originate(): Channel, then Exten or Application; Context
        (default ``default``), Priority, Data, CallerID, Timeout (ms), and ``Variable:`` lines
        (repeatable, each ``NAME=value`` or a comma list of them: astman_get_variables())."""
        (channel,) = require(request, "Channel", message="Channel not specified")
        exten = request.get("Exten").strip()
        application = request.get("Application").strip()
        if not exten and not application:
            raise ActionError("Exten not specified")
        priority = request.get("Priority").strip()
        if priority and not priority.isdigit():
            raise ActionError("Invalid priority")
        timeout = _int_field(request, "Timeout", 30_000, minimum=1)
        self._engine.originate(
            OriginateRequest(
                channel,
                exten,
                request.get("Context").strip() or "default",
                request.get("CallerID").strip(),
                timeout,
                request.get("ActionID"),
                priority,
                application,
                request.get("Data").strip(),
                _variables(request),
            )
        )
        return [success(request, "Originate successfully queued")]

    def redirect(self, request: Message) -> list[Fields]:
        """Redirect: Channel and Exten required; Context optional (the engine's default)."""
        (channel,) = require(request, "Channel", message="Channel not specified")
        (exten,) = require(request, "Exten", message="Exten not specified")
        self._engine.redirect(channel, exten, request.get("Context").strip())
        return [success(request, "Redirect successful")]

    def blind_transfer(self, request: Message) -> list[Fields]:
        """BlindTransfer: Channel (the transferer) and Exten required; Context optional."""
        (channel,) = require(request, "Channel", message="No channel specified")
        (exten,) = require(request, "Exten", message="No extension specified")
        assert isinstance(self._engine, BlindTransferring)
        self._engine.blind_transfer(channel, exten, request.get("Context").strip())
        return [success(request, "Transfer succeeded")]

    def atxfer(self, request: Message) -> list[Fields]:
        """Atxfer: Channel (the transferer) and Exten required; Context optional. Asterisk only
        queues the transfer feature's DTMF: the outcome is an AttendedTransfer event."""
        (channel,) = require(request, "Channel", message="No channel specified")
        (exten,) = require(request, "Exten", message="No extension specified")
        assert isinstance(self._engine, BlindTransferring)
        self._engine.atxfer(channel, exten, request.get("Context").strip())
        return [success(request, "Atxfer successfully queued")]

    def cancel(self, request: Message) -> list[Fields]:
        """CancelAtxfer: Channel (the transferer) required; queues the abort feature."""
        (channel,) = require(request, "Channel", message="No channel specified")
        assert isinstance(self._engine, BlindTransferring)
        self._engine.cancel_atxfer(channel)
        return [success(request, "CancelAtxfer successfully queued")]

    def dtmf(self, request: Message) -> list[Fields]:
        """PlayDTMF (apps/app_senddtmf.c manager_play_dtmf()): Channel and one Digit required;
        ``Receive: yes`` makes the channel read it as if its phone sent it."""
        (channel,) = require(request, "Channel", message="Channel not specified")
        digit = request.get("Digit").strip()
        if not digit:
            return [error(request, "No digit specified")]
        assert isinstance(self._engine, BlindTransferring)
        receive = is_true(request.get("Receive"))
        self._engine.play_dtmf(channel, digit[0], receive=receive)
        return [success(request, "DTMF successfully queued")]

    def hangup(self, request: Message) -> list[Fields]:
        """Hangup: Channel required; Cause defaults to 16 (normal clearing)."""
        (channel,) = require(request, "Channel", message="No channel specified")
        self._engine.hangup(channel, _int_field(request, "Cause", 16))
        return [success(request, "Channel Hungup")]

    def phone(self, request: Message) -> list[Fields]:
        """SimPhone (simulator only): Interface + Command answer|hold|unhold|hangup|ready|..."""
        interface, command = require(
            request, "Interface", "Command", message="Need 'Interface' and 'Command' parameters."
        )
        command = command.lower()
        if command not in PHONE_COMMANDS:
            allowed = ", ".join(PHONE_COMMANDS)
            raise ActionError(f"Unknown SimPhone command: {command} (use one of {allowed})")
        self._engine.phone(interface, command)
        return [success(request, "Phone command accepted")]

    def outbound(self, request: Message) -> list[Fields]:
        """SimOutbound (simulator only): Number + Outcome answer|noanswer|busy|failed|machine,
        Count, and Amd (what AMD() in a campaign's dialplan reports: HUMAN, MACHINE,
        NOTSURE, HANGUP)."""
        number, outcome = require(
            request, "Number", "Outcome", message="Need 'Number' and 'Outcome' parameters."
        )
        outcome = outcome.lower()
        if outcome not in OUTCOMES:
            allowed = ", ".join(OUTCOMES)
            raise ActionError(f"Unknown SimOutbound outcome: {outcome} (use one of {allowed})")
        amd = request.get("Amd").strip().upper()
        if amd and amd not in AMD_RESULTS:
            allowed = ", ".join(AMD_RESULTS)
            raise ActionError(f"Unknown SimOutbound Amd: {amd} (use one of {allowed})")
        count = _int_field(request, "Count", 1, minimum=1)
        engine = self._engine
        assert isinstance(engine, OutboundScripting)  # the action is only offered then
        pending = engine.outbound_outcome(number, outcome, count, amd)
        extra = [("Amd", amd)] if amd else []
        return [
            success(
                request,
                "Outbound outcome scripted",
                ("Number", number),
                ("Outcome", outcome),
                *extra,
                ("Pending", str(pending)),
            )
        ]

    def _check_scenario(self, scenario: str) -> None:
        """A shipped scenario's name, or a .toml file inside the scenario folders; the same
        refusal for everything else, whether it exists or not."""
        path = Path(scenario)
        if path.suffix == "" and path.parent == Path(".") and "\\" not in scenario:
            return  # a shipped scenario's name
        resolved = path.expanduser().resolve()
        inside = any(resolved.is_relative_to(d) for d in self._scenario_dirs)
        if path.suffix.lower() != ".toml" or not inside:
            where = ", ".join(str(d) for d in self._scenario_dirs) or "none configured"
            raise ActionError(
                f"{scenario}: not an allowed scenario (use a shipped scenario's name or a .toml"
                f" file in the simulator's scenario folders: {where})"
            )

    def training(self, request: Message) -> list[Fields]:
        """SimTraining (simulator only): Command start|stop (default start), Interface; for
        start also Scenario, RunId and Lead (seconds before the first call, default 3)."""
        command = request.get("Command").strip().lower() or "start"
        if command not in TRAINING_COMMANDS:
            allowed = ", ".join(TRAINING_COMMANDS)
            raise ActionError(f"Unknown SimTraining command: {command} (use one of {allowed})")
        engine = self._engine
        assert isinstance(engine, TrainingControl)  # the action is only offered then
        if command == "stop":
            (interface,) = require(request, "Interface", message="Need 'Interface' parameter.")
            engine.training_stop(interface)
            return [success(request, "Training stopped")]
        interface, scenario = require(
            request, "Interface", "Scenario", message="Need 'Interface' and 'Scenario' parameters."
        )
        lead = _float_field(request, "Lead", 3.0)
        self._check_scenario(scenario)
        calls = engine.training_start(interface, scenario, request.get("RunId"), lead)
        return [success(request, "Training started", ("Calls", str(calls)))]
