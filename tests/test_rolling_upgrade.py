"""A rolling upgrade on PostgreSQL: the previous release (this code as it was before its newest
migration, taken from git) serves a database while this release migrates it, and answers
correctly before, during and after; this release then reads what the previous one wrote."""

import asyncio
import io
import re
import subprocess
import sys
import tarfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.helpers_server import Server, clean_env, launch_server, run_cli, started
from tests.support import TEST_SECRET, app_for, client_for, make_settings, token_for
from tests.test_migrations import empty_postgres_url
from todo_api.config import Settings
from todo_api.migrations import head_revision

__all__ = ["empty_postgres_url"]  # the fixture this module uses

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = "src/todo_api/migrations/versions"
FILES_REVISION = "0048"  # attachments


def _git(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, timeout=60, check=False
    )


def _follows(revision: str | None, earlier: str) -> bool:
    """Whether the migration `revision` is `earlier` or comes after it, in this release."""
    chain = _chain("HEAD")
    while revision is not None and revision != earlier:
        revision = chain.get(revision)
    return revision == earlier


def _chain(commit: str) -> dict[str, str | None]:
    """Each migration of `commit` (its revision) with the one it follows."""
    listed = _git("ls-tree", "--name-only", f"{commit}:{VERSIONS}")
    chain: dict[str, str | None] = {}
    for name in listed.stdout.decode().split():
        if not name.endswith(".py") or name == "__init__.py":
            continue
        text = _git("show", f"{commit}:{VERSIONS}/{name}").stdout.decode()
        revision = re.search(r'^revision: str = "(\w+)"', text, re.M)
        follows = re.search(r'^down_revision: str \| None = "(\w+)"', text, re.M)
        if revision is not None:
            chain[revision.group(1)] = follows.group(1) if follows is not None else None
    return chain


def previous_release(into: Path) -> Path:
    """The source of the release that a deployment of this one replaces: the newest commit on
    the main line before this one's newest migration whose migrations are all this one's (the
    same revisions, in the same order), and fewer. (A migration may come in by a merge, and
    migrations not yet released may be renumbered: the commit that added the newest file is
    not always the one before them.)"""
    ours = _chain("HEAD")
    history = _git("log", "--first-parent", "--format=%H", "--", VERSIONS)
    assert history.returncode == 0, history.stderr.decode()
    commit = ""
    for candidate in history.stdout.decode().split():
        theirs = _chain(f"{candidate}^")
        if theirs and len(theirs) < len(ours) and theirs.items() <= ours.items():
            commit = f"{candidate}^"
            break
    assert commit, "no earlier release in this history"
    archive = _git("archive", "--format=tar", commit, "src")
    assert archive.returncode == 0, archive.stderr.decode()
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    assert not list((into / VERSIONS).glob(f"{head_revision()}_*.py"))
    return into / "src"


class Traffic(threading.Thread):
    """What a user does against a server, again and again: create a tagged task, complete it,
    read it back, list their open tagged tasks. Each answer that is not the right one is kept."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
        self.stop = threading.Event()
        self.rounds: list[float] = []  # when each round ended
        self.wrong: list[str] = []
        self.completed = 0

    def _round(self) -> None:
        created = self.client.post("/api/tasks", json={"title": "Water plants", "tags": ["home"]})
        if created.status_code != 201:
            self.wrong.append(f"create: {created.status_code} {created.text}")
            return
        task = created.json()["id"]
        done = self.client.put(f"/api/tasks/{task}", json={"is_completed": True})
        if done.status_code != 200 or done.json()["is_completed"] is not True:
            self.wrong.append(f"complete: {done.status_code} {done.text}")
            return
        self.completed += 1
        read = self.client.get(f"/api/tasks/{task}")
        if read.status_code != 200 or read.json()["tags"] != ["home"]:
            self.wrong.append(f"read: {read.status_code} {read.text}")
        listed = self.client.get("/api/tasks", params={"tag": "home", "completed": "false"})
        if listed.status_code != 200 or listed.json() != []:
            self.wrong.append(f"list: {listed.status_code} {listed.text}")

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self._round()
            except httpx.HTTPError as exc:
                self.wrong.append(f"{type(exc).__name__}: {exc}")
            self.rounds.append(time.monotonic())

    def rounds_after(self, moment: float) -> int:
        return sum(1 for at in self.rounds if at > moment)

    def wait_for_rounds_after(self, moment: float, count: int) -> None:
        deadline = time.monotonic() + 60
        while self.rounds_after(moment) < count and time.monotonic() < deadline:
            time.sleep(0.05)


@pytest.fixture
def previous_server(empty_postgres_url: str, tmp_path: Path) -> Iterator[Server]:
    """The previous release serving the database (which it migrates to its own latest)."""
    source = previous_release(tmp_path / "previous")
    env = clean_env(DATABASE_URL=empty_postgres_url, JWT_SECRET=TEST_SECRET, PYTHONPATH=str(source))
    previous = [sys.executable, "-m", "todo_api"]  # the package PYTHONPATH finds first
    log_path = tmp_path / "previous.log"
    with started(launch_server(tmp_path, env, log_path, program=previous)) as server:
        yield server


async def _version(url: str) -> str:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        version: str = await conn.fetchval("SELECT version_num FROM alembic_version")
        return version
    finally:
        await conn.close()


def _upload(url: str, token: str) -> str:
    """A file uploaded to a new task of the token's user, through the server at `url`: its id."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
        task = client.post("/api/tasks", json={"title": "With a file"})
        assert task.status_code == 201, task.text
        url = f"/api/tasks/{task.json()['id']}/attachments"
        made = client.post(url, files={"file": ("notes.txt", b"hello\n", "text/plain")})
        assert made.status_code == 201, made.text
        return str(made.json()["id"])


async def _files_in_feed(settings: Settings, owner: str) -> list[str]:
    """The ids of the files in the owner's change feed from the start, as this release reads it."""
    async with app_for(settings) as app, client_for(app, token_for(settings, owner)) as client:
        found: list[str] = []
        params = {"limit": "1000"}
        while True:
            page = await client.get("/api/tasks/changes", params=params)
            assert page.status_code == 200, page.text
            found += [file["id"] for file in page.json()["attachments"]]
            if not page.json()["has_more"]:
                return found
            params["since"] = page.json()["next"]


async def _completed_home_tasks(settings: Settings, owner: str) -> tuple[int, str]:
    """What this release reads: its readiness, and the count of the owner's done tasks."""
    async with app_for(settings) as app, client_for(app, token_for(settings, owner)) as client:
        ready = await client.get("/ready")
        done = await client.get("/api/tasks", params={"tag": "home", "completed": "true"})
        assert done.status_code == 200, done.text
        return ready.status_code, done.headers["x-total-count"]


def test_the_previous_release_answers_throughout_the_upgrade(
    previous_server: Server, empty_postgres_url: str, tmp_path: Path
) -> None:
    settings = make_settings(empty_postgres_url, tmp_path / "data")
    owner = str(uuid.uuid4())
    # The previous release migrated the database to its own latest, one before this one's.
    previous = asyncio.run(_version(empty_postgres_url))
    assert previous != head_revision()

    traffic = Traffic(previous_server.url, token_for(settings, owner))
    # Files the previous release writes (it knows nothing of their owner's column or stamps),
    # before the upgrade and after it, come in this release's feed: if it has files at all (a
    # release may bring several migrations, files among them).
    with_files = _follows(previous, FILES_REVISION)
    files = [_upload(previous_server.url, token_for(settings, owner))] if with_files else []
    traffic.start()
    try:
        traffic.wait_for_rounds_after(0, 5)
        started = time.monotonic()
        env = clean_env(DATABASE_URL=empty_postgres_url, JWT_SECRET=TEST_SECRET)
        migrated = run_cli("migrate", env=env, cwd=tmp_path, timeout=120)
        assert migrated.returncode == 0, migrated.stderr
        ended = time.monotonic()
        traffic.wait_for_rounds_after(ended, 5)
        if with_files:
            files.append(_upload(previous_server.url, token_for(settings, owner)))
    finally:
        traffic.stop.set()
        traffic.join(timeout=30)
    assert traffic.wrong == [], traffic.wrong[:5]
    assert traffic.rounds_after(started) >= 5
    assert traffic.rounds_after(ended) >= 5
    assert asyncio.run(_version(empty_postgres_url)) == head_revision()

    # This release reads, on the schema it migrated, every task the previous one wrote.
    ready, completed = asyncio.run(_completed_home_tasks(settings, owner))
    assert (ready, completed) == (200, str(traffic.completed))
    assert sorted(asyncio.run(_files_in_feed(settings, owner))) == sorted(files)
