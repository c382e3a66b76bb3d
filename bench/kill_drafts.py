"""Fault run: SIGKILL a console while its agent types notes; do the notes typed more than one
second before the kill survive it? (issue 17.7)

    python bench/kill_drafts.py [--kills 20] [--seed 1]

Each kill: a fresh copy of a small seeded CRM and a fresh simulator (in this process); a child
process runs the real console (headless Textual, the real AMI client over TCP, the durable
interaction log with its journal) as the demo agent, takes one call and types notes at about
ten characters a second — half of the runs in the wrap-up after hanging up, half during the
call (F9) — printing the time of every keystroke. This process SIGKILLs it at a random moment
1–4 s into the typing. Then, as the next console would, it applies whatever the killed console
left in its journal, reads the row's notes and checks them against what had been typed one
second before the kill (the notes must hold at least that, and be a prefix of what was typed).
Prints how many kills kept everything typed more than 1 s before, and the worst gap.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TEXT = "Customer called about the invoice; explained the charges and offered a refund. " * 3


async def child(db_path: Path, port: int, mode: str) -> None:
    """The console: take the call, type, print each keystroke's time (until killed)."""
    from console.db import open_database
    from tests.factories import agent_console_app, ready_agent, wrap_up_ready
    from tests.ui.conftest import until

    db = open_database(f"sqlite:///{db_path}")
    app = agent_console_app(db, port)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await ready_agent(app, pilot)
        print("READY", flush=True)
        await until(lambda: screen.desk.state.phase == "ringing", within=30)
        await pilot.press("f2")
        await until(lambda: screen.desk.state.phase == "talking", within=30)
        if mode == "wrapup":
            await pilot.press("f5")
            await until(lambda: wrap_up_ready(app), within=30)
            await pilot.press("1")
        else:
            await pilot.press("f9")
            await until(lambda: wrap_up_ready(app), within=30)
            await pilot.press("tab")  # from the disposition to the notes
        for n, char in enumerate(TEXT, start=1):
            await pilot.press("space" if char == " " else char)
            print(f"TYPED {n} {time.monotonic():.4f}", flush=True)
            await asyncio.sleep(0.1)
        print("DONE", flush=True)
        await asyncio.sleep(3600)


async def one_kill(seeded: Path, folder: Path, rng: random.Random, mode: str) -> tuple[int, int]:
    """(characters typed by one second before the kill, characters saved)."""
    from console.db import open_database
    from console.services.desk.durable_log import DurableInteractionLog
    from tests.pbx import running_pbx

    db_path = folder / "crm.db"
    shutil.copy(seeded, db_path)
    con = sqlite3.connect(db_path)
    number = con.execute("SELECT e164 FROM phone_numbers LIMIT 1").fetchone()[0]
    con.close()
    async with running_pbx() as pbx:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--child",
            str(db_path),
            str(pbx.port),
            mode,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert proc.stdout is not None
        typed: list[float] = []
        kill_after = rng.uniform(1.0, 4.0)
        started: float | None = None
        while True:
            line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode().split()
            if not line:
                raise RuntimeError("the console ended before it was killed")
            if line[0] == "READY":
                pbx.ring(number, "Ann Caller")
            elif line[0] == "TYPED":
                typed.append(float(line[2]))
                started = started or typed[0]
                if time.monotonic() - started >= kill_after:
                    break
        proc.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        await proc.wait()
    # The next console on this machine applies what the killed one journaled.
    db = open_database(f"sqlite:///{db_path}")
    log = DurableInteractionLog(db, db_path.parent / "journal")
    log.open()
    await log.drain()
    await log.close()
    await db.dispose()
    con = sqlite3.connect(db_path)
    notes = con.execute("SELECT notes FROM interactions ORDER BY id DESC LIMIT 1").fetchone()[0]
    con.close()
    assert TEXT.startswith(notes or ""), "saved notes are not what was typed"
    due = sum(1 for t in typed if t <= killed_at - 1.0)
    return due, len(notes or "")


async def main(kills: int, seed: int) -> int:
    from console.db import open_database
    from console.services.seeding.seeding import SeedPlan, seed_database

    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        seeded = Path(tmp) / "seed.db"
        db = open_database(f"sqlite:///{seeded}")
        await seed_database(db, SeedPlan(customers=200, seed=7, as_of=date(2026, 11, 1), agents=4))
        await db.dispose()
        kept, worst = 0, 0
        for n in range(kills):
            folder = Path(tmp) / f"kill{n}"
            folder.mkdir()
            mode = "wrapup" if n % 2 == 0 else "during call"
            due, saved = await one_kill(seeded, folder, rng, mode.split()[0])
            lost = max(0, due - saved)
            kept += lost == 0
            worst = max(worst, lost)
            print(f"kill {n + 1:2}: {mode:11}  typed >1 s before: {due:3}  saved: {saved:3}")
        print(f"{kept} of {kills} kills kept every character typed more than 1 s before the kill")
        print(f"worst: {worst} such characters lost")
        return 0 if kept == kills else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        asyncio.run(child(Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.kills, args.seed)))
