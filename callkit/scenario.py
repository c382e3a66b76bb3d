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
                                   # skills = { skill = min level }, service_level, short_abandon,
                                   # autoanswer (desk phones answer by themselves)
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
                                   # machine, failed (shares adding up to 1), ring_seconds,
                                   # machine_ring_seconds, no_answer_seconds, talk_time, trunks,
                                   # hours = { "09-12" = { shares } } (absent: all answer)
    [[outbound.audiences]]         # name, numbers, prefixes, shares, hours, ring_seconds,
                                   # talk_time: customers who behave otherwise
    [[outbound.campaigns]]         # context, queue, queue_timeout (2), machine, message,
                                   # message_seconds, safe_harbor, safe_harbor_seconds, notsure,
                                   # failed_extension, and [outbound.campaigns.amd]: enabled,
                                   # human_as_machine, machine_as_human, notsure, hangup
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

This module is the format's public face: loading by path or shipped name, the default scenario
and ``--bots``. The value types are callkit.specs; the file is read by the pydantic models of
callkit.scenario_file (the rubric's by callkit.rubric).
"""

from __future__ import annotations

from dataclasses import replace
from importlib import resources
from pathlib import Path

from callkit.rubric import (
    CRITERION_KINDS,
    DIFFICULTIES,
    FOLLOWUP_KINDS,
    IDENTITY_OUTCOMES,
    TICKET_PRIORITIES,
    Criterion,
    Rubric,
    describe_criterion,
)
from callkit.scenario_file import parse_scenario
from callkit.scenario_reader import ScenarioError
from callkit.specs import (
    NUMBER_FORMATS,
    STRATEGIES,
    AgentSpec,
    BotProfile,
    Dist,
    QueueSpec,
    Scenario,
    ScriptedCall,
    TrafficSpec,
    TranscriptLine,
)


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
