"""Claiming due rows (todo_api.kit.claims), on both databases, on a table the test makes: two
processes claiming at once never get the same row, a held row is not handed out again, a lease
that ran out is taken over, only the claimant still holding a row can give it back, and a
claim `per` owner takes the owners' rows in turns, never more than its number held by one; a
claim of one row by its key (a job's) holds it until its lease is over or cut back."""

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Table, insert, select, true, update

from tests.kit.helpers import work_table
from tests.tasks.feed_helpers import database
from todo_api.config import Settings
from todo_api.db import create_engine
from todo_api.kit.claims import claim, claim_one, cut_back, release
from todo_api.kit.ids import utcnow

REPOSITORY = Path(__file__).parents[2]
LEASE = timedelta(minutes=5)
PROCESS_TIMEOUT = 120.0


@pytest.fixture
async def work(settings: Settings) -> AsyncIterator[Table]:
    """An empty table of work of this test's own, dropped afterwards."""
    table = work_table(f"work_{uuid.uuid4().hex[:12]}")
    engine = create_engine(settings)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(table.create)
        yield table
        async with engine.begin() as conn:
            await conn.run_sync(table.drop)
    finally:
        await engine.dispose()


async def add_rows(
    settings: Settings, table: Table, count: int, *, ready: bool = True, owners: int = 1
) -> None:
    """Rows 0 to count - 1; row n is owner n % owners's."""
    async with database(settings) as db, db.transaction() as conn:
        for start in range(0, count, 100):
            await conn.execute(
                insert(table).values(
                    [
                        {"id": n, "ready": ready, "owner": n % owners}
                        for n in range(start, min(start + 100, count))
                    ]
                )
            )


async def claimed_by(settings: Settings, table: Table) -> dict[int, str | None]:
    async with database(settings) as db, db.connection() as conn:
        rows = await conn.execute(select(table.c.id, table.c.claimed_by))
    return {row.id: row.claimed_by for row in rows}


def claimant_process(
    settings: Settings, table: Table, folder: Path, name: str, *per: str
) -> subprocess.Popen[str]:
    """tests/kit/claimer.py in a process of its own."""
    url = str(settings.database_url)
    return subprocess.Popen(
        [sys.executable, "-m", "tests.kit.claimer", url, table.name, str(folder), name, *per],
        cwd=REPOSITORY,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def claim_in_two_processes(
    settings: Settings, work: Table, folder: Path, *per: str
) -> list[dict[str, list[int]]]:
    """What two claimer processes, started together, took: {claimant: ids} each."""
    processes = [claimant_process(settings, work, folder, name, *per) for name in ("one", "two")]
    try:
        deadline = time.monotonic() + PROCESS_TIMEOUT
        while not all((folder / f"{name}.ready").exists() for name in ("one", "two")):
            assert all(p.poll() is None for p in processes), [p.communicate() for p in processes]
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        (folder / "go").touch()
        outputs = [
            await asyncio.to_thread(process.communicate, timeout=PROCESS_TIMEOUT)
            for process in processes
        ]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert [p.returncode for p in processes] == [0, 0], outputs
    return [json.loads(stdout) for stdout, _ in outputs]


async def test_two_processes_claiming_at_once_never_get_the_same_row(
    settings: Settings, work: Table, tmp_path: Path
) -> None:
    await add_rows(settings, work, 300)
    taken = await claim_in_two_processes(settings, work, tmp_path)

    ids = [[n for batch in process.values() for n in batch] for process in taken]
    assert ids[0], "the first process took no row"
    assert ids[1], "the second process took no row"
    assert set(ids[0]).isdisjoint(ids[1])
    assert sorted(ids[0] + ids[1]) == list(range(300))  # each row once, none left out
    holder = {n: who for process in taken for who, batch in process.items() for n in batch}
    assert await claimed_by(settings, work) == holder


async def test_two_processes_claiming_per_owner_hold_at_most_that_many_of_each(
    settings: Settings, work: Table, tmp_path: Path
) -> None:
    """30 owners of 10 rows each, at most 3 held per owner: the processes take 3 of each
    owner's rows between them, each row once."""
    await add_rows(settings, work, 300, owners=30)
    taken = await claim_in_two_processes(settings, work, tmp_path, "3")

    ids = [[n for batch in process.values() for n in batch] for process in taken]
    assert set(ids[0]).isdisjoint(ids[1])
    held = sorted(ids[0] + ids[1])
    assert len(held) == len(set(held)) == 90
    assert sorted(n % 30 for n in held) == sorted(list(range(30)) * 3)
    # The first 3 of each owner (by key, the default order).
    assert held == sorted(n for n in range(300) if n < 90)
    holder = {n: who for process in taken for who, batch in process.items() for n in batch}
    assert {n: who for n, who in (await claimed_by(settings, work)).items() if who} == holder


async def test_a_claim_per_owner_takes_each_owners_rows_in_turn_counting_those_held(
    settings: Settings, work: Table
) -> None:
    # Owner 0 has rows 0, 3, 6, ..., 27; owner 1 has 1, 4, ...; owner 2 has 2, 5, ...
    await add_rows(settings, work, 30, owners=3)
    per = (work.c.owner, 4)
    async with database(settings) as db:
        # Owner 0's first two are held already.
        held = await claim(db, work, due=work.c.id.in_([0, 3]), lease=LEASE, limit=10)
        assert len(held.rows) == 2
        first = await claim(db, work, due=true(), lease=LEASE, limit=5, per=per)
        # Round robin, the rows held first in each owner's turns: owners 1 and 2's first
        # rows (1, 2), their second (4, 5), then the third of every owner in key order (6:
        # owner 0's first free one), until the limit.
        assert sorted(row.id for row in first.rows) == [1, 2, 4, 5, 6]
        rest = await claim(db, work, due=true(), lease=LEASE, limit=100, per=per)
        # Up to 4 held per owner in all: one more of owner 0's, two more of the others'.
        assert sorted(row.id for row in rest.rows) == [7, 8, 9, 10, 11]
        assert (await claim(db, work, due=true(), lease=LEASE, limit=100, per=per)).rows == []
        # A row given back frees its owner's place, for the owner's next row.
        assert await release(db, work, held, [0]) == 1
        after = await claim(db, work, due=true(), lease=LEASE, limit=100, per=per)
    assert [row.id for row in after.rows] == [0]


async def test_a_row_held_is_not_claimed_again_until_given_back(
    settings: Settings, work: Table
) -> None:
    await add_rows(settings, work, 5)
    async with database(settings) as db:
        first = await claim(db, work, due=work.c.id < 3, lease=LEASE, limit=10)
        second = await claim(db, work, due=true(), lease=LEASE, limit=10)
        assert sorted(row.id for row in first.rows) == [0, 1, 2]
        assert sorted(row.id for row in second.rows) == [3, 4]
        assert (await claim(db, work, due=true(), lease=LEASE, limit=10)).rows == []

        assert await release(db, work, first, [0, 1]) == 2
        third = await claim(db, work, due=true(), lease=LEASE, limit=1)

    assert [row.id for row in third.rows] == [0]
    assert third.rows[0].claimed_by == third.claimant
    assert third.rows[0].claimed_until == third.until


async def test_a_claim_whose_lease_ran_out_is_taken_over(settings: Settings, work: Table) -> None:
    await add_rows(settings, work, 1)
    async with database(settings) as db:
        dead = await claim(db, work, due=true(), lease=LEASE, limit=1)
        assert (await claim(db, work, due=true(), lease=LEASE, limit=1)).rows == []
        # The claimant died: its lease runs out.
        async with db.connection() as conn:
            await conn.execute(update(work).values(claimed_until=utcnow() - timedelta(seconds=1)))

        heir = await claim(db, work, due=true(), lease=LEASE, limit=1)
        assert [row.id for row in heir.rows] == [0]
        # The first claimant, back late, no longer holds the row: it cannot give it back.
        assert await release(db, work, dead, [0], {"outcome": "late"}) == 0
        assert await release(db, work, heir, [0], {"outcome": "done"}) == 1

        async with db.connection() as conn:
            row = (await conn.execute(select(work))).one()
    assert (row.outcome, row.claimed_by, row.claimed_until) == ("done", None, None)


async def test_only_due_rows_are_claimed_and_no_more_than_asked(
    settings: Settings, work: Table
) -> None:
    await add_rows(settings, work, 10)
    async with database(settings) as db:
        async with db.connection() as conn:
            await conn.execute(update(work).where(work.c.id >= 4).values(ready=False))
        got = await claim(
            db, work, due=work.c.ready, lease=LEASE, limit=3, order_by=work.c.id.desc()
        )

    assert sorted(row.id for row in got.rows) == [1, 2, 3]  # the first 3 in that order
    assert set((await claimed_by(settings, work)).values()) == {None, got.claimant}


async def test_a_row_claimed_by_its_key_is_held_until_its_lease_is_cut_back(
    settings: Settings, work: Table
) -> None:
    await add_rows(settings, work, 2)
    async with database(settings) as db:
        first = await claim_one(db, work, 0, LEASE)
        assert [row.id for row in first.rows] == [0]
        assert (await claim_one(db, work, 0, LEASE)).rows == []  # held
        assert [row.id for row in (await claim_one(db, work, 1, LEASE)).rows] == [1]
        await cut_back(db, work, first, 0, first.until + LEASE)  # a lease is never lengthened
        assert (await claim_one(db, work, 0, LEASE)).rows == []
        await cut_back(db, work, first, 0, utcnow())  # given back
        again = await claim_one(db, work, 0, LEASE)
        assert [row.id for row in again.rows] == [0]
        await cut_back(db, work, first, 0, utcnow())  # no longer `first`'s: left alone
        assert (await claimed_by(settings, work))[0] == again.claimant
