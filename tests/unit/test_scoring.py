"""Scoring a trainee against a rubric: each criterion kind passes and fails as a trainer expects
(limits inclusive), weights make the total, a flawless run scores 100 on every shipped rubric, a
sloppy one loses exactly what it got wrong, and the exports are faithful and inert."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from callkit.scenario import Criterion, Rubric, load_scenario, shipped_scenarios
from console.services.training.scoring import (
    CreatedFollowUp,
    CreatedTicket,
    ScoreCard,
    TraineeCall,
    TraineeRun,
    score,
)

T0 = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)  # the call rings at the trainee's phone


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def crit(kind: str, **params: Any) -> Criterion:
    params.setdefault("calls", ("c1",))
    return Criterion(id=params.pop("id", kind), kind=kind, label=kind, **params)


def handled(**changes: Any) -> TraineeCall:
    """A call the trainee answered after 5 s and wrapped up, changed by `changes`."""
    base = TraineeCall(
        call_id="c1",
        offered_at=T0,
        answered_at=at(5),
        ended_at=at(300),
        wrapped_at=at(330),
        hold_seconds=0.0,
        wrapup_seconds=30.0,
    )
    return replace(base, **changes)


def run_of(*calls: TraineeCall) -> TraineeRun:
    return TraineeRun(scenario="s", trainee="Ann", started_at=T0, calls=calls)


def judge(criterion: Criterion, call: TraineeCall) -> tuple[bool, str]:
    card = score(Rubric((criterion,)), run_of(call))
    (result,) = card.results
    return result.passed, result.evidence


BILLING = CreatedTicket("billing", "normal", at(120))
CASES: list[tuple[str, Criterion, dict[str, Any], bool, str]] = [
    # id, criterion, changes to the handled call, passes?, evidence contains
    ("dispo-ok", crit("disposition", codes=("resolved",)), {"disposition": "resolved"}, True,
     "disposition resolved at 10:05:30 (wanted resolved)"),
    ("dispo-any-of", crit("disposition", codes=("escalated", "ticket_opened")),
     {"disposition": "ticket_opened"}, True, "wanted escalated or ticket_opened"),
    ("dispo-wrong", crit("disposition", codes=("escalated",)), {"disposition": "resolved"}, False,
     "disposition resolved at 10:05:30 (wanted escalated)"),
    ("dispo-none", crit("disposition", codes=("resolved",)), {}, False, "no disposition saved"),
    ("ticket-ok", crit("ticket_created", category="billing"), {"tickets": (BILLING,)}, True,
     "opened a billing (normal) ticket at 10:02:00"),
    ("ticket-case", crit("ticket_created", category="Billing"),
     {"tickets": (replace(BILLING, category=" billing "),)}, True, "opened a"),
    ("ticket-priority-low", crit("ticket_created", category="billing", priority="high"),
     {"tickets": (BILLING,)}, False, "none is billing, priority high or higher"),
    ("ticket-priority-above", crit("ticket_created", category="billing", priority="high"),
     {"tickets": (replace(BILLING, priority="urgent"),)}, True, "billing (urgent)"),
    ("ticket-other-category", crit("ticket_created", category="technical"),
     {"tickets": (BILLING,)}, False, "opened billing (normal) at 10:02:00; none is technical"),
    ("ticket-none", crit("ticket_created", category="billing"), {}, False,
     "no ticket opened (wanted billing)"),
    ("followup-ok", crit("followup_created", followup="callback"),
     {"followups": (CreatedFollowUp("callback", at(200), queue="support"),)}, True,
     "callback follow-up routed to queue support at 10:03:20"),
    ("followup-routed-queue", crit("followup_created", followup="escalation", routed_to="tier2"),
     {"followups": (CreatedFollowUp("escalation", at(200), queue="tier2", skill="support"),)},
     True, "routed to queue tier2 with skill support"),
    ("followup-routed-skill", crit("followup_created", followup="escalation", routed_to="support"),
     {"followups": (CreatedFollowUp("escalation", at(200), queue="tier2", skill="support"),)},
     True, "escalation follow-up"),
    ("followup-misrouted", crit("followup_created", followup="callback", routed_to="vip"),
     {"followups": (CreatedFollowUp("callback", at(200), queue="support"),)}, False,
     "routed to queue support at 10:03:20, not to vip"),
    ("followup-unrouted", crit("followup_created", followup="task", routed_to="vip"),
     {"followups": (CreatedFollowUp("task", at(200)),)}, False, "task follow-up not routed"),
    ("followup-other-kind", crit("followup_created", followup="callback"),
     {"followups": (CreatedFollowUp("task", at(200)),)}, False,
     "no callback follow-up created (created: task at 10:03:20)"),
    ("identity-confirmed", crit("identity", outcome="confirmed"),
     {"customer_id": 7, "customer_name": "Ada", "customer_matches_caller": True,
      "identified_at": at(8)}, True, "confirmed customer #7 Ada (the caller) at 10:00:08"),
    ("identity-wrong-person", crit("identity", outcome="confirmed"),
     {"customer_id": 9, "customer_name": "Bob", "identified_at": at(8)}, False,
     "linked customer #9 Bob at 10:00:08, who is not the caller"),
    ("identity-duplicate", crit("identity", outcome="confirmed"),
     {"customer_id": 12, "customer_created": True, "customer_matches_caller": True}, False,
     "instead of confirming"),
    ("identity-nobody", crit("identity", outcome="confirmed"), {}, False,
     "no customer linked to the call"),
    ("identity-created", crit("identity", outcome="customer_created"),
     {"customer_id": 12, "customer_name": "Linus", "customer_created": True,
      "identified_at": at(40)}, True, "created customer #12 Linus at 10:00:40"),
    ("identity-not-created", crit("identity", outcome="customer_created"),
     {"customer_id": 3, "customer_name": "Al"}, False, "linked existing customer #3 Al"),
    ("answer-inside", crit("answer_within", seconds=10.0), {"answered_at": at(7)}, True,
     "answered after 7 s (limit 10 s) at 10:00:07"),
    ("answer-boundary", crit("answer_within", seconds=10.0), {"answered_at": at(10)}, True,
     "answered after 10 s (limit 10 s)"),
    ("answer-late", crit("answer_within", seconds=10.0), {"answered_at": at(10.001)}, False,
     "answered after 10.01 s (limit 10 s)"),
    ("answer-abandoned", crit("answer_within", seconds=10.0),
     {"answered_at": None, "ended_at": at(42), "abandoned": True, "wrapped_at": None}, False,
     "never answered: rang at 10:00:00, the caller hung up 42 s later"),
    ("hold-boundary", crit("hold_at_most", seconds=30.0), {"hold_seconds": 30.0}, True,
     "on hold 30 s in total (limit 30 s), call ended at 10:05:00"),
    ("hold-over", crit("hold_at_most", seconds=30.0), {"hold_seconds": 31.5}, False,
     "on hold 31.5 s in total (limit 30 s)"),
    ("hold-zero", crit("hold_at_most", seconds=0.0), {}, True, "on hold 0 s"),
    ("hold-unanswered", crit("hold_at_most", seconds=30.0), {"answered_at": None}, False,
     "never answered by the trainee (rang at 10:00:00)"),
    ("wrap-boundary", crit("wrapup_at_most", seconds=60.0), {"wrapup_seconds": 60.0}, True,
     "wrapped up in 60 s (limit 60 s) at 10:05:30"),
    ("wrap-over", crit("wrapup_at_most", seconds=60.0), {"wrapup_seconds": 61.0}, False,
     "wrapped up in 61 s (limit 60 s)"),
    ("wrap-unfinished", crit("wrapup_at_most", seconds=60.0),
     {"wrapup_seconds": None, "wrapped_at": None}, False,
     "wrap-up never finished (call ended at 10:05:00)"),
    ("notes-all", crit("note_keywords", keywords=("refund", "Twice")),
     {"notes": "Charged TWICE; refund promised"}, True,
     'notes saved at 10:05:30 mention "refund", "Twice"'),
    ("notes-substring", crit("note_keywords", keywords=("refund",)),
     {"notes": "Refunded the fee"}, True, 'mention "refund"'),
    ("notes-missing", crit("note_keywords", keywords=("refund", "twice")),
     {"notes": "charged twice"}, False, 'mention "twice", missing "refund"'),
    ("notes-any", crit("note_keywords", keywords=("vpn", "bgp"), any_keyword=True),
     {"notes": "BGP session flaps"}, True, 'mention "bgp", missing "vpn"'),
    ("notes-any-none", crit("note_keywords", keywords=("vpn", "bgp"), any_keyword=True),
     {"notes": "customer upset"}, False, "mention none of the keywords"),
    ("notes-empty", crit("note_keywords", keywords=("x",)), {"notes": "  "}, False,
     "no notes written"),
    # A keyword may be several phrasings (the rubric's ["twice", "double charged"]).
    ("notes-phrasing", crit("note_keywords", keywords=("twice|double charged", "refund")),
     {"notes": "Customer was double charged; refund today"}, True,
     'mention "twice or double charged", "refund"'),
    ("notes-no-phrasing", crit("note_keywords", keywords=("twice|double charged", "refund")),
     {"notes": "charged once; refund"}, False, 'missing "twice or double charged"'),
    ("transfer-ext", crit("transferred_to", targets=("tier2", "610")),
     {"transferred_to": "610", "transferred_at": at(90)}, True, "transferred to 610 at 10:01:30"),
    ("transfer-name", crit("transferred_to", targets=("tier2", "610")),
     {"transferred_to": "tier2"}, True, "transferred to tier2"),
    ("transfer-wrong", crit("transferred_to", targets=("tier2", "610")),
     {"transferred_to": "600", "transferred_at": at(90)}, False,
     "transferred to 600 at 10:01:30 (wanted tier2)"),
    ("transfer-none", crit("transferred_to", targets=("tier2", "610")), {}, False,
     "not transferred (wanted tier2)"),
    ("kept", crit("not_abandoned"), {}, True, "answered at 10:00:05"),
    ("abandoned", crit("not_abandoned"),
     {"answered_at": None, "ended_at": at(12), "abandoned": True}, False,
     "the caller hung up 12 s later"),
    ("rang-out", crit("not_abandoned"), {"answered_at": None, "ended_at": at(15)}, False,
     "never answered by the trainee"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("criterion", "changes", "passes", "evidence"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_each_criterion_kind_passes_and_fails_with_evidence(
    criterion: Criterion, changes: dict[str, Any], passes: bool, evidence: str
) -> None:
    passed, said = judge(criterion, handled(**changes))
    assert passed is passes, said
    assert evidence in said


@pytest.mark.parametrize("kind", sorted({case[1].kind for case in CASES}))
def test_a_call_that_never_reached_the_trainee_fails_every_kind(kind: str) -> None:
    criterion = next(case[1] for case in CASES if case[1].kind == kind and case[3])
    card = score(Rubric((criterion,)), run_of())
    assert not card.results[0].passed
    assert card.results[0].evidence == "the call never reached the trainee"
    assert card.total == 0.0


def test_a_criterion_without_a_call_must_hold_on_every_call() -> None:
    criterion = crit("answer_within", seconds=10.0, calls=("c1", "c2"))
    quick = handled(answered_at=at(4))
    slow = replace(handled(answered_at=at(14)), call_id="c2")
    card = score(Rubric((criterion,)), run_of(quick, slow))
    (result,) = card.results
    assert not result.passed
    assert result.evidence == (
        "c1: answered after 4 s (limit 10 s) at 10:00:04; "
        "c2: answered after 14 s (limit 10 s) at 10:00:14"
    )
    assert result.at == at(14)
    fixed = score(Rubric((criterion,)), run_of(quick, replace(slow, answered_at=at(9))))
    assert fixed.results[0].passed


def test_weights_make_the_total_and_the_pass_mark_decides() -> None:
    criteria = (
        crit("not_abandoned", id="a", weight=1.0),
        crit("disposition", id="b", weight=2.0, codes=("resolved",)),
        crit("hold_at_most", id="c", weight=3.0, seconds=10.0),
    )
    call = handled(disposition="wrong_number")  # passes a and c, fails b
    card = score(Rubric(criteria, pass_mark=66.7), run_of(call))
    assert [r.passed for r in card.results] == [True, False, True]
    assert card.total == 66.7  # 4 / 6 = 66.67 → 66.7
    assert card.passed  # the total equals the pass mark
    assert not score(Rubric(criteria, pass_mark=66.8), run_of(call)).passed


def test_totals_round_half_up_to_one_decimal() -> None:
    criteria = (
        crit("not_abandoned", id="a", weight=1.0),
        crit("disposition", id="b", weight=15.0, codes=("resolved",)),
    )
    card = score(Rubric(criteria), run_of(handled()))
    assert card.total == 6.3  # 1 / 16 = 6.25 %
    assert not card.passed


def test_evidence_times_follow_the_requested_zone() -> None:
    criterion = crit("answer_within", seconds=10.0)
    card = score(
        Rubric((criterion,)), run_of(handled(answered_at=at(7))), tz=timezone(timedelta(hours=8))
    )
    assert card.results[0].evidence.endswith("at 18:00:07")


# ---------------------------------------------------------------- shipped rubrics


def flawless(rubric: Rubric, call_id: str, offered: datetime) -> TraineeCall:
    """What a trainee who does everything right on `call_id` leaves behind, read off the
    rubric itself (limits met exactly, to exercise the boundaries)."""
    mine = [c for c in rubric.criteria if call_id in c.calls]

    def limit(kind: str, default: float) -> float:
        return min((c.seconds for c in mine if c.kind == kind), default=default)

    wait, hold, wrap = (
        limit("answer_within", 5),
        limit("hold_at_most", 0),
        limit("wrapup_at_most", 30),
    )
    answered = offered + timedelta(seconds=wait)
    ended = answered + timedelta(minutes=4)
    codes = [set(c.codes) for c in mine if c.kind == "disposition"]
    outcomes = {c.outcome for c in mine if c.kind == "identity"}
    targets = [c.targets for c in mine if c.kind == "transferred_to"]
    return TraineeCall(
        call_id=call_id,
        offered_at=offered,
        answered_at=answered,
        ended_at=ended,
        wrapped_at=ended + timedelta(seconds=wrap),
        hold_seconds=hold,
        wrapup_seconds=wrap,
        disposition=sorted(set.intersection(*codes))[0] if codes else "resolved",
        notes="Summary: "
        + " ".join(k for c in mine if c.kind == "note_keywords" for k in c.keywords),
        customer_id=42,
        customer_name="Caller",
        customer_created="customer_created" in outcomes,
        customer_matches_caller=True,
        identified_at=answered + timedelta(seconds=10),
        tickets=tuple(
            CreatedTicket(c.category, c.priority or "normal", answered + timedelta(minutes=1))
            for c in mine
            if c.kind == "ticket_created"
        ),
        followups=tuple(
            CreatedFollowUp(c.followup, answered + timedelta(minutes=2), queue=c.routed_to or None)
            for c in mine
            if c.kind == "followup_created"
        ),
        transferred_to=targets[0][-1] if targets else "",
        transferred_at=ended if targets else None,
    )


def flawless_run(name: str) -> tuple[Rubric, TraineeRun]:
    scenario = load_scenario(name)
    assert scenario.rubric is not None
    calls = tuple(
        flawless(scenario.rubric, call.id, T0 + timedelta(seconds=call.at))
        for call in scenario.calls
    )
    return scenario.rubric, TraineeRun(name, "Ann", T0, calls)


RUBRICS = [name for name in shipped_scenarios() if load_scenario(name).rubric is not None]


def test_the_training_scenarios_have_rubrics() -> None:
    assert set(RUBRICS) >= {
        "angry_repeat_caller",
        "callback_request",
        "platinum_billing_dispute",
        "transfer_to_tier2",
        "unknown_caller",
    }


@pytest.mark.parametrize("name", RUBRICS)
def test_a_flawless_run_scores_100_on_every_shipped_rubric(name: str) -> None:
    rubric, run = flawless_run(name)
    card = score(rubric, run)
    failed = [(r.id, r.evidence) for r in card.results if not r.passed]
    assert failed == []
    assert card.total == 100.0 and card.passed


@pytest.mark.parametrize("name", RUBRICS)
def test_a_sloppy_run_loses_exactly_what_it_got_wrong(name: str) -> None:
    """A slow answer and a wrong disposition on the first call fail those criteria only."""
    rubric, run = flawless_run(name)
    first = run.calls[0]
    sloppy = replace(
        first,
        answered_at=first.offered_at + timedelta(minutes=5),
        disposition="wrong_number",
    )
    card = score(rubric, replace(run, calls=(sloppy, *run.calls[1:])))
    expected = {
        c.id
        for c in rubric.criteria
        if first.call_id in c.calls and c.kind in ("answer_within", "disposition")
    }
    assert expected
    assert {r.id for r in card.results if not r.passed} == expected
    lost = sum(c.weight for c in rubric.criteria if c.id in expected)
    assert card.total == round(100 * (1 - lost / rubric.total_weight), 1)


def test_sloppy_platinum_dispute_by_hand() -> None:
    rubric, run = flawless_run("platinum_billing_dispute")
    (call,) = run.calls
    sloppy = replace(
        call, answered_at=call.offered_at + timedelta(seconds=25), disposition="resolved"
    )
    card = score(rubric, replace(run, calls=(sloppy,)))
    failed = {r.id: r.evidence for r in card.results if not r.passed}
    assert failed == {
        "answer": "answered after 25 s (limit 10 s) at 10:02:25",
        "disposition": "disposition resolved at 10:07:10 (wanted escalated)",
    }
    # Weights: answer 1, identity 2, hold 1, ticket 2, escalation 2, disposition 1, notes 1,
    # wrap-up 1 = 11; losing 1 + 1 leaves 9 / 11 = 81.8 %, above the pass mark of 80.
    assert card.total == 81.8
    assert card.passed


# ---------------------------------------------------------------- exports

HOSTILE = "\x1b[31mRED\x1b[0m [bold]x[/] | <script>*a*</script> `rm` _u_ \u202eevil\x07\r\nline2"


def hostile_card() -> ScoreCard:
    criteria = (
        crit("note_keywords", id="notes", keywords=("refund",)),
        crit("identity", id="who", outcome="confirmed", weight=2.0),
    )
    call = handled(
        notes=HOSTILE,
        customer_id=5,
        customer_name="Mallory [link](http://x) \u202e",
        customer_matches_caller=False,
        identified_at=at(9),
    )
    run = TraineeRun(
        scenario="s_[x]", trainee="Eve | \x1b]0;pwned\x07", started_at=T0, calls=(call,)
    )
    return score(Rubric(criteria), run)


def terminal_safe(text: str) -> bool:
    return not any(
        (unicodedata.category(ch) == "Cc" and ch != "\n") or ch in "\u202e\u2028\u2029"
        for ch in text
    )


def test_json_round_trips_with_stable_keys_and_iso_times() -> None:
    rubric, run = flawless_run("transfer_to_tier2")
    card = score(rubric, run)
    text = card.to_json()
    assert ScoreCard.from_json(text) == card
    data = json.loads(text)
    assert list(data) == [
        "format",
        "version",
        "scenario",
        "trainee",
        "started_at",
        "pass_mark",
        "total",
        "passed",
        "criteria",
    ]
    assert list(data["criteria"][0]) == [
        "id",
        "kind",
        "label",
        "weight",
        "calls",
        "passed",
        "evidence",
        "at",
    ]
    assert data["started_at"] == "2024-05-01T10:00:00+00:00"
    assert datetime.fromisoformat(data["criteria"][0]["at"]) == card.results[0].at
    assert (data["total"], data["passed"]) == (100.0, True)
    assert card.to_json() == text  # deterministic


def test_from_json_refuses_what_is_not_a_score_card() -> None:
    for text in ("[]", "{}", '{"format": "callconsole-scorecard", "version": 1}', "nope"):
        with pytest.raises(ValueError, match="not a valid score card"):
            ScoreCard.from_json(text)


def test_control_characters_and_markup_in_notes_and_names_are_neutralised() -> None:
    card = hostile_card()
    notes, who = card.results
    assert not notes.passed and not who.passed
    for text in (notes.evidence, who.evidence, card.trainee, card.to_json()):
        assert terminal_safe(text)
    assert "RED [bold]x[/]" in notes.evidence  # cleaned, not rewritten
    assert "evil" in notes.evidence and "\u202e" not in notes.evidence
    assert ScoreCard.from_json(card.to_json()) == card

    md = card.to_markdown()
    assert terminal_safe(md)
    assert "<script>" not in md and "\\<script\\>" in md
    assert "\\[bold\\]" in md and "\\*a\\*" in md and "\\`rm\\`" in md and "\\_u\\_" in md
    assert "[link](http://x)" not in md
    assert "# Score card: s\\_\\[x\\]" in md
    assert "- Trainee: Eve \\|" in md
    # Every table row keeps its six cells: no unescaped pipe from the notes splits one.
    rows = [line for line in md.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == 2
    for row in rows:
        assert row.replace("\\|", "").count("|") == 7


def test_markdown_shows_every_criterion_and_the_verdict() -> None:
    rubric, run = flawless_run("platinum_billing_dispute")
    (call,) = run.calls
    card = score(rubric, replace(run, calls=(replace(call, disposition="resolved"),)))
    md = card.to_markdown()
    assert "- Pass mark: 80" in md
    assert f"**Total: {card.total:.1f} / 100 (PASSED)**" in md
    assert "| 6 | Disposition escalated (disposition) | platinum-dispute | 1 | **FAIL** |" in md
    assert md.count("| pass |") == len(rubric.criteria) - 1


def test_runs_refuse_two_records_of_one_call() -> None:
    with pytest.raises(ValueError, match="one TraineeCall per scripted call"):
        run_of(handled(), handled())
    with pytest.raises(ValueError, match="answered before it was offered"):
        handled(answered_at=at(-1))
