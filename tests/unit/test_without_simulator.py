"""The console without the simulator (issue 16.4): it imports, its real-PBX tests pass, and the two
commands that need the simulator say so in one line.

Each check runs in a child Python where `telephony_sim` cannot be imported: a `sitecustomize`
on PYTHONPATH puts a finder first on `sys.meta_path` that refuses it, as an install without the
package would (`ModuleNotFoundError` naming it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
MISSING = "the simulator (telephony_sim) is not installed: "

NO_SIMULATOR = '''
import sys


class _NoSimulator:
    """Refuses telephony_sim and its modules, as an install without it would."""

    def find_spec(self, name, path=None, target=None):
        if name == "telephony_sim" or name.startswith("telephony_sim."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NoSimulator())
'''

IMPORT_EVERYTHING = """
import importlib, pkgutil, sys
try:
    import telephony_sim
except ModuleNotFoundError:
    pass
else:
    raise SystemExit("telephony_sim imported: the finder that refuses it is not installed")
import callkit, console

def fail(name):
    raise SystemExit(f"cannot import {name}")

for package in (callkit, console):
    prefix = package.__name__ + "."
    for info in pkgutil.walk_packages(package.__path__, prefix, onerror=fail):
        if info.name.rsplit(".", 1)[-1] != "__main__":  # __main__ runs the CLI
            importlib.import_module(info.name)
            print(info.name)
loaded = sorted(name for name in sys.modules if name.split(".")[0] == "telephony_sim")
if loaded:
    raise SystemExit(f"loaded without being importable?! {loaded}")
"""


def without_simulator(
    tmp_path: Path, *args: str, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """Run `python ARGS…` from the repository root with telephony_sim unimportable."""
    site = tmp_path / "no-simulator"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(NO_SIMULATOR)
    home = tmp_path / "home"  # nothing a command writes lands in the user's own directories
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        ),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CACHE_HOME": str(home / "cache"),
    }
    env = {k: v for k, v in env.items() if not k.startswith("CALLCONSOLE_")}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def modules_on_disk(package: str) -> set[str]:
    """Every module of `package` under the repository, as a dotted name (packages only: a
    folder without `__init__.py`, such as Alembic's migrations, is not imported as code)."""
    found: set[str] = set()
    base = ROOT / package
    for path in base.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        folders = [ROOT.joinpath(*parts[:n]) for n in range(1, len(parts))]
        if all((folder / "__init__.py").exists() for folder in folders) and parts[-1] != "__main__":
            found.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found - {package}


def test_every_console_and_callkit_module_imports_without_the_simulator(tmp_path: Path) -> None:
    run = without_simulator(tmp_path, "-c", IMPORT_EVERYTHING)
    assert run.returncode == 0, run.stderr or run.stdout
    imported = set(run.stdout.split())
    expected = modules_on_disk("console") | modules_on_disk("callkit")
    assert {"console.cli", "console.cti.ami", "console.app", "callkit.ami_frames"} <= expected
    assert expected - imported == set()


def real_pbx_test_files() -> list[Path]:
    """The test modules that check the console against recorded real-Asterisk traffic
    (tests/fixtures/ami through tests/ami_fixture.py) and name no simulator module."""
    return sorted(
        path
        for path in TESTS.rglob("test_*.py")
        if "tests.ami_fixture" in (text := path.read_text()) and "telephony_sim" not in text
    )


@pytest.mark.slow
def test_the_real_pbx_tests_pass_without_the_simulator(tmp_path: Path) -> None:
    files = real_pbx_test_files()
    assert TESTS / "integration" / "test_cti_fixtures.py" in files
    run = without_simulator(
        tmp_path,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-n0",
        "-q",
        f"--basetemp={tmp_path / 'inner'}",
        *(str(path.relative_to(ROOT)) for path in files),
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and " skipped" not in run.stdout, run.stdout[-2000:]


@pytest.mark.parametrize(
    "command",
    [
        ["sim", "serve", "--port", "0"],
        ["--db", "sqlite:///{tmp}/demo.db", "demo", "--customers", "0", "--headless-seconds", "1"],
    ],
    ids=["sim", "demo"],
)
def test_the_simulator_commands_say_it_is_missing_in_one_line(
    tmp_path: Path, command: list[str]
) -> None:
    args = [part.replace("{tmp}", str(tmp_path)) for part in command]
    run = without_simulator(tmp_path, "-m", "console", *args, timeout=120)
    assert run.returncode != 0
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and MISSING in lines[0], run.stderr
    assert lines[0].startswith("callconsole: error: ")
    assert run.stdout == ""
    assert not (tmp_path / "demo.db").exists()  # refused before touching the database
