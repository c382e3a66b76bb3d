"""The agent grid's monitoring keys (a mixin of `AgentGridScreen`): ``v`` opens the highlighted
agent's console live, read-only (`console.screens.monitor`); ``l`` / ``w`` / ``B`` start
listening, whispering or barging on their call (the supervisor's phone rings) and open the same
view, where the mode switches and ``s`` stops; ``m`` sends them a coach message. They need the
database (a supervisor's console; the wall TV has none), listening a supervisor's or trainer's
monitoring service."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from console.screens.monitor import ListenScreen, MonitorScreen
from console.screens.reason import ReasonScreen
from console.services import audit as audit_actions
from console.services.audit import AuditLog
from console.services.errors import ServiceError
from console.services.quality.monitoring import MonitoringService, SpySession
from console.services.supervision.coaching import MAX_TEXT, CoachService
from console.services.training.replay_sources import LiveTail, live_session

if TYPE_CHECKING:
    from console.db import Database
    from console.screens.agent_grid import GridRow
    from console.services.supervision.live import LiveViews
    from console.services.supervision.live_types import AgentLive


class MonitorKeys:
    """See the module docstring."""

    db: Database | None
    supervisor_id: int | None
    monitoring: MonitoringService | None
    live: LiveViews
    coach: CoachService | None  # the supervisor's, ringing the agent's console

    def _coach(self, db: Database) -> CoachService:
        return self.coach if self.coach is not None else CoachService(db)

    if TYPE_CHECKING:
        app: Any

        def notify(self, message: str, **kwargs: Any) -> None: ...
        def _need_selection(self) -> GridRow | None: ...

    def _monitorable(self) -> tuple[GridRow, Database, int] | None:
        row = self._need_selection()
        if row is None or self.db is None or self.supervisor_id is None:
            return None
        if row.agent_id is None:
            self.notify(f"{row.name} is not in the CRM: no console to watch.", markup=False)
            return None
        return row, self.db, self.supervisor_id

    async def action_view_live(self) -> None:
        """The highlighted agent's console, live and read-only."""
        chosen = self._monitorable()
        if chosen is not None:
            await self._open_view(*chosen, None)

    async def _open_view(self, row: GridRow, db: Database, me: int, spy: SpySession | None) -> bool:
        """Open the view of ``row``'s agent (for a listening ``spy``: the console view, or
        the PBX's view of an agent with no console); False when it could not be opened."""
        agent_id = row.agent_id
        assert agent_id is not None
        try:
            session = await live_session(db, agent_id)
            if session is None and spy is None:
                self.notify(f"{row.name} has no console running: l listens.", markup=False)
                return False
            what = "live console view" if session is not None else "listening view"
            await AuditLog(db).record(
                me, audit_actions.VIEW, "agent", agent_id, {"what": what, "session": session or ""}
            )
        except Exception as exc:  # the database away: one line
            self.notify(f"Live view not opened: {exc}", severity="error", markup=False)
            return False
        if session is not None:
            self.app.push_screen(
                MonitorScreen(
                    LiveTail(db, session),
                    title=f"{row.name} · live",
                    coach=self._coach(db),
                    supervisor_id=me,
                    agent_id=agent_id,
                    agent_name=row.name,
                    monitoring=self.monitoring,
                    spy=spy,
                )
            )
            return True
        if spy is None or self.monitoring is None:
            return False
        interface = row.agent.interface  # a phone without a console: the PBX's view
        self.app.push_screen(
            ListenScreen(
                feed=self.monitoring.feed,
                agent_now=lambda: self._agent_now(interface),
                coach=self._coach(db),
                supervisor_id=me,
                agent_id=agent_id,
                agent_name=row.name,
                monitoring=self.monitoring,
                spy=spy,
                now=self.live.clock,
            )
        )
        return True

    def _agent_now(self, interface: str) -> AgentLive | None:
        return next(
            (a for a in self.live.board.snapshot().agents if a.interface == interface), None
        )

    async def action_listen(self, mode: str) -> None:
        chosen = self._monitorable()
        monitoring = self.monitoring
        if chosen is None or monitoring is None:
            return
        row, db, me = chosen  # this row, whatever the grid highlights once the spy is up
        assert row.agent_id is not None
        try:
            spy = await monitoring.start(row.agent_id, mode)
        except ServiceError as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        except Exception as exc:  # the link or database away: one line
            self.notify(f"Listening not started: {exc}", severity="error", markup=False)
            return
        if not await self._open_view(row, db, me, spy):  # no view to stop it from: stop now
            with contextlib.suppress(Exception):
                await monitoring.stop(spy, reason="the view could not be opened")

    def action_coach(self) -> None:
        chosen = self._monitorable()
        if chosen is None:
            return
        row, db, me = chosen
        agent_id = row.agent_id
        assert agent_id is not None

        async def send(text: str | None) -> None:
            if not text:
                return
            try:
                await self._coach(db).send(me, agent_id, text)
            except ServiceError as exc:
                self.notify(str(exc), severity="warning", markup=False)
                return
            except Exception as exc:
                self.notify(f"Coach message not sent: {exc}", severity="error", markup=False)
                return
            self.notify(f"Coach message sent to {row.name}", timeout=3, markup=False)

        question = f"Coach message to {row.name} (their screen only, never the call)"
        self.app.push_screen(ReasonScreen(question, max_length=MAX_TEXT), callback=send)
