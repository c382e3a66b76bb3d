"""`callconsole report` on a queue_log written by a real headless simulator run.

The simulator counts offered, answered and abandoned callers itself (its own `Queue` counters);
the report re-derives them from the queue_log it wrote, through the queue_log reader and the
call ledger. They must agree queue by queue, over a run that crosses midnight, overflows callers
from one queue to another and has bots going on breaks.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCENARIO = """
name = "report_check"
description = "Two queues across midnight: overflow, abandons, short abandons, breaks"
start = "23:00"
epoch = 1700002800  # 2023-11-14 23:00 UTC
duration = "2h"

[[queues]]
name = "front"
extension = "600"
strategy = "ringall"
timeout = 15
max_wait = "90s"
overflow = "queue:tier2"
wrapuptime = 5

[queues.traffic]
rate = 150
handle_time = { dist = "exponential", mean = 100 }
patience = { dist = "exponential", mean = 60 }

[[queues]]
name = "tier2"
extension = "610"
strategy = "rrmemory"
wrapuptime = 5

[queues.traffic]
rate = 20
handle_time = { dist = "exponential", mean = 150 }
patience = { dist = "lognormal", mean = 120, sd = 60 }

[[bot_pools]]
count = 3
first = 3001
queues = ["front"]
[bot_pools.bot]
answer_delay = 2
miss_share = 0.05
break_share = 0.1
break_time = { dist = "exponential", mean = 120 }

[[bot_pools]]
count = 2
first = 3101
queues = ["tier2", "front"]
"""


def _env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path)}
    env.pop("CALLCONSOLE_DB_URL", None)
    env["TZ"] = "UTC"  # days and hours are local time; make local time known
    return env


def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=_env(tmp_path), timeout=120
    )


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One simulator run (queue_log + its own JSON report) and a migrated empty CRM."""
    tmp = tmp_path_factory.mktemp("report")
    (tmp / "scenario.toml").write_text(SCENARIO)
    sim = _run(
        [
            "-m",
            "telephony_sim",
            "run",
            "--scenario",
            str(tmp / "scenario.toml"),
            "--seed",
            "11",
            "--bots",
            "0",
            "--queue-log",
            str(tmp / "queue_log"),
            "--report",
            "json",
        ],
        tmp,
    )
    assert sim.returncode == 0, sim.stderr
    (tmp / "sim.json").write_text(sim.stdout)
    db = _run(["-m", "console", "--db", f"sqlite:///{tmp / 'crm.db'}", "db", "upgrade"], tmp)
    assert db.returncode == 0, db.stderr
    return tmp


def _report(
    run_dir: Path, *args: str, home: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``callconsole report`` on the run's CRM; ``home`` holds the settings (none by default)."""
    db = f"sqlite:///{run_dir / 'crm.db'}"
    return _run(["-m", "console", "--db", db, "report", *args], home or run_dir)


def test_per_queue_counts_equal_the_simulators_own(run_dir: Path) -> None:
    sim: dict[str, Any] = json.loads((run_dir / "sim.json").read_text())["queues"]
    result = _report(
        run_dir,
        *("--from", "2023-11-14", "--to", "2023-11-16", "--by", "queue", "--format", "json"),
        *("--queue-log", str(run_dir / "queue_log")),
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no bad lines in what the simulator writes
    doc = json.loads(result.stdout)
    rows = {row["key"]: row for row in doc["rows"]}
    assert set(rows) == set(sim) == {"front", "tier2"}
    for queue, own in sim.items():
        got = rows[queue]
        assert (got["offered"], got["answered"], got["abandoned"]) == (
            own["offered"],
            own["answered"],
            own["abandoned"],
        ), queue
        assert got["exited"] == own["timed_out"] + own["left_empty"], queue
    # The run is worth checking: callers overflowed, some gave up, some were answered.
    assert sim["front"]["overflowed"] > 0 and sim["front"]["abandoned"] > 0
    assert sim["tier2"]["offered"] > sim["front"]["overflowed"] > 0
    assert doc["total"]["offered"] == sum(q["offered"] for q in sim.values())
    assert doc["definitions"]["text"].startswith("SL = answered ≤20s")


def test_days_split_at_midnight_and_add_up(run_dir: Path) -> None:
    args = ["--from", "2023-11-14", "--to", "2023-11-16", "--by", "day", "--format", "csv"]
    result = _report(run_dir, *args, "--queue-log", str(run_dir / "queue_log"))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["day"] for r in rows] == ["2023-11-14", "2023-11-15", "(total)"]
    first, second, total = (int(r["offered"]) for r in rows)
    assert first > 0 and second > 0 and first + second == total


def test_the_table_and_the_queue_log_setting(run_dir: Path, tmp_path: Path) -> None:
    # The queue_log comes from settings.toml when --queue-log is not given.
    (tmp_path / "callconsole").mkdir()
    (tmp_path / "callconsole" / "settings.toml").write_text(
        f"queue_log = {json.dumps(str(run_dir / 'queue_log'))}\nsl_treatment = 'asterisk_sl'\n"
    )
    period = ("--from", "2023-11-14 23:00", "--to", "2023-11-15T00:00")
    result = _report(run_dir, *period, home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "front" in result.stdout and "tier2" in result.stdout and "Total" in result.stdout
    assert "SL = answered ≤20s / answered" in result.stdout  # the active definition, under it
    assert "local time (UTC+00:00)" in result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--from", "2023-11-14", "--queue-log", "/no/such/queue_log"], "cannot read"),
        (["--from", "2023-11-31"], "expected a date like 2026-11-01"),
        (["--from", "2023-11-15", "--to", "2023-11-14", "--queue-log", "x"], "period is empty"),
        (["--from", "2023-11-14", "--by", "week"], "invalid choice: 'week'"),
    ],
)
def test_bad_arguments_get_one_line_and_status_2(
    run_dir: Path, args: list[str], expected: str
) -> None:
    result = _report(run_dir, *args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert expected in result.stderr.strip().splitlines()[-1]


def test_no_queue_log_anywhere(tmp_path: Path, run_dir: Path) -> None:
    result = _report(run_dir, "--from", "2023-11-14", home=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "callconsole report: error: no queue_log: give --queue-log FILE or set queue_log in "
        "settings"
    )
