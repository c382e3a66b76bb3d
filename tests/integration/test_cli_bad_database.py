"""A database the program cannot use, at every entry point that opens one: one line on stderr
naming the file and what to do, a non-zero exit, and the file byte-identical afterwards.

Read-only cases: the tests run as root in CI, and root writes a 0400 file anyway. So the
command runs through a launcher that drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from its
bounding set before exec'ing Python (as root, the new program's capabilities are that set):
file modes then bind root as they bind anyone. Without the right to drop them (no
CAP_SETPCAP) the read-only cases skip, saying so.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.crm import seed_file

# Run argv[1:] with Python after dropping the DAC override capabilities (root only).
LAUNCHER = """
import ctypes, os, sys
if os.geteuid() == 0:
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            sys.exit("cannot drop capability %d: errno %d" % (cap, ctypes.get_errno()))
os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
"""

# Every command that opens the database, as a user types it (demo and run: the console).
COMMANDS = {
    "demo": ["demo", "--customers", "20", "--headless-seconds", "2"],
    "run": ["run", "--agent", "demo"],
    "db upgrade": ["db", "upgrade"],
    "db current": ["db", "current"],
    "seed": ["seed", "--customers", "5"],
    "training history": ["training", "history", "--agent", "demo"],
    "training scorecard": ["training", "scorecard", "1"],
    "training export-scenario": ["training", "export-scenario", "L1"],
    "replay": ["replay", "--agent", "demo"],
    "report": ["report", "--from", "2026-11-01", "--queue-log", "/dev/null"],
    "routing explain": ["routing", "explain", "1"],
}


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path)}
    env.pop("CALLCONSOLE_DB_URL", None)
    return {**env, **extra}


def run(
    db: str, args: list[str], tmp_path: Path, *, as_user: bool = False, **env: str
) -> subprocess.CompletedProcess[str]:
    """`python -m console --db DB ARGS` (``as_user``: without root's file-mode override)."""
    prefix = [sys.executable, "-c", LAUNCHER] if as_user else [sys.executable]
    return subprocess.run(
        [*prefix, "-m", "console", "--db", db, *args],
        capture_output=True,
        text=True,
        env=env_for(tmp_path, **env),
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def the_one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single line the command printed, after checking it failed without a traceback."""
    assert result.returncode == 1, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    # Waiting for a busy database is said first, in its own line (issue 17.1).
    waiting = "callconsole: the database is busy (other consoles are writing to it): waiting…"
    lines = [line for line in result.stderr.splitlines() if line.strip() and line != waiting]
    assert len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith("callconsole: error: ")
    return lines[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seed_file(tmp_path_factory.mktemp("seeded") / "crm.db", customers=20, seed=3, agents=4)


@pytest.fixture
def crm(seeded: Path, tmp_path: Path) -> Iterator[Path]:
    """A copy of the seeded CRM in its own folder (modes restored afterwards for cleanup)."""
    folder = tmp_path / "crm"
    folder.mkdir()
    path = folder / "crm.db"
    shutil.copy(seeded, path)
    yield path
    folder.chmod(0o700)
    for child in folder.iterdir():
        child.chmod(0o600)


@pytest.fixture(scope="module")
def modes_bind(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Skip unless a 0400 file is read-only for the launched program (see the docstring)."""
    probe = tmp_path_factory.mktemp("probe") / "ro"
    probe.write_bytes(b"x")
    probe.chmod(0o400)
    result = subprocess.run(
        [sys.executable, "-c", LAUNCHER, "-c", f"import console.db; open({str(probe)!r}, 'r+b')"],
        capture_output=True,
        text=True,
    )
    if "PermissionError" not in result.stderr:
        reason = result.stderr.strip().splitlines()[-1:] or ["the probe could write it"]
        pytest.skip(f"file modes do not bind here (root keeps CAP_DAC_OVERRIDE): {reason[0]}")


def read_only_file(path: Path) -> str:
    path.chmod(0o400)
    return "is read-only for you: make it writable (chmod u+rw"


def read_only_folder(path: Path) -> str:
    path.parent.chmod(0o500)
    return "is read-only for you, and SQLite must create crm.db-wal and crm.db-shm"


def read_only_shm_left_behind(path: Path) -> str:
    # What a read-only open of a WAL database leaves: its -shm with the file's 0400 mode.
    side = path.with_name("crm.db-shm")
    side.write_bytes(b"")
    side.chmod(0o400)
    return "crm.db-shm is read-only for you"


READ_ONLY: dict[str, Callable[[Path], str]] = {
    "file 0400": read_only_file,
    "folder 0500": read_only_folder,
    "-shm 0400 left behind": read_only_shm_left_behind,
}


@pytest.mark.usefixtures("modes_bind")
@pytest.mark.parametrize("command", COMMANDS, ids=list(COMMANDS))
def test_every_command_refuses_a_read_only_database_in_one_line(
    command: str, crm: Path, tmp_path: Path
) -> None:
    before = digest(crm)
    expected = read_only_file(crm)
    line = the_one_line(run(str(crm), COMMANDS[command], tmp_path, as_user=True))
    assert str(crm) in line and expected in line and "nothing was changed" in line
    assert digest(crm) == before
    assert sorted(p.name for p in crm.parent.iterdir()) == ["crm.db"]  # no -wal, no -shm


@pytest.mark.usefixtures("modes_bind")
@pytest.mark.parametrize("command", ["demo", "db current"])
@pytest.mark.parametrize("case", READ_ONLY, ids=list(READ_ONLY))
def test_a_read_only_file_folder_or_leftover_is_one_line_and_untouched(
    case: str, command: str, crm: Path, tmp_path: Path
) -> None:
    before = digest(crm)
    expected = READ_ONLY[case](crm)
    files = sorted(p.name for p in crm.parent.iterdir())
    line = the_one_line(run(str(crm), COMMANDS[command], tmp_path, as_user=True))
    assert expected in line and "nothing was changed" in line
    assert str(crm.parent) in line
    assert digest(crm) == before
    assert sorted(p.name for p in crm.parent.iterdir()) == files


@pytest.fixture
def lock_holder(crm: Path) -> Iterator[Callable[[bool], None]]:
    """Start another program holding an exclusive lock on the CRM until the test ends;
    ``whole_file``: SQLite's exclusive locking mode (readers are shut out too)."""
    holders: list[subprocess.Popen[str]] = []

    def hold(whole_file: bool) -> None:
        script = (
            "import sqlite3, sys\n"
            "con = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            + ("con.execute('PRAGMA locking_mode=EXCLUSIVE')\n" if whole_file else "")
            + "con.execute('BEGIN EXCLUSIVE')\n"
            "con.execute('SELECT count(*) FROM customers').fetchone()\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n"  # until the test closes our stdin
        )
        holder = subprocess.Popen(
            [sys.executable, "-c", script, str(crm)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        holders.append(holder)
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"

    yield hold
    for holder in holders:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(30)


@pytest.mark.parametrize(
    ("command", "whole_file"),
    [("demo", False), ("run", False), ("seed", False), ("db current", True)],
)
def test_a_locked_database_waits_the_busy_timeout_then_is_one_line(
    command: str, whole_file: bool, crm: Path, tmp_path: Path, lock_holder: Callable[[bool], None]
) -> None:
    """Writers wait `sqlite_busy_timeout_ms` for the lock, then give up in one line (a reader
    of a WAL database is not blocked by a writer's lock, only by exclusive locking mode)."""
    before = digest(crm)
    lock_holder(whole_file)
    result = run(str(crm), COMMANDS[command], tmp_path, CALLCONSOLE_SQLITE_BUSY_TIMEOUT_MS="500")
    line = the_one_line(result)
    # Writers wait out other consoles' writes (issue 17.1): 12 busy timeouts, then one line.
    waited = re.search(
        rf"{re.escape(str(crm))} is locked by another program \(waited ([\d.]+) s\)", line
    )
    assert waited is not None and "close it" in line, line
    assert 0.5 <= float(waited.group(1)) <= 60
    assert digest(crm) == before


@pytest.mark.parametrize("command", ["demo", "run", "db upgrade", "training history"])
def test_a_file_that_is_not_a_database_is_one_line_and_untouched(
    command: str, tmp_path: Path
) -> None:
    junk = tmp_path / "notes.db"
    junk.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 16)
    before = digest(junk)
    line = the_one_line(run(str(junk), COMMANDS[command], tmp_path))
    assert f"{junk} is not a usable SQLite database" in line and "nothing was changed" in line
    assert digest(junk) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("notes")) == ["notes.db"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("", "empty database URL"),
        ("crm", "bad database URL 'crm': use sqlite:///PATH"),
        ("sqlite:///{tmp}/crm.db?mode=ro", "SQLite takes no options here (mode)"),
        ("postgresql://u:hunter2@db:port/x", "bad database URL 'postgresql://u:***@db:port/x'"),
        ("postgresql://u:hunter2@127.0.0.1:1/x?bogus=1", "check its ?options"),
        ("postgresql://u:hunter2@127.0.0.1:1/x", "cannot reach the database server"),
    ],
)
@pytest.mark.parametrize("command", ["demo", "db upgrade"])
def test_a_bad_database_url_is_one_line_without_its_password(
    url: str, expected: str, command: str, tmp_path: Path
) -> None:
    line = the_one_line(run(url.format(tmp=tmp_path), COMMANDS[command], tmp_path))
    assert expected in line and "hunter2" not in line
    assert not (tmp_path / "crm.db").exists()  # ?mode=ro did not quietly create a database


def test_the_launcher_really_takes_roots_override_away(tmp_path: Path) -> None:
    """The read-only tests prove something only if a 0400 file stops the launched program
    (as anyone but root, it always does)."""
    probe = tmp_path / "ro"
    probe.write_bytes(b"x")
    probe.chmod(stat.S_IRUSR)
    result = subprocess.run(
        [sys.executable, "-c", LAUNCHER, "-c", f"open({str(probe)!r}, 'r+b')"],
        capture_output=True,
        text=True,
    )
    if os.geteuid() == 0 and "cannot drop capability" in result.stderr:
        pytest.skip(result.stderr.strip())
    assert "PermissionError" in result.stderr
