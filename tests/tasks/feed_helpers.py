"""Change-feed helpers for the task tests: reading and following the feed, looking inside sync
tokens, and a pool of the test's own on the database for what HTTP cannot set up."""

import asyncio
import base64
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import insert, select

from tests.helpers_server import FEED_WAIT_SECONDS
from todo_api.config import Settings
from todo_api.db import Database
from todo_api.kit.signing import SIGNATURE_BYTES
from todo_api.tables.idempotency import idempotency_keys
from todo_api.tables.tasks import tombstones

# What a change-feed page holds.
FEED_KEYS = {
    "changes",
    "deleted",
    "lists",
    "deleted_lists",
    "comments",
    "deleted_comments",
    "sections",
    "deleted_sections",
    "attachments",
    "deleted_attachments",
    "next",
    "has_more",
}
# The kinds that carry rows (the others carry the ids of what went).
_ROWS = ("changes", "lists", "comments", "sections", "attachments")
KEY_LIFETIME = timedelta(hours=24)  # how long the tests keep an idempotency key they store


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[Database]:
    """A pool of its own on the test database, for setting up what HTTP cannot."""
    db = Database(settings)
    try:
        yield db
    finally:
        await db.close()


async def insert_idempotency_key(
    settings: Settings,
    user_id: uuid.UUID,
    key: str,
    created_at: datetime,
    status: int | None = None,
) -> None:
    """An idempotency key stored directly, kept for a day: with a status, an answered request;
    without, a claim as a request still running (or one that died) leaves it."""
    async with database(settings) as db, db.transaction() as conn:
        await conn.execute(
            insert(idempotency_keys).values(
                user_id=user_id,
                key=key,
                request_hash="0" * 64,
                claim_id=uuid.uuid4(),
                status_code=status,
                response_body="{}" if status else None,
                response_headers={} if status else None,
                created_at=created_at,
                expires_at=created_at + KEY_LIFETIME,
            )
        )


async def tombstone_ids(settings: Settings, task_ids: list[str]) -> set[str]:
    """Which of these tasks still have a tombstone (a deletion the feed reports)."""
    async with database(settings) as db, db.connection() as conn:
        rows = await conn.execute(
            select(tombstones.c.task_id).where(
                tombstones.c.task_id.in_([uuid.UUID(t) for t in task_ids])
            )
        )
        return {str(row.task_id) for row in rows}


async def read_feed(
    client: httpx.AsyncClient,
    since: str | None = None,
    limit: int | None = None,
    wait_for: Iterable[str] = (),
) -> dict[str, Any]:
    """One call of the change feed (200 expected).

    With `wait_for` (ids of tasks, lists, comments, sections or files), the same call is
    repeated (up to FEED_WAIT_SECONDS) until every one of them has come, changed or deleted: on
    PostgreSQL the feed holds back changes while any older transaction (anywhere on the server)
    is still running, which is correct but may delay them.
    """
    params: dict[str, str | int] = {}
    if since is not None:
        params["since"] = since
    if limit is not None:
        params["limit"] = limit
    wanted = set(wait_for)
    deadline = time.monotonic() + FEED_WAIT_SECONDS
    while True:
        response = await client.get("/api/tasks/changes", params=params)
        assert response.status_code == 200, response.text
        feed: dict[str, Any] = response.json()
        assert set(feed) == FEED_KEYS
        seen = {row["id"] for kind in _ROWS for row in feed[kind]}
        for gone in FEED_KEYS - {*_ROWS, "next", "has_more"}:
            seen |= set(feed[gone])
        if wanted <= seen or time.monotonic() > deadline:
            return feed
        await asyncio.sleep(0.05)


async def sync_kind(
    client: httpx.AsyncClient, kind: str, since: str | None, *ids: str
) -> dict[str, Any]:
    """Pages of two from `since` until none has more: the rows of `kind` (`sections`,
    `attachments`...) and the ids of `deleted_<kind>`, in order, and the token after them.
    With `ids`, it reads on from its latest token (up to FEED_WAIT_SECONDS) until every one of
    them has come, whatever its kind (see read_feed)."""
    got: list[dict[str, Any]] = []
    gone: list[str] = []
    seen: set[str] = set()
    token = since
    deadline = time.monotonic() + FEED_WAIT_SECONDS
    while True:
        page = await read_feed(client, token, limit=2)
        got += page[kind]
        gone += page[f"deleted_{kind}"]
        seen |= {row["id"] for rows in _ROWS for row in page[rows]}
        seen |= {item for kinds in FEED_KEYS - {*_ROWS, "next", "has_more"} for item in page[kinds]}
        token = page["next"]
        if page["has_more"]:
            continue
        if set(ids) <= seen or time.monotonic() > deadline:
            return {kind: got, f"deleted_{kind}": gone, "next": token}
        await asyncio.sleep(0.05)


async def sync_all(
    client: httpx.AsyncClient,
    since: str | None = None,
    limit: int | None = None,
    wait_for: Iterable[str] = (),
) -> tuple[list[dict[str, Any]], list[str], str, int]:
    """Follow the feed page after page, as a client does, until it has nothing more.

    Returns every change and deletion in the order received, the last token, and the number of
    calls. With `wait_for`, keeps syncing (from the latest token) for a few seconds until those
    ids have come (see read_feed).
    """
    changes: list[dict[str, Any]] = []
    deleted: list[str] = []
    wanted = set(wait_for)
    token, calls = since, 0
    deadline = time.monotonic() + FEED_WAIT_SECONDS
    while True:
        feed = await read_feed(client, token, limit)
        calls += 1
        changes.extend(feed["changes"])
        deleted.extend(feed["deleted"])
        token = feed["next"]
        if feed["has_more"]:
            assert any(feed[kind] for kind in FEED_KEYS - {"next", "has_more"}), "an empty page"
            continue
        seen = {task["id"] for task in changes} | set(deleted)
        if wanted <= seen or time.monotonic() > deadline:
            assert token is not None
            return changes, deleted, token, calls
        await asyncio.sleep(0.05)


def sync_token_body(token: str) -> list[Any]:
    """The JSON a sync token carries after its signature: [txid, seq, issued_at].

    Reading it is for tests only (a client treats the token as opaque)."""
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    body: list[Any] = json.loads(raw[SIGNATURE_BYTES:])
    return body


def with_sync_token_body(token: str, body: list[Any]) -> str:
    """The token with its JSON replaced and its signature kept: a tampered token."""
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    forged = raw[:SIGNATURE_BYTES] + json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(forged).decode().rstrip("=")
