"""`callconsole report --by campaign…` and `callconsole campaign report NAME` with results:
a campaign call sold and a survey answered, then both commands as a supervisor runs them."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest

from console.cli import main
from console.db import Database, open_database
from console.schema import upgrade
from console.services.desk.interactions import InteractionLog, WrapUp
from tests.campaign_calls import sales_campaign
from tests.integration.test_campaign_wrapup import NOW, PLACED, campaign_call


async def two_calls(db: Database) -> None:
    """A sale of $129.90 by Sam and a wrong person, in the campaign's first hour."""
    camp = await sales_campaign(db, NOW)
    log = InteractionLog(db, clock=lambda: NOW)
    record, _, _ = await campaign_call(log, db, camp, camp.customers[0], "1.1")
    await log.wrap_up(
        record.id, WrapUp("sale", sale_cents=12_990, survey={"happy": "no", "why": "Price"}), NOW
    )
    record, _, _ = await campaign_call(log, db, camp, camp.customers[1], "1.2")
    await log.wrap_up(record.id, WrapUp("wrong_party"), NOW)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


async def _prepared(path: Path) -> None:
    db = open_database(f"sqlite:///{path}")
    try:
        await upgrade(db)
        await two_calls(db)
    finally:
        await db.dispose()


def test_report_by_campaign_and_the_campaigns_own_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db_path = tmp_path / "crm.db"
    asyncio.run(_prepared(db_path))
    start = (PLACED - timedelta(hours=1)).isoformat()
    end = (NOW + timedelta(hours=1)).isoformat()
    code, out, err = run(capsys, "--db", str(db_path), "report", "--by", "campaign",
                         "--from", start, "--to", end, "--format", "json")  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    (row,) = doc["rows"]
    assert row["key"] == "Winback"
    assert (row["dialled"], row["connected"], row["contacts"], row["right_party"]) == (2, 2, 2, 1)
    assert (row["conversions"], row["conversion_rate"], row["contact_rate"]) == (1, 1.0, 1.0)
    assert row["right_party_rate"] == 0.5 and row["revenue_cents"] == {"USD": 12_990}

    code, out, _ = run(capsys, "--db", str(db_path), "report", "--by", "campaign-agent",
                       "--from", start, "--to", end)  # fmt: skip
    assert code == 0 and "Sam Agent" in out and "USD 129.90" in out and "conv. %" in out

    code, out, err = run(capsys, "--db", str(db_path), "report", "--by", "campaign",
                         "--from", end, "--to", start)  # fmt: skip
    assert code == 2 and "the period is empty" in err

    code, out, err = run(capsys, "--db", str(db_path), "campaign", "report", "Winback")
    assert code == 0, err
    assert "2 dialled, 2 connected, 2 contacts (100.0%), 1 right-party (50.0%)" in out
    assert "1 conversions (100.0% of right-party)" in out and "revenue USD 129.90" in out
    assert "survey happy: 1 answered (no 1)" in out
    assert "survey why: 1 answered" in out  # a text answer is counted, not shown
    assert "2026-11-02 " in out  # the by-hour table
