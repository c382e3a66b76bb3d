"""Campaign results (console/services/outbound/results.py) against a plain recount.

Random campaigns, agents, dials (every outcome, the ones that placed nothing too; connected
dials wrapped up with the campaign's codes, a code the campaign no longer has, or not yet) and
sales in two currencies are written; the report's figures by campaign, agent and hour, over
the whole data and over a period cut inside it, must equal what this file counts from the raw
tables read with sqlite3, with its own reading of each campaign's stored dispositions. Seeded:
each seed is one data set, the same on every run; several seeds, each a different mix.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, update

from console.db import Database
from console.models import Agent, Campaign, CampaignLead, DialAttempt, Sale
from console.services.outbound.results import CampaignResults, ResultsBy, to_csv, to_json
from tests.campaign_calls import SALES_FILE, sales_campaign

T0 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
OUTCOMES = ["connected"] * 6 + ["noanswer", "busy", "machine", "abandoned", "answer", "failed",
            "refused", "not_sent", "agent", ""]  # fmt: skip
ZONE = ZoneInfo("America/New_York")


async def random_dials(db: Database, rng: random.Random) -> None:
    """Two campaigns (the second with fewer codes than its dials carry), four agents, and
    200–400 dials with sales."""
    first = await sales_campaign(db, T0, customers=5)
    second_body = SALES_FILE.replace('name = "Winback"', 'name = "=Second"')
    async with db.write_connection() as conn:
        for login in ("ann", "bob", "cy"):
            await conn.execute(insert(Agent).values(login=login, display_name=login.title()))
        agents = list((await conn.scalars(select(Agent.id))).all())
    from console.services.outbound.campaigns import CampaignService, load_campaign_file

    service = CampaignService(db, clock=lambda: T0)
    second = await service.create(load_campaign_file("second.toml", second_body), agent_id=None)
    await service.start("=Second", agent_id=None)
    async with db.write_connection() as conn:
        rules = await conn.scalar(select(Campaign.rules).where(Campaign.id == second))
        kept = [d for d in rules["dispositions"] if d["code"] != "not_interested"]
        await conn.execute(
            update(Campaign)
            .where(Campaign.id == second)
            .values(rules={**rules, "dispositions": kept})
        )
        leads = (await conn.execute(select(CampaignLead.id, CampaignLead.campaign_id))).all()
        codes = ["", "sale", "not_interested", "callback", "wrong_party", "wrong_number",
                 "do_not_call", "survey_done"]  # fmt: skip
        for _ in range(rng.randint(200, 400)):
            lead, campaign = rng.choice(leads)
            outcome = rng.choice(OUTCOMES)
            placed = T0 + timedelta(seconds=rng.randint(0, 2 * 86_400))
            connected = outcome == "connected"
            disposition = rng.choice(codes) if connected else ""
            agent = rng.choice(agents) if connected and rng.random() < 0.95 else None
            attempt = await conn.scalar(
                insert(DialAttempt)
                .values(
                    campaign_id=campaign,
                    lead_id=lead,
                    e164="+14155550000",
                    placed_at=placed,
                    outcome=outcome,
                    connected_at=placed + timedelta(seconds=9) if connected else None,
                    agent_id=agent,
                    disposition=disposition,
                    abandoned=outcome == "abandoned",
                )
                .returning(DialAttempt.id)
            )
            if disposition == "sale" and rng.random() < 0.9:
                await conn.execute(
                    insert(Sale).values(
                        customer_id=first.customers[0],
                        campaign_id=campaign,
                        dial_attempt_id=attempt,
                        agent_id=agent,
                        amount_cents=rng.randint(1, 500_000),
                        currency=rng.choice(["USD", "USD", "EUR"]),
                        sold_at=placed + timedelta(minutes=5),
                    )
                )


def recount(path: Path, start: datetime, end: datetime) -> dict[str, dict[str, dict[str, Any]]]:
    """Every figure by campaign, agent and hour (New York), from the raw rows."""
    con = sqlite3.connect(path)
    try:
        flags: dict[tuple[int, str], dict[str, Any]] = {}
        names = {}
        for cid, name, rules in con.execute("SELECT id, name, rules FROM campaigns"):
            names[cid] = name
            for d in json.loads(rules)["dispositions"]:
                flags[(cid, d["code"])] = d
        agents = dict(con.execute("SELECT id, display_name FROM agents").fetchall())
        sales: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for attempt, cents, currency in con.execute(
            "SELECT dial_attempt_id, amount_cents, currency FROM sales"
        ):
            sales[attempt].append((cents, currency))
        dials = con.execute(
            "SELECT id, campaign_id, placed_at, agent_id, outcome, connected_at, disposition "
            "FROM dial_attempts"
        ).fetchall()
    finally:
        con.close()
    out: dict[str, dict[str, dict[str, Any]]] = {"campaign": {}, "agent": {}, "hour": {}}
    for did, cid, placed_us, agent, outcome, connected, disposition in dials:
        placed = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=placed_us)
        if not start <= placed < end or outcome in ("refused", "not_sent", "agent"):
            continue
        meaning = flags.get((cid, disposition), {}) if disposition else {}
        keys = {
            "campaign": names[cid],
            "agent": agents[agent] if agent is not None else "(no agent)",
            "hour": placed.astimezone(ZONE).strftime("%Y-%m-%d %H:00"),
        }
        for by, key in keys.items():
            row = out[by].setdefault(
                key,
                {"dialled": 0, "connected": 0, "wrapped": 0, "contacts": 0, "rpc": 0,
                 "sales": 0, "surveys": 0, "revenue": defaultdict(int)},
            )  # fmt: skip
            row["dialled"] += 1
            row["connected"] += connected is not None
            row["wrapped"] += bool(disposition)
            row["contacts"] += bool(meaning.get("contact", True)) if meaning else 0
            row["rpc"] += bool(meaning.get("right_party"))
            row["sales"] += bool(meaning.get("sale"))
            row["surveys"] += bool(meaning.get("survey_complete"))
            for cents, currency in sales.get(did, []):
                row["revenue"][currency] += cents
    return out


def figures(counts: Any) -> dict[str, Any]:
    return {
        "dialled": counts.dialled,
        "connected": counts.connected,
        "wrapped": counts.wrapped,
        "contacts": counts.contacts,
        "rpc": counts.right_party,
        "sales": counts.conversions,
        "surveys": counts.surveys,
        "revenue": dict(counts.revenue),
    }


def expected(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "revenue": dict(row["revenue"])}


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_the_results_equal_a_plain_recount_of_the_dials(db: Database, seed: int) -> None:
    assert db.sqlite_path is not None
    await random_dials(db, random.Random(seed))
    results = CampaignResults(db)
    rng = random.Random(seed * 7)
    cut = T0 + timedelta(seconds=rng.randint(3600, 86_400))
    periods = [(T0 - timedelta(days=1), T0 + timedelta(days=3)), (cut, cut + timedelta(hours=7))]
    for start, end in periods:
        counted = recount(db.sqlite_path, start, end)
        assert counted["campaign"], "the period holds dials"
        for by in ResultsBy:
            report = await results.report(by, start, end, tz=ZONE)
            got = {r.key: figures(r.counts) for r in report.rows}
            assert got == {k: expected(v) for k, v in counted[by.value].items()}, by
            total = figures(report.total.counts)
            assert total["dialled"] == sum(v["dialled"] for v in counted[by.value].values())
            # The rates are the docs' formulas on those counts.
            for row in report.rows:
                c = row.counts
                assert c.contact_rate == (c.contacts / c.dialled if c.dialled else None)
                assert c.right_party_rate == (c.right_party / c.dialled if c.dialled else None)
                rpc = c.right_party
                assert c.conversion_rate == (c.conversions / rpc if rpc else None)


async def test_csv_and_json_carry_the_figures_and_defuse_formulas(db: Database) -> None:
    await random_dials(db, random.Random(5))
    report = await CampaignResults(db).report(ResultsBy.CAMPAIGN, tz=UTC)
    lines = to_csv(report).splitlines()
    assert lines[0].startswith("campaign,dialled,connected,wrapped,contacts,right_party")
    assert [line.split(",")[0] for line in lines[1:]] == ["'=Second", "Winback", "(total)"]
    doc = json.loads(to_json(report))
    assert [r["key"] for r in doc["rows"]] == ["=Second", "Winback"]
    assert doc["total"]["dialled"] == report.total.counts.dialled
    assert set(doc["total"]["revenue_cents"]) <= {"USD", "EUR"}
