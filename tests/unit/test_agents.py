"""The agent directory: log in with scrypt passwords, identity with interface and skills."""

from __future__ import annotations

import pytest

from console.db import Database
from console.models import Agent, AgentSkill
from console.models.enums import Role
from console.services.audit import AuditLog
from console.services.crm.agents import (
    NOT_READY_REASONS,
    AgentDirectory,
    not_ready_reason,
)
from console.services.crm.passwords import hash_password


@pytest.fixture
async def agents(db: Database) -> dict[str, int]:
    fast = {"n": 2**4}  # cheap hashes keep the test fast; verify reads n from the hash
    async with db.write() as s:
        ann = Agent(
            login="ann",
            display_name="Ann Agent",
            extension="1001",
            interface="PJSIP/1001",
            team="support",
            password_hash=hash_password("s3cret", **fast),
        )
        sue = Agent(
            login="sue",
            display_name="Sue \x1b[31mSupervisor",
            role=Role.SUPERVISOR,
            password_hash=hash_password("boss", **fast),
        )
        gone = Agent(
            login="gone",
            display_name="Gone",
            active=False,
            password_hash=hash_password("x", **fast),
        )
        nopass = Agent(login="nopass", display_name="No Password")
        s.add_all([ann, sue, gone, nopass])
        await s.flush()
        s.add_all(
            [
                AgentSkill(agent_id=ann.id, skill="support", level=7),
                AgentSkill(agent_id=ann.id, skill="billing", level=2),
            ]
        )
        return {"ann": ann.id, "sue": sue.id}


async def test_login_gives_the_identity(db: Database, agents: dict[str, int]) -> None:
    directory = AgentDirectory(db)
    ann = await directory.authenticate(" ann ", "s3cret")
    assert ann is not None and ann.id == agents["ann"]
    assert (ann.role, ann.interface, ann.member_name, ann.extension) == (
        Role.AGENT,
        "PJSIP/1001",
        "Ann Agent",
        "1001",
    )
    assert [(s.skill, s.level) for s in ann.skills] == [("billing", 2), ("support", 7)]
    assert ann.skill_level("support") == 7 and ann.skill_level("vip") == 0
    assert await directory.get(agents["ann"]) == ann
    sue = await directory.get(agents["sue"])
    assert sue is not None and sue.is_supervisor and sue.display_name == "Sue Supervisor"


@pytest.mark.parametrize(
    ("login", "password"),
    [
        ("ann", "wrong"),
        ("nobody", "s3cret"),
        ("gone", "x"),  # deactivated
        ("nopass", ""),  # no password set: can't log in
        ("", ""),
        ("a" * 10_000, "x"),
        ("ann", "p" * 1_000_000),
        ("ann\x1b[31m", "s3cret\x00"),
    ],
)
async def test_bad_logins_get_none(
    db: Database, agents: dict[str, int], login: str, password: str
) -> None:
    assert await AgentDirectory(db).authenticate(login, password) is None


async def test_unknown_ids_get_none(db: Database, agents: dict[str, int]) -> None:
    directory = AgentDirectory(db)
    assert await directory.get(999) is None
    assert await directory.get(2**70) is None
    assert await directory.get(-1) is None


def test_not_ready_reasons() -> None:
    assert [r.code for r in NOT_READY_REASONS] == ["break", "lunch", "training", "coaching", "acw"]
    reason = not_ready_reason("acw")
    assert reason is not None and reason.label == "After-call work"
    assert not_ready_reason("nap") is None


async def test_audit_refuses_an_unknown_actor(db: Database, agents: dict[str, int]) -> None:
    from console.services.audit import AuditError

    audit = AuditLog(db)
    await audit.record(agents["ann"], "view", "customer", 5, {"context": "screen_pop"})
    with pytest.raises(AuditError, match="agent 999 does not exist"):
        await audit.record(999, "view", "customer", 5)
    assert len(await audit.for_entity("customer", 5)) == 1
