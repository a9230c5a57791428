"""The `todo-api` import reads back the zip of `GET /api/export?with_files=true`: the tasks come
with their files (new ids, the same bytes, in the importer's storage; a file that was on a
comment on the comment made of it), each file read by the name the document gives it, within
ATTACHMENT_MAX_BYTES, the quota and 100 a task; what does not fit, is missing or damaged is left
out and listed in `skipped`; a zip that does not read is 400, and one whose members would
unpack past IMPORT_UNPACKED_MAX_BYTES, repeat a name or expand more than 200 times is 413
before anything is written. On both databases and both storages."""

import io
import json
import random
import warnings
import zipfile
from collections.abc import Callable
from typing import Any

import httpx
from fastapi import FastAPI

from tests.files.helpers import PNG, new_task, upload
from tests.lists.helpers import create_list
from tests.support import app_for, assert_error, client_for, token_for
from tests.yourdata.helpers import counts
from todo_api.config import Settings

Person = Callable[[], httpx.AsyncClient]
ZIP = {"Content-Type": "application/zip"}


async def _export(client: httpx.AsyncClient) -> bytes:
    answer = await client.get("/api/export", params={"with_files": "true"})
    assert answer.status_code == 200, answer.text
    return answer.content


async def _import(client: httpx.AsyncClient, body: bytes) -> httpx.Response:
    return await client.post(
        "/api/import", params={"source": "todo-api"}, content=body, headers=ZIP
    )


def _rezip(
    original: bytes,
    change: Callable[[dict[str, Any], dict[str, bytes]], None],
    *,
    again: tuple[str, bytes] | None = None,
) -> bytes:
    """The export's zip with its document and members changed by `change` (and `again`: one
    more member of that name, after the others)."""
    with zipfile.ZipFile(io.BytesIO(original)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    document = json.loads(members.pop("todo-api-export.json"))
    change(document, members)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("todo-api-export.json", json.dumps(document))
        for name, data in members.items():
            archive.writestr(name, data)
        if again is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # zipfile's "Duplicate name"
                archive.writestr(*again)
    return out.getvalue()


def _noise(size: int) -> bytes:
    """Bytes that do not compress (seeded: the same each run)."""
    return random.Random(size).randbytes(size)


async def _files(client: httpx.AsyncClient, task_id: str) -> dict[str, bytes]:
    listed = await client.get(f"/api/tasks/{task_id}/attachments")
    assert listed.status_code == 200, listed.text
    found = {}
    for file in listed.json():
        content = await client.get(file["url"])
        assert content.status_code == 200, content.text
        found[file["name"]] = content.content
    return found


async def test_an_export_with_files_comes_back_in_another_account(person: Person) -> None:
    async with person() as alice, person() as bob:
        list_id = (await create_list(alice, "Trip"))["id"]
        trip = await new_task(alice, "Book the trip", list_id=list_id)
        visa = await new_task(alice, "Visa", parent_id=trip)
        inbox = await new_task(alice, "Receipts")
        theirs = [
            await upload(alice, trip, PNG, "map.png", "image/png"),
            await upload(alice, trip, b"day 1: Lisbon\n", "plan.txt"),
            await upload(alice, visa, b"%PDF-1.4\n", "form.pdf", "application/pdf"),
            await upload(alice, inbox, b"", "empty.txt"),
        ]
        answer = await _import(bob, await _export(alice))
        assert answer.status_code == 200, answer.text
        assert counts(answer) == {"lists": 1, "tasks": 3, "skipped": []}
        tasks = {t["title"]: t for t in (await bob.get("/api/tasks", params={"limit": 10})).json()}
        assert {t["id"] for t in tasks.values()}.isdisjoint({trip, visa, inbox})
        assert await _files(bob, tasks["Book the trip"]["id"]) == {
            "map.png": PNG,
            "plan.txt": b"day 1: Lisbon\n",
        }
        assert await _files(bob, tasks["Visa"]["id"]) == {"form.pdf": b"%PDF-1.4\n"}
        assert await _files(bob, tasks["Receipts"]["id"]) == {"empty.txt": b""}
        exported = (await bob.get("/api/export")).json()["attachments"]
        assert sorted((f["name"], f["sha256"], f["content_type"]) for f in exported) == sorted(
            (f["name"], f["sha256"], f["content_type"]) for f in theirs
        )
        assert {f["id"] for f in exported}.isdisjoint({f["id"] for f in theirs})  # new ids
        # The exporter's files are theirs still.
        assert (await alice.get(theirs[0]["url"])).content == PNG


async def test_files_that_do_not_fit_are_left_out_and_listed(
    person: Person, files_settings: Settings
) -> None:
    async with person() as alice, person() as bob:
        task_id = await new_task(alice, "Many files")
        small = await upload(alice, task_id, b"small\n", "small.txt")
        gone = await upload(alice, task_id, b"missing\n", "missing.txt")
        bad = await upload(alice, task_id, b"original\n", "changed.txt")
        base = await _export(alice)
        limit = files_settings.attachment_max_bytes
        large_id = "0192a4c0-0000-7000-8000-0000000000aa"
        trick_id = "0192a4c0-0000-7000-8000-0000000000bb"
        lying_id = "0192a4c0-0000-7000-8000-0000000000cc"

        def change(document: dict[str, Any], members: dict[str, bytes]) -> None:
            del members[f"files/{gone['id']}/missing.txt"]
            members[f"files/{bad['id']}/changed.txt"] = b"tampered\n"
            listed = document["attachments"]
            extra = {**small, "sha256": None}
            # Larger than ATTACHMENT_MAX_BYTES; a name with path parts; a large file whose
            # document entry says it is small; the same member named twice.
            listed.append({**extra, "id": large_id, "name": "large.bin"})
            members[f"files/{large_id}/large.bin"] = _noise(limit + 1)
            listed.append({**extra, "id": trick_id, "name": "../../etc/passwd"})
            members[f"files/{trick_id}/../../etc/passwd"] = b"root:x:0:0\n"
            listed.append({**extra, "id": lying_id, "name": "lying.bin", "size": 10})
            members[f"files/{lying_id}/lying.bin"] = _noise(limit + 1)
            listed.append({**extra, "id": large_id, "task_id": "not-a-task", "name": "x"})
            listed.append({**extra, "id": trick_id, "name": "../../etc/passwd"})

        answer = await _import(bob, _rezip(base, change))
        assert answer.status_code == 200, answer.text
        assert answer.json()["skipped"] == [
            {"index": "attachments[1]", "reason": "file missing.txt left out: not in the zip"},
            {
                "index": "attachments[2]",
                "reason": "file changed.txt left out: its bytes are not those the export's "
                "sha256 names",
            },
            {
                "index": "attachments[3]",
                "reason": f"file large.bin left out: larger than the limit of {limit} bytes",
            },
            {
                "index": "attachments[5]",
                "reason": f"file lying.bin left out: larger than the limit of {limit} bytes",
            },
            {"index": "attachments[6]", "reason": "file x left out: its task is not imported"},
            {
                "index": "attachments[7]",
                "reason": "file ../../etc/passwd left out: the document names it twice",
            },
        ]
        [task] = (await bob.get("/api/tasks")).json()
        # Read by the name the document gives, kept without its folders.
        assert await _files(bob, task["id"]) == {"small.txt": b"small\n", "passwd": b"root:x:0:0\n"}

        # A document sent alone names its files, which are left out (their bytes are not in it).
        with zipfile.ZipFile(io.BytesIO(base)) as archive:
            alone = archive.read("todo-api-export.json")
        answer = await bob.post("/api/import", params={"source": "todo-api"}, content=alone)
        assert answer.status_code == 200, answer.text
        assert [item["index"] for item in answer.json()["skipped"]] == [
            "attachments[0]",
            "attachments[1]",
            "attachments[2]",
        ]
        assert "GET /api/export?with_files=true" in answer.json()["skipped"][0]["reason"]


async def test_a_zip_that_does_not_read_is_400(person: Person) -> None:
    async with person() as bob:
        for body in (b"PK\x03\x04 not a zip at all", b"PK\x05\x06" + b"\0" * 18):
            assert_error(await _import(bob, body), 400, "INVALID_REQUEST")
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            archive.writestr("other.json", "{}")
        refused = assert_error(await _import(bob, out.getvalue()), 400, "INVALID_REQUEST")
        assert "todo-api-export.json" in refused["error"]
        assert (await bob.get("/api/tasks")).json() == []


async def test_an_archive_that_would_unpack_too_far_is_413_before_anything_is_written(
    person: Person, files_settings: Settings
) -> None:
    async with person() as alice:
        task_id = await new_task(alice, "Photos")
        first = await upload(alice, task_id, _noise(2000), "0.bin", "application/octet-stream")
        base = await _export(alice)
    member = f"files/{first['id']}/0.bin"

    def bomb(document: dict[str, Any], members: dict[str, bytes]) -> None:
        members[member] = b"\0" * (1024 * 1024)  # expands about a thousand times

    def many(document: dict[str, Any], members: dict[str, bytes]) -> None:
        for n in range(1, 3):
            made = {**document["attachments"][0], "id": f"0192a4c0-0000-7000-8000-{n:012x}"}
            document["attachments"].append(made)
            members[f"files/{made['id']}/0.bin"] = _noise(2000)

    limit = files_settings.model_copy(update={"import_unpacked_max_bytes": 5000})
    app: FastAPI
    async with app_for(limit) as app, client_for(app, token_for(limit)) as bob:
        assert (await _import(bob, base)).status_code == 200  # 2000 bytes and a document
        refused = assert_error(await _import(bob, _rezip(base, many)), 413, "PAYLOAD_TOO_LARGE")
        assert "5000" in refused["error"]
        assert len((await bob.get("/api/tasks")).json()) == 1  # the first import's only
    async with person() as carol:
        repeated = _rezip(base, lambda document, members: None, again=(member, b"other"))
        refused = assert_error(await _import(carol, repeated), 413, "PAYLOAD_TOO_LARGE")
        assert member in refused["error"]
        refused = assert_error(await _import(carol, _rezip(base, bomb)), 413, "PAYLOAD_TOO_LARGE")
        assert "200" in refused["error"]
        assert (await carol.get("/api/tasks")).json() == []
        assert (await carol.get("/api/export")).json()["attachments"] == []


async def test_the_importers_quota_and_the_files_a_task_may_have(
    person: Person, files_settings: Settings
) -> None:
    async with person() as alice:
        task_id = await new_task(alice, "Photos")
        files = [await upload(alice, task_id, bytes([n]) * 1000, f"{n}.bin") for n in range(3)]
        base = await _export(alice)

    def many(document: dict[str, Any], members: dict[str, bytes]) -> None:
        first = document["attachments"][0]
        for n in range(100):
            made = {**first, "id": f"0192a4c0-0000-7000-8000-{n:012x}", "name": f"f{n}.bin"}
            document["attachments"].append(made)
            members[f"files/{made['id']}/f{n}.bin"] = bytes([0]) * 1000

    small_quota = files_settings.model_copy(update={"attachment_quota_bytes": 2500})
    app: FastAPI
    async with app_for(small_quota) as app, client_for(app, token_for(small_quota)) as carol:
        answer = await _import(carol, base)
        assert answer.status_code == 200, answer.text
        assert answer.json()["skipped"] == [
            {"index": "attachments[2]", "reason": "file 2.bin left out: past your storage quota"}
        ]
        [task] = (await carol.get("/api/tasks")).json()
        assert sorted(await _files(carol, task["id"])) == ["0.bin", "1.bin"]
    async with person() as dan:
        answer = await _import(dan, _rezip(base, many))
        assert answer.status_code == 200, answer.text
        skipped = answer.json()["skipped"]
        assert [item["index"] for item in skipped] == [f"attachments[{n}]" for n in (100, 101, 102)]
        assert skipped[0]["reason"] == "file f97.bin left out: a task has at most 100"
        [task] = (await dan.get("/api/tasks")).json()
        listed = (await dan.get(f"/api/tasks/{task['id']}/attachments")).json()
        assert len(listed) == 100
        assert [f["name"] for f in listed][:3] == [f["name"] for f in files]


async def _comment(client: httpx.AsyncClient, task_id: str, body: str, *files: str) -> str:
    made = await client.post(
        f"/api/tasks/{task_id}/comments", json={"body": body, "attachment_ids": list(files)}
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


async def _on_comments(client: httpx.AsyncClient, task_id: str) -> dict[str, str | None]:
    """Each file of the task by its name: the body of the comment it is on (None: none)."""
    comments = (await client.get(f"/api/tasks/{task_id}/comments")).json()
    bodies = {c["id"]: c["body"] for c in comments}
    listed = (await client.get(f"/api/tasks/{task_id}/attachments")).json()
    return {f["name"]: f["comment_id"] and bodies[f["comment_id"]] for f in listed}


async def test_files_on_comments_come_back_on_the_new_comments(person: Person) -> None:
    async with person() as alice, person() as bob:
        trip = await new_task(alice, "Book the trip")
        other = await new_task(alice, "Visa")
        ticket = await upload(alice, trip, b"%PDF-1.4\n", "ticket.pdf", "application/pdf")
        hotel = await upload(alice, trip, b"Hotel Lisboa\n", "hotel.txt")
        loose = await upload(alice, trip, PNG, "map.png", "image/png")
        await _comment(alice, trip, "Nothing attached")
        await _comment(alice, trip, "The ticket and the hotel", ticket["id"], hotel["id"])
        form = await upload(alice, other, b"form\n", "form.txt")
        elsewhere = await _comment(alice, other, "The form", form["id"])
        stray = await upload(alice, other, b"stray\n", "stray.txt")

        def change(document: dict[str, Any], members: dict[str, bytes]) -> None:
            # A file naming a comment of another task stays off any comment; one naming a
            # comment of its own task it was not on goes on it.
            (listed,) = [f for f in document["attachments"] if f["id"] == ticket["id"]]
            listed["comment_id"] = elsewhere
            (listed,) = [f for f in document["attachments"] if f["id"] == stray["id"]]
            listed["comment_id"] = elsewhere
            # A comment without its id: no file goes on it.
            (task,) = [t for t in document["tasks"] if t["id"] == trip]
            del task["comments"][0]["id"]

        exported = await _export(alice)
        answer = await _import(bob, exported)
        assert answer.status_code == 200, answer.text
        assert answer.json()["skipped"] == []
        tasks = {t["title"]: t["id"] for t in (await bob.get("/api/tasks")).json()}
        assert {tasks["Book the trip"], tasks["Visa"]}.isdisjoint({trip, other})
        assert await _on_comments(bob, tasks["Book the trip"]) == {
            "ticket.pdf": "The ticket and the hotel",
            "hotel.txt": "The ticket and the hotel",
            "map.png": None,
        }
        assert await _on_comments(bob, tasks["Visa"]) == {"form.txt": "The form", "stray.txt": None}
        assert loose["comment_id"] is None

        async with person() as carol:
            answer = await _import(carol, _rezip(exported, change))
            assert answer.status_code == 200, answer.text
            tasks = {t["title"]: t["id"] for t in (await carol.get("/api/tasks")).json()}
            assert await _on_comments(carol, tasks["Book the trip"]) == {
                "ticket.pdf": None,
                "hotel.txt": "The ticket and the hotel",
                "map.png": None,
            }
            assert await _on_comments(carol, tasks["Visa"]) == {
                "form.txt": "The form",
                "stray.txt": "The form",
            }
