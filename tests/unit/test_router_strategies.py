"""Who gets a follow-up: the assignment strategies, on a hand-built staff (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from console.models.enums import Role
from console.services.routing.router import Router, Staff, StaffMember
from console.services.routing.routing_rules import (
    FollowUpFacts,
    RetryPolicy,
    RouteDecision,
    RuleSet,
    Strategy,
    Target,
)

NOW = datetime(2026, 11, 2, 10, tzinfo=UTC)
SUPPORT, BILLING = 1, 2


def member(
    n: int,
    *,
    skills: dict[str, int] | None = None,
    available: bool = True,
    load: int = 0,
    routed_ago: int | None = None,
    role: Role = Role.AGENT,
    team: str = "Red",
) -> StaffMember:
    return StaffMember(
        id=n,
        name=f"A{n}",
        role=role,
        team=team,
        skills=skills if skills is not None else {"support": 5},
        available=available,
        load=load,
        last_routed_at=None if routed_ago is None else NOW - timedelta(minutes=routed_ago),
    )


def staff(*members: StaffMember) -> Staff:
    return Staff(
        members={m.id: m for m in members},
        queue_ids={"support": SUPPORT, "billing": BILLING},
        queue_needs={SUPPORT: [("support", 1)], BILLING: [("billing", 1)]},
    )


def decision(target: Target, strategy: Strategy = "least_loaded") -> RouteDecision:
    return RouteDecision(
        rule="r",
        source="rules.toml:1",
        target=target,
        strategy=strategy,
        priority=3,
        due_in=timedelta(hours=1),
        retry=RetryPolicy(),
        escalation=(),
        reasons=("matches everything",),
    )


FACTS = FollowUpFacts(kind="callback", priority=3, at=NOW, account_owner_id=7, handled_by_id=3)
ROUTER = Router(None, RuleSet(), clock=lambda: NOW)  # type: ignore[arg-type]  # assign only


def assign(team: Staff, target: Target, strategy: Strategy, last_served: int | None = None):  # type: ignore[no-untyped-def]
    return ROUTER.assign(1, decision(target, strategy), FACTS, last_served, team, NOW)


@pytest.mark.parametrize(
    ("strategy", "members", "last_served", "expected"),
    [
        # least loaded: fewest open items; ties to the lower id
        ("least_loaded", [member(1, load=4), member(2, load=1), member(3, load=2)], None, 2),
        ("least_loaded", [member(1, load=1), member(2, load=1)], None, 1),
        # round robin: given work longest ago; never-routed first
        ("round_robin", [member(1, routed_ago=5), member(2, routed_ago=50)], None, 2),
        ("round_robin", [member(1, routed_ago=5), member(2)], None, 2),
        # best skill: highest level in the queue's skills, then least loaded
        (
            "best_skill",
            [member(1, skills={"support": 3}), member(2, skills={"support": 9}, load=5)],
            None,
            2,
        ),
        # sticky: the agent who last served the customer, when available
        ("sticky", [member(1), member(2, load=3)], 2, 2),
        ("sticky", [member(1), member(2, available=False)], 2, 1),  # away: least loaded
        ("sticky", [member(1, load=2), member(2, load=1)], None, 2),  # never served: ditto
        # unavailable and ineligible agents are never chosen
        ("least_loaded", [member(1, available=False), member(2, load=9)], None, 2),
        ("least_loaded", [member(1, skills={"billing": 5}), member(2, load=9)], None, 2),
        ("least_loaded", [member(1, role=Role.SUPERVISOR), member(2, load=9)], None, 2),
    ],
)
def test_strategies_choose(
    strategy: Strategy, members: list[StaffMember], last_served: int | None, expected: int
) -> None:
    routed = assign(staff(*members), Target(queue="support"), strategy, last_served)
    assert routed.agent_id == expected
    assert routed.queue_id == SUPPORT and not routed.agent_only


def test_nobody_available_leaves_it_to_the_pool() -> None:
    routed = assign(staff(member(1, available=False)), Target(queue="support"), "least_loaded")
    assert routed.agent_id is None and routed.eligible == 1
    assert "nobody available" in routed.why


def test_each_assignment_counts_towards_the_next() -> None:
    team = staff(member(1), member(2))
    picks = [assign(team, Target(queue="support"), "least_loaded").agent_id for _ in range(4)]
    assert picks == [1, 2, 1, 2]


def test_skill_targets_need_the_level() -> None:
    team = staff(member(1, skills={"zh": 3}), member(2, skills={"zh": 7}, load=5))
    routed = assign(team, Target(skill="zh", min_level=5), "least_loaded")
    assert (routed.agent_id, routed.eligible) == (2, 1)


def test_account_owner_only_waits_for_them_even_away() -> None:
    team = staff(member(1), member(7, available=False))
    routed = assign(team, Target(agent="account_owner", agent_only=True), "least_loaded")
    assert (routed.agent_id, routed.agent_only) == (7, True)


def test_account_owner_preferred_falls_back_to_the_pool_when_away() -> None:
    team = staff(member(1), member(7, available=False))
    target = Target(agent="account_owner", queue="support")
    assert assign(team, target, "least_loaded").agent_id == 1
    team.members[7].available = True
    routed = assign(team, target, "least_loaded")
    assert (routed.agent_id, routed.agent_only) == (7, False)


def test_team_lead_is_the_supervisor_of_the_agent_who_took_the_call() -> None:
    team = staff(
        member(3, team="Blue"),
        member(20, role=Role.SUPERVISOR, team="Red"),
        member(21, role=Role.SUPERVISOR, team="Blue"),
    )
    routed = assign(team, Target(role="team_lead"), "least_loaded")
    assert (routed.agent_id, routed.agent_only) == (21, True)
    routed = assign(team, Target(role="supervisor"), "least_loaded")
    assert routed.agent_id in (20, 21) and routed.agent_only
