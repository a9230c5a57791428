"""Webhook receivers for tests: an HTTP server on 127.0.0.1 in a thread of its own, which
records every request that arrived whole and answers as the test says (status, body, delay,
Location, other headers); and one that accepts connections and never answers
(`never_answering`)."""

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from standardwebhooks.webhooks import Webhook


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return orjson.loads(self.body)

    def verified(self, secret: str) -> Any:
        """The event, once its signature checks out with `secret` (raises otherwise)."""
        return Webhook(secret).verify(self.body, self.headers)


@dataclass
class Answer:
    status: int = 204
    body: bytes = b""
    delay: float = 0.0
    location: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Receiver:
    port: int
    answer: Answer = field(default_factory=Answer)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def requests(self, path: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.received if path is None or r.path == path]

    def events(self, path: str | None = None) -> list[Any]:
        return [r.json() for r in self.requests(path)]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            if len(body) < length:  # the sender died mid-request (a test killed it): not sent
                self.close_connection = True
                return
            with receiver.lock:
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.received.append(Received(self.path, headers, body, time.monotonic()))
                answer = receiver.answer
            if answer.delay:
                time.sleep(answer.delay)
            try:
                self.send_response(answer.status)
                if answer.location:
                    self.send_header("Location", answer.location)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
            except OSError:  # the sender gave up (a timeout, or it read enough)
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # bursts from several senders at once
    daemon_threads = True


@contextmanager
def receiving(port: int = 0) -> Iterator[Receiver]:
    """A receiver on `port` of 127.0.0.1 (default: a free one), stopped afterwards."""
    server = _Server(("127.0.0.1", port), _handler(Receiver(0)))
    receiver = Receiver(server.server_address[1])
    server.RequestHandlerClass = _handler(receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Silent:
    """A receiver that accepts connections, reads each request's head and never answers."""

    port: int
    paths: list[str] = field(default_factory=list)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@asynccontextmanager
async def never_answering() -> AsyncIterator[Silent]:
    """A `Silent` receiver on a free port of 127.0.0.1, in the test's event loop; its
    connections are closed when it stops."""
    silent = Silent(0)
    held: set[asyncio.StreamWriter] = set()
    handlers: set[asyncio.Task[None]] = set()

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handler = asyncio.current_task()
        assert handler is not None
        handlers.add(handler)
        held.add(writer)
        try:
            request_line = await reader.readline()
            silent.paths.append(request_line.split(b" ")[1].decode())
            await reader.read()  # until the sender gives up and closes
        except (OSError, IndexError, asyncio.IncompleteReadError):
            pass
        finally:
            held.discard(writer)
            handlers.discard(handler)
            writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    silent.port = server.sockets[0].getsockname()[1]
    try:
        yield silent
    finally:
        server.close()
        for writer in list(held):
            writer.close()
        if handlers:  # each ends once its connection is closed
            await asyncio.wait(list(handlers), timeout=10)
        await server.wait_closed()
