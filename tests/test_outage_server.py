"""A database outage as a running server meets it: the start of the outage is at most two
tracebacks for the whole process (requests, every background job and the live-updates
listener together), then one line per failed request or job turn.

The server reaches PostgreSQL through a TCP relay of the test's own on 127.0.0.1; closing the
relay cuts the database away (connections refused) while the server runs."""

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.helpers_server import clean_env, free_port, running_server
from tests.support import TEST_SECRET, make_settings, token_for


class Relay:
    """Forwards 127.0.0.1:`port` to the database until `cut()`; then nothing listens there."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.port = free_port()
        self._target = (target_host, target_port)
        self._loop = asyncio.new_event_loop()
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=5)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.close()
            return
        self._writers += [writer, up_writer]
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()

    def cut(self) -> None:
        asyncio.run_coroutine_threadsafe(self._cut(), self._loop).result(timeout=5)

    def close(self) -> None:
        with suppress(Exception):
            self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


@pytest.fixture
def relay(postgres_url: str) -> Iterator[Relay]:
    url = make_url(postgres_url)
    relay = Relay(url.host or "127.0.0.1", url.port or 5432)
    try:
        yield relay
    finally:
        relay.close()


def test_an_outage_logs_two_tracebacks_then_a_line_per_request_or_job_turn(
    postgres_url: str, relay: Relay, tmp_path: Path
) -> None:
    relayed = make_url(postgres_url).set(host="127.0.0.1", port=relay.port)
    env = clean_env(
        DATABASE_URL=relayed.render_as_string(hide_password=False),
        JWT_SECRET=TEST_SECRET,
        LOG_LEVEL="INFO",
        # Every job turns each second, so that the outage meets all of them at once.
        MAINTENANCE_INTERVAL_SECONDS="1",
        WEBHOOK_POLL_SECONDS="1",
        REMINDER_SLEEP_SECONDS="1",
        WEBHOOK_ALLOW_PRIVATE_URLS="true",
    )
    token = token_for(make_settings(postgres_url, tmp_path), str(uuid.uuid4()))
    headers = {"Authorization": f"Bearer {token}"}
    with running_server(tmp_path, env, tmp_path / "server.log") as server:
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            assert client.post("/api/tasks", json={"title": "Before"}).status_code == 201
            with httpx.stream("GET", f"{server.url}/api/events", headers=headers, timeout=30):
                before = len(server.log())
                relay.cut()
                statuses = [client.get("/api/tasks").status_code for _ in range(5)]
                time.sleep(3)  # the jobs' turns meet the outage several times
        during = server.log()[before:]
    assert statuses == [503] * 5
    assert _tracebacks(during) <= 2, during
    assert during.count("database unavailable in GET /api/tasks") == 5
    turns = [line for line in during.splitlines() if line.startswith("20") and "job " in line]
    assert turns, during  # the jobs say so, a line a turn


def _tracebacks(log: str) -> int:
    """Tracebacks logged, each part of a chained one (an error raised from another) counted:
    every part is a stack a reader of the log has to page through."""
    return log.count("Traceback (most recent call last)")
