"""`callconsole dnc` as a user runs it: lists kept, bad lines reported, bad input one line."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.integration.test_cli import one_line_error, run


@pytest.fixture
def url(tmp_path: Path) -> str:
    db = f"sqlite:///{tmp_path / 'crm.db'}"
    assert run("--db", db, "db", "upgrade", tmp_path=tmp_path).returncode == 0
    return db


def test_add_import_check_list_and_remove(url: str, tmp_path: Path) -> None:
    added = run("--db", url, "dnc", "add", "(212) 555-0123", "--reason", "asked", tmp_path=tmp_path)
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("+12125550123: on internal (added ")
    national = tmp_path / "dnc.txt"
    national.write_text("201,5550100\n201,555010\n\n# header\nhello\n2015550101\n")
    loaded = run(
        "--db", url, "dnc", "import", str(national), "--list", "us-national", tmp_path=tmp_path
    )
    assert loaded.returncode == 0, loaded.stderr
    assert "2 numbers read from 4 lines, 2 new; 2 bad lines skipped" in loaded.stdout
    assert loaded.stderr.splitlines() == [
        f"{national}:2: expected 'area code,number' with 10 digits in all: '201,555010'",
        f"{national}:5: not a phone number: 'hello'",
    ]
    checked = run(
        "--db",
        url,
        "dnc",
        "check",
        "2015550100",
        "+1 212 555 0123",
        "2015550199",
        tmp_path=tmp_path,
    )
    lines = checked.stdout.splitlines()
    assert lines[0].startswith("+12015550100: on us-national")
    assert lines[1].startswith("+12125550123: on internal") and lines[1].endswith("— asked")
    assert lines[2] == "+12015550199: on no do-not-call list"
    listed = run("--db", url, "dnc", "list", tmp_path=tmp_path)
    assert listed.stdout.splitlines() == ["internal: 1 number", "us-national: 2 numbers"]
    removed = run("--db", url, "dnc", "remove", "2125550123", tmp_path=tmp_path)
    assert removed.stdout.strip() == "+12125550123: removed from internal"
    again = run("--db", url, "dnc", "remove", "2125550123", tmp_path=tmp_path)
    assert "is not on the list 'internal'" in one_line_error(again)
    db = tmp_path / "crm.db"
    rows = sqlite3.connect(db).execute("SELECT e164, source FROM dnc_entries ORDER BY e164")
    assert rows.fetchall() == [("+12015550100", "us-national"), ("+12015550101", "us-national")]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["dnc", "add", "212555"], "'212555' is not a phone number"),
        (["dnc", "add", "2125550123", "--expires", "soon"], "expected a date like"),
        (["dnc", "add", "2125550123", "--region", "QQ"], "unknown region 'QQ'"),
        (["dnc", "check", "+12125550123", "junk"], "'junk' is not a phone number"),
        (["dnc", "import", "missing.txt", "--list", "x"], "missing.txt: no such file"),
        (["dnc", "import", "missing.txt"], "the following arguments are required: --list"),
        (["dnc", "import", ".", "--list", "internal"], "'internal' is the opt-out list"),
        (["dnc", "frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    url: str, tmp_path: Path, args: list[str], expected: str
) -> None:
    assert expected in one_line_error(run("--db", url, *args, tmp_path=tmp_path))
    rows = sqlite3.connect(tmp_path / "crm.db").execute("SELECT count(*) FROM dnc_entries")
    assert rows.fetchone() == (0,)


def test_an_old_schema_is_refused_with_the_fix(tmp_path: Path) -> None:
    empty = f"sqlite:///{tmp_path / 'new.db'}"
    result = run("--db", empty, "dnc", "list", tmp_path=tmp_path)
    assert "run `callconsole db upgrade` first" in one_line_error(result)
