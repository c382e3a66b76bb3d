"""`callconsole segment` and `callconsole campaign` from the shell: a supervisor's whole
sequence, and each bad request as one line with exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.cli import main

CAMPAIGN = """\
name = "Gold winback"
purpose = "sales"
mode = "predictive"
segment = "Gold, quiet"
queue = "outbound"
"""


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("cli") / "crm.db"
    assert main(["--db", str(path), "seed", "--customers", "800"]) == 0
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_supervisors_campaign_from_segment_to_report(
    crm: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "--db", crm, "segment", "save", "Gold, quiet", "--tier", "gold",
                       "--no-contact-days", "90")  # fmt: skip
    assert code == 0 and "saved segment 'Gold, quiet'" in out
    size = int(out.rsplit(":", 1)[1].split()[0].replace(",", ""))
    assert size > 0
    code, out, _ = run(capsys, "--db", crm, "segment", "count", "--tier", "gold",
                       "--no-contact-days", "90")  # fmt: skip
    assert out.strip() == f"{size:,} customers"
    file = tmp_path / "winback.toml"
    file.write_text(CAMPAIGN, encoding="utf-8")
    assert run(capsys, "--db", crm, "campaign", "create", str(file))[0] == 0
    code, out, _ = run(capsys, "--db", crm, "campaign", "start", "Gold winback")
    assert code == 0 and f"{size:,} on its list" in out
    assert run(capsys, "--db", crm, "campaign", "pause", "Gold winback")[0] == 0
    code, out, _ = run(capsys, "--db", crm, "campaign", "report", "Gold winback")
    assert code == 0 and "paused, 0 dials" in out and f"pending    {size:>8,}" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["segment", "count", "--tier", "diamond"], "segment: error: tiers.0:"),
        (["segment", "preview", "nope"], "segment: error: no segment named 'nope'"),
        (["campaign", "start", "nope"], "campaign: error: no campaign named 'nope'"),
        (["campaign", "create", "/nonexistent.toml"], "campaign: error: /nonexistent.toml: cannot"),
    ],
)
def test_a_bad_request_is_one_line_and_exit_2(
    crm: str, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run(capsys, "--db", crm, *args)
    assert code == 2
    assert err.count("\n") == 1 and message in err, err


def test_a_bad_campaign_file_names_its_line(
    crm: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "bad.toml"
    file.write_text(CAMPAIGN.replace('"predictive"', '"turbo"'), encoding="utf-8")
    code, _out, err = run(capsys, "--db", crm, "campaign", "create", str(file))
    assert code == 2 and f"{file}:3: mode:" in err
