"""Queue targets (TOML with file:line errors), red/amber/green, and the alert log."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from callkit.metrics import QueueFigures, Summary
from console.db import Database
from console.models import AuditLog as AuditRow
from console.services.supervision.alerts import (
    AlertAudit,
    AlertKind,
    AlertLog,
    Rag,
    queue_rag,
    rag_for,
)
from console.services.supervision.live_types import (
    AgentActivity,
    AgentLive,
    BoardSnapshot,
    QueueLive,
)
from console.services.supervision.queue_targets import (
    QueueTargets,
    TargetBook,
    TargetsError,
    _merge,
    _Reader,
    load_targets,
)

# ------------------------------------------------------------------ synthetic board snapshots


def queue_live(
    name: str = "support",
    *,
    sl: float | None = 0.9,
    asa: float | None = 10.0,
    abandon: float | None = 0.01,
    longest_wait: float = 0.0,
    offered: int = 100,
    handled: int = 0,
    handle_time: float = 0.0,
) -> QueueLive:
    """A queue now, with the figures the alerts and the wallboard read set directly."""
    figures = QueueFigures(offered=offered, handled=handled, talk_time=handle_time)
    summary = Summary(
        offered=offered,
        answered=offered,
        abandoned=0,
        short_abandoned=0,
        exited=0,
        handled=handled,
        service_level=sl,
        asa=asa,
        aht=handle_time / handled if handled else None,
        abandon_rate=abandon,
        longest_wait=longest_wait,
        occupancy=None,
    )
    return QueueLive(
        queue=name,
        waiting=1 if longest_wait else 0,
        longest_wait=longest_wait,
        figures=figures,
        summary=summary,
        logged_in=3,
        available=1,
        on_call=1,
        wrap_up=1,
        not_ready=0,
        waiting_history=(),
        sl_history=(),
    )


def agent_live(
    name: str,
    activity: AgentActivity,
    since: float,
    *,
    queues: tuple[str, ...] = ("support",),
    reason: str = "",
) -> AgentLive:
    return AgentLive(
        agent=name,
        interface=f"PJSIP/{name}",
        queues=queues,
        activity=activity,
        reason=reason,
        since=since,
        call_queue="",
        caller="",
        call_started=None,
        handled=0,
        aht=None,
    )


def board(
    at: float, queues: tuple[QueueLive, ...] = (), agents: tuple[AgentLive, ...] = ()
) -> BoardSnapshot:
    return BoardSnapshot(at=at, queues=queues, agents=agents, events_seen=0)


BOOK = TargetBook()  # the built-in defaults: SL 80/70, longest wait 60/120, abandons 5/8 %


# ------------------------------------------------------------------ the targets file


def test_shipped_defaults_are_the_documented_industry_targets() -> None:
    book = load_targets(None)
    assert book.defaults == QueueTargets(
        service_level=0.80,
        service_level_amber=0.70,
        asa=30.0,
        asa_amber=60.0,
        longest_wait=120.0,
        longest_wait_amber=60.0,
        abandon_rate=0.08,
        abandon_rate_amber=0.05,
        wrap_up_too_long=120.0,
        not_ready_too_long=900.0,
    )
    assert book.for_queue("any queue") == book.defaults == QueueTargets()


def test_user_file_overrides_defaults_and_queues_key_by_key(tmp_path: Path) -> None:
    path = tmp_path / "targets.toml"
    path.write_text(
        '[defaults]\nservice_level = "85%"\nnot_ready_too_long = "20m"\n\n'
        '[queues.billing]\nasa = "15s"\nasa_amber = 25\nlongest_wait = "3m"\n'
        "longest_wait_amber = 90\n",
        encoding="utf-8",
    )
    book = load_targets(path)
    billing, support = book.for_queue("billing"), book.for_queue("support")
    assert book.queues() == ("billing",)
    assert (billing.asa, billing.asa_amber, billing.longest_wait) == (15.0, 25.0, 180.0)
    assert billing.longest_wait_amber == 90.0
    # Keys a queue leaves out come from the user's defaults, then the shipped ones.
    assert billing.service_level == support.service_level == 0.85
    assert billing.not_ready_too_long == 1200.0
    assert support.asa == 30.0 and support.wrap_up_too_long == 120.0


def test_queue_table_beats_defaults_and_user_beats_shipped() -> None:
    shipped = _Reader(
        "shipped.toml",
        "[defaults]\n"
        + "\n".join(f"{k} = {v}" for k, v in _DEFAULT_VALUES.items())
        + "\n[queues.vip]\nservice_level = 0.9\nasa = 10\n",
    ).parse()
    user = _Reader("user.toml", "[defaults]\nservice_level = 0.85\n[queues.vip]\nasa = 5\n").parse()
    book = _merge(shipped, user)
    vip = book.for_queue("vip")
    assert vip.service_level == 0.9  # the shipped queue's own beats the user's defaults
    assert vip.asa == 5.0  # the user's queue beats the shipped queue
    assert book.for_queue("sales").service_level == 0.85


_DEFAULT_VALUES = {
    "service_level": 0.8,
    "service_level_amber": 0.7,
    "asa": 30,
    "asa_amber": 60,
    "longest_wait": 120,
    "longest_wait_amber": 60,
    "abandon_rate": 0.08,
    "abandon_rate_amber": 0.05,
    "wrap_up_too_long": 120,
    "not_ready_too_long": 900,
}


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("[defaults]\nservice_levl = 0.8\n", 2, "unknown key 'service_levl'"),
        (
            "[defaults]\nasa = 20\n\n[queues.billing]\nasa = 10\nlongest_wiat = 30\n",
            6,
            "queues.billing: unknown key 'longest_wiat'",
        ),
        ("[queue.billing]\nasa = 10\n", 1, "unknown key 'queue'"),
        ("[defaults]\n\nservice_level = 80\n", 3, "must be a share from 0 to 1"),
        ('[defaults]\nasa = "soon"\n', 2, "bad duration 'soon'"),
        ("[defaults]\nwrap_up_too_long = 0\n", 2, "more than 0 s"),
        (
            "[defaults]\nservice_level = 0.8\nservice_level_amber = 0.9\n",
            3,
            "service_level_amber 0.9 is above service_level 0.8",
        ),
        (
            "[queues.a]\nasa = 10\n\n[queues.b]\nasa = 10\nasa_amber = -5\n",
            6,
            "queues.b.asa_amber: bad duration -5",
        ),
        ("[queues]\nbilling = 5\n", 2, "queues.billing: must be a table"),
        ("[defaults\nasa = 10\n", 1, "TOML syntax error"),
        # Consistent in the file, not once merged with the shipped amber bound (0.70):
        (
            "[defaults]\nasa = 20\n\n[queues.billing]\n# stricter\nservice_level = 0.6\n",
            6,
            "service_level_amber 0.7 is above service_level 0.6",
        ),
    ],
)
def test_bad_targets_files_name_the_file_and_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = tmp_path / "targets.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TargetsError) as caught:
        load_targets(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}:"), message
    assert words in message


def test_merge_error_names_the_queue(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text("[queues.billing]\nlongest_wait = 30\n", encoding="utf-8")
    with pytest.raises(TargetsError, match=r"t\.toml:2: .*above longest_wait 30.*'billing'"):
        load_targets(path)


def test_missing_and_unreadable_files_are_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TargetsError, match="no such file"):
        load_targets(tmp_path / "nope.toml")
    binary = tmp_path / "b.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(TargetsError, match="not a UTF-8 text file"):
        load_targets(binary)


def test_targets_refuse_bounds_out_of_order_when_built_in_code() -> None:
    with pytest.raises(ValueError, match="abandon_rate_amber"):
        QueueTargets(abandon_rate=0.03)


# ------------------------------------------------------------------ red / amber / green


@pytest.mark.parametrize(
    ("figure", "value", "rag"),
    [
        ("service_level", 0.80, Rag.GREEN),  # at the target: green
        ("service_level", 0.7999, Rag.AMBER),
        ("service_level", 0.70, Rag.AMBER),  # at the amber bound: still amber
        ("service_level", 0.6999, Rag.RED),
        ("service_level", None, Rag.NONE),
        ("asa", 30.0, Rag.GREEN),
        ("asa", 30.5, Rag.AMBER),
        ("asa", 60.0, Rag.AMBER),
        ("asa", 60.5, Rag.RED),
        ("longest_wait", 60.0, Rag.GREEN),
        ("longest_wait", 61.0, Rag.AMBER),
        ("longest_wait", 120.0, Rag.AMBER),  # red *above* 120 s
        ("longest_wait", 121.0, Rag.RED),
        ("abandon_rate", 0.05, Rag.GREEN),
        ("abandon_rate", 0.051, Rag.AMBER),
        ("abandon_rate", 0.08, Rag.AMBER),
        ("abandon_rate", 0.081, Rag.RED),
        ("abandon_rate", None, Rag.NONE),
    ],
)
def test_rag_boundaries(figure: str, value: float | None, rag: Rag) -> None:
    assert rag_for(figure, value, QueueTargets()) is rag


def test_queue_rag_colours_the_four_wallboard_figures() -> None:
    q = queue_live(sl=0.75, asa=None, abandon=0.2, longest_wait=30.0)
    assert queue_rag(q, QueueTargets()) == {
        "service_level": Rag.AMBER,
        "asa": Rag.NONE,
        "longest_wait": Rag.GREEN,
        "abandon_rate": Rag.RED,
    }
    # Exact ratios land on the bounds as the targets are written (8/10 is 0.8).
    assert queue_rag(queue_live(sl=8 / 10), QueueTargets())["service_level"] is Rag.GREEN
    with pytest.raises(ValueError, match="unknown figure"):
        rag_for("aht", 1.0, QueueTargets())


# ------------------------------------------------------------------ alerts


def test_service_level_alert_raises_once_and_clears_with_hysteresis() -> None:
    log = AlertLog()
    assert log.evaluate(board(100, (queue_live(sl=0.75),)), BOOK) == []  # amber: no alert
    raised = log.evaluate(board(110, (queue_live(sl=0.65),)), BOOK)
    assert [(c.raised, c.alert.kind, c.alert.subject) for c in raised] == [
        (True, AlertKind.SERVICE_LEVEL, "support")
    ]
    assert raised[0].alert.describe() == "service level 65% below 70%"
    # Worse still: the same alert, its worst value follows.
    assert log.evaluate(board(120, (queue_live(sl=0.60),)), BOOK) == []
    # Back over the red bound but not by the 2-point margin: stays open (no flapping).
    assert log.evaluate(board(130, (queue_live(sl=0.71),)), BOOK) == []
    assert log.evaluate(board(135, (queue_live(sl=0.69),)), BOOK) == []
    [alert] = log.open()
    assert (alert.value, alert.worst, alert.last, alert.raised_at) == (0.65, 0.60, 0.69, 110)
    cleared = log.evaluate(board(140, (queue_live(sl=0.72),)), BOOK)
    assert [(c.raised, c.alert.cleared_at) for c in cleared] == [(False, 140)]
    assert log.open() == []
    [past] = log.history()
    assert (past.raised_at, past.cleared_at, past.worst, past.is_open) == (110, 140, 0.60, False)
    # A new crossing is a new alert.
    again = log.evaluate(board(150, (queue_live(sl=0.5),)), BOOK)
    assert again[0].raised and again[0].alert.id != past.id
    assert [a.raised_at for a in log.history()] == [150, 110]


def test_too_few_calls_raise_no_service_level_or_abandon_alert() -> None:
    log = AlertLog(min_calls=10)
    quiet = queue_live(sl=0.0, abandon=0.5, offered=9)
    assert log.evaluate(board(100, (quiet,)), BOOK) == []
    busy = queue_live(sl=0.0, abandon=0.5, offered=10)
    kinds = {c.alert.kind for c in log.evaluate(board(110, (busy,)), BOOK)}
    assert kinds == {AlertKind.SERVICE_LEVEL, AlertKind.ABANDON_RATE}


def test_longest_wait_alert_does_not_flap_around_its_bound() -> None:
    log = AlertLog()
    changes = []
    for at, wait in enumerate((100.0, 121.0, 119.0, 121.0, 115.0, 125.0, 108.0)):
        changes += log.evaluate(board(at, (queue_live(longest_wait=wait),)), BOOK)
    # Raised at 121 s, kept through 119/121/115/125, cleared at 108 s (90 % of 120 s).
    assert [(c.raised, c.alert.raised_at, c.alert.cleared_at) for c in changes] == [
        (True, 1, None),
        (False, 1, 6),
    ]
    assert log.history()[0].worst == 125.0
    assert log.history()[0].describe() == "longest wait 2:05 above 2:00"


def test_abandon_rate_alert_clears_one_point_under_its_bound() -> None:
    log = AlertLog()
    assert log.evaluate(board(1, (queue_live(abandon=0.08),)), BOOK) == []  # not above
    assert log.evaluate(board(2, (queue_live(abandon=0.09),)), BOOK)[0].raised
    assert log.evaluate(board(3, (queue_live(abandon=0.075),)), BOOK) == []
    assert not log.evaluate(board(4, (queue_live(abandon=0.07),)), BOOK)[0].raised


def test_per_queue_targets_apply_to_their_queue_only() -> None:
    strict = QueueTargets(longest_wait=30.0, longest_wait_amber=20.0)
    book = TargetBook(QueueTargets(), {"vip": strict})
    log = AlertLog()
    changes = log.evaluate(
        board(1, (queue_live("vip", longest_wait=45.0), queue_live("sales", longest_wait=45.0))),
        book,
    )
    assert [(c.alert.subject, c.alert.threshold) for c in changes] == [("vip", 30.0)]
    assert log.is_open(AlertKind.LONGEST_WAIT, "vip")
    assert not log.is_open(AlertKind.LONGEST_WAIT, "sales")


def test_agent_in_wrap_up_too_long_raises_then_clears_when_they_leave_it() -> None:
    log = AlertLog()
    wrap = agent_live("ann", AgentActivity.WRAP_UP, since=1000.0)
    assert log.evaluate(board(1120, agents=(wrap,)), BOOK) == []  # exactly 2 min: not yet
    [raised] = log.evaluate(board(1121, agents=(wrap,)), BOOK)
    assert (raised.alert.kind, raised.alert.subject, raised.alert.value) == (
        AlertKind.WRAP_UP,
        "ann",
        121.0,
    )
    assert log.evaluate(board(1200, agents=(wrap,)), BOOK) == []
    free = agent_live("ann", AgentActivity.AVAILABLE, since=1200.0)
    [cleared] = log.evaluate(board(1201, agents=(free,)), BOOK)
    assert not cleared.raised and cleared.alert.worst == 200.0
    assert cleared.alert.describe() == "in wrap-up 3:20 (limit 2:00)"


def test_agent_not_ready_uses_the_strictest_of_their_queues() -> None:
    book = TargetBook(QueueTargets(), {"billing": QueueTargets(not_ready_too_long=300.0)})
    log = AlertLog()
    both = agent_live(
        "bob", AgentActivity.NOT_READY, since=0.0, queues=("support", "billing"), reason="lunch"
    )
    only_support = agent_live("cy", AgentActivity.NOT_READY, since=0.0, queues=("support",))
    changes = log.evaluate(board(301.0, agents=(both, only_support)), book)
    [alert] = [c.alert for c in changes]
    assert (alert.kind, alert.subject, alert.threshold) == (AlertKind.NOT_READY, "bob", 300.0)
    assert alert.detail == "billing, support; lunch"
    assert [a.subject for a in log.open_for("bob")] == ["bob"]
    # 15 minutes for an agent in support only; the logged-out agent clears bob's alert.
    gone = agent_live("bob", AgentActivity.LOGGED_OUT, since=400.0, queues=())
    changes = log.evaluate(board(901.0, agents=(gone, only_support)), book)
    assert {(c.alert.subject, c.raised) for c in changes} == {("cy", True), ("bob", False)}


def test_alerts_of_a_vanished_queue_or_agent_clear() -> None:
    log = AlertLog()
    log.evaluate(
        board(
            10.0,
            (queue_live(longest_wait=500.0),),
            (agent_live("dee", AgentActivity.NOT_READY, since=-1000.0),),
        ),
        BOOK,
    )
    assert len(log.open()) == 2
    changes = log.evaluate(board(20.0), BOOK)
    assert [c.raised for c in changes] == [False, False]
    assert all(c.alert.cleared_at == 20.0 and c.alert.last is None for c in changes)


def test_history_is_bounded_and_newest_first() -> None:
    log = AlertLog(history_size=3)
    for at in range(5):
        log.evaluate(board(at * 10.0, (queue_live(f"q{at}", longest_wait=999.0),)), BOOK)
    assert [a.subject for a in log.history()] == ["q4", "q3", "q2"]
    assert [a.subject for a in log.open()] == ["q4"]  # the others vanished and cleared


def test_untrusted_names_are_sanitised_in_alerts() -> None:
    log = AlertLog()
    evil = "[b]x\x1b[31m\u202eq"
    [change] = log.evaluate(board(1.0, (queue_live(evil, longest_wait=999.0),)), BOOK)
    assert change.alert.subject == "[b]xq"
    assert log.is_open(AlertKind.LONGEST_WAIT, evil)


async def test_raised_and_cleared_alerts_go_to_the_audit_log(db: Database) -> None:
    log = AlertLog()
    audit = AlertAudit(db)
    await audit.record(log.evaluate(board(1.0, (queue_live(longest_wait=999.0),)), BOOK))
    await audit.record(log.evaluate(board(9.0, (queue_live(longest_wait=0.0),)), BOOK))
    await audit.record([])
    async with db.session() as session:
        rows = (
            await session.execute(
                select(AuditRow.action, AuditRow.entity_type, AuditRow.details).order_by(
                    AuditRow.id
                )
            )
        ).all()
    assert [(r[0], r[1]) for r in rows] == [("alert_raised", "queue"), ("alert_cleared", "queue")]
    assert rows[1][2]["subject"] == "support" and rows[1][2]["cleared_at"] == 9.0
    assert rows[0][2]["kind"] == "longest_wait" and rows[0][2]["value"] == 999.0
