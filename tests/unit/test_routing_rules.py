"""Routing rules: matching, overrides, explanations, retry timing, and located load errors."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callkit.located_toml import locate_key, parse_duration
from console.services.routing.routing_rules import (
    AGENT_REFS,
    KINDS,
    LIFECYCLES,
    ORIGINS,
    ROLE_REFS,
    STRATEGIES,
    TIERS,
    EscalationStep,
    FollowUpFacts,
    RetryPolicy,
    RouteDecision,
    RulesError,
    RuleSet,
    Target,
)
from console.services.routing.rules_file import load_rules

MONDAY_NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # London is on GMT (= UTC) then
LONDON = "Europe/London"


def facts(**changes: object) -> FollowUpFacts:
    base: dict[str, object] = {"kind": "task", "priority": 3, "at": MONDAY_NOON}
    return FollowUpFacts(**{**base, **changes})  # type: ignore[arg-type]


def write(tmp_path: Path, text: str, name: str = "rules.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def at(day: str, clock: str) -> datetime:
    """An aware UTC time from "2026-11-23" and "19:50"."""
    return datetime.fromisoformat(f"{day}T{clock}+00:00")


# ---------------------------------------------------------------- matching, key by key

MATCHING = """
replace_defaults = true

[settings]
timezone = "Europe/London"
business_hours = { days = ["mon", "tue", "wed", "thu", "fri"], start = "08:00", end = "18:00" }

[[rule]]
name = "kind"
when = { kind = "escalation" }
target = { queue = "tier2" }

[[rule]]
name = "category"
when = { ticket_category = ["billing", "delivery"] }
target = { queue = "billing" }

[[rule]]
name = "urgent"
when = { priority = { max = 1 } }
target = { queue = "vip" }

[[rule]]
name = "two-or-four"
when = { priority = [2, 4] }
target = { queue = "support" }

[[rule]]
name = "platinum"
when = { tier = "platinum" }
target = { queue = "vip" }

[[rule]]
name = "chinese"
when = { language = "zh" }
target = { skill = "zh", min_level = 3 }

[[rule]]
name = "leaving"
when = { lifecycle = ["declining", "churned"] }
target = { queue = "sales" }

[[rule]]
name = "from-sales"
when = { origin_queue = "sales" }
target = { queue = "sales" }

[[rule]]
name = "resolved"
when = { disposition = "resolved" }
target = { queue = "support" }

[[rule]]
name = "abandoned"
when = { origin = "abandoned" }
target = { same_queue = true, queue = "support" }

[[rule]]
name = "night"
when = { time = "22:00-06:00" }
target = { role = "supervisor" }

[[rule]]
name = "weekend"
when = { days = ["sat", "sun"] }
target = { role = "team_lead" }

[[rule]]
name = "after-hours"
when = { business_hours = false }
target = { queue = "support" }

[[rule]]
name = "callback-in-hours"
when = { kind = "callback", business_hours = true }
target = { queue = "support" }

[[rule]]
name = "owner-only"
when = { priority = 5 }
target = { agent = "account_owner", only = true }

[[rule]]
name = "fallback"
target = { queue = "support" }
"""


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, "fallback"),
        ({"kind": "escalation"}, "kind"),
        ({"kind": "callback"}, "callback-in-hours"),
        ({"ticket_category": "delivery"}, "category"),
        ({"ticket_category": "billing"}, "category"),
        ({"ticket_category": "complaint"}, "fallback"),
        ({"priority": 1}, "urgent"),
        ({"priority": 2}, "two-or-four"),
        ({"priority": 4}, "two-or-four"),
        ({"tier": "platinum"}, "platinum"),
        ({"tier": "gold"}, "fallback"),
        ({"language": "zh"}, "chinese"),
        ({"lifecycle": "churned"}, "leaving"),
        ({"lifecycle": "mature"}, "fallback"),
        ({"origin_queue": "sales"}, "from-sales"),
        ({"disposition": "resolved"}, "resolved"),
        ({"origin": "abandoned"}, "abandoned"),
        # Time windows crossing midnight: [22:00, 06:00) local.
        ({"at": at("2026-11-23", "23:30")}, "night"),
        ({"at": at("2026-11-24", "05:59")}, "night"),
        ({"at": at("2026-11-24", "06:00")}, "after-hours"),
        ({"at": at("2026-11-23", "21:59")}, "after-hours"),
        # Europe/London in summer is UTC+1: 21:30 UTC is 22:30 local, 07:30 UTC is 08:30.
        ({"at": at("2026-07-06", "21:30")}, "night"),
        ({"at": at("2026-07-06", "07:30"), "kind": "callback"}, "callback-in-hours"),
        ({"at": at("2026-01-05", "07:30"), "kind": "callback"}, "after-hours"),
        ({"at": at("2026-11-28", "12:00")}, "weekend"),
        ({"at": at("2026-11-23", "19:00"), "kind": "callback"}, "after-hours"),
        # An only-this-agent target needs that agent to exist.
        ({"priority": 5, "account_owner_id": 7}, "owner-only"),
        ({"priority": 5}, "fallback"),
    ],
)
def test_the_first_matching_rule_decides(
    tmp_path: Path, changes: dict[str, object], expected: str
) -> None:
    rules = load_rules(write(tmp_path, MATCHING))
    assert rules.route(facts(**changes)).rule == expected


def test_the_decision_carries_reasons_target_and_defaults(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path, MATCHING))
    decision = rules.route(facts(kind="callback", at=at("2026-11-23", "09:00")))
    assert decision.reasons == ("kind is callback", "within business hours")
    assert decision.priority == 3  # the rule sets none: the follow-up keeps its own
    assert decision.due_in == timedelta(days=1)  # from the defaults' [settings]
    header = MATCHING.splitlines().index('name = "callback-in-hours"')  # 0-based name line
    assert decision.source.endswith(f"rules.toml:{header}")
    assert rules.route(facts()).reasons == ("matches everything",)
    abandoned = rules.route(facts(origin="abandoned", origin_queue="billing"))
    assert abandoned.target.queue == "billing"
    assert rules.route(facts(origin="abandoned")).target.queue == "support"


@pytest.mark.parametrize(
    ("when", "inside"),
    [
        # 2026-03-29 is the spring-forward Sunday in London: 08:00 local is 07:00 UTC.
        (at("2026-03-29", "06:59"), False),
        (at("2026-03-29", "07:00"), True),
        (at("2026-03-29", "16:59"), True),
        (at("2026-03-29", "17:00"), False),
        (at("2026-03-28", "07:30"), False),  # the day before, on GMT: 07:30 local
        (at("2026-03-28", "08:00"), True),
        # 2026-10-25: back to GMT.
        (at("2026-10-25", "07:30"), False),
        (at("2026-10-25", "08:00"), True),
        (at("2026-10-24", "07:30"), True),
        (at("2026-12-25", "12:00"), False),  # a holiday
    ],
)
def test_business_hours_follow_the_rules_timezone_across_dst(
    tmp_path: Path, when: datetime, inside: bool
) -> None:
    text = (
        '[settings]\ntimezone = "Europe/London"\n[settings.business_hours]\n'
        'days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]\n'
        'start = "08:00"\nend = "18:00"\nholidays = [2026-12-25]\n'
    )
    assert load_rules(write(tmp_path, text)).in_business_hours(when) is inside


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        RuleSet(timezone=LONDON).in_business_hours(datetime(2026, 1, 1, 12))


# ---------------------------------------------------------------- defaults and overrides


def test_the_shipped_defaults_load_and_end_with_a_catch_all() -> None:
    from console.services.seeding.seeding import QUEUES, SKILLS

    rules = load_rules()
    assert len(rules.rules) >= 6
    assert rules.rules[-1].name == "everything-else"
    assert rules.rules[-1].matches_everything
    assert not any(r.matches_everything for r in rules.rules[:-1])
    assert rules.warnings() == []
    queues = {q[0] for q in QUEUES}
    targets = [r.target for r in rules.rules] + [s.to for r in rules.rules for s in r.escalation]
    assert {t.queue for t in targets if t.queue} <= queues
    assert {t.skill for t in targets if t.skill} <= set(SKILLS)
    assert all(r.shipped and "routing_defaults.toml:" in r.source for r in rules.rules)


def test_the_closed_vocabularies_match_the_models() -> None:
    from console.models.enums import FollowUpKind, FollowUpOrigin, Lifecycle, Tier

    assert tuple(FollowUpKind) == KINDS
    assert tuple(Tier) == TIERS
    assert tuple(Lifecycle) == LIFECYCLES
    assert tuple(FollowUpOrigin) == ORIGINS


@pytest.mark.parametrize(
    ("changes", "expected", "queue"),
    [
        ({"kind": "callback", "tier": "platinum"}, "vip-callbacks", "vip"),
        (
            {"kind": "callback", "origin": "abandoned", "origin_queue": "sales"},
            "abandoned-callbacks",
            "sales",
        ),
        ({"ticket_category": "complaint", "handled_by_id": 3}, "complaints", "support"),
        ({"kind": "escalation"}, "escalations", "tier2"),
        ({"language": "zh"}, "chinese-speakers", None),
        ({"ticket_category": "billing"}, "billing", "billing"),
        ({"ticket_category": "sales"}, "sales", "sales"),
        ({"tier": "gold"}, "account-owner-tasks", "vip"),
        ({"kind": "callback", "tier": "iron"}, "everything-else", "support"),
    ],
)
def test_the_defaults_route_the_usual_follow_ups(
    changes: dict[str, object], expected: str, queue: str | None
) -> None:
    decision = load_rules().route(facts(**changes))
    assert (decision.rule, decision.target.queue) == (expected, queue)


def test_a_user_rule_replaces_the_default_of_the_same_name_in_place(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '# mine\n[[rule]]\nname = "billing"\nwhen = { ticket_category = "billing" }\n'
        'target = { queue = "tier2" }\npriority = 1\n',
    )
    rules = load_rules(path)
    defaults = load_rules()
    assert [r.name for r in rules.rules] == [r.name for r in defaults.rules]
    decision = rules.route(facts(ticket_category="billing"))
    assert (decision.target.queue, decision.priority, decision.source) == ("tier2", 1, f"{path}:2")


def test_new_user_rules_go_before_the_defaults_and_the_catch_all_stays_last(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        '[settings]\ntimezone = "Asia/Shanghai"\n\n'
        '[[rule]]\nname = "gold-to-sales"\nwhen = { tier = "gold" }\ntarget = { queue = "sales" }\n'
        '\n[[rule]]\nname = "chinese-speakers"\nenabled = false\n',
    )
    rules = load_rules(path)
    names = [r.name for r in rules.rules]
    assert names[0] == "gold-to-sales" and names[-1] == "everything-else"
    assert "chinese-speakers" not in names
    # vip-callbacks would match too, but the user's rule is tried first.
    assert rules.route(facts(kind="callback", tier="gold")).rule == "gold-to-sales"
    assert rules.route(facts(language="zh")).rule == "everything-else"
    assert rules.timezone == "Asia/Shanghai"
    assert rules.business_hours == load_rules().business_hours  # untouched settings stay


def test_replace_defaults_uses_only_the_users_rules(tmp_path: Path) -> None:
    rules = load_rules(
        write(
            tmp_path,
            'replace_defaults = true\n[[rule]]\nname = "only-gold"\nwhen = { tier = "gold" }\n'
            'target = { queue = "vip" }\n',
        )
    )
    assert [r.name for r in rules.rules] == ["only-gold"]
    assert rules.route(facts(tier="gold")).rule == "only-gold"
    with pytest.raises(RulesError, match="no rule matched"):
        rules.route(facts(tier="iron"))
    (warning,) = rules.warnings()
    assert "rules.toml:2: warning: no rule matches everything" in warning


def test_rules_after_a_catch_all_are_reported_unreachable(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path, '[[rule]]\nname = "all"\ntarget = { queue = "sales" }\n'))
    warnings = rules.warnings()
    assert len(warnings) == len(rules.rules) - 1
    assert "rule 'vip-callbacks' is never reached (rule 'all' before it" in warnings[0]


def test_the_documented_example_loads_and_routes(tmp_path: Path) -> None:
    doc = (Path(__file__).parents[2] / "docs" / "routing.md").read_text(encoding="utf-8")
    example = re.search(r"```toml\n(.*?)```", doc, re.DOTALL)
    assert example is not None
    rules = load_rules(write(tmp_path, example.group(1)))
    decision = rules.route(facts(kind="callback", tier="gold", at=at("2026-07-06", "16:30")))
    assert decision.rule == "platinum-callbacks"  # 17:30 in London (BST): still open
    assert decision.retry.spacing[-1] == timedelta(hours=4)
    assert [s.to.describe() for s in decision.escalation] == ["team lead", "queue tier2"]
    late = rules.route(facts(kind="callback", tier="gold", at=at("2026-07-06", "17:30")))
    assert late.rule == "vip-callbacks"  # closed: the shipped rule is next


# ---------------------------------------------------------------- explain


def test_explain_gives_the_first_failing_condition_then_the_match() -> None:
    traces = load_rules().explain(facts(kind="callback", tier="iron", language="zh"))
    assert [(t.rule, t.matched, t.detail) for t in traces] == [
        ("vip-callbacks", False, "tier is iron, not platinum or gold"),
        ("abandoned-callbacks", False, "origin is agent, not abandoned or overflow"),
        ("complaints", False, "ticket category is unknown, not complaint"),
        ("escalations", False, "kind is callback, not escalation"),
        ("chinese-speakers", True, "matched: language is zh"),
    ]


def test_explain_words_for_time_conditions(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path, MATCHING))
    traces = rules.explain(facts(kind="callback", at=at("2026-11-23", "19:00")))
    details = {t.rule: t.detail for t in traces}
    assert details["night"] == "local time 19:00 is outside 22:00-06:00"
    assert details["weekend"] == "day is mon, not sat or sun"
    assert traces[-1].detail == "matched: outside business hours"
    owner = rules.explain(facts(priority=5))
    assert owner[-2].detail == "no account owner"


# ---------------------------------------------------------------- retry timing


@pytest.mark.parametrize(
    ("policy", "after", "attempt", "expected"),
    [
        (RetryPolicy(4, (timedelta(minutes=15), timedelta(hours=1))), "12:00", 1, "12:00"),
        (RetryPolicy(4, (timedelta(minutes=15), timedelta(hours=1))), "12:00", 2, "12:15"),
        (RetryPolicy(4, (timedelta(minutes=15), timedelta(hours=1))), "12:00", 3, "13:00"),
        (RetryPolicy(4, (timedelta(minutes=15), timedelta(hours=1))), "12:00", 4, "13:00"),
        (RetryPolicy(4, (timedelta(minutes=15), timedelta(hours=1))), "12:00", 5, None),
        (RetryPolicy(1), "12:00", 2, None),
    ],
)
def test_retry_spacing_repeats_its_last_value_until_attempts_run_out(
    policy: RetryPolicy, after: str, attempt: int, expected: str | None
) -> None:
    start = at("2026-11-23", after)
    got = policy.next_attempt(start, attempt, LONDON)
    assert got == (None if expected is None else at("2026-11-23", expected))


WINDOW = RetryPolicy(5, (timedelta(minutes=15),), (time(9), time(20)))
NIGHT_WINDOW = RetryPolicy(5, (timedelta(minutes=15),), (time(20), time(2)))


@pytest.mark.parametrize(
    ("policy", "after", "attempt", "expected"),
    [
        (WINDOW, at("2026-11-23", "12:00"), 2, at("2026-11-23", "12:15")),
        (WINDOW, at("2026-11-23", "06:00"), 1, at("2026-11-23", "09:00")),
        (WINDOW, at("2026-11-23", "19:50"), 2, at("2026-11-24", "09:00")),  # next day
        (WINDOW, at("2026-11-23", "19:40"), 2, at("2026-11-23", "19:55")),
        # Saturday 21:00 GMT → the window opens at 09:00 BST on the spring-forward Sunday.
        (WINDOW, at("2026-03-28", "21:00"), 1, at("2026-03-29", "08:00")),
        (WINDOW, at("2026-07-06", "07:30"), 1, at("2026-07-06", "08:00")),  # 08:30 BST
        (NIGHT_WINDOW, at("2026-11-23", "12:00"), 1, at("2026-11-23", "20:00")),
        (NIGHT_WINDOW, at("2026-11-23", "01:00"), 2, at("2026-11-23", "01:15")),
        (NIGHT_WINDOW, at("2026-11-23", "01:50"), 2, at("2026-11-23", "20:00")),
    ],
)
def test_retries_are_pushed_into_the_local_calling_window(
    policy: RetryPolicy, after: datetime, attempt: int, expected: datetime
) -> None:
    assert policy.next_attempt(after, attempt, LONDON) == expected


def test_retry_refuses_bad_attempt_numbers_and_naive_times() -> None:
    with pytest.raises(ValueError, match="from 1"):
        WINDOW.next_attempt(MONDAY_NOON, 0, LONDON)
    with pytest.raises(ValueError, match="timezone-aware"):
        WINDOW.next_attempt(datetime(2026, 1, 1), 1, LONDON)


# ---------------------------------------------------------------- describe and JSON


@pytest.mark.parametrize(
    ("target", "text"),
    [
        (Target(queue="billing"), "queue billing"),
        (Target(skill="support", min_level=5), "skill support >= 5"),
        (Target(skill="zh"), "skill zh"),
        (
            Target(queue="tier2", skill="support", min_level=5),
            "queue tier2 with skill support >= 5",
        ),
        (Target(agent="account_owner", agent_only=True), "account owner only"),
        (
            Target(agent="handled_by", queue="support"),
            "agent who took the call, else queue support",
        ),
        (Target(role="team_lead"), "team lead"),
    ],
)
def test_targets_describe_themselves(target: Target, text: str) -> None:
    assert target.describe() == text


_names = st.text(min_size=1, max_size=12)
_spans = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=366))
_targets = st.builds(
    Target,
    queue=st.none() | _names,
    skill=st.none() | _names,
    min_level=st.integers(1, 10),
    agent=st.sampled_from((None, *AGENT_REFS)),
    agent_only=st.booleans(),
    role=st.sampled_from((None, *ROLE_REFS)),
)
_clock = st.builds(time, st.integers(0, 23), st.integers(0, 59))
_decisions = st.builds(
    RouteDecision,
    rule=_names,
    source=_names,
    target=_targets,
    strategy=st.sampled_from(STRATEGIES),
    priority=st.integers(1, 5),
    due_in=_spans,
    retry=st.builds(
        RetryPolicy,
        attempts=st.integers(1, 20),
        spacing=st.lists(_spans, min_size=1, max_size=4).map(tuple),
        window=st.none() | st.tuples(_clock, _clock),
    ),
    escalation=st.lists(
        st.builds(
            EscalationStep, after=_spans, to=_targets, priority=st.none() | st.integers(1, 5)
        ),
        max_size=3,
    ).map(tuple),
    reasons=st.lists(_names, max_size=3).map(tuple),
)


@given(_decisions)
def test_route_decisions_survive_a_json_round_trip(decision: RouteDecision) -> None:
    stored = json.loads(json.dumps(decision.as_json()))
    assert RouteDecision.from_json(stored) == decision


def test_stored_decisions_are_checked_when_read_back() -> None:
    good = load_rules().route(facts()).as_json()
    assert RouteDecision.from_json(good).rule == "everything-else"
    for key, bad in [("strategy", "fastest"), ("priority", "1"), ("due_in", None), ("retry", [])]:
        with pytest.raises(ValueError, match="stored route decision"):
            RouteDecision.from_json({**good, key: bad})


@given(
    kind=st.sampled_from(KINDS),
    tier=st.none() | st.sampled_from(TIERS),
    category=st.none() | st.sampled_from(["billing", "complaint", "sales", "general"]),
    priority=st.integers(1, 5),
    origin=st.sampled_from(ORIGINS),
    minutes=st.integers(0, 60 * 24 * 14),
)
def test_the_defaults_route_every_follow_up(
    kind: str, tier: str | None, category: str | None, priority: int, origin: str, minutes: int
) -> None:
    follow_up = FollowUpFacts(
        kind=kind,
        priority=priority,
        at=MONDAY_NOON + timedelta(minutes=minutes),
        tier=tier,
        ticket_category=category,
        origin=origin,
    )
    decision = load_rules().route(follow_up)
    assert decision.due_in > timedelta(0) and 1 <= decision.priority <= 5


# ---------------------------------------------------------------- located TOML helpers


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("1h30m", 5400), ("1d", 86400), ("1.5h", 5400), ("45", 45)],
)
def test_durations_parse(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "  ", "2 hours", "1h 2d", "m", "-5m", "1w"])
def test_malformed_durations_are_refused(text: str) -> None:
    assert parse_duration(text) is None


def test_locate_key_follows_multi_line_arrays() -> None:
    text = 'a = 1\nsteps = [\n  { x = 1 },\n  # note\n  { x = "[", y = 2 },\n]\n'
    assert locate_key(text, ("steps",)) == 2
    assert locate_key(text, ("steps", 1, "y")) == 5
    assert locate_key(text, ("steps", 5)) == 2  # no such element: the key's own line


# ---------------------------------------------------------------- bad files

RULE = '[[rule]]\nname = "r"\n'
TARGET = 'target = { queue = "support" }\n'

BAD_FILES = [
    ('name = "x"\n[[rule]\nname = "r"\n', 2, "TOML syntax error"),
    (RULE + TARGET + "\n[[rules]]\nname = 'q'\n", 5, "unknown key 'rules'"),
    ("replace_default = true\n", 1, "unknown key 'replace_default'"),
    ('[settings]\ntimezone = "UTC"\ndue = "1h"\n', 3, "unknown key 'due'"),
    ('[settings]\n\ntimezone = "Mars/Olympus"\n', 3, "unknown timezone 'Mars/Olympus'"),
    ("[settings]\nbusiness_hours = { start = '18:00', end = '08:00' }\n", 2, "end after"),
    (RULE + 'when = { tier = "gold", langauge = "zh" }\n' + TARGET, 3, "when: unknown key"),
    (RULE + 'when = { tier = "platnum" }\n' + TARGET, 3, "when.tier: unknown value 'platnum'"),
    (RULE + "when = { priority = { min = 4, max = 2 } }\n" + TARGET, 3, "min 4 is above max 2"),
    (RULE + 'when = { time = "09:00-09:00" }\n' + TARGET, 3, "the window is empty"),
    (RULE + 'when = { time = "9-17" }\n' + TARGET, 3, 'when.time: must be a time of day "HH:MM"'),
    (RULE + 'target = { qeue = "vip" }\n', 3, "rule 'r': target: unknown key 'qeue'"),
    (RULE + "target = {}\n", 3, "empty target"),
    (RULE + "\n\nstrategy = 'sticky'\n", 1, "rule 'r': needs a target"),
    (RULE + 'target = { agent = "account_owner" }\n', 3, "needs a fallback queue or skill"),
    (RULE + 'target = { queue = "vip", only = true }\n', 3, "only needs an agent"),
    (RULE + 'target = { role = "supervisor", queue = "vip" }\n', 3, "a role target takes no"),
    (RULE + 'target = { skill = "zh", min_level = 11 }\n', 3, "from 1 to 10 (got 11)"),
    (RULE + TARGET + 'due_in = "2 hours"\n', 4, "due_in: bad duration '2 hours'"),
    (RULE + TARGET + 'due_in = "0s"\n', 4, "due_in: must be more than 0"),
    (RULE + TARGET + "priority = 7\n", 4, "priority: must be a whole number from 1 to 5"),
    (RULE + TARGET + 'priority = "1"\n', 4, "must be a whole number from 1 to 5 (got '1')"),
    (RULE + TARGET + 'strategy = "fastest"\n', 4, "strategy: unknown value 'fastest'"),
    (RULE + TARGET + 'strategy = "best_skill"\n', 4, "best_skill needs a skill"),
    (RULE + TARGET + "retry = { attempts = 0 }\n", 4, "retry.attempts: must be a whole"),
    (RULE + TARGET + "retry = { spaceing = '1h' }\n", 4, "retry: unknown key 'spaceing'"),
    (RULE + TARGET + 'retry = { window = "09:00" }\n', 4, 'must be a window "HH:MM-HH:MM"'),
    (
        RULE + TARGET + 'retry = { spacing = [\n  "1h",\n  "2 hours",\n] }\n',
        6,
        "retry.spacing[2]: bad duration",
    ),
    (
        RULE
        + TARGET
        + "escalate = [\n"
        + '  { after = "2h", to = { role = "team_lead" } },\n'
        + '  { after = "1h", to = { role = "supervisor" } },\n'
        + "]\n",
        6,
        "escalate[2].after: must be later than the step before",
    ),
    (RULE + TARGET + 'escalate = [{ after = "1h" }]\n', 4, "escalate[1]: needs 'to'"),
    (
        RULE + TARGET + 'escalate = [{ after = "1h", to = { queue = "x", same_queue = true } }]\n',
        4,
        "unknown key 'same_queue'",
    ),
    (RULE + TARGET + "\n" + RULE + TARGET, 6, "name: duplicate name (also at line 1)"),
    ("[[rule]]\n" + TARGET, 1, "rule #1: needs a name"),
    ('[[rule]]\nname = "' + "x" * 81 + '"\n' + TARGET, 2, "1 to 80 characters"),
    ('[[rule]]\nname = "a\\u001b[31m"\n' + TARGET, 2, "control characters"),
    ("replace_defaults = true\n", 1, "needs rules of its own"),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD_FILES)
def test_bad_rule_files_name_the_file_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(RulesError) as info:
        load_rules(path)
    assert str(info.value).startswith(f"{path}:{line}: ")
    assert message in str(info.value)
    assert "\n" not in str(info.value) and "\x1b" not in str(info.value)


def test_unreadable_files_get_one_clear_message(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="no such file"):
        load_rules(str(tmp_path / "missing.toml"))
    with pytest.raises(RulesError, match="cannot read"):
        load_rules(str(tmp_path))
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00rule")
    with pytest.raises(RulesError, match="not a UTF-8 text file"):
        load_rules(str(binary))
