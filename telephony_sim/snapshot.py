"""Snapshots for a client resynchronising after a (re)connect: the list items of QueueStatus,
QueueSummary, CoreShowChannels and Status, with Asterisk 20's field names.
"""

from __future__ import annotations

import math

from telephony_sim.acd import Queue
from telephony_sim.callflow import Acd
from telephony_sim.members import member_fields
from telephony_sim.pbx import Channel, Fields, Pbx, SimError

Items = list[tuple[str, Fields]]


def _pct(num: int, den: int) -> str:
    return f"{(100.0 * num / den) if den else 0.0:.1f}"


def _avg(total: float, count: int) -> str:
    return str(int(total / count)) if count else "0"


def _select(acd: Acd, queue: str | None) -> list[Queue]:
    if queue:
        q = acd.queues.get(queue)
        return [q] if q is not None else []
    return list(acd.queues.values())


def queue_status_items(acd: Acd, queue: str | None) -> Items:
    """QueueParams, then QueueMember and QueueEntry items, for one queue or all of them."""
    now = acd.clock.now()
    epoch_now = acd.pbx.epoch_now()
    items: Items = []
    for q in _select(acd, queue):
        items.append(
            (
                "QueueParams",
                [
                    ("Queue", q.name),
                    ("Max", "0"),
                    ("Strategy", q.strategy),
                    ("Calls", str(len(q.waiting))),
                    ("Holdtime", _avg(q.total_wait_answered, q.answered)),
                    ("TalkTime", _avg(q.talk_time, q.handled)),
                    ("Completed", str(q.handled)),
                    ("Abandoned", str(q.abandoned)),
                    ("ServiceLevel", str(int(q.service_level))),
                    # Asterisk's two figures: within/answered, and (answered + abandoned within)
                    # over (answered + abandoned).
                    ("ServicelevelPerf", _pct(q.answered_within, q.answered)),
                    (
                        "ServicelevelPerf2",
                        _pct(q.answered_within + q.abandoned_within, q.answered + q.abandoned),
                    ),
                    ("Weight", str(q.weight)),
                ],
            )
        )
        for m in q.members.values():
            items.append(("QueueMember", member_fields(m, epoch_now, asterisk_names=False)))
        for pos, caller in enumerate(q.waiting, start=1):
            chan = caller.chan
            items.append(
                (
                    "QueueEntry",
                    [
                        ("Queue", q.name),
                        ("Position", str(pos)),
                        ("Channel", chan.name),
                        ("Uniqueid", chan.uniqueid),
                        ("CallerIDNum", chan.caller_num or "<unknown>"),
                        ("CallerIDName", chan.caller_name or "<unknown>"),
                        ("ConnectedLineNum", chan.connected_num or "<unknown>"),
                        ("ConnectedLineName", chan.connected_name or "<unknown>"),
                        ("Wait", str(int(now - caller.joined))),
                        ("Priority", str(caller.priority)),
                    ],
                )
            )
    return items


def queue_summary_items(acd: Acd, queue: str | None) -> Items:
    """One QueueSummary item per queue."""
    now = acd.clock.now()
    items: Items = []
    for q in _select(acd, queue):
        members = q.members.values()
        available = sum(1 for m in members if not m.paused and m.device.available)
        longest = max((now - c.joined for c in q.waiting), default=0.0)
        items.append(
            (
                "QueueSummary",
                [
                    ("Queue", q.name),
                    ("LoggedIn", str(len(q.members))),
                    ("Available", str(available)),
                    ("Callers", str(len(q.waiting))),
                    ("HoldTime", _avg(q.total_wait_answered, q.answered)),
                    ("TalkTime", _avg(q.talk_time, q.handled)),
                    ("LongestHoldTime", str(int(longest))),
                ],
            )
        )
    return items


def _duration(seconds: float) -> str:
    s = max(0, int(seconds)) if math.isfinite(seconds) else 0
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def core_show_channels_items(pbx: Pbx, now: float) -> Items:
    """One CoreShowChannel item per live channel, oldest first."""
    items: Items = []
    for chan in pbx.channels.values():
        fields = chan.fields()
        fields += [
            ("BridgeId", chan.bridge_id),
            ("Application", chan.application),
            ("ApplicationData", chan.app_data),
            ("Duration", _duration(now - chan.created)),
        ]
        items.append(("CoreShowChannel", fields))
    return items


def _status_fields(chan: Channel, now: float) -> Fields:
    fields = chan.fields()
    fields += [
        ("Type", chan.name.split("/", 1)[0]),
        ("DNID", ""),
        ("EffectiveConnectedLineNum", chan.connected_num or "<unknown>"),
        ("EffectiveConnectedLineName", chan.connected_name or "<unknown>"),
        ("TimeToHangup", "0"),
        ("BridgeID", chan.bridge_id),
        ("Application", chan.application),
        ("Data", chan.app_data),
        ("Nativeformats", "(ulaw)"),
        ("Readformat", "ulaw"),
        ("Readtrans", ""),
        ("Writeformat", "ulaw"),
        ("Writetrans", ""),
        ("Callgroup", "0"),
        ("Pickupgroup", "0"),
        ("Seconds", str(int(now - chan.created))),
    ]
    return fields


def status_items(pbx: Pbx, now: float, channel: str | None) -> Items:
    """Status items for one channel (SimError when it does not exist) or for all."""
    if channel:
        chan = pbx.channels.get(channel)
        if chan is None:
            raise SimError("No such channel")
        return [("Status", _status_fields(chan, now))]
    return [("Status", _status_fields(c, now)) for c in pbx.channels.values()]
