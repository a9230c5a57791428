"""vdirsyncer and todoman, as people sync their tasks to files and edit them in a terminal:
discover and sync /dav into a folder, read it with todoman, add and complete tasks there, and
sync back; both ways land in /api, and /api's changes in the folder."""

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from fastapi import FastAPI

from tests.dav.helpers import dav_user
from tests.live_helpers import serving
from tests.tasks.feed_helpers import read_feed
from todo_api.config import Settings

BIN = Path(sys.executable).parent


def _run(*args: str, config: Path, answers: str = "") -> str:
    """A vdirsyncer or todoman command (its answers to prompts given on stdin); its output."""
    tool, *rest = args
    option = ["--config", str(config)]
    done = subprocess.run(
        [str(BIN / tool), *option, *rest],
        input=answers,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


async def test_vdirsyncer_and_todoman_sync_two_ways(
    app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    files = tmp_path / "calendars"
    async with dav_user(app, settings) as ada, serving(app) as base:
        errands = (await ada.api.post("/api/lists", json={"name": "Errands"})).json()
        letter = await ada.api.post(
            "/api/tasks", json={"title": "Post a letter", "list_id": errands["id"]}
        )
        await read_feed(ada.api, wait_for=[letter.json()["id"]])
        sync_config = tmp_path / "vdirsyncer.conf"
        sync_config.write_text(
            f"""[general]
status_path = "{tmp_path}/status/"

[pair tasks]
a = "tasks_remote"
b = "tasks_local"
collections = ["from a"]
conflict_resolution = "a wins"

[storage tasks_remote]
type = "caldav"
url = "{base}/"
username = "ada"
password = "{ada.token}"
item_types = ["VTODO"]

[storage tasks_local]
type = "filesystem"
path = "{files}/"
fileext = ".ics"
"""
        )
        todo_config = tmp_path / "todoman.py"
        todo_config.write_text(
            f'path = "{files}/*"\ndate_format = "%Y-%m-%d"\ntime_format = "%H:%M"\n'
            f'default_list = "{errands["id"]}"\n'
            # Its own cache: todoman's default is one file per machine, which two test runs
            # side by side would lock for each other.
            f'cache_path = "{tmp_path}/todoman-cache.sqlite3"\n'
        )

        def vdirsyncer(*args: str) -> str:
            return _run("vdirsyncer", *args, config=sync_config, answers="y\n" * 10)

        def todo(*args: str) -> list[dict[str, object]]:
            found: list[dict[str, object]] = json.loads(
                _run("todo", "--porcelain", *args, config=todo_config) or "[]"
            )
            return found

        def first_sync() -> list[dict[str, object]]:
            vdirsyncer("discover")
            vdirsyncer("sync")
            listed = todo("list")
            _run("todo", "new", "Buy stamps", "--list", errands["id"], config=todo_config)
            letter_id = next(t["id"] for t in listed if t["summary"] == "Post a letter")
            _run("todo", "done", str(letter_id), config=todo_config)
            vdirsyncer("sync")
            return listed

        listed = await asyncio.to_thread(first_sync)
        assert [t["summary"] for t in listed] == ["Post a letter"]
        tasks = {t["title"]: t for t in (await ada.api.get("/api/tasks")).json()}
        assert set(tasks) == {"Post a letter", "Buy stamps"}
        assert tasks["Post a letter"]["is_completed"]
        assert tasks["Buy stamps"]["list_id"] == errands["id"]

        settled = await read_feed(ada.api, wait_for=[t["id"] for t in tasks.values()])
        renamed = await ada.api.patch(
            f"/api/tasks/{tasks['Buy stamps']['id']}", json={"title": "Buy 10 stamps"}
        )
        assert renamed.status_code == 200
        await read_feed(ada.api, settled["next"], wait_for=[tasks["Buy stamps"]["id"]])

        def second_sync() -> list[dict[str, object]]:
            vdirsyncer("sync")
            return todo("list", "--status", "ANY")

        after = await asyncio.to_thread(second_sync)
        assert sorted(str(t["summary"]) for t in after) == ["Buy 10 stamps", "Post a letter"]
