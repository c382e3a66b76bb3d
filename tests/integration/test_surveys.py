"""Survey answers stored per campaign, customer and question; counted per campaign."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from console.db import Database
from console.models import AuditLog, SurveyAnswer
from console.services.outbound.campaigns import CampaignService, load_campaign_file
from console.services.outbound.surveys import SurveyError, SurveyService
from tests.integration.test_campaign_pop import NOW, crm

FILE = """\
name = "NPS"
purpose = "survey"
mode = "preview"
queue = "outbound"
segment = { tiers = ["gold", "iron"] }

[[script.questions]]
id = "happy"
text = "Happy?"
kind = "yes_no"

[[script.questions]]
id = "channel"
text = "How should we reach you?"
kind = "choice"
choices = ["Phone", "Email"]

[[script.questions]]
id = "why"
text = "Anything else?"
"""


async def test_answers_are_stored_replaced_and_counted(db: Database) -> None:
    _agent, gold, iron = await crm(db)
    campaign = await CampaignService(db, clock=lambda: NOW).create(
        load_campaign_file("nps.toml", FILE), agent_id=None
    )
    surveys = SurveyService(db, clock=lambda: NOW)
    assert await surveys.record(campaign, gold, {"happy": "Y", "channel": "email"}) == 2
    assert await surveys.record(campaign, iron, {"happy": "n", "why": "Too slow"}) == 2
    # Asked again: the new answer replaces the old one, the customer counts once.
    await surveys.record(campaign, gold, {"happy": "no"})
    results = {r.id: r for r in await surveys.results(campaign)}
    assert results["happy"].answered == 2 and results["happy"].answers == (("no", 2),)
    assert results["channel"].answers == (("Email", 1),)
    assert results["why"].answered == 1 and results["why"].answers == ()  # text: counted
    async with db.session() as conn:
        audited = (await conn.scalars(select(AuditLog.action))).all()
        stored = (await conn.execute(select(SurveyAnswer.question, SurveyAnswer.answer))).all()
    assert audited.count("survey") == 3
    assert sorted(stored) == [("channel", "Email"), ("happy", "no"), ("happy", "no"),
                              ("why", "Too slow")]  # fmt: skip


@pytest.mark.parametrize(
    ("answers", "message"),
    [({"happy": "maybe"}, "'maybe' is not an answer to 'happy'"),
     ({"colour": "red"}, "no question 'colour'"),
     ({"channel": "Fax"}, "'Fax' is not an answer")],
)  # fmt: skip
async def test_a_wrong_answer_is_refused_and_nothing_is_stored(
    db: Database, answers: dict[str, str], message: str
) -> None:
    _agent, gold, _iron = await crm(db)
    campaign = await CampaignService(db, clock=lambda: NOW).create(
        load_campaign_file("nps.toml", FILE), agent_id=None
    )
    with pytest.raises(SurveyError, match=message):
        await SurveyService(db).record(campaign, gold, {"happy": "yes", **answers})
    async with db.session() as conn:
        assert (await conn.scalars(select(SurveyAnswer.id))).all() == []
