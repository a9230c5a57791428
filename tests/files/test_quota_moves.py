"""The owner's quota holds when files change owner: a task with files (its subtasks' too) moved
into a list of another owner (PATCH, the move route, bulk), a list handed over, or a deleted
task restored (its files come back to its owner), counts them
against the new owner's ATTACHMENT_QUOTA_BYTES; past it the move is 413 QUOTA_EXCEEDED with the
usage in `details`, and nothing changes. On SQLite and PostgreSQL, with the files in a folder
(the storage plays no part in it)."""

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.files.helpers import new_task, upload
from tests.lists.helpers import create_list
from tests.lists.sharing import share, user_id
from tests.support import app_for, assert_error, client_for, make_settings, token_for
from todo_api.config import Settings

QUOTA = 1000
Person = Callable[[], httpx.AsyncClient]


@pytest.fixture(scope="module")
async def quota_app(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[FastAPI, Settings]]:
    folder: Path = tmp_path_factory.mktemp("quota-moves")
    small = make_settings(
        settings.database_url or "",
        settings.data_dir,
        attachment_quota_bytes=QUOTA,
        attachment_storage=f"file://{folder}",
    )
    async with app_for(small) as app:
        yield app, small


@pytest.fixture
def person(quota_app: tuple[FastAPI, Settings]) -> Person:
    app, small = quota_app
    return lambda: client_for(app, token_for(small))


async def _shared_list(owner: httpx.AsyncClient, editor: httpx.AsyncClient) -> str:
    list_id = str((await create_list(owner, "Shared"))["id"])
    await share(owner, editor, list_id, "editor")
    return list_id


def _over(response: httpx.Response, used: int, moved: int) -> None:
    body = assert_error(response, 413, "QUOTA_EXCEEDED")
    assert body["details"] == {"used_bytes": used, "quota_bytes": QUOTA, "file_bytes": moved}


async def test_a_task_moved_into_another_owner_s_list_counts_against_their_quota(
    person: Person,
) -> None:
    async with person() as alice, person() as bob:
        list_id = await _shared_list(alice, bob)
        await upload(alice, await new_task(alice, "Alice's"), b"a" * 600, "a.bin")
        heavy = await new_task(bob, "Heavy")
        await upload(bob, heavy, b"b" * 300, "b.bin")
        under = await new_task(bob, "Under it", parent_id=heavy)
        await upload(bob, under, b"c" * 200, "c.bin")  # a subtask's file moves along
        light = await new_task(bob, "Light")
        await upload(bob, light, b"d" * 400, "d.bin")

        _over(await bob.patch(f"/api/tasks/{heavy}", json={"list_id": list_id}), 600, 500)
        moved = await bob.post(f"/api/tasks/{heavy}/move", json={"list_id": list_id})
        _over(moved, 600, 500)
        operations = [{"op": "update", "id": heavy, "data": {"list_id": list_id}}]
        in_bulk = await bob.post("/api/tasks/bulk", json={"operations": operations})
        assert_error(in_bulk, 413, "QUOTA_EXCEEDED")
        for task_id in (heavy, under):  # nothing changed
            assert (await bob.get(f"/api/tasks/{task_id}")).json()["list_id"] is None

        # What fits moves; then nothing more does.
        fits = await bob.patch(f"/api/tasks/{light}", json={"list_id": list_id})
        assert fits.status_code == 200, fits.text
        back = await bob.patch(f"/api/tasks/{light}", json={"list_id": None})
        assert back.status_code == 200, back.text  # back to bob, whose quota has room
        # A task without files moves whatever the usage.
        empty = await new_task(bob, "Empty")
        moved = await bob.patch(f"/api/tasks/{empty}", json={"list_id": list_id})
        assert moved.status_code == 200, moved.text


async def test_a_list_handed_over_counts_its_files_against_the_heir(person: Person) -> None:
    async with person() as alice, person() as bob:
        list_id = await _shared_list(alice, bob)
        await upload(alice, await new_task(alice, "In it", list_id=list_id), b"a" * 600, "a.bin")
        bobs = await upload(bob, await new_task(bob, "Bob's own"), b"b" * 500, "b.bin")
        heir = await user_id(bob)

        refused = await alice.post(f"/api/lists/{list_id}/owner", json={"user_id": heir})
        _over(refused, 500, 600)
        members = (await alice.get(f"/api/lists/{list_id}/members")).json()
        assert {m["user_id"]: m["role"] for m in members}[heir] == "editor"  # nothing changed

        assert (await bob.delete(f"/api/attachments/{bobs['id']}")).status_code == 204
        handed = await alice.post(f"/api/lists/{list_id}/owner", json={"user_id": heir})
        assert handed.status_code == 200, handed.text


async def test_moves_at_once_cannot_pass_the_quota_together(person: Person) -> None:
    async with person() as alice, person() as bob:
        list_id = await _shared_list(alice, bob)
        await upload(alice, await new_task(alice, "Alice's"), b"a" * 300, "a.bin")
        tasks = []
        for n in range(3):
            tasks.append(await new_task(bob, f"Task {n}"))
            await upload(bob, tasks[-1], bytes([n]) * 300, f"{n}.bin")

        async def move(task_id: str) -> int:
            response = await bob.patch(f"/api/tasks/{task_id}", json={"list_id": list_id})
            return response.status_code

        statuses = await asyncio.gather(*(move(task_id) for task_id in tasks))
        assert sorted(statuses) == [200, 200, 413]
        in_list = (await alice.get("/api/tasks", params={"list_id": list_id})).json()
        assert len(in_list) == 2


async def test_a_restored_task_s_files_count_against_the_owner_s_quota(person: Person) -> None:
    async with person() as bob:
        kept = await new_task(bob, "Kept")
        await upload(bob, kept, b"a" * 300, "a.bin")
        await upload(bob, await new_task(bob, "Its subtask", parent_id=kept), b"b" * 100, "b.bin")
        assert (await bob.delete(f"/api/tasks/{kept}")).status_code == 204
        later = await upload(bob, await new_task(bob, "Uploaded since"), b"c" * 700, "c.bin")

        _over(await bob.post(f"/api/tasks/{kept}/restore"), 700, 400)
        assert_error(await bob.get(f"/api/tasks/{kept}"), 404, "NOT_FOUND")  # still deleted
        titles = [t["title"] for t in (await bob.get("/api/tasks")).json()]
        assert titles == ["Uploaded since"]

        # Room made, it comes back with its files (the refusal took nothing from the trash).
        assert (await bob.delete(f"/api/attachments/{later['id']}")).status_code == 204
        restored = await bob.post(f"/api/tasks/{kept}/restore")
        assert restored.status_code == 200, restored.text
        files = (await bob.get(f"/api/tasks/{kept}/attachments")).json()
        assert [f["size"] for f in files] == [300]
