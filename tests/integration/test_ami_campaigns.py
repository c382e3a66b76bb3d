"""Customer-first Originate over a real AMI socket: the customer is dialled first, the campaign
dialplan runs on the answer (AMD, Queue with its 2 s timeout, the safe-harbor message), and
every event comes in the order the Asterisk source sends it.

The expected sequences below are fixtures written from the Asterisk source; each step names
the function it follows. Channels: ``C`` the customer's trunk leg, ``A`` the agent's phone,
``F`` main/pbx_outgoing.c's ``OutgoingSpoolFailed``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from callkit.ami_frames import Message
from callkit.scenario import parse_scenario
from telephony_sim.clock import VirtualClock
from telephony_sim.engine import Engine, SimError
from tests.integration.ami_support import RawClient, serving

NUMBER = "+14155550100"
SCENARIO = """
name = "campaign"
[[queues]]
name = "sales"
extension = "700"
[[agents]]
interface = "PJSIP/2001"
name = "Dana"
kind = "bot"
queues = ["sales"]
[agents.bot]
answer_delay = {delay}
[outbound]
answer = 1
[[outbound.campaigns]]
context = "campaign-7"
queue = "sales"
queue_timeout = 2
machine = "message"
message = "campaign-7-voicemail"
failed_extension = {failed}
"""


def make_engine(delay: float = 0.5, failed: bool = False) -> Engine:
    text = SCENARIO.format(delay=delay, failed=str(failed).lower())
    engine = Engine(parse_scenario(text, "campaign.toml"), seed=3, clock=VirtualClock())
    engine.set_manager_vars(("CC_CAMPAIGN", "CC_LEAD"))  # manager.conf [general] channelvars
    return engine


@pytest.fixture
async def connect() -> AsyncIterator[Callable[[Engine], Awaitable[RawClient]]]:
    """Serve an engine on a free port and log a client in (both closed afterwards)."""
    async with contextlib.AsyncExitStack() as stack:

        async def open_client(engine: Engine) -> RawClient:
            server = await stack.enter_async_context(serving(engine, (SimError,)))
            client = await RawClient.connect(server.port)
            stack.push_async_callback(client.close)
            await client.login(events="on")
            return client

        yield open_client


async def dial(
    client: RawClient,
    engine: Engine,
    until: Callable[[Message], bool],
    *,
    outcome: str = "answer",
    amd: str = "",
    channel: str = f"PJSIP/{NUMBER}@trunk",
    seconds: float = 120,
) -> list[Message]:
    """Script the customer (SimOutbound), Originate customer-first, run the clock; every event
    from the first one of the call to the one ``until`` waits for."""
    extra = [("Amd", amd)] if amd else []
    scripted = await client.action(
        ("Action", "SimOutbound"), ("Number", NUMBER), ("Outcome", outcome), *extra
    )
    assert scripted.get("Response") == "Success", scripted
    await client.send(
        ("Action", "Originate"),
        ("Channel", channel),
        ("Context", "campaign-7"),
        ("Exten", NUMBER),
        ("Priority", "1"),
        ("CallerID", '"Acme" <6000>'),
        ("Timeout", "30000"),
        ("Async", "true"),
        ("Variable", "CC_CAMPAIGN=7,CC_LEAD=123"),
        ("ActionID", "dial-1"),
    )
    # action_originate() answers before its fast_originate() thread dials: nothing first.
    queued = await client.read()
    assert queued.pairs == (
        ("Response", "Success"),
        ("ActionID", "dial-1"),
        ("Message", "Originate successfully queued"),
    )
    engine.run_virtual(seconds)
    seen = await client.read_until(until)
    return [m for m in seen if "Event" in m]


def leg(channel: str) -> str:
    if channel.startswith("PJSIP/trunk-"):
        return "C"
    if channel.startswith("PJSIP/2001-"):
        return "A"
    return "F" if channel == "OutgoingSpoolFailed" else channel


_NOISE = {"QueueMemberStatus", "DeviceStateChange", "RTCPSent", "BridgeCreate", "BridgeDestroy"}


def story(events: list[Message]) -> list[str]:
    """Each event as ``Name leg detail``, the noise a console ignores left out."""
    out = []
    for m in events:
        name = m.get("Event")
        if name in _NOISE:
            continue
        who = leg(m.get("Channel") or m.get("DestChannel"))
        detail = {
            "Newstate": m.get("ChannelStateDesc"),
            "VarSet": f"{m.get('Variable')}={m.get('Value')}",
            "DialBegin": m.get("DialString"),
            "DialEnd": m.get("DialStatus"),
            "OriginateResponse": f"{m.get('Response')} {m.get('Reason')}",
            "Newexten": f"{m.get('Exten')},{m.get('Priority')} {m.get('Application')}"
            f"({m.get('AppData')})",
            "Hangup": m.get("Cause"),
            "HangupRequest": m.get("Cause"),
            "UserEvent": m.get("UserEvent"),
            "QueueCallerJoin": m.get("Queue"),
            "AgentCalled": leg(m.get("DestChannel")),
        }.get(name, "")
        if name == "OriginateResponse":
            who = "C" if m.get("Channel").startswith("PJSIP/trunk-") else m.get("Channel")
        out.append(f"{name} {who} {detail}".rstrip())
    return out


# main/pbx_outgoing.c pbx_outgoing_attempt(): ast_dial_prerun() (Newchannel, Down),
# ast_set_variables() (VarSet per Variable), ast_dial_run() → main/dial.c begin_dial_channel()
# (DialBegin, no caller channel, DialString = the device); chan_pjsip's 180 (Newstate Ringing).
DIALLED = [
    "Newchannel C",
    "VarSet C CC_CAMPAIGN=7",
    "VarSet C CC_LEAD=123",
    f"DialBegin C {NUMBER}@trunk",
    "Newstate C Ringing",
]
# main/channel.c __ast_read(): the ANSWER frame sets the state Up (Newstate) before
# main/dial.c handle_frame_ownerless() publishes DialEnd ANSWER; main/manager.c
# fast_originate(): OriginateResponse Success, Reason 4 (AST_CONTROL_ANSWER); then
# pbx_outgoing_exec() runs the dialplan: AMD() (apps/app_amd.c: VarSet AMDSTATUS, AMDCAUSE),
# GotoIf with its data substituted, Queue(sales,,,,2).
ANSWERED = [
    "Newstate C Up",
    "DialEnd C ANSWER",
    "OriginateResponse C Success 4",
    f"Newexten C {NUMBER},1 AMD()",
    "VarSet C AMDSTATUS=HUMAN",
]
QUEUED = [
    f"Newexten C {NUMBER},2 GotoIf(0?machine,1)",
    f"Newexten C {NUMBER},3 Queue(sales,,,,2)",
    # apps/app_queue.c join_queue() (QueueCallerJoin), queue_exec() ast_moh_start();
    # ring_entry(): Newchannel, AgentCalled, DialBegin.
    "QueueCallerJoin C sales",
    "MusicOnHoldStart C",
    "Newchannel A",
    "AgentCalled C A",
    "DialBegin C PJSIP/2001",
    "Newstate A Ringing",
]


def without_cause(lines: list[str]) -> list[str]:
    return [ln for ln in lines if not ln.startswith("VarSet C AMDCAUSE")]


async def test_a_live_customer_reaches_a_free_agent_as_an_inbound_call_does(connect) -> None:
    engine = make_engine(delay=0.5)
    client = await connect(engine)
    events = await dial(client, engine, lambda m: m.get("Event") == "AgentConnect")
    assert without_cause(story(events)) == [
        *DIALLED,
        *ANSWERED,
        *QUEUED,
        # apps/app_queue.c wait_for_answer(): Newstate Up, DialEnd ANSWER; try_calling():
        # ast_moh_stop(), leave_queue() (QueueCallerLeave), AgentConnect.
        "Newstate A Up",
        "DialEnd C ANSWER",
        "MusicOnHoldStop C",
        "QueueCallerLeave C",
        "AgentConnect C",
    ]
    cause = next(m for m in events if m.get("Variable") == "AMDCAUSE").get("Value")
    assert cause.startswith("HUMAN-") and cause.endswith("-800")  # app_amd.c HUMAN-%d-%d


async def test_no_agent_within_two_seconds_abandons_with_the_safe_harbor_message(
    connect,
) -> None:
    engine = make_engine(delay=5.0)  # the bot would answer after 5 s: too late
    client = await connect(engine)
    events = await dial(
        client, engine, lambda m: m.get("Event") == "Hangup" and leg(m.get("Channel")) == "C"
    )
    lines = without_cause(story(events))
    assert lines == [
        *DIALLED,
        *ANSWERED,
        *QUEUED,
        # try_calling() rings only until qe->expire: wait_for_answer() rna()
        # (AgentRingNoAnswer), DialEnd NOANSWER; hangupcalls(): DialEnd CANCEL, Hangup.
        "AgentRingNoAnswer C",
        "DialEnd C NOANSWER",
        "DialEnd C CANCEL",
        "Hangup A 19",
        # queue_exec(): qe.expire passed → record_abandoned() (VarSet ABANDONED,
        # QueueCallerAbandon); stop: ast_moh_stop(), leave_queue(), set_queue_result().
        "VarSet C ABANDONED=TRUE",
        "QueueCallerAbandon C",
        "MusicOnHoldStop C",
        "QueueCallerLeave C",
        "VarSet C QUEUESTATUS=TIMEOUT",
        # The campaign dialplan after Queue(): UserEvent (apps/app_userevent.c), Playback
        # (PLAYBACKSTATUS), Hangup() (main/pbx_builtins.c: cause 16).
        f"Newexten C {NUMBER},4 UserEvent(OutboundAbandon,Queue: sales,Campaign: 7,Lead: 123)",
        "UserEvent C OutboundAbandon",
        f"Newexten C {NUMBER},5 Playback(safe-harbor)",
        "VarSet C PLAYBACKSTATUS=SUCCESS",
        f"Newexten C {NUMBER},6 Hangup()",
        "Hangup C 16",
    ]
    abandon = next(m for m in events if m.get("UserEvent") == "OutboundAbandon")
    assert [(k, abandon.get(k)) for k in ("Queue", "Campaign", "Lead")] == [
        ("Queue", "sales"),
        ("Campaign", "7"),
        ("Lead", "123"),
    ]
    assert engine.customers.stats["campaign-7"]["abandoned"] == 1


async def test_an_answering_machine_gets_the_campaigns_message(connect) -> None:
    engine = make_engine()
    client = await connect(engine)
    events = await dial(
        client,
        engine,
        lambda m: m.get("Event") == "Hangup",
        outcome="machine",
    )
    assert without_cause(story(events)) == [
        *DIALLED,
        "Newstate C Up",
        "DialEnd C ANSWER",
        "OriginateResponse C Success 4",
        f"Newexten C {NUMBER},1 AMD()",
        "VarSet C AMDSTATUS=MACHINE",
        f"Newexten C {NUMBER},2 GotoIf(1?machine,1)",
        "Newexten C machine,1 Playback(campaign-7-voicemail)",
        "VarSet C PLAYBACKSTATUS=SUCCESS",
        "Newexten C machine,2 Hangup()",
        "Hangup C 16",
    ]


async def test_amd_can_be_scripted_wrong(connect) -> None:
    """SimOutbound Amd: a machine AMD takes for a person goes to the queue like one."""
    engine = make_engine()
    client = await connect(engine)
    events = await dial(
        client, engine, lambda m: m.get("Event") == "AgentCalled", outcome="machine", amd="HUMAN"
    )
    lines = without_cause(story(events))
    assert lines[lines.index(f"Newexten C {NUMBER},1 AMD()") :] == [
        f"Newexten C {NUMBER},1 AMD()",
        "VarSet C AMDSTATUS=HUMAN",
        *QUEUED[:6],
    ]


async def test_a_customer_who_does_not_answer(connect) -> None:
    engine = make_engine()
    client = await connect(engine)
    events = await dial(
        client, engine, lambda m: m.get("Event") == "OriginateResponse", outcome="noanswer"
    )
    # main/dial.c handle_timeout_trip(): at the Originate's Timeout the leg is hung up without
    # a DialEnd, cause 19 (asterisk/asterisk#1660); pbx_dial_reason(): Reason 3.
    assert story(events) == [
        *DIALLED,
        "Hangup C 19",
        f"OriginateResponse PJSIP/{NUMBER}@trunk Failure 3",
    ]
    response = events[-1]
    assert (response.get("Uniqueid"), response.get("ActionID")) == ("<null>", "dial-1")
    assert not any("ChanVariable" in key for key, _v in response.pairs)


@pytest.mark.parametrize(
    ("outcome", "status", "cause", "reason"),
    [("busy", "BUSY", "17", "5"), ("failed", "CONGESTION", "34", "8")],
)
async def test_busy_and_congested_customers(
    connect, outcome: str, status: str, cause: str, reason: str
) -> None:
    engine = make_engine()
    client = await connect(engine)
    events = await dial(
        client, engine, lambda m: m.get("Event") == "OriginateResponse", outcome=outcome
    )
    # main/dial.c handle_frame_ownerless(): DialEnd BUSY / CONGESTION, ast_hangup().
    assert story(events) == [
        *DIALLED[:4],
        f"DialEnd C {status}",
        f"Hangup C {cause}",
        f"OriginateResponse PJSIP/{NUMBER}@trunk Failure {reason}",
    ]


async def test_an_unroutable_number_and_an_unknown_trunk(connect) -> None:
    engine = make_engine()
    client = await connect(engine)
    events = await dial(
        client,
        engine,
        lambda m: m.get("Event") == "OriginateResponse",
        channel="PJSIP/sales-desk@trunk",
    )
    # The far end refuses (cause 3): dial.c ast_hangup_cause_to_dial_status() CHANUNAVAIL.
    assert story(events)[-3:] == [
        "DialEnd C CHANUNAVAIL",
        "Hangup C 3",
        "OriginateResponse PJSIP/sales-desk@trunk Failure 0",
    ]
    events = await dial(
        client,
        engine,
        lambda m: m.get("Event") == "OriginateResponse",
        channel=f"PJSIP/{NUMBER}@nosuchtrunk",
    )
    # ast_request() fails: no channel, no event but the failure (Reason 0).
    assert story(events) == [f"OriginateResponse PJSIP/{NUMBER}@nosuchtrunk Failure 0"]


async def test_a_failed_extension_runs_before_the_failure_is_reported(connect) -> None:
    engine = make_engine(failed=True)
    client = await connect(engine)
    events = await dial(
        client, engine, lambda m: m.get("Event") == "OriginateResponse", outcome="busy"
    )
    # main/pbx_outgoing.c: a failed synchronous originate (fast_originate() waits) runs the
    # context's "failed" extension on "OutgoingSpoolFailed" with REASON, to its end.
    assert story(events)[-8:] == [
        "Newchannel F",
        "VarSet F CC_CAMPAIGN=7",
        "VarSet F CC_LEAD=123",
        "VarSet F REASON=5",
        "Newexten F failed,1 NoOp(5)",
        "Newexten F failed,2 Hangup()",
        "Hangup F 16",
        f"OriginateResponse PJSIP/{NUMBER}@trunk Failure 5",
    ]


async def test_channelvars_ride_on_every_channel_block_and_the_originate_response(
    connect,
) -> None:
    engine = make_engine(delay=0.5)
    client = await connect(engine)
    events = await dial(client, engine, lambda m: m.get("Event") == "AgentCalled")
    # main/manager_channels.c ast_manager_build_channel_state_string_prefix(): after the
    # block's own fields, "<prefix>ChanVariable: NAME=value" per manager.conf channelvar
    # (empty when unset: the agent's leg does not inherit CC_CAMPAIGN).
    called = events[-1]
    assert [(k, v) for k, v in called.pairs if "ChanVariable" in k] == [
        ("ChanVariable", "CC_CAMPAIGN=7"),
        ("ChanVariable", "CC_LEAD=123"),
        ("DestChanVariable", "CC_CAMPAIGN="),
        ("DestChanVariable", "CC_LEAD="),
    ]
    keys = [k for k, _v in called.pairs]
    assert keys.index("ChanVariable") == keys.index("Linkedid") + 1
    # main/manager.c __ast_manager_event_multichan() → append_channel_vars().
    response = next(m for m in events if m.get("Event") == "OriginateResponse")
    name = response.get("Channel")
    assert [(k, v) for k, v in response.pairs][-2:] == [
        (f"ChanVariable({name})", "CC_CAMPAIGN=7"),
        (f"ChanVariable({name})", "CC_LEAD=123"),
    ]
    assert [k for k, _v in response.pairs][:4] == ["Event", "ActionID", "Response", "Channel"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ([("Channel", "Local/+14155550100@outbound")], "Local channels are not simulated"),
        ([("Channel", f"PJSIP/{NUMBER}@trunk"), ("Context", "nowhere")], "Extension does not"),
        ([("Channel", f"PJSIP/{NUMBER}@trunk"), ("Priority", "first")], "Invalid priority"),
    ],
)
async def test_bad_originates_are_refused_at_once(
    connect, fields: list[tuple[str, str]], message: str
) -> None:
    engine = make_engine()
    client = await connect(engine)
    response = await client.action(("Action", "Originate"), ("Exten", NUMBER), *fields)
    assert response.get("Response") == "Error"
    assert response.get("Message").startswith(message)


async def test_sim_outbound_refuses_an_unknown_amd_result(connect) -> None:
    engine = make_engine()
    client = await connect(engine)
    response = await client.action(
        ("Action", "SimOutbound"), ("Number", NUMBER), ("Outcome", "answer"), ("Amd", "robot")
    )
    assert response.get("Message") == (
        "Unknown SimOutbound Amd: ROBOT (use one of HUMAN, MACHINE, NOTSURE, HANGUP)"
    )
