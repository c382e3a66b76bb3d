"""Scenario difficulty and rubrics: shipped scenarios carry sensible rubrics; bad rubric files
are refused with file:line errors naming the offending key."""

from __future__ import annotations

from pathlib import Path

import pytest

from callkit.scenario import (
    DIFFICULTIES,
    ScenarioError,
    load_scenario,
    parse_scenario,
    shipped_scenarios,
)
from console.services.desk.dispositions import DEFAULT_CATALOG
from console.services.seeding.seeding import QUEUES, SKILLS

# Two queues and two scripted calls (one known caller, one unknown); rubric text is appended.
BASE = """\
name = "t"
[[queues]]
name = "support"
extension = "600"
[[queues]]
name = "tier2"
extension = "610"
[[calls]]
id = "known"
queue = "support"
customer_id = 4
[[calls]]
id = "stranger"
queue = "support"
number = "+12125550199"
"""
BASE_LINES = BASE.count("\n")

# What each `expect` hint of the shipped scripted calls means in rubric terms.
HINTS = {
    "verify_identity": ("identity", "confirmed"),
    "create_customer": ("identity", "customer_created"),
    "open_ticket": ("ticket_created", None),
    "escalate": ("followup_created", "escalation"),
    "escalate_billing": ("followup_created", "escalation"),
    "schedule_callback": ("followup_created", "callback"),
}


def scenario_with(rubric: str) -> str:
    return BASE + rubric


def test_every_shipped_scenario_has_a_difficulty() -> None:
    for name in shipped_scenarios():
        assert load_scenario(name).difficulty in DIFFICULTIES, name


@pytest.mark.parametrize("name", shipped_scenarios())
def test_shipped_scenarios_with_scripted_calls_carry_a_consistent_rubric(name: str) -> None:
    scenario = load_scenario(name)
    if not scenario.calls:
        assert scenario.rubric is None
        return
    rubric = scenario.rubric
    assert rubric is not None, f"{name} has scripted calls but no rubric"
    assert 0 < rubric.pass_mark <= 100
    crm_targets = {q[0] for q in QUEUES} | set(SKILLS)
    for c in rubric.criteria:
        assert c.label and c.weight > 0 and c.calls
        assert set(c.codes) <= set(DEFAULT_CATALOG.codes), (name, c.id)
        if c.routed_to:
            assert c.routed_to in crm_targets, (name, c.id)
    for call in scenario.calls:
        mine = [c for c in rubric.criteria if call.id in c.calls]
        kinds = {c.kind for c in mine}
        assert "answer_within" in kinds or "not_abandoned" in kinds, (name, call.id)
        assert "identity" in kinds, (name, call.id)
        for hint in call.expect:
            if hint.startswith("transfer:"):
                extension = hint.split(":", 1)[1]
                assert any(c.kind == "transferred_to" and extension in c.targets for c in mine), (
                    name,
                    hint,
                )
            elif hint in HINTS:
                kind, value = HINTS[hint]
                assert any(
                    c.kind == kind and value in (None, c.outcome, c.followup) for c in mine
                ), (name, hint)


def test_difficulty_defaults_to_medium_and_rubric_to_none() -> None:
    scenario = parse_scenario(BASE)
    assert scenario.difficulty == "medium"
    assert scenario.rubric is None


def test_a_rubric_parses_into_criteria_with_defaults() -> None:
    text = 'difficulty = "hard"\n' + scenario_with(
        """[rubric]
pass_mark = 75.5
[[rubric.criteria]]
id = "fast"
kind = "answer_within"
seconds = "15s"
[[rubric.criteria]]
id = "dispo"
kind = "disposition"
call = "known"
code = ["escalated", "ticket_opened"]
weight = 2.5
[[rubric.criteria]]
id = "xfer"
kind = "transferred_to"
call = "known"
to = "610"
label = "Sent to tier 2"
[[rubric.criteria]]
id = "ext"
kind = "transferred_to"
call = "known"
to = "2002"
[[rubric.criteria]]
id = "notes"
kind = "note_keywords"
keywords = ["VPN", "firmware"]
any = true
[[rubric.criteria]]
id = "ticket"
kind = "ticket_created"
call = "known"
category = "technical"
priority = "high"
"""
    )
    scenario = parse_scenario(text, "r.toml")
    assert scenario.difficulty == "hard"
    rubric = scenario.rubric
    assert rubric is not None
    assert rubric.pass_mark == 75.5
    assert rubric.total_weight == 1 + 2.5 + 1 + 1 + 1 + 1
    fast, dispo, xfer, ext, notes, ticket = rubric.criteria
    assert fast.calls == ("known", "stranger")  # no `call`: every scripted call
    assert (fast.seconds, fast.weight, fast.label) == (15.0, 1.0, "Answered within 15 s of ringing")
    assert dispo.calls == ("known",) and dispo.codes == ("escalated", "ticket_opened")
    assert xfer.label == "Sent to tier 2"
    assert set(xfer.targets) == {"610", "tier2"}  # a queue by extension also matches its name
    assert ext.targets == ("2002",)
    assert notes.keywords == ("VPN", "firmware") and notes.any_keyword
    assert (ticket.category, ticket.priority) == ("technical", "high")


def test_inline_criteria_are_accepted_and_located() -> None:
    text = scenario_with(
        "[rubric]\ncriteria = [\n"
        '  { id = "a", kind = "not_abandoned" },\n'
        '  { id = "b", kind = "hold_at_most", seconds = -3 },\n'
        "]\n"
    )
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "inline.toml")
    assert str(info.value).startswith(f"inline.toml:{BASE_LINES + 4}:")
    assert "bad duration" in str(info.value)


CRIT = '[rubric]\n[[rubric.criteria]]\nid = "a"\n'  # next line: BASE_LINES + 4
BAD_RUBRICS = [
    # (rubric text after BASE, line offset from the end of BASE, message fragment)
    (CRIT + 'kind = "vibes"\n', 4, "unknown kind 'vibes'"),
    (CRIT + 'kind = "not_abandoned"\ncolour = "red"\n', 5, "unknown key 'colour'"),
    (CRIT + 'kind = "answer_within"\nsecond = 10\n', 5, "unknown key 'second'"),
    (CRIT + 'kind = "not_abandoned"\nweight = 0\n', 5, "weight must be greater than 0"),
    (CRIT + 'kind = "not_abandoned"\nweight = -1\n', 5, "'weight' must be between"),
    (CRIT + 'kind = "not_abandoned"\nweight = "heavy"\n', 5, "'weight' must be a number"),
    (CRIT + 'kind = "not_abandoned"\ncall = "ghost"\n', 5, "no scripted call 'ghost'"),
    (CRIT + 'kind = "answer_within"\n', 2, "needs 'seconds'"),
    (CRIT + 'kind = "answer_within"\nseconds = "soon"\n', 5, "bad duration"),
    (CRIT + 'kind = "answer_within"\nseconds = 0\n', 5, "seconds must be a finite duration > 0"),
    (CRIT + 'kind = "wrapup_at_most"\nseconds = inf\n', 5, "finite"),
    (CRIT + 'kind = "disposition"\ncode = "Resolved!"\n', 5, "disposition code"),
    (CRIT + 'kind = "disposition"\ncode = []\n', 5, "disposition code"),
    (CRIT + 'kind = "ticket_created"\ncategory = ""\n', 5, "'category' must be 1 to 40"),
    (
        CRIT + 'kind = "ticket_created"\ncategory = "billing"\npriority = "asap"\n',
        6,
        "unknown priority 'asap'",
    ),
    (CRIT + 'kind = "followup_created"\nfollowup = "email"\n', 5, "unknown followup 'email'"),
    (
        CRIT + 'kind = "identity"\ncall = "known"\noutcome = "customer_created"\n',
        6,
        "known customer (use 'confirmed')",
    ),
    (CRIT + 'kind = "identity"\noutcome = "confirmed"\n', 5, "call 'stranger'"),
    (CRIT + 'kind = "note_keywords"\nkeywords = []\n', 5, "non-empty list"),
    (CRIT + 'kind = "note_keywords"\nkeywords = ["ok", 3]\n', 5, "non-empty list"),
    (CRIT + 'kind = "note_keywords"\nkeywords = ["ok"]\nany = "yes"\n', 6, "true or false"),
    (CRIT + 'kind = "transferred_to"\nto = "nowhere"\n', 5, "neither a queue"),
    (CRIT + 'kind = "not_abandoned"\nid2 = 1\n', 5, "unknown key 'id2'"),
    (
        CRIT + 'kind = "not_abandoned"\n[[rubric.criteria]]\nid = "a"\nkind = "not_abandoned"\n',
        6,
        "duplicate criterion id 'a'",
    ),
    ('[rubric]\n[[rubric.criteria]]\nkind = "not_abandoned"\n', 2, "needs 'id'"),
    ('[rubric]\n[[rubric.criteria]]\nid = "a b"\nkind = "not_abandoned"\n', 3, "id must be"),
    ("[rubric]\npass_mark = 120\n", 2, "'pass_mark' must be between 0 and 100"),
    ('[rubric]\npass_mark = "high"\n', 2, "'pass_mark' must be a number"),
    ("[rubric]\npass_mark = 70\n", 1, "at least one [[rubric.criteria]]"),
    ("[rubric]\ncolour = 1\n", 2, "unknown key 'colour'"),
]


@pytest.mark.parametrize(("rubric", "offset", "message"), BAD_RUBRICS)
def test_bad_rubrics_report_file_and_line(
    tmp_path: Path, rubric: str, offset: int, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(scenario_with(rubric), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value).startswith(f"{path}:{BASE_LINES + offset}:"), str(info.value)
    assert message in str(info.value)


OTHER_BAD = [
    ('difficulty = "brutal"\n' + BASE, 1, "difficulty must be one of easy, medium, hard"),
    (
        '[[queues]]\nname = "q"\n[rubric]\n[[rubric.criteria]]\nid = "a"\nkind = "not_abandoned"\n',
        3,
        "add [[calls]]",
    ),
    (
        '[[queues]]\nname = "q"\n[[calls]]\nid = "x"\nqueue = "q"\n'
        '[[calls]]\nid = "x"\nqueue = "q"\n',
        7,
        "duplicate call id 'x'",
    ),
]


@pytest.mark.parametrize(("text", "line", "message"), OTHER_BAD)
def test_bad_difficulty_lonely_rubric_and_duplicate_calls_are_located(
    text: str, line: int, message: str
) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "s.toml")
    assert str(info.value).startswith(f"s.toml:{line}:"), str(info.value)
    assert message in str(info.value)


def test_a_notes_keyword_may_list_phrasings() -> None:
    """["twice", "double charged"] is one keyword any of whose phrasings counts."""
    from callkit.scenario import load_scenario

    scenario = load_scenario("platinum_billing_dispute")
    assert scenario.rubric is not None
    (notes,) = [c for c in scenario.rubric.criteria if c.kind == "note_keywords"]
    assert notes.keywords[0].split("|")[:2] == ["twice", "double charged"]
    assert notes.keywords[1] == "refund"
