"""Files in the change feed: uploaded, put on a comment and deleted, to whoever sees their task
(its owner and the members of its list; a list newly shared brings its files, however many
pages they take; a task moved brings its own), to nobody else; a task deleted takes its files.
Every test runs on SQLite and PostgreSQL; live updates: tests/test_live.py."""

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from tests.files.helpers import upload
from tests.lists.helpers import create_list
from tests.lists.sharing import share
from tests.tasks.feed_helpers import database, read_feed, sync_kind
from tests.tasks.helpers import create_task
from todo_api.config import Settings
from todo_api.files.scheduled import prune_tombstones
from todo_api.kit.ids import utcnow
from todo_api.tables.attachments import attachment_tombstones


async def _sync(client: httpx.AsyncClient, since: str | None, *ids: str) -> dict[str, Any]:
    return await sync_kind(client, "attachments", since, *ids)


async def _as_read(client: httpx.AsyncClient, attachment_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/attachments/{attachment_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_file_uploaded_and_deleted_comes_in_the_feed_once(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(alice)
    before = await _sync(alice, None, task["id"])
    assert before["attachments"] == []
    made = await upload(alice, task["id"])
    after = await _sync(alice, before["next"], made["id"])
    assert after["attachments"] == [made] == [await _as_read(alice, made["id"])]
    assert after["deleted_attachments"] == []
    # A token from after the upload does not bring it again; one from before still does.
    assert (await _sync(alice, after["next"]))["attachments"] == []
    assert [a["id"] for a in (await _sync(alice, before["next"]))["attachments"]] == [made["id"]]
    # Put on a comment, it comes again as it now is.
    said = await alice.post(
        f"/api/tasks/{task['id']}/comments", json={"body": "see", "attachment_ids": [made["id"]]}
    )
    assert said.status_code == 201, said.text
    on_comment = await _sync(alice, after["next"], made["id"])
    assert on_comment["attachments"] == [await _as_read(alice, made["id"])]
    assert on_comment["attachments"][0]["comment_id"] == said.json()["id"]
    # The comment deleted, the file stays on the task, and comes again without it.
    unsaid = await alice.delete(f"/api/tasks/{task['id']}/comments/{said.json()['id']}")
    assert unsaid.status_code == 204
    off_comment = await _sync(alice, on_comment["next"], made["id"])
    assert off_comment["attachments"] == [await _as_read(alice, made["id"])]
    assert off_comment["attachments"][0]["comment_id"] is None
    assert (await alice.delete(f"/api/attachments/{made['id']}")).status_code == 204
    deleted = await _sync(alice, off_comment["next"], made["id"])
    assert deleted == {
        "attachments": [],
        "deleted_attachments": [made["id"]],
        "next": deleted["next"],
    }
    # A token from before the upload: the file is gone, and the feed says so.
    since_before = await _sync(alice, before["next"], made["id"])
    assert since_before["attachments"] == []
    assert since_before["deleted_attachments"] == [made["id"]]
    # A first sync has no file, and no deletion.
    assert (await _sync(alice, None))["attachments"] == []


async def test_members_get_the_files_others_see_none(
    alice: httpx.AsyncClient,
    bob: httpx.AsyncClient,
    new_user_client: Callable[..., httpx.AsyncClient],
) -> None:
    shared = await create_list(alice, "Household")
    task = await create_task(alice, list_id=shared["id"])
    # Uploaded before Bob joins: five files, more than one page of the feed (two here).
    before = [await upload(alice, task["id"], name=f"bill-{n}.txt") for n in range(5)]
    async with new_user_client() as carol, new_user_client() as dave:
        bobs = (await _sync(bob, None))["next"]
        carols = (await _sync(carol, None))["next"]
        daves = (await _sync(dave, None))["next"]
        await share(alice, bob, shared["id"], "editor")
        await share(alice, carol, shared["id"], "viewer")
        joined = await _sync(bob, bobs, *(a["id"] for a in before))
        assert joined["attachments"] == before
        by_bob = await upload(bob, task["id"], name="receipt.txt")
        gone = before[0]["id"]
        assert (await alice.delete(f"/api/attachments/{gone}")).status_code == 204
        seen = await _sync(carol, carols, by_bob["id"], gone)
        assert sorted(a["id"] for a in seen["attachments"]) == sorted(
            a["id"] for a in [*before[1:], by_bob]
        )
        assert seen["deleted_attachments"] == [gone]
        # The owner gets the member's upload as it is read.
        owners = await _sync(alice, None, by_bob["id"])
        assert {a["id"] for a in owners["attachments"]} == {a["id"] for a in [*before[1:], by_bob]}
        assert [a for a in owners["attachments"] if a["id"] == by_bob["id"]] == [
            await _as_read(alice, by_bob["id"])
        ]
        # Someone who shares nothing gets nothing, nor its deletions.
        assert (await bob.delete(f"/api/attachments/{by_bob['id']}")).status_code == 204
        await _sync(alice, owners["next"], by_bob["id"])
        strangers = await _sync(dave, daves)
        assert strangers == {
            "attachments": [],
            "deleted_attachments": [],
            "next": strangers["next"],
        }


async def test_a_task_deleted_takes_its_files(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice)
    made = await upload(alice, task["id"])
    since = (await _sync(alice, None, made["id"]))["next"]
    assert (await alice.delete(f"/api/tasks/{task['id']}")).status_code == 204
    page = await read_feed(alice, since, wait_for=[task["id"], made["id"]])
    assert page["deleted"] == [task["id"]]
    assert page["deleted_attachments"] == [made["id"]]
    assert page["attachments"] == []
    assert (await alice.get(f"/api/attachments/{made['id']}")).status_code == 404


async def test_a_task_moved_takes_its_files_where_it_goes(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    shared = await create_list(alice, "Shared")
    await share(alice, bob, shared["id"], "viewer")
    task = await create_task(alice)
    made = await upload(alice, task["id"])
    token = (await _sync(bob, None))["next"]
    moved = await alice.post(f"/api/tasks/{task['id']}/move", json={"list_id": shared["id"]})
    assert moved.status_code == 200, moved.text
    page = await _sync(bob, token, made["id"])
    assert page["attachments"] == [made]
    # Moved out again, it is gone for Bob: the task's id says so.
    token = page["next"]
    back = await alice.post(f"/api/tasks/{task['id']}/move", json={"list_id": None})
    assert back.status_code == 200, back.text
    gone = await read_feed(bob, token, wait_for=[task["id"]])
    assert gone["deleted"] == [task["id"]]


async def test_attachment_tombstones_are_pruned_after_the_feeds_retention(
    alice: httpx.AsyncClient, settings: Settings
) -> None:
    task = await create_task(alice)
    old, recent = await upload(alice, task["id"]), await upload(alice, task["id"])
    for made in (old, recent):
        assert (await alice.delete(f"/api/attachments/{made['id']}")).status_code == 204
    stones = attachment_tombstones.c
    ids = [uuid.UUID(old["id"]), uuid.UUID(recent["id"])]
    async with database(settings) as db:
        async with db.transaction() as conn:
            long_ago = utcnow() - timedelta(days=settings.sync_retention_days + 1)
            await conn.execute(
                update(attachment_tombstones)
                .where(stones.attachment_id == ids[0])
                .values(deleted_at=long_ago)
            )
        assert await prune_tombstones(db, settings) >= 1
        async with db.connection() as conn:
            kept = await conn.execute(
                select(stones.attachment_id).where(stones.attachment_id.in_(ids))
            )
    assert [row.attachment_id for row in kept.rows] == [ids[1]]
