"""A server killed in the middle of an upload leaves no row, and nothing the sweep does not
remove: a real `todo-api serve` process, killed (SIGKILL) while a body streams in."""

import asyncio
import socket
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx

from tests.helpers_server import clean_env, server_token, start_server
from tests.support import TEST_SECRET, make_settings
from todo_api.db import Database
from todo_api.files.scheduled import sweep, sweep_spools
from todo_api.files.storage import storage_for
from todo_api.kit.ids import utcnow

LATER = timedelta(days=1, hours=1)


def _spools(folder: Path) -> list[Path]:
    spool = folder / ".incoming"
    return list(spool.iterdir()) if spool.is_dir() else []


def _spool_appears(folder: Path, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while not _spools(folder):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


async def test_a_crash_mid_upload_leaves_nothing_after_the_sweep(
    server_database_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "files"
    env = clean_env(
        DATABASE_URL=server_database_url,
        JWT_SECRET=TEST_SECRET,
        ATTACHMENT_STORAGE=f"file://{folder}",
    )
    server = start_server(tmp_path, env, tmp_path / "server.log")
    token = server_token(env, str(uuid.uuid4()))
    try:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=server.url, headers=headers) as client:
            made = await client.post("/api/tasks", json={"title": "Crash"})
            assert made.status_code == 201, made.text
            task_id = made.json()["id"]
        # Half of a declared body, then the server dies.
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            head = (
                f"POST /api/tasks/{task_id}/attachments?name=cut.bin HTTP/1.1\r\n"
                f"Host: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                "Content-Type: application/octet-stream\r\nContent-Length: 200000\r\n\r\n"
            )
            sock.sendall(head.encode() + b"x" * 100_000)
            assert await asyncio.to_thread(_spool_appears, folder), server.log()
            server.process.kill()
            server.process.wait(timeout=10)
    finally:
        server.stop()
    settings = make_settings(server_database_url, tmp_path, attachment_storage=f"file://{folder}")
    storage = storage_for(settings)
    db = Database(settings)
    try:
        assert await sweep_spools(storage) == 0  # an upload under way is left alone
        assert await sweep_spools(storage, now=utcnow() + LATER) == 1
        # The sweep's counts are of every test's rows on this database (their deleted tasks
        # expire at `now`); that this upload left no bytes is the folder's to say, below.
        await sweep(db, storage, now=utcnow() + LATER)
    finally:
        await db.close()
        await storage.close()
    assert _spools(folder) == []
    assert [p for p in folder.rglob("*") if p.is_file()] == []
    # and the task has no file
    server = start_server(tmp_path, env, tmp_path / "server2.log")
    try:
        async with httpx.AsyncClient(base_url=server.url, headers=headers) as client:
            listed = await client.get(f"/api/tasks/{task_id}/attachments")
            assert listed.json() == []
    finally:
        server.stop()
