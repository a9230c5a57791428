"""Files on tasks, through the API, on SQLite and PostgreSQL, in a folder and in S3 (moto's
server): uploads (multipart and raw), the content with its ETag, ranges and headers, the
names and types kept, who may do what, and deletion."""

import hashlib
import io
import json
import zipfile
from collections.abc import Callable

import httpx
import pytest

from tests.files.helpers import FIELDS, PNG, new_task, upload, zip_bomb
from tests.lists.helpers import create_list
from tests.lists.sharing import share
from tests.support import assert_error
from tests.tasks.helpers import assert_not_found, assert_validation_error

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
Person = Callable[[], httpx.AsyncClient]


async def test_a_multipart_upload_is_kept_and_served(person: Person) -> None:
    async with person() as alice:
        task_id = await new_task(alice)
        response = await alice.post(
            f"/api/tasks/{task_id}/attachments",
            files={"file": ("notes.txt", b"hello, world\n", "text/plain")},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert set(body) == FIELDS
        assert body["task_id"] == task_id
        assert body["comment_id"] is None
        assert body["name"] == "notes.txt"
        assert body["size"] == 13
        assert body["content_type"] == "text/plain"
        assert body["sha256"] == hashlib.sha256(b"hello, world\n").hexdigest()
        assert body["url"] == f"/api/attachments/{body['id']}/content"
        assert response.headers["location"] == f"/api/attachments/{body['id']}"
        assert (await alice.get(response.headers["location"])).json() == body
        listed = await alice.get(f"/api/tasks/{task_id}/attachments")
        assert listed.json() == [body]
        content = await alice.get(body["url"])
        assert content.status_code == 200
        assert content.content == b"hello, world\n"
        assert content.headers["etag"] == f'"{body["sha256"]}"'
        assert content.headers["content-type"] == "text/plain; charset=utf-8"
        assert content.headers["content-disposition"].startswith("inline;")
        assert content.headers["x-content-type-options"] == "nosniff"
        assert content.headers["content-security-policy"].startswith("sandbox")
        again = await alice.get(body["url"], headers={"If-None-Match": content.headers["etag"]})
        assert again.status_code == 304


async def test_a_raw_upload_takes_its_name_from_the_query(person: Person) -> None:
    async with person() as alice:
        task_id = await new_task(alice)
        response = await alice.post(
            f"/api/tasks/{task_id}/attachments",
            params={"name": "dot.png"},
            content=PNG,
            headers={"Content-Type": "image/png"},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["name"], body["size"], body["content_type"]) == (
            "dot.png",
            len(PNG),
            "image/png",
        )
        content = await alice.get(body["url"])
        assert content.content == PNG
        assert content.headers["content-disposition"].startswith("inline;")
        no_name = await alice.post(
            f"/api/tasks/{task_id}/attachments", content=PNG, headers={"Content-Type": "image/png"}
        )
        assert_validation_error(no_name, "name")


async def test_ranges_are_served_and_past_the_end_is_416(person: Person) -> None:
    data = bytes(range(256)) * 4
    async with person() as alice:
        task_id = await new_task(alice)
        url = (await upload(alice, task_id, data, "bytes.bin", "application/octet-stream"))["url"]
        part = await alice.get(url, headers={"Range": "bytes=10-19"})
        assert part.status_code == 206
        assert part.content == data[10:20]
        assert part.headers["content-range"] == f"bytes 10-19/{len(data)}"
        tail = await alice.get(url, headers={"Range": "bytes=-5"})
        assert (tail.status_code, tail.content) == (206, data[-5:])
        rest = await alice.get(url, headers={"Range": "bytes=1000-"})
        assert (rest.status_code, rest.content) == (206, data[1000:])
        beyond = await alice.get(url, headers={"Range": f"bytes={len(data)}-"})
        assert_error(beyond, 416, "RANGE_NOT_SATISFIABLE")
        assert beyond.headers["content-range"] == f"bytes */{len(data)}"
        stale = await alice.get(url, headers={"Range": "bytes=0-1", "If-Range": '"other"'})
        assert (stale.status_code, stale.content) == (200, data)


async def test_names_lose_their_folders_and_control_characters(person: Person) -> None:
    async with person() as alice:
        task_id = await new_task(alice)
        raw = await alice.post(
            f"/api/tasks/{task_id}/attachments",
            params={"name": "../../etc/pass\x07wd\u202e.txt"},
            content=b"x",
            headers={"Content-Type": "text/plain"},
        )
        assert raw.json()["name"] == "passwd.txt"
        body = await upload(alice, task_id, name="C:\\Users\\me\\Cafe\u0301.txt")
        assert body["name"] == "Caf\u00e9.txt"
        content = await alice.get(body["url"])
        assert "filename*=UTF-8''Caf%C3%A9.txt" in content.headers["content-disposition"]


@pytest.mark.parametrize(
    ("content", "declared", "stored"),
    [
        (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "text/html", "text/html"),
        (SVG, "image/svg+xml", "image/svg+xml"),
        (PNG, "text/html", "application/octet-stream"),
        (b"<html><script>alert(1)</script></html>", "image/png", "application/octet-stream"),
        (b"\x00\x01binary", "text/plain", "application/octet-stream"),
    ],
)
async def test_html_and_svg_are_never_shown_in_the_service_s_origin(
    person: Person, content: bytes, declared: str, stored: str
) -> None:
    async with person() as alice:
        task_id = await new_task(alice)
        body = await upload(alice, task_id, content, "page.html", declared)
        assert body["content_type"] == stored
        served = await alice.get(body["url"])
        assert served.content == content
        assert served.headers["content-disposition"].startswith("attachment;")
        assert served.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in served.headers["content-security-policy"]


async def test_a_zip_bomb_is_kept_as_it_came_and_never_unpacked(person: Person) -> None:
    bomb = zip_bomb()
    async with person() as alice:
        task_id = await new_task(alice)
        body = await upload(alice, task_id, bomb, "bomb.zip", "application/zip")
        assert (body["size"], body["content_type"]) == (len(bomb), "application/zip")
        assert (await alice.get(body["url"])).content == bomb


async def test_strangers_find_nothing(person: Person) -> None:
    async with person() as alice, person() as bob:
        task_id = await new_task(alice)
        body = await upload(alice, task_id)
        assert_not_found(await bob.get(f"/api/tasks/{task_id}/attachments"))
        assert_not_found(await bob.get(f"/api/attachments/{body['id']}"))
        assert_not_found(await bob.get(body["url"]))
        assert_not_found(await bob.delete(f"/api/attachments/{body['id']}"))
        posted = await bob.post(
            f"/api/tasks/{task_id}/attachments", files={"file": ("x.txt", b"x", "text/plain")}
        )
        assert_not_found(posted)
        assert_not_found(await bob.get("/api/attachments/not-a-uuid"))
        assert (await alice.get(body["url"])).status_code == 200


async def test_viewers_read_editors_add_and_the_owner_or_uploader_deletes(person: Person) -> None:
    async with person() as owner, person() as editor, person() as viewer:
        shared = await create_list(owner, "Shared")
        await share(owner, editor, shared["id"], "editor")
        await share(owner, viewer, shared["id"], "viewer")
        task_id = await new_task(owner, list_id=shared["id"])
        mine = await upload(owner, task_id, b"owner's", "a.txt")
        theirs = await upload(editor, task_id, b"editor's", "b.txt")
        assert theirs["created_by"] != mine["created_by"]
        assert (await viewer.get(theirs["url"])).content == b"editor's"
        listed = await viewer.get(f"/api/tasks/{task_id}/attachments")
        assert [item["name"] for item in listed.json()] == ["a.txt", "b.txt"]
        refused = await viewer.post(
            f"/api/tasks/{task_id}/attachments", files={"file": ("v.txt", b"v", "text/plain")}
        )
        assert_error(refused, 403, "FORBIDDEN")
        assert_error(await viewer.delete(f"/api/attachments/{mine['id']}"), 403, "FORBIDDEN")
        assert_error(await editor.delete(f"/api/attachments/{mine['id']}"), 403, "FORBIDDEN")
        assert (await owner.delete(f"/api/attachments/{theirs['id']}")).status_code == 204
        assert_not_found(await editor.get(theirs["url"]))
        again = await upload(editor, task_id, b"again", "c.txt")
        assert (await editor.delete(f"/api/attachments/{again['id']}")).status_code == 204
        assert_not_found(await owner.get(f"/api/attachments/{again['id']}"))


async def test_a_file_over_the_limit_is_413_declared_or_streamed(person: Person) -> None:
    too_big = b"x" * 300_001
    async with person() as alice:
        task_id = await new_task(alice)
        declared = await alice.post(
            f"/api/tasks/{task_id}/attachments",
            params={"name": "big.bin"},
            content=too_big,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert_error(declared, 413, "PAYLOAD_TOO_LARGE")

        async def chunks():  # type: ignore[no-untyped-def]
            for _ in range(40):
                yield b"y" * 10_000

        streamed = await alice.post(
            f"/api/tasks/{task_id}/attachments",
            params={"name": "big.bin"},
            content=chunks(),
            headers={"Content-Type": "application/octet-stream"},
        )
        assert_error(streamed, 413, "PAYLOAD_TOO_LARGE")
        multipart = await alice.post(
            f"/api/tasks/{task_id}/attachments",
            files={"file": ("big.bin", too_big, "application/octet-stream")},
        )
        assert_error(multipart, 413, "PAYLOAD_TOO_LARGE")
        assert (await alice.get(f"/api/tasks/{task_id}/attachments")).json() == []
        assert (await upload(alice, task_id, b"z" * 300_000, "max.bin"))["size"] == 300_000


async def test_a_task_holds_at_most_100_files(person: Person) -> None:
    async with person() as alice:
        task_id = await new_task(alice)
        for n in range(100):
            await upload(alice, task_id, str(n).encode(), f"{n}.txt")
        refused = await alice.post(
            f"/api/tasks/{task_id}/attachments", files={"file": ("x.txt", b"x", "text/plain")}
        )
        assert_error(refused, 409, "CONFLICT")


async def test_a_form_without_a_file_is_refused_naming_it(person: Person) -> None:
    async with person() as alice:
        task_id = await new_task(alice)
        response = await alice.post(
            f"/api/tasks/{task_id}/attachments", files={"other": ("x.txt", b"x", "text/plain")}
        )
        assert_validation_error(response, "file")
        broken = await alice.post(
            f"/api/tasks/{task_id}/attachments",
            content=b"--nope\r\nnot a form",
            headers={"Content-Type": "multipart/form-data; boundary=b"},
        )
        assert broken.status_code == 400, broken.text


async def test_a_comment_carries_files_of_its_task(person: Person) -> None:
    async with person() as alice:
        task_id = await new_task(alice)
        other_task = await new_task(alice, "Other")
        file = await upload(alice, task_id)
        elsewhere = await upload(alice, other_task)
        wrong = await alice.post(
            f"/api/tasks/{task_id}/comments",
            json={"body": "see the file", "attachment_ids": [elsewhere["id"]]},
        )
        assert_validation_error(wrong, "attachment_ids")
        assert (await alice.get(f"/api/tasks/{task_id}/comments")).json() == []
        made = await alice.post(
            f"/api/tasks/{task_id}/comments",
            json={"body": "see the file", "attachment_ids": [file["id"]]},
        )
        assert made.status_code == 201, made.text
        got = (await alice.get(f"/api/attachments/{file['id']}")).json()
        assert got["comment_id"] == made.json()["id"]
        again = await alice.post(
            f"/api/tasks/{task_id}/comments",
            json={"body": "twice", "attachment_ids": [file["id"]]},
        )
        assert_validation_error(again, "attachment_ids")


async def test_the_export_with_files_is_a_zip_of_the_document_and_the_bytes(
    person: Person,
) -> None:
    async with person() as alice:
        task_id = await new_task(alice)
        first = await upload(alice, task_id, PNG, "dot.png", "image/png")
        second = await upload(alice, task_id, b"", "empty.txt")
        plain = (await alice.get("/api/export")).json()
        assert plain["attachments"] == [first, second]
        answer = await alice.get("/api/export", params={"with_files": "true"})
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
            names = archive.namelist()
            document = json.loads(archive.read("todo-api-export.json"))
            assert archive.read(f"files/{first['id']}/dot.png") == PNG
            assert archive.read(f"files/{second['id']}/empty.txt") == b""
        assert names[0] == "todo-api-export.json"
        assert document["attachments"] == [first, second]
        assert [t["id"] for t in document["tasks"]] == [task_id]
        refused = await alice.get("/api/export", params={"with_files": "true", "format": "ics"})
        assert_validation_error(refused, "with_files")
