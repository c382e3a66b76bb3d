"""Training scenarios made from recorded calls: a trainee replays a real call, masked.

`scenario_from_call(SessionLog(db).for_call(linkedid), name=…)` turns one recorded call (its
CTI events and its agent's actions, read by recorded_call.read_call) into scenario TOML
(docs/scenarios.md) that the simulator plays to a trainee's desk phone `PJSIP/1001`:

- one `[[calls]]` entry: the recorded queue, the caller's words as the transcript (offsets from
  the answer), the recorded talk time as `hangup_after`, `expect` hints and a one-line summary
  of what the recorded agent did;
- a `[rubric]` scoring the trainee against that agent's handling: the same disposition, the
  same tickets and follow-ups, the same transfer, and time limits no stricter than the
  recorded ones (`answer_within` max(10 s, ring), `hold_at_most` max(60 s, hold),
  `wrapup_at_most` max(60 s, wrap-up)).

With `mask` (the default) the caller gets a made-up number (a fictional 555-01xx US number)
and a made-up name, both drawn from `seed`, no `customer_id`, and every free text (transcript,
summary, ticket category, the scenario's name and description) goes through
`mask_formats.mask_text` with every name, number and email the recording holds about the caller.
The header comment then leaves out the call's Linkedid and gives only the day it was recorded.

A customer created during the call is recorded without the call (CustomerService knows no
call): to see it, pass the agent's records around the call (`SessionLog.for_agent`); the first
answered call in them is the one made into the scenario.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import tomli_w

from console.services.crm.phones import normalise
from console.services.text import clean_text
from console.services.training.mask_formats import mask_text
from console.services.training.recorded_call import (
    RecordedCall,
    ScenarioExportError,
    clip,
    is_withheld,
    read_call,
)
from console.services.training.session_log import Recorded

TRAINEE_INTERFACE = "PJSIP/1001"
TRAINEE_NAME = "Trainee"
PASS_MARK = 80
MIN_TALK = 5  # seconds: a caller who hangs up at once leaves nothing to train on
#: When the agent (not the caller) ended the call, or transferred it, the caller would have
#: stayed on: they wait this much longer than the recorded talk for the trainee to finish.
CALLER_GRACE = 15
ANSWER_FLOOR, HOLD_FLOOR, WRAP_FLOOR = 10, 60, 60  # the rubric's limits are never stricter
# Weights: a missed ticket or follow-up costs more than a missed time limit, a missed transfer
# alone fails the run (as in the shipped transfer_to_tier2); every other criterion weighs 1.
ACTION_WEIGHT, TRANSFER_WEIGHT = 2, 3
_DISPOSITION_CODE = re.compile(r"[a-z0-9_]{1,40}")  # as callkit.rubric accepts
# Made-up callers: 555-0100…0199 numbers are reserved for fiction in the NANP.
_AREA_CODES = ("202", "206", "303", "312", "404", "503", "602", "617", "713", "919")
_FIRST_NAMES = ("Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Robin", "Jamie", "Riley")
_LAST_NAMES = ("Rivera", "Novak", "Okafor", "Lindqvist", "Moreau", "Tanaka", "Silva", "Haddad")


def scenario_from_call(
    records: Sequence[Recorded],
    *,
    name: str,
    description: str = "",
    mask: bool = True,
    seed: int = 1,
    extensions: Mapping[str, str] | None = None,
    region: str = "US",
) -> str:
    """Scenario TOML replaying the recorded call in `records` (`SessionLog.for_call`).

    `mask` hides the caller (see the module doc); `seed` picks the made-up number and name, so
    the same records and seed give the same text. `extensions` maps queue names to their
    dial-plan extensions when the caller knows them (a queue's extension is its name
    otherwise); national numbers in free text are read in `region`.

    Raises ScenarioExportError when the records hold no offered call or it was never answered.
    With several calls in `records`, the first answered one is used.
    """
    call = read_call(records)
    known = call.known

    def hide(text: str) -> str:
        return mask_text(text, known, region) if mask else clean_text(text)

    if mask:  # ticket categories are free text too (masking.py masks TicketRecord.category)
        call = replace(call, tickets=tuple((clip(hide(c), 40), p) for c, p in call.tickets))

    title = clip(hide(name), 120) or "recorded call"
    call_id = _slug(title)
    queues, targets = _queues(call, extensions or {}, hide)
    if mask:
        number, caller_name = _caller(call, seed, region)
    else:
        number = call.caller_id
        caller_name = "" if is_withheld(call.caller_name) else call.caller_name
    scripted: dict[str, Any] = {"id": call_id, "at": "5s", "queue": call.queue}
    if call.customer_id is not None and not mask and not call.customer_created:
        scripted["customer_id"] = call.customer_id
    scripted["number"] = number
    if caller_name:
        scripted["name"] = caller_name
    if call.tier:
        scripted["tier"] = call.tier
    last_said = max((s.offset for s in call.transcript), default=0.0)
    stays = call.talk if call.caller_hung_up else call.talk + CALLER_GRACE
    scripted["hangup_after"] = max(MIN_TALK, math.ceil(stays), math.ceil(last_said) + 1)
    scripted["patience"] = "none"
    scripted["transcript"] = [
        {"at": _seconds(s.offset), "text": hide(s.text), "speaker": s.speaker}
        for s in call.transcript
    ]
    identity = _identity(scripted, call.customer_created)
    scripted["expect"] = _expect(call, targets, identity=identity)
    scripted["notes"] = clip(hide(_summary(call)), 1000)
    agents = [
        {
            "interface": TRAINEE_INTERFACE,
            "name": TRAINEE_NAME,
            "kind": "phone",
            "queues": [call.queue],
        }
    ]
    document: dict[str, Any] = {
        "name": title,
        "description": clip(hide(description), 500)
        or f"A recorded call to the {call.queue} queue, replayed for a trainee",
        "difficulty": _difficulty(call),
        "duration": f"{max(30, math.ceil((scripted['hangup_after'] + call.ring + 600) / 60))}m",
        "queues": queues,
        "agents": agents,
    }
    if len(queues) > 1:  # someone must take the transferred caller
        document["bot_pools"] = [
            {"count": 1, "first": 3001, "name": "Transfer bot", "queues": [queues[1]["name"]]}
        ]
    document["calls"] = [scripted]
    document["rubric"] = {
        "pass_mark": PASS_MARK,
        "criteria": _criteria(call, targets, identity),
    }
    text = _header(call, mask, seed) + tomli_w.dumps(document)
    _check(text, call_id)
    return text


# ---------------------------------------------------------------- writing the scenario


def _queues(
    call: RecordedCall, extensions: Mapping[str, str], hide: Callable[[str], str]
) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    """The call's queue, and the queue it was transferred to (with the names and extensions
    a `transferred_to` criterion accepts), unless that is the same queue."""
    main = {"name": call.queue, "extension": extensions.get(call.queue) or call.queue}
    target = call.transfer
    if not target:
        return [main], ()
    if target in (main["name"], main["extension"]):
        return [main], (target,)
    if hide(target) != target:  # an outside number: a stand-in extension, not the number
        target = next(e for e in ("699", "698", "697") if e != main["extension"])
    name = next((q for q, ext in extensions.items() if ext == target), target)
    return [main, {"name": name, "extension": target}], (target,)


def _caller(call: RecordedCall, seed: int, region: str) -> tuple[str, str]:
    """A made-up caller drawn from `seed`: a fictional 555-01xx number (never the caller's)
    and a name sharing no word with the caller's. A withheld number stays withheld."""
    digest = hashlib.sha256(f"callconsole-scenario-export:{seed}".encode()).digest()
    real = normalise(call.caller_id, region).e164
    avoid = {w.casefold() for v in call.known for w in re.findall(r"\w+", v)}
    taken = {real, *(re.sub(r"\D", "", v)[-10:] for v in call.known)}
    candidates = (
        f"+1{_AREA_CODES[(digest[0] + step) % len(_AREA_CODES)]}555"
        f"{100 + (digest[1] + step) % 100:04d}"
        for step in range(200)
    )
    number = (
        call.caller_id
        if is_withheld(call.caller_id)
        else next(c for c in candidates if c not in taken and c[2:] not in taken)
    )
    for i in range(len(_FIRST_NAMES) * len(_LAST_NAMES)):
        first = _FIRST_NAMES[(digest[2] + i) % len(_FIRST_NAMES)]
        last = _LAST_NAMES[(digest[3] + i // len(_FIRST_NAMES)) % len(_LAST_NAMES)]
        if first.casefold() not in avoid and last.casefold() not in avoid:
            return number, f"{first} {last}"
    return number, "Pat Doe"


def _identity(scripted: Mapping[str, Any], customer_created: bool) -> str:
    """The identity outcome the recorded agent reached that the scripted call can ask for:
    the caller's own record kept (a call with a customer_id, so only unmasked), or a record
    created for a caller the scenario presents as unknown."""
    if "customer_id" in scripted:
        return "confirmed"
    return "customer_created" if customer_created else ""


def _expect(call: RecordedCall, targets: tuple[str, ...], *, identity: str) -> list[str]:
    """Hints in the shipped scenarios' words (open_ticket, schedule_callback, escalate…)."""
    hints = {"confirmed": ["verify_identity"], "customer_created": ["create_customer"]}.get(
        identity, []
    )
    if call.tickets:
        hints.append("open_ticket")
    kinds = {"callback": "schedule_callback", "escalation": "escalate", "task": "create_task"}
    hints += list(dict.fromkeys(kinds[kind] for kind, _routed in call.followups))
    if targets:
        hints.append(f"transfer:{targets[0]}")
    if call.wrap is not None:
        hints.append("log_interaction")
    return hints


def _criteria(call: RecordedCall, targets: tuple[str, ...], identity: str) -> list[dict[str, Any]]:
    criteria: list[dict[str, Any]] = [
        {"id": "answer", "kind": "answer_within", "seconds": max(ANSWER_FLOOR, _up(call.ring))},
        {"id": "hold", "kind": "hold_at_most", "seconds": max(HOLD_FLOOR, _up(call.hold))},
    ]
    if call.wrap is not None:
        criteria.append(
            {"id": "wrap-up", "kind": "wrapup_at_most", "seconds": max(WRAP_FLOOR, _up(call.wrap))}
        )
    if _DISPOSITION_CODE.fullmatch(call.disposition):
        criteria.append({"id": "disposition", "kind": "disposition", "code": call.disposition})
    if identity:
        criteria.append({"id": "identity", "kind": "identity", "outcome": identity})
    for n, (category, priority) in enumerate((t for t in call.tickets if t[0]), 1):
        ticket: dict[str, Any] = {"id": f"ticket-{n}" if n > 1 else "ticket"}
        ticket["kind"] = "ticket_created"
        ticket |= (
            {"category": category, "priority": priority} if priority else {"category": category}
        )
        criteria.append(ticket | {"weight": ACTION_WEIGHT})
    for n, (kind, routed) in enumerate(call.followups, 1):
        followup: dict[str, Any] = {"id": f"followup-{n}" if n > 1 else "followup"}
        followup["kind"] = "followup_created"
        followup |= {"followup": kind, "routed_to": routed} if routed else {"followup": kind}
        criteria.append(followup | {"weight": ACTION_WEIGHT})
    if targets:
        transfer = {"id": "transfer", "kind": "transferred_to", "to": targets[0]}
        criteria.append(transfer | {"weight": TRANSFER_WEIGHT})
    return criteria


def _summary(call: RecordedCall) -> str:
    """What the recorded agent did, in one line (for the trainer)."""
    parts = [f"Recorded agent answered after {_up(call.ring)} s"]
    if call.hold:
        parts.append(f"held the caller {_up(call.hold)} s")
    if call.customer_created:
        parts.append("created a customer record")
    parts += [f"opened a {c or 'ticket'} ticket ({p or 'normal'})" for c, p in call.tickets]
    parts += [f"created a {k} follow-up" + (f" for {r}" if r else "") for k, r in call.followups]
    if call.transfer:
        parts.append(f"transferred the caller to {call.transfer}")
    parts.append(f"talked {_up(call.talk)} s")
    if call.wrap is not None:
        parts.append(f"saved disposition {call.disposition or 'none'} after {_up(call.wrap)} s")
    if call.notes.strip():
        parts.append(f"notes: {call.notes}")
    return "; ".join(parts)


def _difficulty(call: RecordedCall) -> str:
    """easy: nothing to do but talk; hard: three things or more to get right (tickets,
    follow-ups, a transfer, a hold, a new customer record); medium between."""
    tasks = len(call.tickets) + len(call.followups) + bool(call.transfer)
    tasks += bool(call.hold) + call.customer_created
    return "easy" if tasks == 0 else "hard" if tasks >= 3 else "medium"


def _header(call: RecordedCall, mask: bool, seed: int) -> str:
    if mask:
        lines = [
            f"# Training scenario made from a call recorded on {call.offered_at.date()}.",
            f"# Customer data masked: the caller's number and name are made up (seed {seed}),",
            "# names, numbers and emails in the transcript and notes are masked.",
        ]
    else:
        lines = [
            f"# Training scenario made from recorded call {clip(call.linkedid, 64)} (Linkedid),",
            f"# recorded at {call.offered_at.isoformat(timespec='seconds')}.",
            "# NOT masked: it holds the caller's real number, name and words.",
        ]
    return "\n".join(lines) + "\n\n"


def _check(text: str, call_id: str) -> None:
    """The text must load in the simulator (a failure here is a bug, said in one line)."""
    from callkit.scenario import parse_scenario
    from callkit.scenario_reader import ScenarioError

    try:
        parse_scenario(text, f"{call_id}.toml")
    except ScenarioError as exc:
        raise ScenarioExportError(f"the scenario made from the call does not load: {exc}") from exc


# ---------------------------------------------------------------- small helpers


def _up(seconds: float) -> int:
    """Whole seconds, rounded up (a limit is never below what was recorded)."""
    return math.ceil(seconds - 1e-9)


def _seconds(value: float) -> float | int:
    rounded = round(value, 1)
    return int(rounded) if rounded == int(rounded) else rounded


def _slug(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40].strip("-")
    return slug or "recorded-call"
