"""The dialer when things go wrong: a second dialer process on the same campaigns, a dialer killed
with calls out, the AMI link dropping, the database refusing writes. Whatever happens, no
number is dialled twice (the simulator's own record of Originates says so) and every dial
placed ends up in `dial_attempts` with what became of it."""

from __future__ import annotations

import asyncio
from collections import Counter

from console.db import Database
from console.services.outbound.dialer import DialerSettings
from tests.db_faults import SqliteFaults
from tests.dialer_support import (
    CHANNELVARS,
    ShiftedClock,
    add_customers,
    attempts,
    campaign_file,
    dialled_numbers,
    number,
    originated,
    running_dialer,
    scenario,
    start_campaign,
    wait_until,
)
from tests.pbx import running_pbx


def once_each(numbers: list[str]) -> bool:
    return all(n == 1 for n in Counter(numbers).values())


async def all_connected(db: Database, campaign_id: int, count: int) -> bool:
    rows = await attempts(db, campaign_id)
    return len(rows) == count and all(a.outcome == "connected" for a in rows)


async def test_two_dialers_never_dial_one_campaign_twice(db: Database) -> None:
    clock = ShiftedClock()
    numbers = [number(i) for i in range(12)]
    await add_customers(db, numbers)
    campaign_id = await start_campaign(db, campaign_file(), clock)
    async with (
        running_pbx(scenario(agents=4, talk=1.0), channelvars=CHANNELVARS) as pbx,
        running_dialer(db, pbx, clock, owner="site-a") as a,
        running_dialer(db, pbx, clock, owner="site-b") as b,
    ):
        await wait_until(lambda: all_connected(db, campaign_id, 12), within=60)
        sent = {"a": a.campaigns[campaign_id].dialled, "b": b.campaigns[campaign_id].dialled}
        # One of them holds the lease; the other says who runs it.
        assert sorted(sent.values()) == [0, 12]
        idle = a if sent["a"] == 0 else b
        assert any("running elsewhere" in line for line in idle.lines)
    assert sorted(dialled_numbers(pbx)) == sorted(numbers)
    assert once_each(dialled_numbers(pbx))


async def test_a_killed_dialers_calls_are_reconciled_by_the_next(db: Database) -> None:
    clock = ShiftedClock()
    numbers = [number(i) for i in range(3)]
    await add_customers(db, numbers)
    campaign_id = await start_campaign(db, campaign_file(), clock)
    quick = DialerSettings(tick=0.1, lease_seconds=1.0)
    async with running_pbx(scenario(agents=3, talk=6.0), channelvars=CHANNELVARS) as pbx:
        async with running_dialer(db, pbx, clock, settings=quick, run=False) as first:
            # Its loop, run by hand so it can die without a goodbye (no lease given back).
            loop = asyncio.create_task(_rounds(first))

            async def connected() -> bool:
                return sum(1 for d in first.tracker.dials.values() if d.connected_at) == 3

            await wait_until(connected)
            loop.cancel()
        # The calls talk on; the attempts are open with nobody following them.
        assert [a.ended_at for a in await attempts(db, campaign_id)] == [None] * 3
        async with running_dialer(db, pbx, clock, settings=quick, owner="next") as second:
            await wait_until(lambda: all_connected(db, campaign_id, 3), within=30)
            assert any("running here" in line for line in second.lines)
    rows = await attempts(db, campaign_id)
    assert all(a.ended_at and a.connected_at for a in rows)
    assert once_each(dialled_numbers(pbx)) and len(originated(pbx)) == 3


async def test_a_draining_dialer_places_nothing_new_and_writes_its_calls_to_their_end(
    db: Database,
) -> None:
    """Stopped with calls out and drain time: no new dial (leads are left), the calls in
    flight followed until they end and written whole, then the lease is given back (without
    drain they are left open for the next dialer: the killed-dialer test above)."""
    clock = ShiftedClock()
    numbers = [number(i) for i in range(6)]
    await add_customers(db, numbers)
    campaign_id = await start_campaign(db, campaign_file(), clock)
    quick = DialerSettings(tick=0.1, lease_seconds=5.0)
    async with (
        running_pbx(scenario(agents=2, talk=2.0), channelvars=CHANNELVARS) as pbx,
        running_dialer(db, pbx, clock, settings=quick, run=False) as dialer,
    ):
        stop = asyncio.Event()
        loop = asyncio.create_task(dialer.run(stop, drain=30.0))

        async def two_talking() -> bool:
            return sum(1 for d in dialer.tracker.dials.values() if d.connected_at) == 2

        await wait_until(two_talking)
        stop.set()
        await asyncio.wait_for(loop, 30)
    rows = await attempts(db, campaign_id)
    assert len(rows) == len(originated(pbx)) == 2  # nothing new after the stop
    assert all(a.connected_at and a.ended_at for a in rows)  # followed to their end
    assert any("draining: 2 dial(s) in flight" in line for line in dialer.lines)  # type: ignore[attr-defined]
    assert any("stopped here" in line for line in dialer.lines)  # type: ignore[attr-defined]


async def _rounds(dialer: object) -> None:
    while True:
        await dialer.guarded_step()  # type: ignore[attr-defined]
        await asyncio.sleep(0.1)


async def test_a_dropped_ami_link_loses_no_dial_and_places_none_twice(db: Database) -> None:
    clock = ShiftedClock()
    numbers = [number(i) for i in range(4)]
    await add_customers(db, numbers)
    campaign_id = await start_campaign(db, campaign_file(), clock)
    async with (
        running_pbx(scenario(agents=2, talk=4.0), channelvars=CHANNELVARS) as pbx,
        running_dialer(db, pbx, clock) as dialer,
    ):

        async def two_talking() -> bool:
            return sum(1 for d in dialer.tracker.dials.values() if d.connected_at) == 2

        await wait_until(two_talking)
        await pbx.stop()  # the AMI server goes; the engine (and the calls) stay up
        await asyncio.sleep(1.0)
        await pbx.start()
        await wait_until(lambda: all_connected(db, campaign_id, 4), within=60)
    assert sorted(dialled_numbers(pbx)) == sorted(numbers)
    assert once_each(dialled_numbers(pbx))


async def test_a_database_refusing_writes_stops_new_dials_and_loses_no_attempt(
    db: Database,
) -> None:
    clock = ShiftedClock()
    numbers = [number(i) for i in range(4)]
    await add_customers(db, numbers)
    campaign_id = await start_campaign(db, campaign_file(), clock)
    faults = SqliteFaults(db)
    async with (
        running_pbx(scenario(agents=2, talk=3.0), channelvars=CHANNELVARS) as pbx,
        running_dialer(db, pbx, clock) as dialer,
    ):

        async def two_out() -> bool:
            return len(await attempts(db, campaign_id)) == 2

        await wait_until(two_out)
        await faults.set("readonly")
        await wait_until(lambda: bool(dialer.db_error))
        placed = len(originated(pbx))
        # The two calls end while the database refuses every write.
        await wait_until(lambda: not pbx.engine.pbx.channels, within=30)
        assert len(originated(pbx)) == placed  # nothing could be claimed: nothing dialled
        await faults.close()
        await wait_until(lambda: all_connected(db, campaign_id, 4), within=60)
        assert any("database back" in line for line in dialer.lines)
    assert once_each(dialled_numbers(pbx)) and len(originated(pbx)) == 4
