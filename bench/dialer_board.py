"""The campaign board's reading of a finished dialer bench (bench/dialer.py): the row a
supervisor would see at the end of the simulated day, computed by the board's own code
(`console.services.outbound.board.CampaignBoard`, the screen's cell functions).

    python bench/dialer_board.py /tmp/dialer-bench-XXXX/crm.db

The bench stops its campaigns at the end; a copy of the file has them paused (the board lists
running, paused and draft campaigns), and the board reads it as of the last dial's end.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from console.db import open_database
from console.screens.campaign_board import COLUMNS
from console.services.outbound.board import CampaignBoard


async def main(source: Path) -> None:
    folder = Path(tempfile.mkdtemp(prefix="dialer-board-"))
    path = folder / "crm.db"
    shutil.copy(source, path)
    con = sqlite3.connect(path)
    with con:
        con.execute("UPDATE campaigns SET status = 'paused'")
        (last,) = con.execute(
            "SELECT max(coalesce(ended_at, placed_at)) FROM dial_attempts"
        ).fetchone()
    con.close()
    end = datetime.fromtimestamp(last / 1_000_000, UTC) + timedelta(seconds=1)
    db = open_database(f"sqlite:///{path}")
    try:
        tiles = await CampaignBoard(db, clock=lambda: end, tz=UTC).tiles()
    finally:
        await db.dispose()
    print(f"the campaign board as of {end:%Y-%m-%d %H:%M} UTC (simulated), from {source}")
    print("  " + " | ".join(["Campaign", *(h for h, _ in COLUMNS)]))
    for tile in tiles:
        print("  " + " | ".join([tile.name, *(str(cell(tile)) for _, cell in COLUMNS)]))
    shutil.rmtree(folder)


if __name__ == "__main__":
    if len(sys.argv) != 2 or not Path(sys.argv[1]).is_file():
        print("usage: python bench/dialer_board.py CRM.db (a finished bench/dialer.py run's file)")
        raise SystemExit(2)
    asyncio.run(main(Path(sys.argv[1])))
