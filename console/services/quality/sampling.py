"""Which calls to evaluate: filters, and a reproducible random sample of N per agent per ISO week
(docs/quality.md, "Sampling").

A candidate is a voice call an agent handled to the end (status completed, answered) in the
period, not yet evaluated (no evaluation of record), matching the filters: agents (logins),
queues, dispositions, and its duration (talk + hold seconds) between a minimum and a maximum.

The sample takes, in each (agent, ISO week) group — the week of the call in the given time
zone — the N candidates whose `rank(seed, call id)` is lowest: a SHA-256 of the two. So the
same seed gives the same sample from any order of rows, on SQLite and PostgreSQL, and a call
added to a week later changes that week's pick only if it ranks among the N.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import exists, select

from console.models import Agent, Interaction, QaEvaluation, Queue
from console.models.enums import Channel, InteractionStatus
from console.services.errors import aware
from console.services.quality.records import EVALUATION, QaError
from console.services.service import DbService

MAX_CANDIDATES = 50_000  # a period's calls read at most (a month of a large center)


@dataclass(frozen=True, slots=True)
class CallFilter:
    """What an evaluator asks for. Empty tuples: any. Durations in seconds."""

    start: datetime
    end: datetime
    agents: tuple[str, ...] = ()  # logins
    queues: tuple[str, ...] = ()
    dispositions: tuple[str, ...] = ()
    min_seconds: int | None = None
    max_seconds: int | None = None
    per_agent_week: int | None = None  # None: every matching call; N: a random N
    seed: int = 1
    include_evaluated: bool = False  # calibration: calls already evaluated too
    tz: tzinfo = field(default=UTC)  # where ISO weeks start


@dataclass(frozen=True, slots=True)
class CallCandidate:
    """One call an evaluator may pick."""

    interaction_id: int
    linkedid: str
    agent_id: int
    agent_login: str
    agent_name: str
    team: str
    queue: str
    offered_at: datetime
    seconds: int  # talk + hold
    disposition: str
    evaluated: bool = False

    def week(self, tz: tzinfo = UTC) -> tuple[int, int]:
        """The ISO (year, week) of the call in ``tz``."""
        iso = self.offered_at.astimezone(tz).isocalendar()
        return iso[0], iso[1]


def rank(seed: int, interaction_id: int) -> bytes:
    """A call's place in a seeded shuffle: the same everywhere, whatever order rows come in."""
    return hashlib.sha256(f"{seed}:{interaction_id}".encode()).digest()


def pick(
    candidates: Sequence[CallCandidate], per_week: int, seed: int, tz: tzinfo
) -> list[CallCandidate]:
    """The lowest-ranked ``per_week`` candidates of each (agent, ISO week), by agent, week
    and call time."""
    groups: dict[tuple[int, int, int], list[CallCandidate]] = defaultdict(list)
    for call in candidates:
        groups[(call.agent_id, *call.week(tz))].append(call)
    chosen = []
    for key in sorted(groups):
        ranked = sorted(groups[key], key=lambda c: rank(seed, c.interaction_id))
        chosen += sorted(ranked[:per_week], key=lambda c: (c.offered_at, c.interaction_id))
    return chosen


class CallSampler(DbService):
    """Finds the calls matching a filter, and samples them."""

    async def calls(self, wanted: CallFilter) -> list[CallCandidate]:
        """The matching calls (sampled when the filter asks for N per agent per week), oldest
        first within each agent."""
        start = aware(wanted.start, field="the start", error=QaError)
        end = aware(wanted.end, field="the end", error=QaError)
        if end <= start:
            raise QaError("the period is empty: its end must be later than its start")
        if wanted.per_agent_week is not None and not 1 <= wanted.per_agent_week <= 1000:
            raise QaError("a sample takes 1 to 1000 calls per agent and week")
        low, high = wanted.min_seconds, wanted.max_seconds
        if low is not None and high is not None and low > high:
            raise QaError("the shortest duration is above the longest")
        evaluated = exists().where(
            QaEvaluation.interaction_id == Interaction.id, QaEvaluation.kind == EVALUATION
        )
        seconds = Interaction.talk_seconds + Interaction.hold_seconds
        stmt: Any = (
            select(
                Interaction.id,
                Interaction.linkedid,
                Interaction.agent_id,
                Agent.login,
                Agent.display_name,
                Agent.team,
                Queue.name,
                Interaction.offered_at,
                seconds,
                Interaction.disposition,
                evaluated,
            )
            .join(Agent, Agent.id == Interaction.agent_id)
            .outerjoin(Queue, Queue.id == Interaction.queue_id)
            .where(
                Interaction.offered_at >= start,
                Interaction.offered_at < end,
                Interaction.channel == Channel.VOICE,
                Interaction.status == InteractionStatus.COMPLETED,
                Interaction.answered_at.is_not(None),
            )
            .order_by(Interaction.offered_at, Interaction.id)
            .limit(MAX_CANDIDATES)
        )
        if not wanted.include_evaluated:
            stmt = stmt.where(~evaluated)
        if wanted.agents:
            stmt = stmt.where(Agent.login.in_(wanted.agents))
        if wanted.queues:
            stmt = stmt.where(Queue.name.in_(wanted.queues))
        if wanted.dispositions:
            stmt = stmt.where(Interaction.disposition.in_(wanted.dispositions))
        if low is not None:
            stmt = stmt.where(seconds >= low)
        if high is not None:
            stmt = stmt.where(seconds <= high)
        async with self._db.session() as session:
            rows = (await session.execute(stmt)).all()
        found = [
            CallCandidate(
                interaction_id=r[0],
                linkedid=r[1] or "",
                agent_id=r[2],
                agent_login=r[3],
                agent_name=r[4],
                team=r[5] or "",
                queue=r[6] or "",
                offered_at=r[7],
                seconds=int(r[8] or 0),
                disposition=r[9] or "",
                evaluated=bool(r[10]),
            )
            for r in rows
        ]
        if wanted.per_agent_week is None:
            return found
        return pick(found, wanted.per_agent_week, wanted.seed, wanted.tz)


FILTER_HELP = (
    "days:7 agent:LOGIN queue:NAME disp:CODE min:SECONDS max:SECONDS n:PER_AGENT_WEEK seed:S "
    "all (evaluated calls too)"
)


def parse_filter(text: str, now: datetime, tz: tzinfo = UTC) -> CallFilter:
    """The evaluator's one-line filter (`FILTER_HELP`): words ``key:value``, keys repeatable
    for agents, queues and dispositions; the period is the last ``days`` days up to ``now``.
    QaError names the word it cannot read."""
    days = 7
    lists: dict[str, list[str]] = {"agent": [], "queue": [], "disp": []}
    numbers: dict[str, int] = {}
    include = False
    for word in text.split():
        if word == "all":
            include = True
            continue
        key, sep, value = word.partition(":")
        if not sep or not value:
            raise QaError(f"{word!r}: use key:value ({FILTER_HELP})")
        if key in lists:
            lists[key].append(value)
        elif key in ("days", "min", "max", "n", "seed"):
            try:
                numbers[key] = int(value)
            except ValueError:
                raise QaError(f"{word!r}: {key} takes a whole number") from None
        else:
            raise QaError(f"{word!r}: unknown key {key!r} ({FILTER_HELP})")
    days = numbers.get("days", days)
    if not 1 <= days <= 366:
        raise QaError("days: 1 to 366")
    return CallFilter(
        start=now - timedelta(days=days),
        end=now,
        agents=tuple(lists["agent"]),
        queues=tuple(lists["queue"]),
        dispositions=tuple(lists["disp"]),
        min_seconds=numbers.get("min"),
        max_seconds=numbers.get("max"),
        per_agent_week=numbers.get("n"),
        seed=numbers.get("seed", 1),
        include_evaluated=include,
        tz=tz,
    )
