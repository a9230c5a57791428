"""Races, on both databases: clients reordering one list at once, a list deleted while tasks
are being added to it, and (PostgreSQL) while one of its parents is being completed; two
members writing into each other's lists at once."""

import asyncio
import random
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select, text, update

from tests.lists.helpers import create_list
from tests.lists.sharing import share
from tests.tasks.feed_helpers import database
from tests.tasks.helpers import create_task, user_id_of
from todo_api.config import Settings
from todo_api.db import Connection
from todo_api.tables.lists import list_members
from todo_api.tables.tasks import tasks

MOVES_PER_CLIENT = 30
LOCK_WAIT = 10.0


async def in_order(client: httpx.AsyncClient, list_id: str, limit: int) -> list[dict[str, Any]]:
    """The list's tasks by position, page by page."""
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {"list_id": list_id, "sort": "position", "limit": limit}
    while True:
        response = await client.get("/api/tasks", params=params)
        assert response.status_code == 200, response.text
        found += response.json()
        if "x-next-cursor" not in response.headers:
            return found
        params["cursor"] = response.headers["x-next-cursor"]


async def test_two_clients_moving_tasks_in_one_list_leave_a_consistent_order(
    new_user_client: Callable[..., httpx.AsyncClient],
) -> None:
    subject = str(uuid.uuid4())
    async with new_user_client(subject) as one, new_user_client(subject) as two:
        work = await create_list(one, "Work")
        tasks = [await create_task(one, title=f"t{n}", list_id=work["id"]) for n in range(6)]
        ids = [task["id"] for task in tasks]

        async def mover(client: httpx.AsyncClient, seed: int) -> None:
            rng = random.Random(seed)
            for _ in range(MOVES_PER_CLIENT):
                moving, anchor = rng.sample(ids, 2)
                side = rng.choice(["before", "after"])
                response = await client.post(f"/api/tasks/{moving}/move", json={side: anchor})
                assert response.status_code == 200, response.text
                # Right after it answers, the move holds (unless the other client moved
                # either task meanwhile, which it may have).
                assert response.json()["list_id"] == work["id"]

        await asyncio.gather(mover(one, 1), mover(two, 2))
        whole = await in_order(one, work["id"], 100)
        paged = await in_order(two, work["id"], 2)
    assert [task["id"] for task in whole] == [task["id"] for task in paged]
    assert sorted(task["id"] for task in whole) == sorted(ids)
    positions = [task["position"] for task in whole]
    assert positions == sorted(set(positions)), "every task has a place of its own"


async def test_each_move_lands_where_it_was_asked_when_the_other_client_is_elsewhere(
    new_user_client: Callable[..., httpx.AsyncClient],
) -> None:
    subject = str(uuid.uuid4())
    async with new_user_client(subject) as one, new_user_client(subject) as two:
        work = await create_list(one, "Work")
        mine = [await create_task(one, title=f"a{n}", list_id=work["id"]) for n in range(3)]
        theirs = [await create_task(one, title=f"b{n}", list_id=work["id"]) for n in range(3)]

        async def rotate(client: httpx.AsyncClient, group: list[dict[str, Any]]) -> None:
            for n in range(20):
                moving, anchor = group[n % 3], group[(n + 1) % 3]
                response = await client.post(
                    f"/api/tasks/{moving['id']}/move", json={"after": anchor["id"]}
                )
                assert response.status_code == 200, response.text

        await asyncio.gather(rotate(one, mine), rotate(two, theirs))
        final = [task["title"] for task in await in_order(one, work["id"], 100)]
    # Each client only reorders its own three tasks, so each three end in the order its own
    # last moves left them, whatever the interleaving.
    assert [t for t in final if t.startswith("a")] == ["a0", "a2", "a1"]
    assert [t for t in final if t.startswith("b")] == ["b0", "b2", "b1"]


async def test_deleting_a_list_while_tasks_are_added_leaves_no_task_in_it(
    new_user_client: Callable[..., httpx.AsyncClient],
) -> None:
    subject = str(uuid.uuid4())
    async with new_user_client(subject) as adder, new_user_client(subject) as deleter:
        doomed = await create_list(adder, "Doomed")
        parent = await create_task(adder, title="parent", list_id=doomed["id"])
        created: list[str] = []

        async def add(n: int) -> None:
            await asyncio.sleep(n * 0.003)  # spread over the moment the list goes
            body: dict[str, Any] = {"title": f"t{n}"}
            if n % 3 == 0:
                body["parent_id"] = parent["id"]
            else:
                body["list_id"] = doomed["id"]
            response = await adder.post("/api/tasks", json=body)
            if response.status_code == 201:
                created.append(response.json()["id"])
            else:  # the list (or the parent) was gone by then
                assert response.status_code == 400, response.text
                field = response.json()["details"][0]["field"]
                assert field == ("parent_id" if "parent_id" in body else "list_id")

        async def delete_soon() -> None:
            await asyncio.sleep(0.04)
            response = await deleter.delete(f"/api/lists/{doomed['id']}")
            assert response.status_code == 204, response.text

        await asyncio.gather(*(add(n) for n in range(30)), delete_soon())
        assert (await adder.get(f"/api/lists/{doomed['id']}")).status_code == 404
        left = await adder.get("/api/tasks", params={"limit": 200})
        assert left.status_code == 200
        assert [t for t in left.json() if t["list_id"] == doomed["id"]] == []
        for task_id in created:
            assert (await adder.get(f"/api/tasks/{task_id}")).status_code == 404


async def test_members_writing_into_each_others_lists_at_once_take_turns_without_a_deadlock(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    # Each write needs both users' reordering turns (the caller's, and the owner's of the
    # task or list). Taken one after the other, each side would hold its own and wait for
    # the other's: a deadlock, one side answering 503.
    alices, bobs = await create_list(alice, "Alice's"), await create_list(bob, "Bob's")
    await share(alice, bob, alices["id"])
    await share(bob, alice, bobs["id"])

    async def writes(client: httpx.AsyncClient, mine: str, theirs: str, n: int) -> list[Any]:
        task = await create_task(client, title=f"moving {n}", list_id=mine)
        create = {"op": "create", "data": {"title": f"bulk {n}", "list_id": theirs}}
        return [
            client.post(f"/api/tasks/{task['id']}/move", json={"list_id": theirs}),
            client.post("/api/tasks", json={"title": f"created {n}", "list_id": theirs}),
            client.post("/api/tasks/bulk", json={"operations": [create]}),
        ]

    for n in range(10):
        requests = await writes(alice, alices["id"], bobs["id"], n)
        requests += await writes(bob, bobs["id"], alices["id"], n)
        responses = await asyncio.gather(*requests)
        assert [r.status_code for r in responses] == [200, 201, 200] * 2, responses
    for listed in (alices, bobs):
        response = await alice.get("/api/tasks", params={"list_id": listed["id"], "limit": 100})
        assert len(response.json()) == 30


async def test_two_members_bulk_changing_the_same_tasks_in_opposite_orders_take_turns(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    # Each bulk locks its tasks in its own order; without a common turn first, one holding
    # the first task and the other the second would wait for each other: a deadlock, a 503.
    alices, bobs = await create_list(alice, "Alice's"), await create_list(bob, "Bob's")
    await share(alice, bob, alices["id"])
    await share(bob, alice, bobs["id"])
    for n in range(10):
        first = await create_task(alice, title=f"first {n}", list_id=alices["id"])
        second = await create_task(bob, title=f"second {n}", list_id=bobs["id"])
        operations = [
            {"op": "update", "id": task["id"], "data": {"priority": "high"}}
            for task in (first, second)
        ]
        responses = await asyncio.gather(
            alice.post("/api/tasks/bulk", json={"operations": operations}),
            bob.post("/api/tasks/bulk", json={"operations": operations[::-1]}),
        )
        assert [r.status_code for r in responses] == [200, 200], responses


async def test_deleting_a_list_waits_for_a_parent_being_completed_without_a_deadlock(
    new_user_client: Callable[..., httpx.AsyncClient], settings: Settings
) -> None:
    # Completing a parent locks it, then its subtasks. A parent changed after its subtasks is
    # stored after them, so a delete taking the list's rows in storage order would hold the
    # subtasks while waiting for the parent: a deadlock, one side answering 503.
    if settings.is_sqlite:
        pytest.skip("one SQLite file has one writer at a time: no lock order to get wrong")
    subject = str(uuid.uuid4())
    async with new_user_client(subject) as client:
        doomed = await create_list(client, "Doomed")
        parent = await create_task(client, title="parent", list_id=doomed["id"])
        subtasks = [await create_task(client, title="s", parent_id=parent["id"]) for _ in range(3)]
        renamed = await client.patch(f"/api/tasks/{parent['id']}", json={"title": "P"})
        assert renamed.status_code == 200, renamed.text

        parent_id = uuid.UUID(parent["id"])
        async with database(settings) as db, db.transaction() as completing:
            # A completion under way: the parent is locked, its subtasks come next.
            locking = select(tasks.c.id).where(tasks.c.id == parent_id).with_for_update()
            await completing.execute(locking)
            deleting = asyncio.create_task(client.delete(f"/api/lists/{doomed['id']}"))
            await until_a_statement_waits_for_a_lock(completing)
            await completing.execute(
                update(tasks).where(tasks.c.id == parent_id).values(is_completed=True)
            )
        response = await deleting
        assert response.status_code == 204, response.text
        for task in [parent, *subtasks]:
            assert (await client.get(f"/api/tasks/{task['id']}")).status_code == 404


async def until_a_statement_waits_for_a_lock(conn: Connection, statements: int = 1) -> None:
    """Until `statements` other sessions of this database wait for a lock (at most LOCK_WAIT
    seconds)."""
    waiting = (
        select(func.count())
        .select_from(text("pg_stat_activity"))
        .where(text("wait_event_type = 'Lock' AND datname = current_database()"))
    )
    deadline = time.monotonic() + LOCK_WAIT
    while (await conn.execute(waiting)).scalar() < statements:
        assert time.monotonic() < deadline, "the statements never waited for a lock"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("write", ["create", "move"])
async def test_an_editor_removed_while_their_task_goes_into_the_list_puts_nothing_there(
    new_user_client: Callable[..., httpx.AsyncClient], settings: Settings, write: str
) -> None:
    # The write checks the editor's access, then writes: the access rule is in the write too,
    # so a removal that commits in between leaves the list as it was.
    if settings.is_sqlite:
        pytest.skip("one SQLite file has one writer at a time: nothing commits in between")
    async with new_user_client() as owner, new_user_client() as editor:
        shared = await create_list(owner, "Shared")
        await share(owner, editor, shared["id"], "editor")
        own = await create_task(editor, title="Mine")
        editor_id = await user_id_of(editor)

        async with database(settings) as db, db.transaction() as removing:
            # Writes to tasks wait for this transaction; reads (the check) do not.
            await removing.execute(text("LOCK TABLE tasks IN SHARE MODE"))
            if write == "create":
                body = {"title": "Raced", "list_id": shared["id"]}
                writing = asyncio.create_task(editor.post("/api/tasks", json=body))
            else:
                body = {"list_id": shared["id"]}
                writing = asyncio.create_task(
                    editor.post(f"/api/tasks/{own['id']}/move", json=body)
                )
            await until_a_statement_waits_for_a_lock(removing)
            await removing.execute(
                delete(list_members).where(
                    list_members.c.list_id == uuid.UUID(shared["id"]),
                    list_members.c.user_id == editor_id,
                )
            )
        response = await writing

        assert response.status_code == 400, response.text
        assert response.json()["details"][0]["field"] == "list_id"
        in_list = await owner.get("/api/tasks", params={"list_id": shared["id"]})
        assert in_list.json() == []
        assert (await editor.get(f"/api/tasks/{own['id']}")).json()["list_id"] is None


async def test_a_task_put_in_a_list_during_its_writers_removal_waits_for_it_and_is_refused(
    new_user_client: Callable[..., httpx.AsyncClient], settings: Settings
) -> None:
    # A removal under way holds the list owner's turn: a write that puts a task in the list
    # waits for it, then finds the writer gone. Were the write let through, its task would be
    # stamped after the removal and the removed member's feed would never take it away.
    if settings.is_sqlite:
        pytest.skip("one SQLite file has one writer at a time")
    async with new_user_client() as owner, new_user_client() as editor:
        shared = await create_list(owner, "Shared")
        await share(owner, editor, shared["id"], "editor")
        editor_id = await user_id_of(editor)

        async with database(settings) as db, db.transaction() as holding:
            # The removal stops at its first write to tasks, its turn held.
            await holding.execute(text("LOCK TABLE tasks IN SHARE MODE"))
            members = f"/api/lists/{shared['id']}/members/{editor_id}"
            removing = asyncio.create_task(owner.delete(members))
            await until_a_statement_waits_for_a_lock(holding)
            body = {"title": "Raced", "list_id": shared["id"]}
            creating = asyncio.create_task(editor.post("/api/tasks", json=body))
            await until_a_statement_waits_for_a_lock(holding, statements=2)
        removed, created = await removing, await creating

        assert removed.status_code == 204, removed.text
        assert created.status_code == 400, created.text
        assert (await owner.get("/api/tasks", params={"list_id": shared["id"]})).json() == []
