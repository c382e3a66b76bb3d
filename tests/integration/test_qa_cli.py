"""`callconsole qa forms check`, `qa sample`, `qa list` and `report --by evaluation…` as an
evaluator runs them: one line for a broken form (exit 2), the same sample for the same seed,
report figures as the evaluations say."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from importlib import resources
from pathlib import Path

import pytest

from console.cli import main
from console.db import open_database
from console.schema import upgrade
from console.services.quality.evaluations import QaService
from console.services.quality.forms import NO, SCALE, YES, shipped_forms
from tests.quality_support import T0, build_world

STANDARD = resources.files("console").joinpath("data", "qa_forms", "standard.toml").read_text()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_forms_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.toml"
    good.write_text(STANDARD)
    code, out, err = run(capsys, "qa", "forms", "check", str(good))
    assert code == 0 and "form standard v1 OK: 4 sections, 9 questions (1 auto-fail)" in out
    bad = tmp_path / "bad.toml"
    bad.write_text(STANDARD.replace("weight = 25", "weight = 250"))
    code, out, err = run(capsys, "qa", "forms", "check", str(bad))
    assert code == 2 and out == ""
    assert err.strip() == (
        f"{bad}:70: sections[3].questions[1].weight: must be a number from 0 to 100 (got 250)"
    )


async def _evaluated(path: Path) -> None:
    db = open_database(f"sqlite:///{path}")
    try:
        await upgrade(db)
        world = await build_world(db)
        form = shipped_forms()[0].form
        assert form is not None
        qa = QaService(db, clock=lambda: T0 + timedelta(days=1))
        for n, (call, failed) in enumerate(((world.calls[0], False), (world.calls[12], True))):
            draft = await qa.start(call, form, world.lead)
            answers = {q.id: (q.high if q.kind == SCALE else YES) for q in form.questions}
            answers["disclosure"] = NO if failed else YES
            answers["listening"] = 1 + 2 * n
            await qa.save(draft.id, world.lead, answers)
            await qa.submit(draft.id, world.lead)
    finally:
        await db.dispose()


def test_sample_list_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db_path = tmp_path / "crm.db"
    asyncio.run(_evaluated(db_path))
    period = ["--from", T0.isoformat(), "--to", (T0 + timedelta(days=21)).isoformat()]
    args = ["--db", str(db_path), "qa", "sample", *period, "--per-agent-week", "1", "--seed", "3"]
    code, first, err = run(capsys, *args)
    assert code == 0, err
    assert "9 calls to evaluate" in first  # 3 agents x 3 weeks
    assert run(capsys, *args)[1] == first
    code, out, err = run(capsys, "--db", str(db_path), "qa", "list", "--format", "json")
    assert code == 0, err
    listed = json.loads(out)
    assert sorted(e["score"] for e in listed) == [
        0.0,
        85.0,
    ]  # Bob auto-failed; Ann lost listening (15 of 100)
    code, out, err = run(capsys, "--db", str(db_path), "report", "--by", "evaluation-agent",
                         *period, "--format", "json")  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    by_agent = {row["key"]: row for row in doc["rows"]}
    assert by_agent["Ann"]["average"] == pytest.approx(85.0)
    assert by_agent["Bob"]["auto_failed"] == 1 and by_agent["Bob"]["average"] == 0.0
    assert doc["total"]["evaluations"] == 2 and doc["total"]["pass_rate"] == 0.5
    code, out, err = run(capsys, "--db", str(db_path), "report", "--by", "evaluation", *period)
    assert code == 0 and "2026-W45" in out
    code, out, err = run(capsys, "--db", str(db_path), "report", "--by", "evaluation",
                         "--from", T0.isoformat(), "--to", T0.isoformat())  # fmt: skip
    assert code == 2 and "the period is empty" in err
