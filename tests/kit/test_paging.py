"""The next page's headers of each keyset-paged listing (tasks, a task's comments, a webhook's
deliveries) on both databases, to the byte: `Link` is under PUBLIC_URL, never the Host header,
with the request's other parameters and then the new cursor; `X-Next-Cursor` stands beside it
on every listing, and neither header on the last page. A cursor no listing gave is
400 naming `cursor` on every listing that takes one."""

import base64
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import orjson
import pytest
from starlette.requests import Request

from tests.collaboration.helpers import comment
from tests.support import app_for, client_for, make_settings, token_for, validation_details
from tests.tasks.helpers import create_task
from tests.webhooks.helpers import create_webhook
from todo_api.config import Settings
from todo_api.kit.paging import url_path

PUBLIC_URL = "https://tasks.example"


@pytest.fixture
async def client(settings: Settings, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    public = make_settings(
        settings.database_url or "",
        tmp_path,
        public_url=PUBLIC_URL,
        webhook_allow_private_urls=True,  # no deliverer runs: the deliveries stay pending
    )
    async with app_for(public) as app, client_for(app, token_for(public)) as client:
        client.headers["Host"] = "chosen-by-the-client.example"
        yield client


async def listings(client: httpx.AsyncClient) -> list[str]:
    """Each listing's path, with three items in it."""
    task = await create_task(client)
    await create_task(client)
    await create_task(client)
    for n in range(3):
        await comment(client, task["id"], f"Comment {n}")
    hook = await create_webhook(client, "http://127.0.0.1:1/hook")  # after the comments' events
    for _ in range(3):
        assert (await client.post(f"/api/webhooks/{hook['id']}/ping")).status_code == 202
    return [
        "/api/tasks",
        f"/api/tasks/{task['id']}/comments",
        f"/api/webhooks/{hook['id']}/deliveries",
    ]


def expected_link(path: str, query: str, cursor: str) -> str:
    return f'<{PUBLIC_URL}{path}?{query}&{urlencode({"cursor": cursor})}>; rel="next"'


async def test_each_listing_links_its_next_page_under_public_url(
    client: httpx.AsyncClient,
) -> None:
    for path in await listings(client):
        first = await client.get(path, params=[("limit", 1), ("utm", "a b&c/é")])
        assert first.status_code == 200, first.text
        link = first.headers["Link"]
        cursor = link.rsplit("cursor=", 1)[1].removesuffix('>; rel="next"')
        assert link == expected_link(path, "limit=1&utm=a+b%26c%2F%C3%A9", cursor), path
        assert first.headers["X-Next-Cursor"] == cursor, path

        # The cursor given moves to the end; the other parameters keep their order.
        middle = await client.get(path, params=[("cursor", cursor), ("limit", 1)])
        assert middle.status_code == 200, middle.text
        after = middle.headers["Link"].rsplit("cursor=", 1)[1].removesuffix('>; rel="next"')
        assert after != cursor, path
        assert middle.headers["Link"] == expected_link(path, "limit=1", after), path

        last = await client.get(path, params=[("cursor", cursor), ("limit", 2)])
        assert last.status_code == 200, last.text
        assert len(last.json()) == 2, path
        assert "Link" not in last.headers, path
        assert "X-Next-Cursor" not in last.headers, path


def encoded(value: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")


# Cursors no listing gives, which once reached the database (500): a sequence number past the
# databases' integers, an id that is not a string, a time without its offset.
PAST_BIGINT = "9999999999999999999"
SEQ_CURSORS = [PAST_BIGINT, str(2**62 + 1)]
CREATED_CURSORS = [
    encoded(["2026-01-01T00:00:00+00:00", 5]),
    encoded(["2026-01-01T00:00:00", uuid.UUID(int=1).hex]),
    encoded({"a": 1, "b": 2}),
    "not a cursor",
]


async def test_a_cursor_no_listing_gave_is_400_naming_it(client: httpx.AsyncClient) -> None:
    task = await create_task(client)
    hook = await create_webhook(client, "http://127.0.0.1:1/hook")
    paths = {
        "/api/notifications": SEQ_CURSORS,
        f"/api/tasks/{task['id']}/activity": SEQ_CURSORS,
        "/api/lists/inbox/activity": SEQ_CURSORS,
        f"/api/tasks/{task['id']}/comments": CREATED_CURSORS,
        f"/api/webhooks/{hook['id']}/deliveries": CREATED_CURSORS,
    }
    for path, cursors in paths.items():
        for cursor in cursors:
            response = await client.get(path, params={"cursor": cursor})
            assert [d["field"] for d in validation_details(response)] == ["cursor"], path
    # The largest that is one: an empty page.
    response = await client.get("/api/notifications", params={"cursor": str(2**62)})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "path",
    [
        "/api/tasks",
        "/api/tasks/",
        "/a b",
        "/a%20b",
        "/a;b",
        "/café",
        "/a\tb",
        "/a\nb",
        "/a?b",
        "/a#b",
        "/a\\b",
        "//api/tasks",
        "/",
    ],
)
@pytest.mark.parametrize("host", [b"tasks.example", None])
def test_the_links_path_is_starlettes_url_path(path: str, host: bytes | None) -> None:
    """`url_path`, the next page's path without Starlette's URL for a plain path, is what
    `request.url.path` gives, with a Host header and without one (nor a server)."""
    headers = [(b"host", host)] if host else []
    scope = {"type": "http", "path": path, "query_string": b"", "headers": headers}
    if host is None:
        scope["server"] = None
    assert url_path(Request(scope)) == Request(scope).url.path
