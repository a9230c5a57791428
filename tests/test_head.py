"""HEAD wherever GET is answered (RFC 9110 §9.1, §9.3.2), on both databases: every route of
the service that answers GET answers HEAD with the status and headers of the GET and no body,
a streamed answer (live updates) included; a 405's `Allow` names HEAD beside GET."""

import re
import uuid

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

STREAMED = {"/api/events"}  # a GET that never ends: its HEAD alone is asked


def _get_paths(app: FastAPI) -> list[str]:
    paths = {
        route.path
        for route in iter_route_contexts(app.routes)
        if route.methods is not None and "GET" in route.methods
    }
    return sorted(paths)


async def test_every_get_answers_head(app: FastAPI, alice: httpx.AsyncClient) -> None:
    me = (await alice.get("/api/auth/me")).json()["id"]
    made = await alice.post("/api/lists", json={"name": "Errands"})
    task = await alice.post("/api/tasks", json={"title": "Milk", "list_id": made.json()["id"]})
    saved = await alice.post("/api/filters", json={"name": "Errands", "query": "#Errands"})
    file = await alice.post(
        f"/api/tasks/{task.json()['id']}/attachments",
        files={"file": ("list.txt", b"milk", "text/plain")},
    )
    section = await alice.post(f"/api/lists/{made.json()['id']}/sections", json={"name": "Now"})
    feed = await alice.post("/api/feeds", json={"include": "all"})
    values = {
        "attachment_id": file.json()["id"],
        "section_id": section.json()["id"],
        "filter_id": saved.json()["id"],
        "task_id": task.json()["id"],
        "list_id": made.json()["id"],
        "user_id": me,
        "webhook_id": str(uuid.uuid4()),
        "token": "no-such-invitation",
        "notification_id": str(uuid.uuid4()),
        "secret": feed.json()["url"].rpartition("/")[2].removesuffix(".ics"),  # a calendar feed's
        # A static file of the web app, by the name its pages give it.
        "name": re.findall(r"/app/static/([^\"]+)", (await alice.get("/app/signin")).text)[0],
    }
    paths = _get_paths(app)
    assert {"/", "/health", "/api/tasks/{task_id}", "/api/events"} <= set(paths)
    for template in paths:
        path = template.format(**values)
        head = await alice.head(path)
        assert head.content == b"", path
        if template in STREAMED:
            assert head.status_code == 200
            assert head.headers["content-type"].startswith("text/event-stream")
            continue
        got = await alice.get(path)
        assert head.status_code == got.status_code, (path, head.status_code, got.status_code)
        assert head.headers.get("content-type") == got.headers.get("content-type"), path
        assert head.headers.get("etag") == got.headers.get("etag"), path


@pytest.mark.parametrize("path", ["/", "/health", "/openapi.json"])
async def test_head_of_the_open_pages(anonymous: httpx.AsyncClient, path: str) -> None:
    got, head = await anonymous.get(path), await anonymous.head(path)
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == got.headers["content-length"]


async def test_a_405_names_head_beside_get(anonymous: httpx.AsyncClient) -> None:
    refused = await anonymous.delete("/health")
    assert refused.status_code == 405
    assert refused.headers["Allow"] == "GET, HEAD"
