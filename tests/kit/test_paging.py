"""The next page's headers of each keyset-paged listing (tasks, a task's comments, a webhook's
deliveries) on both databases, to the byte: `Link` is under PUBLIC_URL, never the Host header,
with the request's other parameters and then the new cursor; `X-Next-Cursor` stands beside it
on the tasks and comments, and neither header on the last page."""

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from tests.collaboration.helpers import comment
from tests.support import app_for, client_for, make_settings, token_for
from tests.tasks.helpers import create_task
from tests.webhooks.helpers import create_webhook
from todo_api.config import Settings

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


async def listings(client: httpx.AsyncClient) -> dict[str, bool]:
    """Each listing's path with three items in it, and whether it sends `X-Next-Cursor`."""
    task = await create_task(client)
    await create_task(client)
    await create_task(client)
    for n in range(3):
        await comment(client, task["id"], f"Comment {n}")
    hook = await create_webhook(client, "http://127.0.0.1:1/hook")  # after the comments' events
    for _ in range(3):
        assert (await client.post(f"/api/webhooks/{hook['id']}/ping")).status_code == 202
    return {
        "/api/tasks": True,
        f"/api/tasks/{task['id']}/comments": True,
        f"/api/webhooks/{hook['id']}/deliveries": False,
    }


def expected_link(path: str, query: str, cursor: str) -> str:
    return f'<{PUBLIC_URL}{path}?{query}&{urlencode({"cursor": cursor})}>; rel="next"'


async def test_each_listing_links_its_next_page_under_public_url(
    client: httpx.AsyncClient,
) -> None:
    for path, sends_cursor in (await listings(client)).items():
        first = await client.get(path, params=[("limit", 1), ("utm", "a b&c/é")])
        assert first.status_code == 200, first.text
        link = first.headers["Link"]
        cursor = link.rsplit("cursor=", 1)[1].removesuffix('>; rel="next"')
        assert link == expected_link(path, "limit=1&utm=a+b%26c%2F%C3%A9", cursor), path
        assert first.headers.get("X-Next-Cursor") == (cursor if sends_cursor else None), path

        # The cursor given moves to the end; the other parameters keep their order.
        middle = await client.get(path, params=[("cursor", cursor), ("limit", 1)])
        assert middle.status_code == 200, middle.text
        after = middle.headers["Link"].rsplit("cursor=", 1)[1].removesuffix('>; rel="next"')
        assert after != cursor, path
        assert middle.headers["Link"] == expected_link(path, "limit=1", after), path

        # (deliveries link on from every full page: a shorter one is the last of each)
        last = await client.get(path, params=[("cursor", cursor), ("limit", 3)])
        assert last.status_code == 200, last.text
        assert len(last.json()) == 2, path
        assert "Link" not in last.headers, path
        assert "X-Next-Cursor" not in last.headers, path
