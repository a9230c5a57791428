"""Where the bytes are: gone with their task, list or account (the sweep removes what no row
names), rows without bytes deleted, the owner's quota, and S3's presigned redirects. In a
folder and in S3 (moto's server), on SQLite and PostgreSQL."""

import asyncio
import hashlib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from tests.files.conftest import storage_settings
from tests.files.helpers import new_task, upload
from tests.lists.helpers import create_list
from tests.lists.sharing import share
from tests.support import app_for, assert_error, client_for, make_settings, token_for
from todo_api.config import Settings
from todo_api.db import Database
from todo_api.files.scheduled import GRACE, sweep
from todo_api.files.storage import Storage, storage_for
from todo_api.kit.ids import utcnow

Person = Callable[[], httpx.AsyncClient]
LATER = timedelta(days=1, hours=1)


async def _sweep(
    settings: Settings, *, later: bool | timedelta, grace: timedelta = GRACE
) -> tuple[int, int]:
    db = Database(settings)
    storage = storage_for(settings)
    ahead = later if isinstance(later, timedelta) else LATER if later else timedelta(0)
    try:
        return await sweep(db, storage, now=utcnow() + ahead, grace=grace)
    finally:
        await storage.close()
        await db.close()


async def _stored(settings: Settings) -> set[str]:
    storage = storage_for(settings)
    try:
        return {key async for key, _ in storage.listing()}
    finally:
        await storage.close()


async def _key_of(person_client: httpx.AsyncClient, attachment_id: str) -> str:
    return f"{attachment_id[:2]}/{attachment_id}"


async def test_deleting_a_file_removes_its_bytes(person: Person, files_settings: Settings) -> None:
    async with person() as alice:
        task_id = await new_task(alice)
        file = await upload(alice, task_id)
        key = await _key_of(alice, file["id"])
        assert key in await _stored(files_settings)
        assert (await alice.delete(f"/api/attachments/{file['id']}")).status_code == 204
        assert key not in await _stored(files_settings)


async def test_a_task_list_or_account_takes_its_files_and_the_sweep_their_bytes(
    person: Person, files_settings: Settings
) -> None:
    async with person() as alice:
        task_id = await new_task(alice)
        by_task = await upload(alice, task_id, b"task's")
        listed = await create_list(alice, "Doomed")
        in_list = await new_task(alice, list_id=listed["id"])
        by_list = await upload(alice, in_list, b"list's")
        kept = await upload(alice, await new_task(alice, "Kept"), b"kept")
        assert (await alice.delete(f"/api/tasks/{task_id}")).status_code == 204
        assert (await alice.delete(f"/api/lists/{listed['id']}")).status_code == 204
        for gone in (by_task, by_list):
            assert (await alice.get(f"/api/attachments/{gone['id']}")).status_code == 404
        keys = {await _key_of(alice, f["id"]) for f in (by_task, by_list, kept)}
        assert keys <= await _stored(files_settings)
        await _sweep(files_settings, later=True)
        stored = await _stored(files_settings)
        assert await _key_of(alice, kept["id"]) in stored
        assert not (keys - {await _key_of(alice, kept["id"])}) & stored
        assert (await alice.get(kept["url"])).content == b"kept"


async def test_bytes_without_a_row_stay_a_day_and_rows_without_bytes_go(
    person: Person, files_settings: Settings, tmp_path: Path
) -> None:
    storage: Storage = storage_for(files_settings)
    try:
        spool = tmp_path / "orphan"
        spool.write_bytes(b"left by a crash")
        await storage.put("zz/orphan-of-a-crash", spool, 15)
    finally:
        await storage.close()
    async with person() as alice:
        task_id = await new_task(alice)
        file = await upload(alice, task_id)
        lost = await upload(alice, task_id, b"lost")
        storage = storage_for(files_settings)
        try:
            await storage.delete(await _key_of(alice, lost["id"]))
        finally:
            await storage.close()
        _, deleted = await _sweep(files_settings, later=False)
        assert "zz/orphan-of-a-crash" in await _stored(files_settings)  # a day has not passed
        assert deleted >= 1
        assert (await alice.get(f"/api/attachments/{lost['id']}")).status_code == 404
        await _sweep(files_settings, later=True)
        assert "zz/orphan-of-a-crash" not in await _stored(files_settings)
        assert (await alice.get(file["url"])).status_code == 200


async def test_the_owner_s_quota_is_413_with_the_usage(
    files_settings: Settings, storage_kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    settings = make_settings(
        files_settings.database_url or "",
        files_settings.data_dir,
        attachment_quota_bytes=1000,
        **storage_settings(storage_kind, request, tmp_path),
    )
    async with app_for(settings) as app, client_for(app, token_for(settings)) as alice:
        task_id = await new_task(alice)
        await upload(alice, task_id, b"a" * 600, "a.bin")
        refused = await alice.post(
            f"/api/tasks/{task_id}/attachments",
            files={"file": ("b.bin", b"b" * 500, "application/octet-stream")},
        )
        body = assert_error(refused, 413, "QUOTA_EXCEEDED")
        assert body["details"] == {"used_bytes": 600, "quota_bytes": 1000, "file_bytes": 500}
        declared = await alice.post(
            f"/api/tasks/{task_id}/attachments",
            params={"name": "c.bin"},
            content=b"c" * 401,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert_error(declared, 413, "QUOTA_EXCEEDED")
        await upload(alice, task_id, b"d" * 400, "d.bin")
        listed = await alice.get(f"/api/tasks/{task_id}/attachments")
        assert [f["name"] for f in listed.json()] == ["a.bin", "d.bin"]


async def test_s3_content_may_be_a_presigned_redirect(
    files_settings: Settings, storage_kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if storage_kind != "s3":
        pytest.skip("presigned URLs are S3's")
    settings = make_settings(
        files_settings.database_url or "",
        files_settings.data_dir,
        attachment_presign=True,
        **storage_settings(storage_kind, request, tmp_path),
    )
    async with app_for(settings) as app, client_for(app, token_for(settings)) as alice:
        task_id = await new_task(alice)
        data = b"<html>not here</html>"
        file = await upload(alice, task_id, data, "page.html", "text/html")
        answer = await alice.get(file["url"])
        assert answer.status_code == 302
        location = answer.headers["location"]
        assert "X-Amz-Expires=300" in location
        async with httpx.AsyncClient() as anyone:
            fetched = await anyone.get(location)
        assert fetched.status_code == 200
        assert hashlib.sha256(fetched.content).hexdigest() == file["sha256"]
        assert fetched.headers["content-disposition"].startswith("attachment;")


async def test_a_deleted_account_takes_its_files_and_those_it_uploaded(
    person: Person, files_settings: Settings
) -> None:
    async with person() as alice, person() as bob:
        shared = await create_list(alice, "Shared")
        await share(alice, bob, shared["id"], "editor")
        in_shared = await new_task(alice, list_id=shared["id"])
        bobs_upload = await upload(bob, in_shared, b"bob's, in alice's list")
        alices = await upload(alice, in_shared, b"alice's")
        bobs_own = await upload(bob, await new_task(bob), b"bob's own")
        deleted = await new_task(bob, "Deleted, kept for a restore")
        bobs_kept = await upload(bob, deleted, b"bob's, kept")
        assert (await bob.delete(f"/api/tasks/{deleted}")).status_code == 204
        bob_id = (await bob.get("/api/auth/me")).json()["id"]
        gone = await bob.request("DELETE", "/api/auth/me", json={"confirm": bob_id})
        assert gone.status_code == 204, gone.text
        assert (await alice.get(f"/api/attachments/{bobs_upload['id']}")).status_code == 404
        assert (await alice.get(alices["url"])).content == b"alice's"
        stored = await _stored(files_settings)  # at once, not at a sweep
        assert await _key_of(alice, alices["id"]) in stored
        for file in (bobs_upload, bobs_own, bobs_kept):
            assert await _key_of(alice, file["id"]) not in stored


async def test_uploads_at_once_cannot_pass_the_quota_together(
    files_settings: Settings, storage_kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    settings = make_settings(
        files_settings.database_url or "",
        files_settings.data_dir,
        attachment_quota_bytes=1000,
        **storage_settings(storage_kind, request, tmp_path),
    )
    async with app_for(settings) as app, client_for(app, token_for(settings)) as alice:
        task_id = await new_task(alice)

        async def one(n: int) -> int:
            response = await alice.post(
                f"/api/tasks/{task_id}/attachments",
                files={"file": (f"{n}.bin", bytes([n]) * 300, "application/octet-stream")},
            )
            return response.status_code

        statuses = await asyncio.gather(*(one(n) for n in range(5)))
        assert sorted(statuses) == [201, 201, 201, 413, 413]
        listed = (await alice.get(f"/api/tasks/{task_id}/attachments")).json()
        assert sum(f["size"] for f in listed) == 900


async def test_a_restored_task_has_its_files_and_after_the_grace_they_go_at_the_next_sweep(
    person: Person, files_settings: Settings
) -> None:
    async with person() as alice:
        task_id = await new_task(alice)
        comment = await alice.post(f"/api/tasks/{task_id}/comments", json={"body": "See"})
        file = await upload(alice, task_id, b"kept for undo")
        second = await upload(alice, task_id, b"second")
        assert (await alice.delete(f"/api/tasks/{task_id}")).status_code == 204
        assert (await alice.get(file["url"])).status_code == 404
        await _sweep(files_settings, later=True, grace=timedelta(days=2))  # within the grace
        assert (await alice.post(f"/api/tasks/{task_id}/restore")).status_code == 200
        assert (await alice.get(file["url"])).content == b"kept for undo"
        listed = (await alice.get(f"/api/tasks/{task_id}/attachments")).json()
        assert {f["id"] for f in listed} == {file["id"], second["id"]}
        assert (await alice.get(f"/api/tasks/{task_id}/comments")).json()[0]["id"] == (
            comment.json()["id"]
        )

        assert (await alice.delete(f"/api/tasks/{task_id}")).status_code == 204
        key = await _key_of(alice, file["id"])
        assert key in await _stored(files_settings)
        # The grace (600 s) over, not a day: the next sweep removes the bytes.
        await _sweep(files_settings, later=timedelta(seconds=601))
        assert key not in await _stored(files_settings)
        assert (await alice.post(f"/api/tasks/{task_id}/restore")).status_code == 404
