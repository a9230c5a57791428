"""The npm `tsdav` client (what web and Node apps use) against the service on 127.0.0.1:
discovery, fetch, create, update with the ETag (a stale one refused), sync by token.

tsdav is installed once per machine into tests/dav/tsdav/node_modules (ignored by git) by the
fixture below, from the committed package.json and lock file."""

import asyncio
import json
from pathlib import Path

import pytest
from fastapi import FastAPI

from tests.dav.helpers import dav_user, npm_installed
from tests.live_helpers import serving
from tests.tasks.feed_helpers import read_feed
from todo_api.config import Settings

HERE = Path(__file__).parent / "tsdav"


@pytest.fixture(scope="session")
def tsdav() -> Path:
    """The folder whose node_modules holds tsdav (installed on first use)."""
    return npm_installed(HERE, "tsdav")


async def test_tsdav_fetches_creates_updates_and_syncs(
    app: FastAPI, settings: Settings, tsdav: Path
) -> None:
    async with dav_user(app, settings) as ada, serving(app) as base:
        errands = (await ada.api.post("/api/lists", json={"name": "Errands"})).json()
        made = await ada.api.post(
            "/api/tasks", json={"title": "Post a letter", "list_id": errands["id"]}
        )
        await read_feed(ada.api, wait_for=[made.json()["id"]])  # past PostgreSQL's bound
        process = await asyncio.create_subprocess_exec(
            "node",
            str(tsdav / "two_way.mjs"),
            base,
            ada.token,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=120)
        assert process.returncode == 0, err.decode()
        seen = json.loads(out)
        assert seen["calendars"] == ["Errands", "Inbox"]
        assert len(seen["before"]) == 1
        assert "SUMMARY:Post a letter" in seen["before"][0]
        assert seen["created"] == 201
        assert seen["updated"] == 204
        assert seen["stale"] == 412
        assert seen["syncToken"].startswith("urn:todo-api:sync:")
        changed = [
            url.rsplit("/", 1)[1] for url in seen["synced"]["updated"] + seen["synced"]["created"]
        ]
        assert "from-tsdav.ics" in changed
        titles = sorted(t["title"] for t in (await ada.api.get("/api/tasks")).json())
        assert titles == ["Changed by tsdav", "Post a letter"]
        kept = await ada.dav.get(f"{ada.home}{errands['id']}/from-tsdav.ics")
        assert b"X-TSDAV-NOTE:kept" in kept.content
