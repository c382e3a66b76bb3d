"""Reading a scenario file: pydantic models of its TOML, then the `Scenario` (callkit.specs).

The models check each value strictly (callkit.scenario_reader); what needs the whole file
(queue names unique, overflow and memberships naming real queues, call ids unique) is checked
once they have, and the ``[rubric]`` last, with the scenario's calls and queues as validation
context. Errors are `ScenarioError` ``file:line: key: message`` with the line of the offending
key; the format itself is described in callkit/scenario.py and docs/scenarios.md.
"""

from __future__ import annotations

import math
import re
import tomllib
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainValidator, ValidationInfo, model_validator

from callkit.located_model import LocatedValueError, validate_located
from callkit.rubric import DIFFICULTIES, RubricContext, RubricTable
from callkit.scenario_outbound import OutboundTable
from callkit.scenario_reader import (
    ScenarioError,
    ScenarioReader,
    Table,
    TextCheck,
    boolean,
    dist,
    duration,
    integer,
    number,
    patience,
    share,
    skills,
    string,
    table_list,
)
from callkit.specs import (
    NUMBER_FORMATS,
    STRATEGIES,
    AgentSpec,
    BotProfile,
    CallerMix,
    Dist,
    QueueSpec,
    Scenario,
    ScriptedCall,
    TrafficSpec,
    TranscriptLine,
)

_MEMBERSHIPS = 'queues must be a list of names or { queue = "q", penalty = 1 }'
_TIME_OF_DAY = re.compile(r"(\d{1,2}):(\d{2})")


def parse_scenario(text: str, source: str = "<string>") -> Scenario:
    """Parse and validate scenario TOML text; ScenarioError with ``source:line`` on failure."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        if line is None:
            m = re.search(r"line (\d+)", str(exc))
            line = int(m.group(1)) if m else 1
        raise ScenarioError(f"{source}:{line}: TOML syntax error: {exc}") from exc
    reader = ScenarioReader(source, text)
    return _scenario(validate_located(_ScenarioFile, data, reader), data, reader)


# ------------------------------------------------------------------------ value checks


def _one_of(options: tuple[str, ...], message: str) -> TextCheck:
    """A string among ``options``; ``message`` (formatted with the value) otherwise."""

    def check(value: object, info: ValidationInfo) -> str:
        word = string(value, info)
        if word not in options:
            raise LocatedValueError(message.format(word))
        return word

    return check


def _overflow(value: object, info: ValidationInfo) -> str:
    word = string(value, info)
    if word and word != "callback" and not word.startswith("queue:"):
        raise LocatedValueError('overflow must be "callback" or "queue:<name>"')
    return word


def _start(value: object, info: ValidationInfo) -> float:
    """A time of day "HH:MM" as seconds after midnight."""
    m = _TIME_OF_DAY.fullmatch(string(value, info))
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise LocatedValueError('start must be a time of day like "08:00"')
    return int(m.group(1)) * 3600.0 + int(m.group(2)) * 60.0


def _interface(value: object, info: ValidationInfo) -> str:
    word = string(value, info)
    if "/" not in word:
        raise LocatedValueError('interface must look like "PJSIP/2001"')
    return word


def _hourly(value: object) -> tuple[float, ...]:
    if (
        not isinstance(value, list)
        or len(value) != 24
        or not all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in value)
    ):
        raise LocatedValueError("profile must list 24 hourly rates (calls per hour, >= 0)")
    return tuple(float(v) for v in value)


def _rate(value: object, info: ValidationInfo) -> float:
    """Calls per hour; ignored (as it always was) when a profile is given."""
    if info.data.get("profile") is not None:
        return 60.0
    return number(0.0)(value, info)


def _reasons(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise LocatedValueError("break_reasons must be a list of strings")
    return tuple(value)


def _memberships(value: object) -> tuple[tuple[str, int], ...]:
    """Queue names, or ``{ queue = "q", penalty = 1 }`` tables (errors name the list)."""
    if not isinstance(value, list):
        raise LocatedValueError(_MEMBERSHIPS)
    out = []
    for item in value:
        if isinstance(item, str):
            out.append((item, 0))
        elif isinstance(item, dict) and isinstance(item.get("queue"), str):
            for key in item:
                if key not in ("queue", "penalty"):
                    message = f"unknown key {key!r} (expected one of penalty, queue)"
                    raise LocatedValueError(message, (key,))
            penalty = item.get("penalty", 0)
            if isinstance(penalty, bool) or not isinstance(penalty, int):
                raise LocatedValueError("'penalty' must be an integer", ("penalty",))
            out.append((item["queue"], penalty))
        else:
            raise LocatedValueError(_MEMBERSHIPS)
    return tuple(out)


def _customer_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise LocatedValueError("customer_id must be an integer")
    return value


def _number(value: object) -> str:
    if not isinstance(value, str):
        raise LocatedValueError("number must be a string")
    return value


def _transcript(value: object) -> tuple[TranscriptLine, ...]:
    """``[{ at, text, speaker }]``, sorted by ``at`` (errors name the list)."""
    if not isinstance(value, list):
        raise LocatedValueError("transcript must be a list of { at, text } tables")
    lines = []
    for line in value:
        if not isinstance(line, dict) or not isinstance(line.get("text"), str):
            raise LocatedValueError("each transcript line needs at and text")
        for key in line:
            if key not in ("at", "text", "speaker"):
                message = f"unknown key {key!r} (expected one of at, speaker, text)"
                raise LocatedValueError(message, (key,))
        at = duration(line.get("at", 0))
        lines.append(TranscriptLine(at, line["text"], str(line.get("speaker", "caller"))))
    return tuple(sorted(lines, key=lambda ln: ln.at))


def _expect(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(e, str) for e in value):
        raise LocatedValueError("expect must be a list of action names")
    return tuple(value)


def _formats(value: object) -> dict[str, float]:
    if not isinstance(value, dict) or not value:
        raise LocatedValueError("formats must be a table of format = share")
    for key, portion in value.items():
        if key not in NUMBER_FORMATS:
            message = f"unknown format {key!r} (use {', '.join(NUMBER_FORMATS)})"
            raise LocatedValueError(message, (key,))
        if isinstance(portion, bool) or not isinstance(portion, int | float) or portion < 0:
            raise LocatedValueError("a format share must be a number >= 0", (key,))
    return {str(k): float(v) for k, v in value.items()}


_Str = Annotated[str, PlainValidator(string)]
# None: absent (a key in Table.required is never absent once validated).
_MaybeStr = Annotated[str | None, PlainValidator(string)]
_Int = Annotated[int, PlainValidator(integer)]
_Bool = Annotated[bool, PlainValidator(boolean)]
_Share = Annotated[float, PlainValidator(share)]
_Seconds = Annotated[float, PlainValidator(duration)]
_MaybeSeconds = Annotated[float | None, PlainValidator(duration)]
_Patience = Annotated[float, PlainValidator(patience)]  # aliased: a field shares the name
_Skills = Annotated[dict[str, int], PlainValidator(skills)]
_Dist = Annotated[Dist, PlainValidator(dist())]
_Memberships = Annotated[tuple[tuple[str, int], ...], PlainValidator(_memberships)]


def _tables(key: str) -> BeforeValidator:
    return BeforeValidator(table_list(key))


def _values(model: Table, *leave_out: str) -> dict[str, Any]:
    """The model's fields as they are (model_dump would turn dataclasses into dicts)."""
    return {
        name: getattr(model, name) for name in type(model).model_fields if name not in leave_out
    }


# ------------------------------------------------------------------------ the file's models


class _Traffic(Table):
    not_a_table = "traffic must be a table"

    profile: Annotated[tuple[float, ...] | None, PlainValidator(_hourly)] = None
    rate: Annotated[float, PlainValidator(_rate)] = 60.0
    handle_time: _Dist = Field(default_factory=lambda: Dist("fixed", 180.0))
    patience: Annotated[Dist, PlainValidator(dist(allow_none=True))] = Field(
        default_factory=lambda: Dist("none")
    )
    priority_share: _Share = 0.0
    priority: _Int = 0

    def spec(self) -> TrafficSpec:
        hourly = self.profile if self.profile is not None else (self.rate,) * 24
        return TrafficSpec(
            hourly, self.handle_time, self.patience, self.priority_share, self.priority
        )


class _Queue(Table):
    required = ("name",)

    name: _MaybeStr = None
    extension: Annotated[str, PlainValidator(lambda v: str(v))] = ""  # any value, as text
    strategy: Annotated[
        str,
        PlainValidator(
            _one_of(STRATEGIES, f"unknown strategy {{!r}} (use {', '.join(STRATEGIES)})")
        ),
    ] = "ringall"
    timeout: _Seconds = 15.0
    retry: _Seconds = 5.0
    wrapuptime: _Seconds = 0.0
    joinempty: _Bool = True
    autopause: _Bool = False
    leavewhenempty: _Bool = False
    max_wait: _MaybeSeconds = None
    overflow: Annotated[str, PlainValidator(_overflow)] = ""
    weight: _Int = 0
    skills: _Skills = Field(default_factory=dict)
    service_level: _Seconds = 20.0
    short_abandon: _Seconds = 5.0
    autoanswer: _MaybeSeconds = None
    traffic: _Traffic | None = None

    def spec(self) -> QueueSpec:
        traffic = None if self.traffic is None else self.traffic.spec()
        return QueueSpec(**_values(self, "traffic"), traffic=traffic)


class _Bot(Table):
    not_a_table = "bot must be a table"

    answer_delay: _Dist = Field(default_factory=lambda: Dist("fixed", 2.0))
    miss_share: _Share = 0.0
    hold_share: _Share = 0.0
    hold_time: _Dist = Field(default_factory=lambda: Dist("exponential", 30.0))
    agent_hangup_share: _Share = 0.5
    break_share: _Share = 0.0
    break_time: _Dist = Field(default_factory=lambda: Dist("exponential", 600.0))
    break_reasons: Annotated[tuple[str, ...], PlainValidator(_reasons)] = ("Break",)

    def profile(self) -> BotProfile:
        return BotProfile(**_values(self))


class _Agent(Table):
    required = ("interface",)

    interface: Annotated[str | None, PlainValidator(_interface)] = None
    name: _MaybeStr = None  # default: the interface
    kind: Annotated[
        str, PlainValidator(_one_of(("bot", "phone"), 'kind must be "bot" or "phone"'))
    ] = "bot"
    queues: _Memberships = ()
    skills: _Skills = Field(default_factory=dict)
    wrapuptime: _MaybeSeconds = None
    paused: _Bool = False
    pause_reason: _Str = ""
    bot: _Bot | None = None
    state_interface: _Str = ""

    def spec(self) -> AgentSpec:
        interface = str(self.interface)
        return AgentSpec(
            interface=interface,
            name=interface if self.name is None else self.name,
            kind=self.kind,
            queues=self.queues,
            skills=self.skills,
            wrapuptime=self.wrapuptime,
            paused=self.paused,
            pause_reason=self.pause_reason,
            state_interface=self.state_interface,
            profile=BotProfile() if self.bot is None else self.bot.profile(),
        )


class _BotPool(Table):
    count: _Int = 1
    first: _Int = 3001
    tech: _Str = "PJSIP"
    name: _Str = "Bot"
    queues: _Memberships = ()
    skills: _Skills = Field(default_factory=dict)
    wrapuptime: _MaybeSeconds = None
    bot: _Bot | None = None

    def specs(self) -> list[AgentSpec]:
        profile = BotProfile() if self.bot is None else self.bot.profile()
        return [
            AgentSpec(
                f"{self.tech}/{ext}",
                f"{self.name} {ext}",
                "bot",
                self.queues,
                self.skills,
                self.wrapuptime,
                profile=profile,
            )
            for ext in range(self.first, self.first + self.count)
        ]


class _Call(Table):
    required = ("queue",)

    id: _MaybeStr = None  # default: call-<n>
    at: _Seconds = 0.0
    queue: _MaybeStr = None
    customer_id: Annotated[int | None, PlainValidator(_customer_id)] = None
    number: Annotated[str | None, PlainValidator(_number)] = None
    name: _Str = ""
    tier: _Str = ""
    priority: _Int = 0
    patience: _Patience = math.inf
    handle_time: _Seconds = 300.0
    hangup_after: _MaybeSeconds = None
    transcript: Annotated[tuple[TranscriptLine, ...], PlainValidator(_transcript)] = ()
    expect: Annotated[tuple[str, ...], PlainValidator(_expect)] = ()
    notes: _Str = ""

    def spec(self, n: int) -> ScriptedCall:
        """The call, the ``n``-th (from 0) of the file."""
        call_id = self.id if self.id is not None else f"call-{n + 1}"
        return ScriptedCall(**_values(self, "id"), id=call_id)


class _Callers(Table):
    not_a_table = "callers must be a table"

    unknown_share: _Share = 0.1
    withheld_share: _Share = 0.03
    malformed_share: _Share = 0.01
    formats: Annotated[dict[str, float], PlainValidator(_formats)] = Field(
        default_factory=lambda: CallerMix().formats
    )

    @model_validator(mode="after")
    def _within_one(self) -> _Callers:
        if self.withheld_share + self.malformed_share > 1:
            raise LocatedValueError("withheld + malformed shares exceed 1", ("malformed_share",))
        return self

    def mix(self) -> CallerMix:
        return CallerMix(**_values(self))


class _ScenarioFile(Table):
    name: _Str = "unnamed"
    description: _Str = ""
    difficulty: Annotated[
        str,
        PlainValidator(
            _one_of(DIFFICULTIES, f"difficulty must be one of {', '.join(DIFFICULTIES)}")
        ),
    ] = "medium"
    start: Annotated[float, PlainValidator(_start)] = 8 * 3600.0
    epoch: _Int = 1_700_000_000
    duration: _Seconds = 8 * 3600.0
    platinum_priority: _Int = 10
    callers: _Callers = Field(default_factory=_Callers)
    queues: Annotated[list[_Queue], _tables("queues")] = []
    agents: Annotated[list[_Agent], _tables("agents")] = []
    bot_pools: Annotated[list[_BotPool], _tables("bot_pools")] = []
    calls: Annotated[list[_Call], _tables("calls")] = []
    outbound: OutboundTable | None = None
    rubric: Any = None  # validated last, against the calls and queues (RubricTable)


def _scenario(model: _ScenarioFile, data: dict[str, Any], r: ScenarioReader) -> Scenario:
    """The scenario, once what needs the whole file holds."""
    queues = [q.spec() for q in model.queues]
    if not queues:
        raise r.fail(("queues",), "a scenario needs at least one [[queues]] table")
    names: set[str] = set()
    for i, q in enumerate(queues):
        if q.name in names:
            raise r.fail(("queues", i, "name"), f"duplicate queue {q.name!r}")
        names.add(q.name)
    for i, q in enumerate(queues):
        if q.overflow.startswith("queue:") and q.overflow[6:] not in names:
            raise r.fail(("queues", i, "overflow"), f"overflow to unknown queue {q.overflow[6:]!r}")
    agents = [a.spec() for a in model.agents]
    agents += [bot for pool in model.bot_pools for bot in pool.specs()]
    seen: set[str] = set()
    for agent in agents:
        if agent.interface in seen:
            raise r.fail(("agents",), f"interface {agent.interface!r} defined twice")
        seen.add(agent.interface)
        for qname, _pen in agent.queues:
            if qname not in names:
                raise r.fail(("agents",), f"{agent.interface}: no queue named {qname!r}")
    calls = [c.spec(i) for i, c in enumerate(model.calls)]
    for i, call in enumerate(calls):
        if call.queue not in names:
            raise r.fail(("calls", i, "queue"), f"no queue named {call.queue!r}")
    for i, call in enumerate(calls):
        if any(other.id == call.id for other in calls[:i]):
            raise r.fail(("calls", i, "id"), f"duplicate call id {call.id!r}")
    outbound = None if model.outbound is None else model.outbound.profile()
    contexts: set[str] = set()
    for i, campaign in enumerate(outbound.campaigns if outbound is not None else ()):
        at = ("outbound", "campaigns", i)
        if campaign.queue not in names:
            raise r.fail((*at, "queue"), f"no queue named {campaign.queue!r}")
        if campaign.context in contexts:
            raise r.fail((*at, "context"), f"duplicate campaign context {campaign.context!r}")
        contexts.add(campaign.context)
    rubric = None
    if "rubric" in data:
        context = RubricContext(tuple(calls), tuple(queues))
        table = validate_located(RubricTable, data["rubric"], r, ("rubric",), context=context)
        rubric = table.rubric(context)
    return Scenario(
        name=model.name,
        description=model.description,
        start_of_day=model.start,
        epoch=model.epoch,
        duration=model.duration,
        platinum_priority=model.platinum_priority,
        callers=model.callers.mix(),
        queues=tuple(queues),
        agents=tuple(agents),
        calls=tuple(calls),
        outbound=outbound,
        source=r.source,
        difficulty=model.difficulty,
        rubric=rubric,
    )
