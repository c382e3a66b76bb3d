"""Training runs end to end, for every shipped scenario with scripted calls.

The real simulator plays the scenario to the trainee's phone (SimTraining); the trainee's real
console (Pilot) takes the calls with the keys an agent uses; the run is scored from what the
console recorded. A trainee doing the right things scores 100; a sloppy run fails exactly the
criteria it violated. Each test plays the sloppy run first, then the right one, on one console.
"""

from __future__ import annotations

import asyncio
import html
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, Select, TextArea

from console.app import CallConsoleApp
from console.db import Database
from console.factory import ConsoleContext, PbxAddress
from console.screens.agent import AgentScreen
from console.screens.new_customer import NewCustomerScreen
from console.screens.transfer import TransferScreen
from console.screens.wrapup import NEW_TICKET, WrapUpScreen
from console.services.training.replay import Replay
from console.services.training.replay_sources import ReplaySources
from console.services.training.scoring import ScoreCard
from console.services.training.training import TrainingService
from console.widgets.profile_card import ProfileCard
from tests.factories import ready_agent, wrap_up_ready
from tests.pbx import running_pbx
from tests.ui.conftest import FAST, until

# The demo floor's queues, as the CRM numbers them; training adds the scenario's others.
FLOOR = """
name = "training-floor"
[[queues]]
name = "sales"
extension = "600"
[[queues]]
name = "support"
extension = "601"
[[queues]]
name = "billing"
extension = "602"
"""


@dataclass(frozen=True)
class Handling:
    """What the trainee does on one scripted call."""

    disposition: str
    notes: str
    ticket: tuple[str, str] | None = None  # (category, priority) of a new ticket
    callback: bool = False
    escalate: bool = False
    new_customer: str = ""  # create the caller as this customer
    transfer: str = ""  # blind-transfer to this extension instead of hanging up


@dataclass(frozen=True)
class Drill:
    scenario: str
    right: tuple[Handling, ...]
    sloppy: tuple[Handling, ...]
    sloppy_fails: frozenset[str]
    speed: float = 4.0  # simulated seconds per second: ring timeouts stay >= 3 s
    extra: dict[str, str] = field(default_factory=dict)


DRILLS = [
    Drill(
        "platinum_billing_dispute",
        right=(
            Handling(
                "escalated",
                "Charged twice for the annual plan; refund promised today.",
                ticket=("billing", "high"),
                escalate=True,
            ),
        ),
        sloppy=(Handling("resolved", "Charged twice for the annual plan.", escalate=True),),
        sloppy_fails=frozenset({"ticket", "disposition", "notes"}),
    ),
    Drill(
        "angry_repeat_caller",
        right=(
            Handling(
                "callback_scheduled",
                "Router fault again; customer threatens to cancel.",
                callback=True,
                escalate=True,
            ),
        ),
        sloppy=(Handling("info_given", "Router fault again.", escalate=True),),
        sloppy_fails=frozenset({"callback", "disposition", "notes"}),
    ),
    Drill(
        "unknown_caller",
        right=(
            Handling(
                "callback_scheduled",
                "New bakery wants a quote for 3 lines.",
                callback=True,
                new_customer="Bella Baker",
            ),
        ),
        sloppy=(Handling("info_given", "Bakery asked for a quote."),),
        sloppy_fails=frozenset({"customer", "callback", "disposition"}),
    ),
    Drill(
        "callback_request",
        right=(Handling("resolved", "Sent a copy of the invoice by email."),),
        sloppy=(Handling("no_action", "Sent it."),),
        sloppy_fails=frozenset({"disposition", "notes"}),
    ),
    Drill(
        "transfer_to_tier2",
        right=(
            Handling(
                "transferred",
                "VPN drops since the firmware update; sent to tier 2.",
                ticket=("technical", "normal"),
                transfer="603",
            ),
        ),
        sloppy=(Handling("resolved", "VPN drops since the firmware update."),),
        sloppy_fails=frozenset({"ticket", "transfer", "disposition"}),
    ),
    Drill(
        "demo",
        right=(
            Handling("ticket_opened", "Charged twice this month.", ticket=("billing", "normal")),
            Handling("ticket_opened", "Outage in the area.", ticket=("technical", "high")),
        ),
        sloppy=(
            Handling("ticket_opened", "Asked about the invoice.", ticket=("billing", "normal")),
            Handling("resolved", "Outage in the area."),
        ),
        sloppy_fails=frozenset({"billing-notes", "outage-ticket"}),
        speed=10.0,  # its second call comes 160 simulated seconds after the first
    ),
]


Seen = list[tuple[datetime, str, int | None]]


def look(screen: AgentScreen, seen: Seen | None) -> None:
    """Note what the trainee's screen shows now: the call's phase and the popped customer."""
    if seen is not None:
        pop = screen.query_one(ProfileCard).pop
        profile = pop.profile.id if pop is not None and pop.profile is not None else None
        seen.append((screen.runtime.clock(), screen.desk.state.phase, profile))


async def take_call(
    app: CallConsoleApp,
    pilot: Pilot[None],
    screen: AgentScreen,
    h: Handling,
    seen: Seen | None = None,
) -> None:
    """Answer the ringing call and handle it as `h` says, with the agent's keys."""
    card = screen.query_one(ProfileCard)
    await until(lambda: screen.desk.state.phase == "ringing" and card.pop is not None, within=60)
    look(screen, seen)
    await pilot.press("f2")
    await until(lambda: screen.desk.state.phase == "talking")
    look(screen, seen)
    if h.new_customer:
        await until(lambda: (c := screen.desk.state.call) is not None and c.interaction_id)
        await pilot.press("n")
        await until(lambda: isinstance(app.screen, NewCustomerScreen))
        await pilot.press(*h.new_customer)
        await pilot.press("ctrl+s")
        await until(lambda: card.pop is not None and card.pop.profile is not None)
    if h.transfer:
        await pilot.press("f4")
        await until(lambda: isinstance(app.screen, TransferScreen))
        app.screen.query_one("#extension", Input).focus()
        await pilot.press(*h.transfer, "enter")
    else:
        await pilot.press("f5")
    await until(lambda: wrap_up_ready(app))
    look(screen, seen)
    wrap = app.screen
    assert isinstance(wrap, WrapUpScreen)
    wrap.query_one("#notes", TextArea).load_text(h.notes)
    wrap.query_one("#disposition", Select).value = h.disposition
    if h.ticket is not None:
        wrap.query_one("#ticket", Select).value = NEW_TICKET
        await until(lambda: wrap.query_one("#new-ticket").display)
        wrap.query_one("#ticket-subject", Input).value = h.notes[:40]
        wrap.query_one("#ticket-category", Select).value = h.ticket[0]
        wrap.query_one("#ticket-priority", Select).value = h.ticket[1]
    wrap.query_one("#callback", Checkbox).value = h.callback
    wrap.query_one("#escalate", Checkbox).value = h.escalate
    await pilot.pause()
    await pilot.press("ctrl+s")
    await until(lambda: not isinstance(app.screen, WrapUpScreen), within=10)
    await until(lambda: screen.desk.state.phase == "idle")
    look(screen, seen)


async def play(
    training: TrainingService,
    link: object,
    app: CallConsoleApp,
    pilot: Pilot[None],
    screen: AgentScreen,
    scenario: str,
    handling: tuple[Handling, ...],
    seen: Seen | None = None,
) -> ScoreCard:
    """One run of `scenario` played to the console's agent, handled call by call; its card."""
    await until(lambda: screen.bar_model.agent_ready, within=10)
    trainees: list[object] = []

    async def online() -> bool:
        trainees[:] = await training.trainees()
        return bool(trainees)

    async with asyncio.timeout(10):
        while not await online():  # noqa: ASYNC110 - polling the database is the point
            await asyncio.sleep(0.1)
    (trainee,) = trainees
    run = await training.start(
        link,  # type: ignore[arg-type]
        trainer_id=None,
        trainee=trainee,  # type: ignore[arg-type]
        scenario_key=scenario,
        lead=1.0,
    )
    for h in handling:
        await take_call(app, pilot, screen, h, seen)
    async with asyncio.timeout(30):
        while not (await training.progress(run.id)).ready_to_score:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
    return await training.score(run.id)


def last_interaction(path: Path) -> int:
    con = sqlite3.connect(path)
    try:
        return int(con.execute("SELECT coalesce(max(id), 0) FROM interactions").fetchone()[0])
    finally:
        con.close()


def customer_values(path: Path, after: int) -> set[str]:
    """The names and numbers of the customers of the calls taken since interaction `after`."""
    con = sqlite3.connect(path)
    try:
        rows = con.execute(
            "SELECT c.display_name, p.e164 FROM interactions i "
            "JOIN customers c ON c.id = i.customer_id "
            "JOIN phone_numbers p ON p.customer_id = c.id WHERE i.id > ?",
            (after,),
        ).fetchall()
    finally:
        con.close()
    return {v for row in rows for v in row if v}


def leaks(text: str, raw: set[str]) -> list[str]:
    """The raw values found in `text` (an SVG screenshot's entities and no-break spaces read
    as the characters they stand for), whole or any word of a name of 3+ letters."""
    plain = html.unescape(text).replace("\xa0", " ").casefold()
    words = {w for v in raw for w in v.split() if len(w) >= 3}
    found = {v for v in raw if v.casefold() in plain}
    found |= {w for w in words if re.search(rf"\b{re.escape(w.casefold())}\b", plain)}
    return sorted(found)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("drill", DRILLS, ids=[d.scenario for d in DRILLS])
async def test_a_right_run_scores_100_and_a_sloppy_one_fails_exactly_its_mistakes(
    crm: Database, drill: Drill
) -> None:
    assert crm.sqlite_path is not None
    before = last_interaction(crm.sqlite_path)
    async with running_pbx(FLOOR, crm_db=crm.sqlite_path, speed=drill.speed) as pbx:
        context = ConsoleContext(
            db=crm, pbx=PbxAddress("127.0.0.1", pbx.port, "agent", "s3cret"), timings=FAST
        )
        agent = await context.agents.authenticate("demo", "demo")
        assert agent is not None
        runtime = await context.session_for(agent)
        app = CallConsoleApp(runtime=runtime)
        training = TrainingService(crm)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await ready_agent(app, pilot)
            sloppy = await play(
                training, runtime.cti, app, pilot, screen, drill.scenario, drill.sloppy
            )
            seen: Seen = []
            right = await play(
                training, runtime.cti, app, pilot, screen, drill.scenario, drill.right, seen
            )
            await runtime.recorder.flush()
    failed = {r.id: r.evidence for r in sloppy.results if not r.passed}
    assert set(failed) == drill.sloppy_fails, failed
    assert not sloppy.passed or sloppy.total < 100
    assert right.total == 100.0, {r.id: r.evidence for r in right.results if not r.passed}
    assert right.passed
    # The cards are stored masked: no customer's name or number in them, in either format.
    raw = customer_values(crm.sqlite_path, before)
    for card in (sloppy, right):
        for text in (card.to_json(), card.to_markdown()):
            assert not leaks(text, raw)
    history = await training.history(agent.id)
    assert [r.total for r in history] == [100.0, sloppy.total]
    # Replaying the run shows what the trainee's screen showed, moment by moment.
    run = history[0]
    assert run.session_id is not None and run.started_at is not None
    sources = ReplaySources(crm)
    end = datetime.now(UTC)
    replay = Replay(
        await sources.session(run.session_id, start=run.started_at, end=end),
        start=run.started_at,
        end=end,
        agent_names=await sources.agent_names(agent.id),
    )
    replayed = []
    for at, _phase, _profile in seen:
        frame = replay.frame_at(replay.offset(at))
        profile = frame.pop.profile.id if frame.pop and frame.pop.profile else None
        replayed.append((at, frame.phase, profile))
    assert replayed == seen
    assert [phase for _at, phase, _p in seen] == ["ringing", "talking", "wrapup", "idle"] * len(
        drill.right
    )


async def test_the_trainer_starts_a_run_from_the_library_and_gets_the_masked_card(
    crm: Database, tmp_path: Path
) -> None:
    """The trainer's screen: pick a scenario and the trainee online, start; the run is scored
    by itself once the trainee has wrapped up; card, exports and history show no customer."""
    from textual.widgets import DataTable

    from console.screens.reason import ReasonScreen
    from console.screens.replay import ReplayScreen
    from console.screens.scorecard import HistoryScreen, ScoreCardScreen
    from console.screens.trainer import TrainerScreen

    assert crm.sqlite_path is not None
    before = last_interaction(crm.sqlite_path)
    async with running_pbx(FLOOR, crm_db=crm.sqlite_path, speed=4.0) as pbx:
        context = ConsoleContext(
            db=crm,
            pbx=PbxAddress("127.0.0.1", pbx.port, "agent", "s3cret"),
            timings=FAST,
            export_dir=tmp_path / "exports",
            training_dir=tmp_path / "scenarios",
        )
        trainee_agent = await context.agents.authenticate("demo", "demo")
        con = sqlite3.connect(crm.sqlite_path)  # this trainer may unmask (audited)
        con.execute("UPDATE agents SET can_unmask = 1 WHERE login = 'trainer'")
        con.commit()
        con.close()
        trainer_agent = await context.agents.authenticate("trainer", "demo")
        assert trainee_agent is not None and trainer_agent is not None
        trainee_app = CallConsoleApp(runtime=await context.session_for(trainee_agent))
        trainer_app = CallConsoleApp(runtime=await context.session_for(trainer_agent))
        async with trainee_app.run_test(size=(120, 40)) as tp:
            screen = await ready_agent(trainee_app, tp)
            async with trainer_app.run_test(size=(120, 40)) as pp:
                await until(lambda: isinstance(trainer_app.screen, TrainerScreen))
                trainer = trainer_app.screen
                assert isinstance(trainer, TrainerScreen)
                await until(lambda: len(trainer.trainees) == 1, within=10)
                assert trainer.trainees[0].login == "demo"  # the trainer is not listed
                keys = [e.key for e in trainer.scenarios]
                table = trainer.query_one("#scenarios", DataTable)
                table.move_cursor(row=keys.index("callback_request"))
                await pp.pause()
                about = str(trainer.query_one("#scenario-about").render())
                assert "callback_request" in about and "medium" in about
                await pp.press("s")
                await until(lambda: any(r.status == "running" for r in trainer.runs))
                # Watch the trainee live: their console, read-only, as they take the call.
                await until(lambda: screen.desk.state.phase == "ringing", within=30)
                await pp.press("w")
                await until(lambda: isinstance(trainer_app.screen, ReplayScreen))
                watch = trainer_app.screen
                assert isinstance(watch, ReplayScreen) and watch.follow
                await until(lambda: watch.frame.phase == "ringing", within=10)
                await until(lambda: watch.frame.pop is not None)
                watched = [trainer_app.export_screenshot()]
                await take_call(trainee_app, tp, screen, DRILLS[3].right[0])
                await until(lambda: watch.frame.outcome is not None, within=10)
                watched.append(trainer_app.export_screenshot())
                await pp.press("escape")
                await until(lambda: isinstance(trainer_app.screen, TrainerScreen))
                await until(lambda: any(r.total is not None for r in trainer.runs), within=30)
                (run,) = trainer.runs
                assert run.total == 100.0 and run.passed and run.trainee_name == "Demo Agent"
                await pp.press("c")
                await until(lambda: isinstance(trainer_app.screen, ScoreCardScreen))
                await pp.press("m", "j")
                shown = trainer_app.export_screenshot()
                await pp.press("escape")
                await until(lambda: isinstance(trainer_app.screen, TrainerScreen))
                await pp.press("h")
                await until(lambda: isinstance(trainer_app.screen, HistoryScreen))
                history = trainer_app.export_screenshot()
                await pp.press("escape")
                await until(lambda: isinstance(trainer_app.screen, TrainerScreen))
                # The replay, masked, then unmasked with a reason (audited).
                await pp.press("p")
                await until(lambda: isinstance(trainer_app.screen, ReplayScreen))
                replay = trainer_app.screen
                assert isinstance(replay, ReplayScreen) and not replay.follow
                await pp.press("end")
                await until(lambda: replay.frame.outcome is not None)
                replayed = trainer_app.export_screenshot()
                # x: the call shown becomes a scenario in the trainer's own folder. Step from
                # the start to the call, record by record: a fraction of the window ("5") hit
                # the call only by timing (the window ends when the run was scored, which a
                # slower machine reaches later, after a longer idle tail).
                await pp.press("home")
                for _ in range(500):
                    if replay.frame.linkedid:
                        break
                    await pp.press("full_stop")
                    await pp.pause()
                await until(lambda: bool(replay.frame.linkedid))
                await pp.press("x")
                await until(lambda: any((tmp_path / "scenarios").glob("*.toml")))
                await pp.press("escape")
                await until(lambda: isinstance(trainer_app.screen, TrainerScreen))
                mine = [e for e in trainer.scenarios if e.source == "mine"]
                assert len(mine) == 1 and mine[0].trainable, mine
                await pp.press("U")
                await until(lambda: isinstance(trainer_app.screen, ReasonScreen))
                await pp.press(*"coaching review", "enter")
                await until(lambda: isinstance(trainer_app.screen, ReplayScreen))
                raw_replay = trainer_app.screen
                assert isinstance(raw_replay, ReplayScreen)
                assert "UNMASKED" in raw_replay.title_text
                pops = [
                    raw_replay.replay.frame_at_index(i).pop
                    for i in range(len(raw_replay.replay.records))
                ]
                pop = next(p for p in pops if p is not None and p.profile is not None)
                assert pop.profile is not None
    assert "100.0" in history and "callback_request" in history
    exports = sorted((tmp_path / "exports").iterdir())
    assert [p.suffix for p in exports] == [".json", ".md"]
    raw = customer_values(crm.sqlite_path, before)
    assert raw  # the call was linked to its customer: there is something to leak
    assert "callback_request" in watched[0] and "LIVE" in watched[0]
    made = [p.read_text() for p in (tmp_path / "scenarios").glob("*.toml")]
    for text in [*watched, shown, history, replayed, *made, *(p.read_text() for p in exports)]:
        assert not leaks(text, raw)
    assert pop.profile.display_name in raw  # the unmasked replay shows the real customer
    con = sqlite3.connect(crm.sqlite_path)
    audited = con.execute(
        "SELECT entity_type, entity_id, details FROM audit_log WHERE action = 'unmask'"
    ).fetchall()
    con.close()
    assert [(t, i) for t, i, _d in audited] == [("training_run", run.id)]
    assert "coaching review" in audited[0][2]


@pytest.mark.timeout(240)
async def test_a_recorded_call_becomes_a_masked_scenario_the_simulator_plays(
    crm: Database, tmp_path: Path
) -> None:
    """A real call, recorded, made into a scenario file (customer data masked), put in the
    trainer's own folder, played by the simulator to a trainee and scored."""
    from console.services.training.scenario_export import scenario_from_call
    from console.services.training.session_log import SessionLog
    from console.services.training.training import ScenarioLibrary

    assert crm.sqlite_path is not None
    before = last_interaction(crm.sqlite_path)
    own = tmp_path / "scenarios"
    own.mkdir()
    async with running_pbx(FLOOR, crm_db=crm.sqlite_path, speed=4.0) as pbx:
        context = ConsoleContext(
            db=crm, pbx=PbxAddress("127.0.0.1", pbx.port, "agent", "s3cret"), timings=FAST
        )
        agent = await context.agents.authenticate("demo", "demo")
        assert agent is not None
        runtime = await context.session_for(agent)
        app = CallConsoleApp(runtime=runtime)
        training = TrainingService(crm, ScenarioLibrary(own))
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await ready_agent(app, pilot)
            original = DRILLS[3]  # callback_request, handled right
            await play(training, runtime.cti, app, pilot, screen, original.scenario, original.right)
            con = sqlite3.connect(crm.sqlite_path)
            (linkedid,) = con.execute(
                "SELECT linkedid FROM interactions WHERE id > ? AND answered_at IS NOT NULL",
                (before,),
            ).fetchone()
            con.close()
            raw = customer_values(crm.sqlite_path, before)
            await runtime.recorder.flush()
            text = scenario_from_call(await SessionLog(crm).for_call(linkedid), name="replayed")
            assert not leaks(text, raw)
            (own / "replayed.toml").write_text(text, encoding="utf-8")
            (entry,) = [e for e in training.library.entries() if e.source == "mine"]
            assert entry.trainable and entry.name == "replayed"
            card = await play(
                training,
                runtime.cti,
                app,
                pilot,
                screen,
                entry.key,
                (Handling("resolved", "Copy sent."),),  # what the recorded agent did
            )
    assert card.total == 100.0, {r.id: r.evidence for r in card.results if not r.passed}
    kinds = {r.kind for r in card.results}
    assert {"disposition", "answer_within", "wrapup_at_most"} <= kinds
    con = sqlite3.connect(crm.sqlite_path)
    customer, number = con.execute(
        "SELECT customer_id, caller_e164 FROM interactions ORDER BY id DESC LIMIT 1"
    ).fetchone()
    con.close()
    assert customer is None and number not in raw  # the made-up caller is no one in the CRM
