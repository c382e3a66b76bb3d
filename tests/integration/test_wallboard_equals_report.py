"""One simulated period, two ways: the live board fed the PBX's AMI events, and the report read
from the PBX's queue_log. With one set of metric definitions they must show the same figures.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from callkit.ami_frames import Message
from callkit.metrics import AbandonTreatment, MetricDefinitions, summarise
from callkit.scenario import parse_scenario
from console.services.supervision.live_board import LiveBoard
from console.services.supervision.reports import GroupBy, LocalTime, ReportService
from telephony_sim.clock import VirtualClock
from telephony_sim.engine import Engine
from telephony_sim.queue_log import QueueLog

SCENARIOS = Path(__file__).parents[2] / "callkit" / "scenarios"


@pytest.mark.parametrize(
    ("scenario", "treatment"),
    [
        ("normal_day.toml", AbandonTreatment.ABANDONS_AGAINST),
        ("spike_with_abandons.toml", AbandonTreatment.ASTERISK_SL2),
    ],
)
def test_the_live_wallboard_and_the_report_agree_on_a_simulated_period(
    tmp_path: Path, scenario: str, treatment: AbandonTreatment
) -> None:
    definitions = MetricDefinitions(treatment=treatment)
    log_path = tmp_path / "queue_log"
    with log_path.open("w", encoding="utf-8") as stream:
        text = (SCENARIOS / scenario).read_text()
        engine = Engine(
            parse_scenario(text, scenario),
            seed=11,
            clock=VirtualClock(),
            queue_log=QueueLog(stream),
        )
        board = LiveBoard(definitions, tz=UTC)

        def listen(name: str, fields: list[tuple[str, str]]) -> None:
            stamp = f"{engine.pbx.epoch_now():.6f}"
            board.feed(Message((("Event", name), ("Timestamp", stamp), *fields)))

        engine.add_listener(listen)
        engine.run_virtual(3 * 3600)  # three busy hours, calls still waiting and talking
        now = engine.pbx.epoch_now()
        live = {q.queue: q for q in board.snapshot(now).queues}
    assert board.day_start is not None
    service = ReportService(None, log_path, definitions, local=LocalTime(UTC))
    start = datetime.fromtimestamp(board.day_start, UTC)
    end = datetime.fromtimestamp(now + 1, UTC)
    report = asyncio.run(service.build(start, end, GroupBy.QUEUE))
    rows = {row.key: row for row in report.rows}
    assert set(rows) == set(live) and live
    checked = 0
    for name, q in live.items():
        from_log = summarise(rows[name].figures, definitions)
        on_board = q.summary
        assert on_board.offered > 20, name  # a period with real traffic
        for field in (
            "offered",
            "answered",
            "abandoned",
            "short_abandoned",
            "handled",
            "service_level",
            "asa",
            "aht",
            "abandon_rate",
        ):
            assert getattr(on_board, field) == pytest.approx(getattr(from_log, field)), (
                name,
                field,
            )
            checked += 1
    assert checked >= 9 * len(live)
