"""Reading Server-Sent Events in tests: a stream's messages one at a time, each wait bounded
(a generous bound, never a measure of speed)."""

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import uvicorn
from fastapi import FastAPI

# How long a test waits for a message it expects: PostgreSQL's feed holds back changes while an
# older transaction anywhere on the server runs, and a shared machine may be slow.
EVENT_WAIT_SECONDS = 30.0


@dataclass
class Message:
    event: str | None = None
    id: str | None = None
    data: str | None = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    def page(self) -> dict[str, Any]:
        assert self.data is not None
        body: dict[str, Any] = orjson.loads(self.data)
        return body


class Events:
    """The messages of one open stream (comments come as messages of their own)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def next(self, within: float = EVENT_WAIT_SECONDS) -> Message | None:
        """The next message (waited for up to `within` seconds), or None when the stream
        has ended."""
        return await asyncio.wait_for(self._next(), within)

    async def _next(self) -> Message | None:
        message = Message()
        seen = False
        async for line in self._lines:
            if not line:
                if seen:
                    return message
                continue
            seen = True
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "":
                message.comments.append(value)
            elif name == "retry":
                message.retry = int(value)
            elif name == "data":
                message.data = value if message.data is None else f"{message.data}\n{value}"
            elif name in ("event", "id"):
                setattr(message, name, value)
        return message if seen else None

    async def next_event(self, within: float = EVENT_WAIT_SECONDS) -> Message:
        """The next message that is not only a comment."""
        while True:
            message = await self.next(within)
            assert message is not None, "the stream ended"
            if message.event is not None or message.retry is not None:
                return message

    async def wait_for(self, task_ids: set[str]) -> list[Message]:
        """`changes` messages until every one of `task_ids` (tasks, comments, sections or files)
        has come (changed or deleted)."""
        found: list[Message] = []
        waiting = set(task_ids)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + EVENT_WAIT_SECONDS
        while waiting:
            message = await self.next_event(max(deadline - loop.time(), 0.01))
            assert message.event == "changes", message
            page = message.page()
            for kind in ("changes", "comments", "sections", "attachments"):
                waiting -= {item["id"] for item in page.get(kind, [])}
            for gone in ("deleted", "deleted_comments", "deleted_sections", "deleted_attachments"):
                waiting -= set(page.get(gone, []))
            found.append(message)
        return found


async def ended(events: Events) -> None:
    """Reads the stream until it ends (bound it: keep-alives come for as long as it is open)."""
    while await events.next() is not None:
        pass


@contextlib.asynccontextmanager
async def open_stream(
    client: httpx.AsyncClient, **kwargs: Any
) -> AsyncIterator[tuple[httpx.Response, Events]]:
    async with client.stream("GET", "/api/events", **kwargs) as response:
        yield response, Events(response)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def serving(app: FastAPI, port: int | None = None) -> AsyncIterator[str]:
    """`app` served by uvicorn on `port` (default: a free one) of this event loop (httpx's
    ASGI transport waits for a whole response, which a stream never is); its base URL."""
    port = port or free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_config=None,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    running = asyncio.create_task(server.serve())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + EVENT_WAIT_SECONDS
    while not server.started:
        assert not running.done(), "the server did not start"
        assert loop.time() < deadline, "the server did not start in time"
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await running
