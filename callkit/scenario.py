"""Scenario files: traffic profiles and trainers' scripted calls, in TOML.

A scenario is one TOML file (full reference with examples: docs/scenarios.md). Durations are
seconds (a number) or strings such as ``"90s"``, ``"5m"``, ``"1h30m"``. Distributions are a number
(fixed) or a table ``{ dist = "exponential" | "lognormal" | "fixed" | "uniform" | "none", mean,
sd, low, high }`` (lognormal by its own mean and standard deviation; ``none`` for "never"
patience). Top level::

    name = "normal_day"            description = "…"
    difficulty = "medium"          # easy | medium | hard (shown to trainers)
    start = "08:00"                # time of day at virtual t = 0 (drives the rate profile)
    epoch = 1700000000             # Unix time at t = 0 (Uniqueids, queue_log)
    duration = "8h"                # default run length
    platinum_priority = 10         # queue priority of callers with tier = "platinum"
    [callers]                      # unknown_share, withheld_share, malformed_share,
                                   # formats = { e164, national, plain, intl00, spaced }
    [[queues]]                     # name, extension, strategy, timeout, retry, wrapuptime,
                                   # joinempty, leavewhenempty, max_wait,
                                   # overflow = "queue:<name>" | "callback", weight,
                                   # skills = { skill = min level }, service_level, short_abandon
    [queues.traffic]               # rate (calls/hour) or profile (24 hourly calls/hour),
                                   # handle_time, patience, priority_share, priority
    [[agents]]                     # interface, name, kind = "bot" | "phone",
                                   # queues = ["q", { queue = "q", penalty = 1 }],
                                   # skills = { skill = level }, wrapuptime, paused, pause_reason
    [agents.bot]                   # answer_delay, miss_share, hold_share, hold_time,
                                   # agent_hangup_share, break_share, break_time, break_reasons
    [[bot_pools]]                  # count, first (extension), tech, name, queues, skills,
                                   # wrapuptime, and a [bot_pools.bot] table as above
    [[calls]]                      # id, at, queue, customer_id, number, name, tier, priority,
                                   # patience, handle_time, hangup_after, expect = [...], notes,
                                   # transcript = [{ at = "2s", text = "…", speaker = "caller" }]
    [outbound]                     # customers dialled by Originate: answer, no_answer, busy,
                                   # failed (shares adding up to 1), ring_seconds = [3, 10],
                                   # no_answer_seconds (absent: every customer answers)
    [rubric]                       # pass_mark (0-100, default 80); scores the scripted calls
    [[rubric.criteria]]            # id, kind, weight (> 0, default 1), call (default: every
                                   # scripted call), label, and per kind: disposition (code =
                                   # "c" | ["c", …]), ticket_created (category, priority),
                                   # followup_created (followup, routed_to), identity (outcome =
                                   # "confirmed" | "customer_created"), answer_within /
                                   # hold_at_most / wrapup_at_most (seconds), note_keywords
                                   # (keywords, any), transferred_to (to), not_abandoned

Errors are reported as ``file:line: message``: TOML syntax errors with tomllib's line, semantic
errors with the line of the offending key (found by scanning the text).
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from callkit.rubric import (
    CRITERION_KINDS,
    DIFFICULTIES,
    FOLLOWUP_KINDS,
    IDENTITY_OUTCOMES,
    TICKET_PRIORITIES,
    Criterion,
    Rubric,
    describe_criterion,
    parse_rubric,
)
from callkit.scenario_reader import ScenarioError, TomlReader
from callkit.specs import NUMBER_FORMATS, STRATEGIES, BotProfile, CallerMix, Dist, OutboundProfile


@dataclass(frozen=True)
class TrafficSpec:
    """Random arrivals to one queue."""

    hourly: tuple[float, ...]  # 24 values, calls per hour
    handle_time: Dist
    patience: Dist
    priority_share: float = 0.0
    priority: int = 0


@dataclass(frozen=True)
class QueueSpec:
    """One queue's configuration (app_queue's queues.conf options)."""

    name: str
    extension: str = ""
    strategy: str = "ringall"
    timeout: float = 15.0
    retry: float = 5.0
    wrapuptime: float = 0.0
    joinempty: bool = True
    autopause: bool = False
    leavewhenempty: bool = False
    max_wait: float | None = None
    overflow: str = ""
    weight: int = 0
    skills: dict[str, int] = field(default_factory=dict)
    service_level: float = 20.0
    short_abandon: float = 5.0
    traffic: TrafficSpec | None = None


@dataclass(frozen=True)
class AgentSpec:
    """A bot or a human's desk phone and its queue memberships."""

    interface: str
    name: str
    kind: str = "bot"
    queues: tuple[tuple[str, int], ...] = ()
    skills: dict[str, int] = field(default_factory=dict)
    wrapuptime: float | None = None
    paused: bool = False
    pause_reason: str = ""
    profile: BotProfile = field(default_factory=BotProfile)
    # The phone behind a Local-channel member ("Local/1001@from-queue/n" rings PJSIP/1001);
    # "" for a direct member, or to derive PJSIP/<exten> from the Local interface.
    state_interface: str = ""


@dataclass(frozen=True)
class TranscriptLine:
    """What the caller says, ``at`` seconds after the agent answered."""

    at: float
    text: str
    speaker: str = "caller"


@dataclass(frozen=True)
class ScriptedCall:
    """A trainer's call: who calls which queue when, what they say, what a good agent does."""

    id: str
    at: float
    queue: str
    customer_id: int | None = None
    number: str | None = None
    name: str = ""
    tier: str = ""
    priority: int = 0
    patience: float = math.inf
    handle_time: float = 300.0
    hangup_after: float | None = None
    transcript: tuple[TranscriptLine, ...] = ()
    expect: tuple[str, ...] = ()
    notes: str = ""


#: How hard a scenario is for a trainee (shown in the trainer's scenario list).
@dataclass(frozen=True)
class Scenario:
    """A whole scenario file, validated."""

    name: str
    description: str = ""
    start_of_day: float = 8 * 3600.0
    epoch: int = 1_700_000_000
    duration: float = 8 * 3600.0
    platinum_priority: int = 10
    callers: CallerMix = field(default_factory=CallerMix)
    queues: tuple[QueueSpec, ...] = ()
    agents: tuple[AgentSpec, ...] = ()
    calls: tuple[ScriptedCall, ...] = ()
    outbound: OutboundProfile | None = None  # None: every dialled customer answers
    source: str = "<builtin>"
    difficulty: str = "medium"  # easy | medium | hard
    rubric: Rubric | None = None  # how trainees are scored on the scripted calls


Path_ = tuple[str | int, ...]

_TOP_KEYS = {"name", "description", "start", "epoch", "duration", "platinum_priority"}
_TOP_KEYS |= {"callers", "queues", "agents", "bot_pools", "calls", "outbound"}
_TOP_KEYS |= {"difficulty", "rubric"}
_SHARES = ("answer", "no_answer", "busy", "failed")


def _keys(spec: type[Any], *, renamed: dict[str, str] | None = None) -> set[str]:
    """The TOML keys of a table: the spec dataclass's fields (``renamed`` field → key)."""
    renamed = renamed or {}
    return {renamed.get(f.name, f.name) for f in fields(spec)}


def _table_list(r: TomlReader, data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise r.fail((key,), f"use [[{key}]] tables")
    return value


def _traffic(r: TomlReader, t: Any, path: Path_) -> TrafficSpec:
    if not isinstance(t, dict):
        raise r.fail(path, "traffic must be a table")
    r.check_keys(
        t, {"rate", "profile", "handle_time", "patience", "priority_share", "priority"}, path
    )
    if "profile" in t:
        prof = t["profile"]
        if (
            not isinstance(prof, list)
            or len(prof) != 24
            or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in prof
            )
        ):
            raise r.fail(
                (*path, "profile"), "profile must list 24 hourly rates (calls per hour, >= 0)"
            )
        hourly = tuple(float(v) for v in prof)
    else:
        hourly = (r.number(t, "rate", path, 60.0),) * 24
    return TrafficSpec(
        hourly=hourly,
        handle_time=r.dist(t.get("handle_time", 180), (*path, "handle_time")),
        patience=r.dist(t.get("patience", "none"), (*path, "patience"), allow_none=True),
        priority_share=r.share(t, "priority_share", path, 0.0),
        priority=r.integer(t, "priority", path, 0),
    )


def _queue(r: TomlReader, q: dict[str, Any], path: Path_) -> QueueSpec:
    r.check_keys(q, _keys(QueueSpec), path)
    strategy = r.string(q, "strategy", path, "ringall")
    if strategy not in STRATEGIES:
        raise r.fail(
            (*path, "strategy"), f"unknown strategy {strategy!r} (use {', '.join(STRATEGIES)})"
        )
    overflow = r.string(q, "overflow", path, "")
    if overflow and overflow != "callback" and not overflow.startswith("queue:"):
        raise r.fail((*path, "overflow"), 'overflow must be "callback" or "queue:<name>"')
    max_wait = r.duration(q["max_wait"], (*path, "max_wait")) if "max_wait" in q else None
    return QueueSpec(
        name=r.string(q, "name", path),
        extension=str(q.get("extension", "")),
        strategy=strategy,
        timeout=r.duration(q.get("timeout", 15), (*path, "timeout")),
        retry=r.duration(q.get("retry", 5), (*path, "retry")),
        wrapuptime=r.duration(q.get("wrapuptime", 0), (*path, "wrapuptime")),
        joinempty=r.boolean(q, "joinempty", path, True),
        leavewhenempty=r.boolean(q, "leavewhenempty", path, False),
        autopause=r.boolean(q, "autopause", path, False),
        max_wait=max_wait,
        overflow=overflow,
        weight=r.integer(q, "weight", path, 0),
        skills=r.skills(q.get("skills", {}), (*path, "skills")),
        service_level=r.duration(q.get("service_level", 20), (*path, "service_level")),
        short_abandon=r.duration(q.get("short_abandon", 5), (*path, "short_abandon")),
        traffic=_traffic(r, q["traffic"], (*path, "traffic")) if "traffic" in q else None,
    )


def _profile(r: TomlReader, b: Any, path: Path_) -> BotProfile:
    if not isinstance(b, dict):
        raise r.fail(path, "bot must be a table")
    r.check_keys(b, _keys(BotProfile), path)
    reasons = b.get("break_reasons", ["Break"])
    if not isinstance(reasons, list) or not all(isinstance(x, str) for x in reasons):
        raise r.fail((*path, "break_reasons"), "break_reasons must be a list of strings")
    return BotProfile(
        answer_delay=r.dist(b.get("answer_delay", 2), (*path, "answer_delay")),
        miss_share=r.share(b, "miss_share", path, 0.0),
        hold_share=r.share(b, "hold_share", path, 0.0),
        hold_time=r.dist(
            b.get("hold_time", {"dist": "exponential", "mean": 30}), (*path, "hold_time")
        ),
        agent_hangup_share=r.share(b, "agent_hangup_share", path, 0.5),
        break_share=r.share(b, "break_share", path, 0.0),
        break_time=r.dist(
            b.get("break_time", {"dist": "exponential", "mean": 600}), (*path, "break_time")
        ),
        break_reasons=tuple(reasons),
    )


def _memberships(r: TomlReader, value: Any, path: Path_) -> tuple[tuple[str, int], ...]:
    if not isinstance(value, list):
        raise r.fail(path, 'queues must be a list of names or { queue = "q", penalty = 1 }')
    out = []
    for item in value:
        if isinstance(item, str):
            out.append((item, 0))
        elif isinstance(item, dict) and isinstance(item.get("queue"), str):
            r.check_keys(item, {"queue", "penalty"}, path)
            out.append((item["queue"], r.integer(item, "penalty", path, 0)))
        else:
            raise r.fail(path, 'queues must be a list of names or { queue = "q", penalty = 1 }')
    return tuple(out)


def _agents(r: TomlReader, data: dict[str, Any]) -> list[AgentSpec]:
    agents = []
    for i, a in enumerate(_table_list(r, data, "agents")):
        path: Path_ = ("agents", i)
        r.check_keys(a, _keys(AgentSpec, renamed={"profile": "bot"}), path)
        kind = r.string(a, "kind", path, "bot")
        if kind not in ("bot", "phone"):
            raise r.fail((*path, "kind"), 'kind must be "bot" or "phone"')
        interface = r.string(a, "interface", path)
        if "/" not in interface:
            raise r.fail((*path, "interface"), 'interface must look like "PJSIP/2001"')
        agents.append(
            AgentSpec(
                interface=interface,
                name=r.string(a, "name", path, interface),
                kind=kind,
                queues=_memberships(r, a.get("queues", []), (*path, "queues")),
                skills=r.skills(a.get("skills", {}), (*path, "skills")),
                wrapuptime=r.duration(a["wrapuptime"], (*path, "wrapuptime"))
                if "wrapuptime" in a
                else None,
                paused=r.boolean(a, "paused", path, False),
                pause_reason=r.string(a, "pause_reason", path, ""),
                state_interface=r.string(a, "state_interface", path, ""),
                profile=_profile(r, a.get("bot", {}), (*path, "bot")),
            )
        )
    for i, p in enumerate(_table_list(r, data, "bot_pools")):
        path = ("bot_pools", i)
        r.check_keys(
            p, {"count", "first", "tech", "name", "queues", "skills", "wrapuptime", "bot"}, path
        )
        count = r.integer(p, "count", path, 1)
        first = r.integer(p, "first", path, 3001)
        tech = r.string(p, "tech", path, "PJSIP")
        prefix = r.string(p, "name", path, "Bot")
        queues = _memberships(r, p.get("queues", []), (*path, "queues"))
        skills = r.skills(p.get("skills", {}), (*path, "skills"))
        wrap = r.duration(p["wrapuptime"], (*path, "wrapuptime")) if "wrapuptime" in p else None
        profile = _profile(r, p.get("bot", {}), (*path, "bot"))
        for n in range(count):
            ext = first + n
            agents.append(
                AgentSpec(
                    f"{tech}/{ext}", f"{prefix} {ext}", "bot", queues, skills, wrap, profile=profile
                )
            )
    return agents


def _calls(r: TomlReader, data: dict[str, Any], queue_names: set[str]) -> list[ScriptedCall]:
    calls = []
    for i, c in enumerate(_table_list(r, data, "calls")):
        path: Path_ = ("calls", i)
        r.check_keys(c, _keys(ScriptedCall), path)
        queue = r.string(c, "queue", path)
        if queue not in queue_names:
            raise r.fail((*path, "queue"), f"no queue named {queue!r}")
        customer_id = c.get("customer_id")
        if customer_id is not None and (
            isinstance(customer_id, bool) or not isinstance(customer_id, int)
        ):
            raise r.fail((*path, "customer_id"), "customer_id must be an integer")
        number = c.get("number")
        if number is not None and not isinstance(number, str):
            raise r.fail((*path, "number"), "number must be a string")
        lines = []
        transcript = c.get("transcript", [])
        if not isinstance(transcript, list):
            raise r.fail((*path, "transcript"), "transcript must be a list of { at, text } tables")
        for line in transcript:
            if not isinstance(line, dict) or not isinstance(line.get("text"), str):
                raise r.fail((*path, "transcript"), "each transcript line needs at and text")
            r.check_keys(line, {"at", "text", "speaker"}, (*path, "transcript"))
            lines.append(
                TranscriptLine(
                    r.duration(line.get("at", 0), (*path, "transcript")),
                    line["text"],
                    str(line.get("speaker", "caller")),
                )
            )
        expect = c.get("expect", [])
        if not isinstance(expect, list) or not all(isinstance(e, str) for e in expect):
            raise r.fail((*path, "expect"), "expect must be a list of action names")
        calls.append(
            ScriptedCall(
                id=r.string(c, "id", path, f"call-{i + 1}"),
                at=r.duration(c.get("at", 0), (*path, "at")),
                queue=queue,
                customer_id=customer_id,
                number=number,
                name=r.string(c, "name", path, ""),
                tier=r.string(c, "tier", path, ""),
                priority=r.integer(c, "priority", path, 0),
                patience=r.duration(
                    c.get("patience", "none"), (*path, "patience"), allow_none=True
                ),
                handle_time=r.duration(c.get("handle_time", 300), (*path, "handle_time")),
                hangup_after=(
                    r.duration(c["hangup_after"], (*path, "hangup_after"))
                    if "hangup_after" in c
                    else None
                ),
                transcript=tuple(sorted(lines, key=lambda ln: ln.at)),
                expect=tuple(expect),
                notes=r.string(c, "notes", path, ""),
            )
        )
    return calls


def _callers(r: TomlReader, data: dict[str, Any]) -> CallerMix:
    c = data.get("callers", {})
    if not isinstance(c, dict):
        raise r.fail(("callers",), "callers must be a table")
    r.check_keys(c, {"unknown_share", "withheld_share", "malformed_share", "formats"}, ("callers",))
    formats = c.get("formats", CallerMix().formats)
    if not isinstance(formats, dict) or not formats:
        raise r.fail(("callers", "formats"), "formats must be a table of format = share")
    for key, share in formats.items():
        if key not in NUMBER_FORMATS:
            raise r.fail(
                ("callers", "formats", key),
                f"unknown format {key!r} (use {', '.join(NUMBER_FORMATS)})",
            )
        if isinstance(share, bool) or not isinstance(share, int | float) or share < 0:
            raise r.fail(("callers", "formats", key), "a format share must be a number >= 0")
    mix = CallerMix(
        unknown_share=r.share(c, "unknown_share", ("callers",), 0.1),
        withheld_share=r.share(c, "withheld_share", ("callers",), 0.03),
        malformed_share=r.share(c, "malformed_share", ("callers",), 0.01),
        formats={str(k): float(v) for k, v in formats.items()},
    )
    if mix.withheld_share + mix.malformed_share > 1:
        raise r.fail(("callers", "malformed_share"), "withheld + malformed shares exceed 1")
    return mix


def _ring_seconds(r: TomlReader, value: Any, path: Path_) -> tuple[float, float]:
    """``[low, high]`` durations (a single duration: always that long)."""
    if not isinstance(value, list):
        seconds = r.duration(value, path)
        return seconds, seconds
    if len(value) != 2:
        raise r.fail(path, "ring_seconds must be [low, high] (seconds or durations)")
    low = r.duration(value[0], (*path, 0))
    high = r.duration(value[1], (*path, 1))
    if high < low:
        raise r.fail((*path, 1), "ring_seconds: high must not be below low")
    return low, high


def _outbound(r: TomlReader, data: dict[str, Any]) -> OutboundProfile | None:
    if "outbound" not in data:
        return None
    o = data["outbound"]
    path: Path_ = ("outbound",)
    if not isinstance(o, dict):
        raise r.fail(path, "outbound must be a table")
    r.check_keys(o, {*_SHARES, "ring_seconds", "no_answer_seconds"}, path)
    others = {key: r.share(o, key, path, 0.0) for key in _SHARES[1:]}
    rest = sum(others.values())
    if "answer" in o:
        answer = r.share(o, "answer", path, 1.0)
        if abs(answer + rest - 1.0) > 1e-6:
            raise r.fail(
                path,
                f"answer + no_answer + busy + failed must add up to 1 (they add up to "
                f"{answer + rest:g})",
            )
    elif rest > 1.0 + 1e-6:
        last = [key for key in _SHARES[1:] if key in o][-1]
        raise r.fail(
            (*path, last), f"no_answer + busy + failed must not exceed 1 (they add up to {rest:g})"
        )
    else:
        answer = max(0.0, 1.0 - rest)
    no_answer = None
    if "no_answer_seconds" in o:
        no_answer = r.duration(o["no_answer_seconds"], (*path, "no_answer_seconds"))
        if no_answer <= 0:
            raise r.fail((*path, "no_answer_seconds"), "no_answer_seconds must be positive")
    return OutboundProfile(
        answer=answer,
        no_answer=others["no_answer"],
        busy=others["busy"],
        failed=others["failed"],
        ring_seconds=_ring_seconds(r, o.get("ring_seconds", [3, 10]), (*path, "ring_seconds")),
        no_answer_seconds=no_answer,
    )


# Per kind: (required keys, optional keys) besides id, kind, weight, call and label.
def _parse(data: dict[str, Any], r: TomlReader) -> Scenario:
    r.check_keys(data, _TOP_KEYS, ())
    queues = [_queue(r, q, ("queues", i)) for i, q in enumerate(_table_list(r, data, "queues"))]
    if not queues:
        raise r.fail(("queues",), "a scenario needs at least one [[queues]] table")
    names = set()
    for i, q in enumerate(queues):
        if q.name in names:
            raise r.fail(("queues", i, "name"), f"duplicate queue {q.name!r}")
        names.add(q.name)
    for i, q in enumerate(queues):
        if q.overflow.startswith("queue:") and q.overflow[6:] not in names:
            raise r.fail(("queues", i, "overflow"), f"overflow to unknown queue {q.overflow[6:]!r}")
    agents = _agents(r, data)
    seen: set[str] = set()
    for agent in agents:
        if agent.interface in seen:
            raise r.fail(("agents",), f"interface {agent.interface!r} defined twice")
        seen.add(agent.interface)
        for qname, _pen in agent.queues:
            if qname not in names:
                raise r.fail(("agents",), f"{agent.interface}: no queue named {qname!r}")
    calls = _calls(r, data, names)
    for i, call in enumerate(calls):
        if any(other.id == call.id for other in calls[:i]):
            raise r.fail(("calls", i, "id"), f"duplicate call id {call.id!r}")
    difficulty = r.string(data, "difficulty", (), "medium")
    if difficulty not in DIFFICULTIES:
        raise r.fail(("difficulty",), f"difficulty must be one of {', '.join(DIFFICULTIES)}")
    start = r.string(data, "start", (), "08:00")
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", start)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise r.fail(("start",), 'start must be a time of day like "08:00"')
    return Scenario(
        name=r.string(data, "name", (), "unnamed"),
        description=r.string(data, "description", (), ""),
        start_of_day=int(m.group(1)) * 3600.0 + int(m.group(2)) * 60.0,
        epoch=r.integer(data, "epoch", (), 1_700_000_000),
        duration=r.duration(data.get("duration", "8h"), ("duration",)),
        platinum_priority=r.integer(data, "platinum_priority", (), 10),
        callers=_callers(r, data),
        queues=tuple(queues),
        agents=tuple(agents),
        calls=tuple(calls),
        outbound=_outbound(r, data),
        source=r.source,
        difficulty=difficulty,
        rubric=parse_rubric(r, data, calls, queues),
    )


def parse_scenario(text: str, source: str = "<string>") -> Scenario:
    """Parse and validate scenario TOML text; ScenarioError with ``source:line`` on failure."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        if line is None:
            m = re.search(r"line (\d+)", str(exc))
            line = int(m.group(1)) if m else 1
        raise ScenarioError(f"{source}:{line}: TOML syntax error: {exc}") from exc
    return _parse(data, TomlReader(source, text))


def load_scenario(path: str | Path) -> Scenario:
    """Load a scenario file, or a shipped scenario by name (``normal_day``)."""
    p = Path(path)
    if not p.exists() and p.suffix == "" and p.parent == Path("."):
        shipped = resources.files("callkit") / "scenarios" / f"{p.name}.toml"
        if shipped.is_file():
            return parse_scenario(shipped.read_text(encoding="utf-8"), f"{p.name}.toml")
        names = ", ".join(shipped_scenarios())
        raise ScenarioError(
            f"{path}:1: no such scenario file or shipped scenario (shipped: {names})"
        )
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}:1: cannot read scenario: {exc}") from exc
    return parse_scenario(text, str(path))


def shipped_scenarios() -> list[str]:
    """Names of the scenarios shipped in callkit/scenarios."""
    folder = resources.files("callkit") / "scenarios"
    return sorted(f.name[:-5] for f in folder.iterdir() if f.name.endswith(".toml"))


def default_scenario() -> Scenario:
    """Steady traffic for when no scenario is given: one queue, 120 calls/hour, 10 bots."""
    traffic = TrafficSpec(
        hourly=(120.0,) * 24,
        handle_time=Dist("lognormal", 180.0, 90.0),
        patience=Dist("exponential", 120.0),
    )
    queue = QueueSpec(
        "support", extension="600", strategy="rrmemory", wrapuptime=10.0, traffic=traffic
    )
    agents = tuple(
        AgentSpec(f"PJSIP/{3001 + i}", f"Bot {3001 + i}", "bot", (("support", 0),))
        for i in range(10)
    )
    return Scenario(
        name="default", description="Steady traffic on one queue", queues=(queue,), agents=agents
    )


__all__ = [
    "ADDED_BOT",
    "CRITERION_KINDS",
    "DIFFICULTIES",
    "FOLLOWUP_KINDS",
    "IDENTITY_OUTCOMES",
    "NUMBER_FORMATS",
    "STRATEGIES",
    "TICKET_PRIORITIES",
    "AgentSpec",
    "Criterion",
    "QueueSpec",
    "Rubric",
    "Scenario",
    "ScenarioError",
    "ScriptedCall",
    "TrafficSpec",
    "TranscriptLine",
    "default_scenario",
    "describe_criterion",
    "load_scenario",
    "parse_scenario",
    "shipped_scenarios",
    "with_bots",
]


#: How the bots added by ``--bots`` behave: like normal_day's, they answer in 1–4 s, put one
#: call in ten on hold and take a break after 3 % of their calls.
ADDED_BOT = BotProfile(
    answer_delay=Dist("uniform", 2.5, low=1.0, high=4.0),
    hold_share=0.1,
    break_share=0.03,
    break_reasons=("Break", "Coffee"),
)


def with_bots(scenario: Scenario, count: int, queues: tuple[str, ...] = ()) -> Scenario:
    """The scenario with ``count`` more bots (``--bots N``) in ``queues`` (default: all).

    They are named ``Bot 5001``, ``Bot 5002``… (skipping interfaces already taken), behave as
    `ADDED_BOT` says and hold every skill their queues require, so each can take any call.
    """
    if count < 0:
        raise ValueError("bot count must not be negative")
    names = queues or tuple(q.name for q in scenario.queues)
    skills: dict[str, int] = {}
    for spec in scenario.queues:
        if spec.name in names:
            for skill, level in spec.skills.items():
                skills[skill] = max(level, skills.get(skill, 0))
    memberships = tuple((name, 0) for name in names)
    used = {a.interface for a in scenario.agents}
    agents = list(scenario.agents)
    ext = 5001
    while len(agents) < len(scenario.agents) + count:
        interface = f"PJSIP/{ext}"
        if interface not in used:
            agents.append(
                AgentSpec(interface, f"Bot {ext}", "bot", memberships, skills, profile=ADDED_BOT)
            )
        ext += 1
    return replace(scenario, agents=tuple(agents))
