"""Open a training run's read-only console view: live (following the trainee's recording as it
is written) or replayed from the run's start. Customer data is masked (the trainer's views
never show it; console.services.training.masking)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

from console.paths import data_dir
from console.screens.replay import ReplayScreen
from console.services.training.masking import Masker, MaskingService
from console.services.training.replay import Replay
from console.services.training.replay_sources import LiveTail, ReplaySources
from console.services.training.training import TrainingError, save_scenario_from_call

if TYPE_CHECKING:
    from textual.app import App

    from console.services.desk.session import AgentSession
    from console.services.training.training import RunRecord


async def open_run_view(
    app: App[None],
    runtime: AgentSession,
    run: RunRecord,
    *,
    follow: bool,
    unmask_reason: str = "",
) -> ReplayScreen:
    """Push the run's view; TrainingError when the run has no recorded session.

    With `unmask_reason` the replay shows customer data as recorded: only for a viewer with the
    unmask permission, and audited with the reason (MaskingError otherwise, nothing shown)."""
    if not run.session_id:
        raise TrainingError(f"run {run.id} has no recorded trainee session")
    masker: Masker | None = Masker(runtime.ctx.region)
    what = f"Run {run.id}: {run.scenario_name} · {run.trainee_name}"
    if unmask_reason and not follow:
        if runtime.agent is None:
            raise TrainingError("unmasking needs a logged-in viewer")
        viewer = MaskingService(runtime.db, runtime.agent, clock=runtime.clock)
        await viewer.allow_raw("training_run", run.id, unmask_reason)
        masker, what = None, f"{what} (UNMASKED)"
    screen: ReplayScreen
    if follow:
        tail = LiveTail(runtime.db, run.session_id, masker=masker)
        screen = ReplayScreen(tail, title=f"{what} (live)", follow=True, clock=runtime.clock)
    else:
        sources = ReplaySources(runtime.db)
        start = run.started_at or run.created_at
        end = run.scored_at or run.finished_at or datetime.now(UTC)  # through the wrap-ups
        records = await sources.session(run.session_id, start=start, end=end)
        names = await sources.agent_names(run.trainee_id)
        # Decoding and masking an hour of records takes about a second: not on the UI loop.
        replay = await asyncio.to_thread(
            partial(Replay, records, masker=masker, start=start, end=end, agent_names=names)
        )
        folder = runtime.options.training_dir or data_dir() / "scenarios"

        async def make_scenario(linkedid: str) -> str:
            name = f"from-run-{run.id}-{run.scenario_name}"
            return str(await save_scenario_from_call(runtime.db, linkedid, folder, name))

        screen = ReplayScreen(
            replay, title=what, play=True, clock=runtime.clock, make_scenario=make_scenario
        )
    await app.push_screen(screen)
    return screen
