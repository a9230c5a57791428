"""The bounded httptools protocol, fed byte strings exactly as a socket might deliver them.

A stand-in transport records what the protocol writes, so that the split points (a head that
ends inside a large read, a head that crosses the limit between reads) are chosen by the test
rather than by the kernel. The real server is exercised in test_transport_server.py.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from todo_api.edge.protocol import MAX_HEADER_BYTES, PARSE_SLICE_BYTES, GuardedHttpToolsProtocol

WAIT = 5.0  # the most any condition below is waited for


class RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.sends: list[bytes] = []  # each write or writelines, as one send
        self.closed = False
        self.aborted = False
        self.eof_written = False
        self.reading = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data
        self.sends.append(bytes(data))

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof_written = True

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True


async def body_size_app(scope: Any, receive: Any, send: Any) -> None:
    """Reads the whole body and answers its size."""
    size, more = 0, True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    body = str(size).encode()
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


Connect = Callable[..., tuple[GuardedHttpToolsProtocol, RecordingTransport]]


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    """Opens connections on the protocol; each is closed after the test."""
    config = Config(app=body_size_app, lifespan="off", proxy_headers=False, log_level="critical")
    opened: list[GuardedHttpToolsProtocol] = []

    def open_connection(
        header_timeout: float = 30.0,
        body_timeout: float = 30.0,
        send_timeout: float = 30.0,
        app: Any = body_size_app,
    ) -> tuple[GuardedHttpToolsProtocol, RecordingTransport]:
        protocol = GuardedHttpToolsProtocol(
            config,
            ServerState(),
            {},
            asyncio.get_running_loop(),
            header_timeout=header_timeout,
            body_timeout=body_timeout,
            send_timeout=send_timeout,
        )
        protocol.app = app
        transport = RecordingTransport()
        protocol.connection_made(transport)
        opened.append(protocol)
        return protocol, transport

    yield open_connection
    for protocol in opened:
        protocol.connection_lost(None)


async def until(condition: Callable[[], bool]) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "the condition never held"
        await asyncio.sleep(0.01)


def statuses(written: bytes) -> list[int]:
    return [int(line.split(b" ")[1]) for line in written.split(b"\r\n") if b"HTTP/1.1 " in line]


async def test_a_head_that_ends_inside_a_large_read_is_served_and_so_is_the_next(
    connect: Connect,
) -> None:
    protocol, transport = connect()
    body = b"b" * 200_000
    protocol.data_received(
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        + b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"
    )
    await until(lambda: len(statuses(transport.written)) == 2)
    assert statuses(transport.written) == [200, 200]
    assert transport.written.endswith(b"\r\n\r\n0")
    assert b"\r\n\r\n200000HTTP/1.1" in transport.written


async def test_a_head_past_the_limit_in_one_read_is_refused(connect: Connect) -> None:
    protocol, transport = connect()
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * MAX_HEADER_BYTES)
    assert statuses(transport.written) == [431]
    assert transport.eof_written  # the answer, then the end of our side
    written = len(transport.written)
    protocol.data_received(b"more of the same\r\n\r\nGET / HTTP/1.1\r\n\r\n")
    assert len(transport.written) == written  # what follows is dropped, never parsed


async def test_a_head_that_crosses_the_limit_between_reads_is_refused_at_the_crossing(
    connect: Connect,
) -> None:
    protocol, transport = connect()
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: ")
    sent = 0
    while not transport.written:
        protocol.data_received(b"a" * 1000)
        sent += 1000
        assert sent < 2 * MAX_HEADER_BYTES
    assert statuses(transport.written) == [431]
    assert MAX_HEADER_BYTES - 1000 < sent <= MAX_HEADER_BYTES + 1000


async def test_heads_of_successive_requests_are_counted_separately(connect: Connect) -> None:
    protocol, transport = connect()
    half = b"GET / HTTP/1.1\r\nHost: t\r\nX-Half: " + b"h" * (MAX_HEADER_BYTES // 2) + b"\r\n\r\n"
    for count in range(1, 4):  # three heads of half the limit each, on one connection
        protocol.data_received(half)
        await until(lambda count=count: len(statuses(transport.written)) == count)
    assert statuses(transport.written) == [200, 200, 200]


async def test_a_head_that_stalls_is_answered_408_after_the_timeout(connect: Connect) -> None:
    protocol, transport = connect(header_timeout=0.05)
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: t\r\nX-Half: ")
    await until(lambda: bool(transport.written))
    assert statuses(transport.written) == [408]
    assert transport.eof_written


async def test_a_connection_that_sends_nothing_is_closed_after_the_timeout(
    connect: Connect,
) -> None:
    _, transport = connect(header_timeout=0.05)
    await until(lambda: transport.closed)
    assert transport.written == b""


async def test_an_idle_kept_alive_connection_is_left_to_the_keep_alive_timeout(
    connect: Connect,
) -> None:
    protocol, transport = connect(header_timeout=0.05)
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    await until(lambda: statuses(transport.written) == [200])
    await asyncio.sleep(0.2)  # four header timeouts: none of them applies between requests
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    await until(lambda: statuses(transport.written) == [200, 200])


async def test_a_request_whose_head_arrives_whole_starts_no_timer(connect: Connect) -> None:
    protocol, transport = connect()
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")  # ends the connection's timer
    await until(lambda: statuses(transport.written) == [200])
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    assert protocol._timer is None
    await until(lambda: statuses(transport.written) == [200, 200])


async def test_an_unparseable_request_gets_the_error_body(connect: Connect) -> None:
    protocol, transport = connect()
    protocol.data_received(b"NOT HTTP\r\n\r\n")
    assert statuses(transport.written) == [400]
    assert b'"code": "INVALID_REQUEST"' in transport.written
    assert b"x-content-type-options: nosniff" in transport.written


# --- request bodies: time -------------------------------------------------------------------


async def answer_at_once_app(scope: Any, receive: Any, send: Any) -> None:
    """Answers without reading the body (as a route does for a request without a token)."""
    await send({"type": "http.response.start", "status": 401, "headers": []})
    await send({"type": "http.response.body", "body": b""})


POST_HEAD = b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n"


async def test_a_body_that_stalls_is_answered_408_and_the_application_reads_a_disconnect(
    connect: Connect,
) -> None:
    received: list[dict[str, Any]] = []

    async def recording_app(scope: Any, receive: Any, send: Any) -> None:
        received.append(await receive())
        received.append(await receive())  # the rest of the body, which never comes
        await body_size_app(scope, receive, send)  # whatever it answers is not sent

    protocol, transport = connect(body_timeout=0.05, app=recording_app)
    protocol.data_received(POST_HEAD + b"x" * 10)
    await until(lambda: len(received) == 2)
    assert received[1] == {"type": "http.disconnect"}
    assert statuses(transport.written) == [408]
    assert b'"code": "INVALID_REQUEST"' in transport.written
    assert transport.eof_written
    await asyncio.sleep(0.05)
    assert statuses(transport.written) == [408]  # the application's answer went nowhere


async def test_a_body_that_trickles_is_cut_off_at_the_timeout(connect: Connect) -> None:
    protocol, transport = connect(body_timeout=0.2)
    protocol.data_received(POST_HEAD)
    for _ in range(99):  # a byte every 10 ms would take a second: five times the timeout
        if transport.written:
            break
        protocol.data_received(b"x")
        await asyncio.sleep(0.01)
    assert statuses(transport.written) == [408]


async def test_a_body_left_unread_cannot_hold_the_connection(connect: Connect) -> None:
    protocol, transport = connect(body_timeout=0.05, app=answer_at_once_app)
    protocol.data_received(POST_HEAD + b"x" * 10)
    await until(lambda: transport.closed)
    assert statuses(transport.written) == [401]  # answered once; then the connection ends


async def test_a_body_in_several_reads_within_the_timeout_is_served(connect: Connect) -> None:
    protocol, transport = connect(body_timeout=30.0)
    protocol.data_received(POST_HEAD + b"x" * 50)
    assert protocol._timer is not None  # the body's deadline
    protocol.data_received(b"x" * 50 + b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    await until(lambda: statuses(transport.written) == [200, 200])
    assert b"\r\n\r\n100HTTP/1.1" in transport.written


async def test_a_request_whose_body_arrives_with_its_head_starts_no_timer(
    connect: Connect,
) -> None:
    protocol, transport = connect()
    protocol.data_received(POST_HEAD + b"x" * 100)  # ends the connection's timer
    await until(lambda: statuses(transport.written) == [200])
    protocol.data_received(POST_HEAD + b"x" * 100)
    assert protocol._timer is None
    await until(lambda: statuses(transport.written) == [200, 200])


# --- pipelining: reading follows the answers --------------------------------------------------

GET = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"


async def test_pipelined_requests_are_parsed_only_as_their_answers_go(connect: Connect) -> None:
    answering = asyncio.Event()

    async def held_app(scope: Any, receive: Any, send: Any) -> None:
        await answering.wait()
        await body_size_app(scope, receive, send)

    protocol, transport = connect(app=held_app)
    protocol.data_received(GET * 3_000)  # 81 KB in one read, none answered yet
    assert len(protocol.pipeline) <= PARSE_SLICE_BYTES // len(GET)
    assert not transport.reading
    protocol.data_received(GET * 10)  # read before the pause took effect: queued after the rest
    answering.set()
    await until(lambda: len(statuses(transport.written)) == 3_010)
    assert transport.reading


async def test_requests_wait_while_the_answers_wait_for_the_client(connect: Connect) -> None:
    protocol, transport = connect()
    protocol.pause_writing()  # the transport's write buffer is full
    protocol.data_received(GET)
    await asyncio.sleep(0.05)
    assert statuses(transport.written) == []
    assert not transport.reading
    protocol.resume_writing()
    await until(lambda: statuses(transport.written) == [200])
    assert transport.reading


async def test_an_answer_that_cannot_be_sent_drops_the_connection(connect: Connect) -> None:
    protocol, transport = connect(send_timeout=0.05)
    protocol.pause_writing()
    await until(lambda: transport.aborted)


async def test_an_answer_sent_within_the_timeout_keeps_the_connection(connect: Connect) -> None:
    protocol, transport = connect(send_timeout=0.1)
    protocol.pause_writing()
    protocol.resume_writing()
    await asyncio.sleep(0.2)
    assert not transport.closed


async def test_an_answer_is_one_send_and_a_streams_head_goes_before_its_first_event(
    connect: Connect,
) -> None:
    async def stream(scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await asyncio.sleep(0.05)
        await send({"type": "http.response.body", "body": b"data: 1\n\n"})

    protocol, transport = connect()
    protocol.data_received(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc")
    await until(lambda: statuses(transport.written) == [200])
    (answer,) = transport.sends  # head and body together
    assert answer.startswith(b"HTTP/1.1 200")
    assert answer.endswith(b"\r\n\r\n3")

    protocol, transport = connect(app=stream)
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    await until(lambda: statuses(transport.written) == [200])
    assert b"data: 1" not in transport.written  # the head, alone, before the event
    await until(lambda: b"data: 1" in transport.written)
    assert len(transport.sends) == 2
