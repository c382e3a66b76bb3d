"""A really full disk: the database refuses the call writes with "database or disk is full",
the journal (written out to its full size while there was room) takes them, and once space
is freed every call has exactly its one right row. A small tmpfs is mounted in a private
mount namespace (``unshare -rm``: no root needed where user namespaces are allowed); skipped,
with the reason, where that is not possible."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_calls_on_a_full_disk_are_journaled_and_saved_when_there_is_room(tmp_path: Path) -> None:
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("no unshare(1) to mount a small file system privately")
    full, roomy = tmp_path / "full", tmp_path / "roomy"
    full.mkdir()
    roomy.mkdir()
    probe = subprocess.run(
        [unshare, "-rm", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs {full}"],
        capture_output=True,
        text=True,
    )
    if probe.returncode:
        pytest.skip(f"cannot mount a private tmpfs here: {probe.stderr.strip()[:120]}")
    script = (
        f"mount -t tmpfs -o size=3m tmpfs {full} && "
        f"exec {sys.executable} -m tests.integration.full_disk_run {full} {roomy}"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [unshare, "-rm", "sh", "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["journaled"] > 0, report  # the disk really refused writes
    assert any("full" in reason for reason in report["reasons"]), report
    assert report["calls"] == 13
    assert report["one_row_each"] and report["same"], report
