"""The dialer at scale: 50 agents, a 100,000-customer list, 8 simulated hours, predictive beside
progressive (issue 18: "occupancy ≥ 80 % with abandon ≤ 3 %", "pacing decisions ≤ 1 ms",
"zero calls outside the window, to DNC or without consent").

    python bench/dialer.py [--hours 8] [--customers 100000] [--agents 50]
                           [--modes predictive,progressive] [--seed 1]

The CRM: one gold customer per number, numbers spread over US zones (New York, Florida — its
own 20:00 rule —, Chicago, Denver, Los Angeles, Anchorage, Honolulu); 88 % gave marketing-call
consent, 4 % gave it and withdrew it, 8 % never did; 3 % are on an imported national DNC list
and 1 % on the internal one. A sales campaign per mode, its list built from a segment of all
of them (so the gate, not the segment, keeps the forbidden ones out).

The simulator runs in virtual time behind its real AMI server (as bench/ami_filter.py), in
one-second slices, from a Tuesday 17:00 UTC (10:00 in Los Angeles, 07:00 in Honolulu, so some
numbers open during the run; Florida closes at 00:00 UTC, seven hours in). After each slice the
dialer (the real one, over a TCP AMI session, its clock the simulator's) reads every frame and
runs one round. The agents: 50 bots on the campaign queue (leastrecent, and ``retry`` 0.5 s as
docs/cti.md asks of a campaign queue: Asterisk checks Queue()'s 2 s expiry only between ring
cycles) answering in 0.5 s, talk lognormal 150 ± 60 s, 15 s wrap-up. The customers: 30 %
answer in person, 35 % do not answer, 8 % are busy, 22 % are machines, 5 % fail, by hour; AMD
errs now and then (3 % of people taken for machines, 10 % of machines for people, 2 % not
sure).

Figures, each from the simulator's side where it has them: talk occupancy (the queue's talk
time over agents × hours), the abandon rate (abandoned / live answers reaching the queue), the
dials and live answers, the pacing decision cost (p99 of `pacing.decide` as the dialer timed
it), and the Originates the simulator accepted that break a rule — to a DNC number, without
consent, outside the callee's window — checked against this script's own tables (area code →
zone, the US and Florida hours), not the dialer's. Printed last.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import phonenumbers

from callkit.scenario import parse_scenario
from console.db import open_database
from console.factory import PbxAddress, build_dialer
from console.schema import upgrade
from console.services.outbound.campaigns import CampaignService, load_campaign_file
from console.services.outbound.dialer import DialerSettings
from telephony_sim.ami_server import engine_server
from telephony_sim.clock import VirtualClock
from telephony_sim.engine import Engine
from telephony_sim.pbx import SimError

START = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)  # a Tuesday, after the US DST change
# area code -> (zones, the share of the list, closing hour)
AREAS = {
    "212": (("America/New_York",), 0.35, 21),
    "305": (("America/New_York",), 0.10, 20),  # Florida: 08:00-20:00
    "312": (("America/Chicago",), 0.20, 21),
    "303": (("America/Denver",), 0.10, 21),
    "415": (("America/Los_Angeles",), 0.20, 21),
    "907": (("America/Adak", "America/Anchorage"), 0.03, 21),
    "808": (("Pacific/Honolulu",), 0.02, 21),
}
SLICE = 1.0  # simulated seconds between the dialer's rounds

SCENARIO = """
name = "dialer-bench"
start = "12:00"
epoch = {epoch}
[[queues]]
name = "sales"
extension = "700"
strategy = "leastrecent"
timeout = 15
retry = 0.5
wrapuptime = 15
[[bot_pools]]
count = {agents}
first = 3001
queues = ["sales"]
[bot_pools.bot]
answer_delay = 0.5
agent_hangup_share = 0.5
[outbound]
answer = 0.30
no_answer = 0.35
busy = 0.08
machine = 0.22
failed = 0.05
ring_seconds = [3, 10]
machine_ring_seconds = [8, 15]
talk_time = {{ dist = "lognormal", mean = 150, sd = 60 }}
[outbound.hours]
"12-14" = {{ answer = 0.26, no_answer = 0.38, busy = 0.09, machine = 0.22, failed = 0.05 }}
"17-20" = {{ answer = 0.36, no_answer = 0.30, busy = 0.07, machine = 0.22, failed = 0.05 }}
[[outbound.campaigns]]
context = "campaign-sales"
queue = "sales"
queue_timeout = 2
machine = "message"
message_seconds = 15
safe_harbor_seconds = 6
[outbound.campaigns.amd]
human_as_machine = 0.03
machine_as_human = 0.10
notsure = 0.02
"""
CAMPAIGN = """
name = "{name}"
purpose = "sales"
mode = "{mode}"
queue = "sales"
caller_id = '"Acme" <6000>'
[segment]
tiers = ["gold"]
[dial]
context = "campaign-sales"
ring_timeout = "25s"
"""


@dataclass
class Crm:
    """What this script knows of the list, to judge the Originates by itself."""

    zones: dict[str, tuple[str, ...]] = field(default_factory=dict)
    close: dict[str, int] = field(default_factory=dict)
    dnc: set[str] = field(default_factory=set)
    no_consent: set[str] = field(default_factory=set)


def micros(at: datetime) -> int:
    return int(at.timestamp() * 1_000_000)


def seed(path: Path, customers: int, rng: random.Random) -> Crm:
    """Customers, numbers, consents and DNC entries, written straight into SQLite."""
    crm = Crm()
    codes = list(AREAS)
    weights = [AREAS[c][1] for c in codes]
    numbers: list[str] = []
    seen: set[str] = set()
    while len(numbers) < customers:
        area = rng.choices(codes, weights)[0]
        e164 = f"+1{area}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        if e164 in seen or not phonenumbers.is_valid_number(phonenumbers.parse(e164)):
            continue
        seen.add(e164)
        numbers.append(e164)
        crm.zones[e164], crm.close[e164] = AREAS[area][0], AREAS[area][2]
    now = micros(START)
    con = sqlite3.connect(path)
    con.executemany(
        "INSERT INTO customers (id, kind, display_name, language, tier, lifecycle, rfm_recency,"
        " rfm_frequency, rfm_monetary, lifetime_value_cents, currency, tags, notes, created_at,"
        " updated_at) VALUES (?, 'person', ?, 'en', 'gold', 'mature', 3, 3, 3, 0, 'USD', '[]',"
        " '', ?, ?)",
        [(i + 1, f"Customer {i + 1}", now, now) for i in range(customers)],
    )
    con.executemany(
        "INSERT INTO phone_numbers (customer_id, e164, kind, label, region)"
        " VALUES (?, ?, 'mobile', '', 'US')",
        [(i + 1, e164) for i, e164 in enumerate(numbers)],
    )
    consents, entries = [], []
    given = micros(START - timedelta(days=60))
    withdrawn = micros(START - timedelta(days=5))
    for i, e164 in enumerate(numbers):
        draw = rng.random()
        if draw < 0.92:
            consents.append((i + 1, True, given))
        if 0.88 <= draw < 0.92:
            consents.append((i + 1, False, withdrawn))
        if draw >= 0.88:
            crm.no_consent.add(e164)
        dnc = rng.random()
        if dnc < 0.04:
            entries.append((e164, "us-national" if dnc < 0.03 else "internal", now))
            crm.dnc.add(e164)
    con.executemany(
        "INSERT INTO consent_records (customer_id, purpose, granted, source, at, recorded_at,"
        " note) VALUES (?, 'marketing_calls', ?, 'bench', ?, ?, '')",
        [(c, g, at, at) for c, g, at in consents],
    )
    con.executemany(
        "INSERT INTO dnc_entries (e164, source, reason, added_by, added_at)"
        " VALUES (?, ?, '', 'bench', ?)",
        entries,
    )
    con.commit()
    con.close()
    return crm


def forbidden(crm: Crm, number: str, at: datetime) -> str:
    """Why this script's own rules forbid a call to ``number`` at ``at`` ("" if they do not)."""
    if number in crm.dnc:
        return "dnc"
    if number in crm.no_consent:
        return "no consent"
    for zone in crm.zones.get(number, ()):
        local = at.astimezone(ZoneInfo(zone))
        if not 8 <= local.hour + local.minute / 60 + local.second / 3600 < crm.close[number]:
            return "outside window"
    return "" if number in crm.zones else "unknown number"


@dataclass
class Run:
    mode: str
    hours: float
    agents: int
    dials: int = 0
    queued: int = 0
    abandoned: int = 0
    connected: int = 0
    talk: float = 0.0
    decisions: list[int] = field(default_factory=list)
    violations: dict[str, int] = field(default_factory=dict)
    wall: float = 0.0

    @property
    def occupancy(self) -> float:
        return self.talk / (self.agents * self.hours * 3600)

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.queued if self.queued else 0.0

    def p99_ms(self) -> float:
        took = sorted(self.decisions)
        return took[int(len(took) * 0.99)] / 1e6 if took else 0.0


async def run_mode(path: Path, crm: Crm, mode: str, hours: float, agents: int) -> Run:
    db = open_database(f"sqlite:///{path}", synchronous="NORMAL")
    campaigns = CampaignService(db, clock=lambda: START)
    name = f"Bench {mode}"
    spec = load_campaign_file("b.toml", CAMPAIGN.format(name=name, mode=mode))
    await campaigns.create(spec, agent_id=None)
    await campaigns.start(name, agent_id=None)
    text = SCENARIO.format(epoch=int(START.timestamp()), agents=agents)
    engine = Engine(parse_scenario(text, "bench.toml"), seed=7, clock=VirtualClock())
    engine.set_manager_vars(("CC_CAMPAIGN", "CC_LEAD"))
    server = engine_server(engine, (SimError,), {"bench": "bench"}, port=0)
    port = await server.start()

    def clock() -> datetime:
        return START + timedelta(seconds=engine.clock.now())

    dialer = build_dialer(
        db,
        PbxAddress("127.0.0.1", port, "bench", "bench"),
        owner=f"bench {mode}",
        clock=clock,
        settings=DialerSettings(tick=SLICE, lease_seconds=60),
    )
    await dialer.cti.start()
    await dialer.cti.wait_connected()
    started = time.perf_counter()
    steps = int(hours * 3600 / SLICE)
    for n in range(steps):
        engine.run_virtual(SLICE)
        while server.backlog() > 1 << 20:  # noqa: ASYNC110 - pace on the sockets
            await asyncio.sleep(0.001)
        await dialer.cti.send_action("Ping")  # every frame of the slice has been read
        await dialer.guarded_step()
        if n % 3600 == 3599:
            print(f"  {mode}: {(n + 1) / 3600:.0f} h, {len(engine.originated):,} dials", flush=True)
    result = Run(mode, hours, agents, wall=time.perf_counter() - started)
    stats = engine.customers.stats.get("campaign-sales", {})
    result.dials = len(engine.originated)
    result.queued = stats.get("queued", 0)
    result.abandoned = stats.get("abandoned", 0)
    result.talk = engine.acd.queues["sales"].talk_time
    result.connected = engine.acd.queues["sales"].handled
    result.decisions = list(dialer.decision_ns)
    for at, request in engine.originated:
        number = request.channel.split("/", 1)[1].split("@", 1)[0]
        why = forbidden(crm, number, datetime.fromtimestamp(at, UTC))
        if why:
            result.violations[why] = result.violations.get(why, 0) + 1
    await dialer.close()
    await campaigns.stop(name, agent_id=None)
    await dialer.cti.close()
    await server.close()
    await db.dispose()
    return result


async def main_async(args: argparse.Namespace) -> list[Run]:
    folder = Path(tempfile.mkdtemp(prefix="dialer-bench-"))
    path = folder / "crm.db"
    db = open_database(f"sqlite:///{path}")
    await upgrade(db)
    await db.dispose()
    began = time.perf_counter()
    crm = seed(path, args.customers, random.Random(args.seed))
    print(f"seeded {args.customers:,} customers in {time.perf_counter() - began:.1f}s "
          f"({len(crm.dnc):,} on DNC lists, {len(crm.no_consent):,} without consent)")  # fmt: skip
    runs = []
    for mode in args.modes.split(","):
        runs.append(await run_mode(path, crm, mode.strip(), args.hours, args.agents))
    print(f"the bench's database (kept): {path}; the board's reading of it: "
          f"python bench/dialer_board.py {path}")  # fmt: skip
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--modes", default="predictive,progressive")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    runs = asyncio.run(main_async(args))
    print(f"{args.agents} agents, {args.customers:,} on the list, {args.hours:g} simulated hours")
    for r in runs:
        bad = sum(r.violations.values())
        print(
            f"  {r.mode:<11} occupancy {r.occupancy:6.1%}  abandon {r.abandon_rate:5.2%} "
            f"({r.abandoned:,} of {r.queued:,} live)  dials {r.dials:,}  calls {r.connected:,}  "
            f"pacing p99 {r.p99_ms():.3f} ms  forbidden calls {bad}"
            + (f" {r.violations}" if bad else "")
            + f"  ({r.wall:.0f}s)"
        )


if __name__ == "__main__":
    main()
