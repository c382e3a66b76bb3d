"""Replaying a 1-hour agent shift at 16x: records replayed per second, repaints, playback lag.

    python bench/replay.py [--seconds 20] [--full] [--unmasked] [--calls 60]

Builds a realistic shift in a temporary SQLite file: a seeded CRM (2,000 customers), then one
agent's hour written through the real `SessionRecorder` — ~60 calls (ring, the real screen pop
of a CRM customer with history and tickets, answer, transcript, holds, hang-up, wrap-up notes,
tickets, follow-ups, ready/not ready) among the queue and member-state events a console
receives. It loads the shift with `ReplaySources.shift`, builds the `Replay` (masked, as a
trainer sees it, unless --unmasked) and runs the `ReplayScreen` headless
(`app.run_test(size=(120, 40))`) at 16x for `--seconds` wall seconds (or the whole shift,
225 s, with --full), measuring:

- records/s: records the shown frame advanced by, per wall second;
- repaints/s: timer ticks that changed something on screen (the cap is 10/s);
- redraw p50/p99: one tick of the screen (frame at the position, widgets updated) and
  Textual's paint that follows (layout if any, compositor, output), each;
- playback lag: where the playback clock is minus the position last drawn, sampled every
  ~7 ms (replay seconds; at 16x a 0.1 s tick is up to 1.6 s by design), p50/p99/max;
- event-loop lag p99: a 10 ms sleep's overshoot;
- seek p50/p99: `Replay.frame_at` at random positions, and a seek key to the frame drawn.

The figures are printed last.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SHIFT_START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SHIFT = timedelta(hours=1)
QUEUES = ("support", "billing", "sales")
LINES = (
    "Hi, I'm calling about my last invoice.",
    "It says I was charged twice for November.",
    "My number is {number}, the account is in my name.",
    "Can you send the confirmation to {email}?",
    "I already called last week and nobody called back.",
    "OK, that sounds fine.",
    "How long will the refund take?",
    "Thanks for your help, bye.",
)


def _p(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def build_shift(path: Path, calls: int, rng: random.Random) -> tuple[Any, int, int]:
    """The seeded CRM and one agent's recorded hour; returns (db, agent id, records)."""
    from console.cti import protocol as p
    from console.db import open_database
    from console.services.desk.screenpop import ScreenPopService
    from console.services.seeding.seeding import SeedPlan, seed_database
    from console.services.training.recording import SessionRecorder

    db = open_database(f"sqlite:///{path}")
    await seed_database(db, SeedPlan(customers=2000, seed=7, as_of=date(2026, 11, 1), agents=12))
    con = sqlite3.connect(path)
    numbers = [r[0] for r in con.execute("SELECT e164 FROM phone_numbers ORDER BY id LIMIT 400")]
    agent_id, interface, name = con.execute(
        "SELECT id, interface, display_name FROM agents WHERE interface != '' ORDER BY id LIMIT 1"
    ).fetchone()
    others = [r[0] for r in con.execute("SELECT interface FROM agents WHERE id != ?", (agent_id,))]
    con.close()
    clock = _Clock(SHIFT_START)
    recorder = SessionRecorder(
        db, agent_id=agent_id, host="bench", clock=clock, details={"interface": interface}
    )
    popper = ScreenPopService(db, clock=clock)
    pending: list[tuple[datetime, Any]] = []  # (when, event or (kind, call, details))

    def event(at: datetime, e: Any) -> None:
        pending.append((at, e))

    def action(at: datetime, kind: str, call: str | None = None, **details: Any) -> None:
        pending.append((at, (kind, call, details)))

    def member(at: datetime, who: str, paused: bool, reason: str = "") -> p.AgentStateChanged:
        return p.AgentStateChanged(
            interface=who,
            member_name=name if who == interface else who,
            queue=rng.choice(QUEUES),
            logged_in=True,
            paused=paused,
            reason=reason,
            status=1,
            status_text="Not in use",
            in_call=False,
            at=at,
        )

    event(
        SHIFT_START, p.LinkStateChanged(state=p.LinkState.CONNECTED, since=SHIFT_START, detail="")
    )
    action(SHIFT_START + timedelta(seconds=1), "ready", reason="")
    # Background: queue figures every 5 s, other members' states every ~3 s.
    second = 0.0
    while second < SHIFT.total_seconds():
        at = SHIFT_START + timedelta(seconds=second)
        if int(second) % 5 == 0:
            for queue in QUEUES[:2]:
                waiting = rng.randrange(0, 6)
                event(
                    at,
                    p.QueueChanged(
                        queue=queue,
                        waiting=waiting,
                        oldest_joined_at=at - timedelta(seconds=rng.randrange(1, 90))
                        if waiting
                        else None,
                        longest_wait=float(rng.randrange(0, 90)),
                        members=12,
                        available=rng.randrange(0, 6),
                        paused=rng.randrange(0, 4),
                        completed=int(second // 20),
                        abandoned=int(second // 300),
                        strategy="rrmemory",
                        avg_hold_time=None,
                        avg_talk_time=None,
                        service_level=20,
                        service_level_perf=None,
                        service_level_perf2=None,
                        at=at,
                    ),
                )
        if rng.random() < 0.33:
            event(at, member(at, rng.choice(others), rng.random() < 0.3, "break"))
        second += 1.0
    # The agent's calls, one a minute or so.
    slot = SHIFT.total_seconds() / calls
    for n in range(calls):
        t0 = SHIFT_START + timedelta(seconds=5 + n * slot + rng.uniform(0, 5))
        number = rng.choice(numbers)
        ids = {"uniqueid": f"U{n}", "linkedid": f"L{n}"}
        clock.now = t0
        pop = await popper.lookup(number)
        customer = pop.profile.display_name if pop.profile else "caller"
        email = pop.profile.emails[0].value if pop.profile and pop.profile.emails else "x@y.com"
        queue = rng.choice(QUEUES)
        event(
            t0,
            p.CallOffered(
                **ids,
                queue=queue,
                caller_id=number,
                caller_name=customer,
                interface=interface,
                member_name=name,
                channel=f"PJSIP/trunk-{n:08d}",
                agent_channel=f"{interface}-{n:08d}",
                waited=rng.uniform(0, 40),
                at=t0,
            ),
        )
        action(t0 + timedelta(milliseconds=40), "pop_shown", ids["linkedid"], pop=pop)
        answer = t0 + timedelta(seconds=rng.uniform(2, 6))
        action(answer, "answer", ids["linkedid"])
        event(
            answer + timedelta(milliseconds=150),
            p.CallAnswered(
                **ids,
                queue=queue,
                interface=interface,
                member_name=name,
                channel=f"PJSIP/trunk-{n:08d}",
                agent_channel=f"{interface}-{n:08d}",
                hold_time=10,
                ring_time=3,
                at=answer,
            ),
        )
        talk = rng.uniform(20, 35)
        for k, line in enumerate(rng.sample(LINES, rng.randrange(5, len(LINES) + 1))):
            when = answer + timedelta(seconds=1 + k * talk / 9)
            text = line.format(number=number, email=email)
            event(when, p.TranscriptLine(**ids, speaker="caller", text=text, script="", at=when))
        if rng.random() < 0.4:
            hold = answer + timedelta(seconds=talk / 2)
            action(hold, "hold", ids["linkedid"])
            event(hold, p.CallHeld(**ids, interface=interface, at=hold))
            back = hold + timedelta(seconds=rng.uniform(3, 8))
            action(back, "unhold", ids["linkedid"])
            event(back, p.CallResumed(**ids, interface=interface, at=back))
        end = answer + timedelta(seconds=talk)
        action(end, "hangup", ids["linkedid"])
        event(
            end,
            p.CallEnded(
                **ids,
                queue=queue,
                interface=interface,
                answered=True,
                reason=p.EndReason.AGENT,
                cause=16,
                cause_text="Normal Clearing",
                talk_time=int(talk),
                at=end,
            ),
        )
        action(end, "not_ready", reason="acw")
        action(end + timedelta(seconds=0.3), "wrap_up_opened", ids["linkedid"], status="wrapup")
        notes = f"{customer} asked about the invoice; call back on {number}."
        for k in range(1, 5):
            action(
                end + timedelta(seconds=2 * k),
                "notes_saved",
                ids["linkedid"],
                notes=notes[: 12 * k],
            )
        ticket_id = None
        if rng.random() < 0.3:
            ticket_id = 10_000 + n
            ticket = {"id": ticket_id, "customer_name": customer, "subject": "Double charge"}
            action(end + timedelta(seconds=9), "ticket_created", ids["linkedid"], ticket=ticket)
        action(
            end + timedelta(seconds=10),
            "wrap_up_saved",
            ids["linkedid"],
            disposition="resolved",
            category="billing",
            notes=notes,
            ticket_id=ticket_id,
            followup_id=None,
            csat=rng.randrange(1, 6),
            resolved_first_contact=True,
            wrap_seconds=10.0,
        )
        action(end + timedelta(seconds=10.2), "ready", reason="")
    pending.sort(key=lambda item: item[0])
    for at, item in pending:
        clock.now = at
        if isinstance(item, tuple):
            kind, call, details = item
            recorder.record_action(kind, call_id=call, **details)
        else:
            recorder.record_event(item)
    await recorder.flush()
    return db, agent_id, len(pending)


async def run(seconds: float | None, calls: int, masked: bool) -> None:
    from textual.app import App

    from console.screens.replay import ReplayScreen
    from console.services.training.masking import Masker
    from console.services.training.replay import Replay
    from console.services.training.replay_sources import ReplaySources
    from console.services.training.replay_state import apply

    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        db, agent_id, written = await build_shift(Path(tmp) / "shift.db", calls, rng)
        built = time.perf_counter() - t
        try:
            t = time.perf_counter()
            records = await ReplaySources(db).shift(agent_id, SHIFT_START, SHIFT_START + SHIFT)
            loaded = time.perf_counter() - t
            t = time.perf_counter()
            replay = Replay(
                records,
                masker=Masker() if masked else None,
                start=SHIFT_START,
                end=SHIFT_START + SHIFT,
            )
            prepared = time.perf_counter() - t
        finally:
            await db.dispose()

    t = time.perf_counter()
    functools.reduce(apply, replay.records, replay.initial)
    fold_rate = len(replay) / (time.perf_counter() - t)
    seeks = []
    for _ in range(2000):
        target = rng.uniform(0, replay.duration)
        t = time.perf_counter()
        replay.frame_at(target)
        seeks.append(time.perf_counter() - t)

    redraws: list[float] = []
    paints: list[float] = []
    layouts = 0
    original_redraw = ReplayScreen.redraw
    original_paint = ReplayScreen._on_timer_update

    def timed_redraw(self: ReplayScreen) -> None:
        t0 = time.perf_counter()
        original_redraw(self)
        redraws.append(time.perf_counter() - t0)

    def timed_paint(self: ReplayScreen) -> None:
        nonlocal layouts
        layouts += bool(self._layout_required)
        t0 = time.perf_counter()
        original_paint(self)
        paints.append(time.perf_counter() - t0)

    ReplayScreen.redraw = timed_redraw  # type: ignore[method-assign]
    ReplayScreen._on_timer_update = timed_paint  # type: ignore[method-assign]
    screen = ReplayScreen(replay, title=f"agent {agent_id} · shift", speed=16, play=True)

    class BenchApp(App[None]):
        def on_mount(self) -> None:
            self.push_screen(screen)

    wall = seconds if seconds is not None else replay.duration / 16 + 1
    lags: list[float] = []
    loop_lags: list[float] = []
    key_seeks: list[float] = []
    try:
        async with BenchApp().run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.5)
            player = screen.player
            assert player is not None
            player.seek(0.0, time.monotonic())
            player.play(time.monotonic())
            redraws.clear()
            paints.clear()
            layouts = 0
            count0, repaints0, t0 = (
                screen.frame.count if screen.frame else 0,
                screen.repaints,
                time.perf_counter(),
            )
            while time.perf_counter() - t0 < wall and not player.finished(time.monotonic()):
                lags.append(player.position(time.monotonic()) - screen.position)
                before = time.perf_counter()
                await asyncio.sleep(0.007)
                loop_lags.append(time.perf_counter() - before - 0.007)
            elapsed = time.perf_counter() - t0
            replayed = (screen.frame.count if screen.frame else 0) - count0
            repaints = screen.repaints - repaints0
            played_to = screen.position
            # Seek keys (the digit's action; Pilot.press would also wait for an idle screen,
            # which a playing replay seldom is), until the next tick has drawn that position.
            for _ in range(30):
                digit = rng.randrange(10)
                target = digit / 10 * replay.duration
                t = time.perf_counter()
                screen.action_fraction(digit)
                while abs(screen.position - target) > 16 * 0.2:  # noqa: ASYNC110 - polling the screen
                    await asyncio.sleep(0.001)
                key_seeks.append(time.perf_counter() - t)
    finally:
        ReplayScreen.redraw = original_redraw  # type: ignore[method-assign]
        ReplayScreen._on_timer_update = original_paint  # type: ignore[method-assign]

    print(
        f"shift: {calls} calls, {written:,} records written, {len(replay):,} loaded "
        f"({replay.window_count:,} in the hour); built {built:.1f} s, "
        f"loaded {loaded * 1e3:.0f} ms, prepared ({'masked' if masked else 'unmasked'}) "
        f"{prepared * 1e3:.0f} ms"
    )
    print(
        f"played 16x for {elapsed:.1f} s wall: position 0 → {played_to:,.0f} s"
        f" of {replay.duration:,.0f} s; the reducer folds {fold_rate:,.0f} records/s"
    )
    print(
        f"paints: {len(paints)} ({layouts} with a layout pass); "
        f"seek by key (press → drawn) p50 {_p(key_seeks, 0.5) * 1e3:.0f} ms, "
        f"p99 {_p(key_seeks, 0.99) * 1e3:.0f} ms"
    )
    print(
        f"replayed {replayed / elapsed:,.0f} records/s; {repaints / elapsed:.1f} repaints/s; "
        f"redraw p50 {_p(redraws, 0.5) * 1e3:.2f} ms p99 {_p(redraws, 0.99) * 1e3:.2f} ms; "
        f"paint p50 {_p(paints, 0.5) * 1e3:.2f} ms p99 {_p(paints, 0.99) * 1e3:.2f} ms; "
        f"playback lag p50 {_p(lags, 0.5):.2f} s p99 {_p(lags, 0.99):.2f} s max {max(lags):.2f} s "
        f"(replay time; {max(lags) / 16 * 1e3:.0f} ms wall); "
        f"event-loop lag p99 {_p(loop_lags, 0.99) * 1e3:.1f} ms; "
        f"seek p50 {statistics.median(seeks) * 1e3:.2f} ms p99 {_p(seeks, 0.99) * 1e3:.2f} ms"
    )


def main() -> None:
    """Parse the arguments and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="wall seconds to play at 16x")
    parser.add_argument("--full", action="store_true", help="play the whole shift (225 s)")
    parser.add_argument("--calls", type=int, default=60, help="calls in the hour")
    parser.add_argument("--unmasked", action="store_true", help="replay without masking")
    args = parser.parse_args()
    if args.seconds <= 0 or not 1 <= args.calls <= 600:
        parser.error("--seconds must be positive and --calls between 1 and 600")
    asyncio.run(run(None if args.full else args.seconds, args.calls, not args.unmasked))


if __name__ == "__main__":
    main()
