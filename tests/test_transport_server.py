"""Transport bounds that only a real `todo-api serve` has: the size of and the time for a
request's headers, the Server banner, forwarded addresses as uvicorn hands them over, and the
body limit and Host handling over a socket. Raw sockets where a client must misbehave.

Every wait is bounded by a socket timeout; no test asserts how fast anything was.
"""

import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import httpx
import jwt
import pytest

from tests.helpers_server import (
    Server,
    clean_env,
    json_of,
    read_until_closed,
    running_server,
    status_of,
)
from tests.support import TEST_SECRET

HEADER_TIMEOUT = 1.0  # seconds, this suite's REQUEST_HEADER_TIMEOUT_SECONDS
BODY_TIMEOUT = 1.0  # seconds, this suite's REQUEST_BODY_TIMEOUT_SECONDS
SEND_TIMEOUT = 1.0  # seconds, this suite's RESPONSE_SEND_TIMEOUT_SECONDS
BODY_LIMIT = 512 * 1024
ATTEMPTS = 3
SOCKET_TIMEOUT = 15.0  # far above the timeouts: a wait that ends earlier was not a timeout
HTTP_TIMEOUT = 15.0
LOG_WAIT = 10.0


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_for_servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite')}/todo.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


def _server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, **variables: str
) -> Iterator[Server]:
    cwd = tmp_path_factory.mktemp("server")
    env = clean_env(
        DATABASE_URL=database_url,
        JWT_SECRET=TEST_SECRET,
        REQUEST_HEADER_TIMEOUT_SECONDS=str(HEADER_TIMEOUT),
        REQUEST_BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT),
        RESPONSE_SEND_TIMEOUT_SECONDS=str(SEND_TIMEOUT),
        MAX_BODY_BYTES=str(BODY_LIMIT),
        AUTH_RATE_LIMIT_ATTEMPTS=str(ATTEMPTS),
        AUTH_RATE_LIMIT_ADDRESS_ATTEMPTS=str(ATTEMPTS),
        **variables,
    )
    with running_server(cwd, env, cwd / "server.log") as server:
        yield server


@pytest.fixture(scope="module")
def server(database_for_servers: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with the default TRUSTED_PROXIES (none)."""
    yield from _server(database_for_servers, tmp_path_factory)


@pytest.fixture(scope="module")
def proxied_server(
    database_for_servers: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server that believes X-Forwarded-For from 127.0.0.1 (a proxy on the same host)."""
    yield from _server(database_for_servers, tmp_path_factory, TRUSTED_PROXIES="127.0.0.1")


def connect(server: Server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=SOCKET_TIMEOUT)
    sock.settimeout(SOCKET_TIMEOUT)
    return sock


def head_of(response: bytes) -> bytes:
    return response.partition(b"\r\n\r\n")[0].lower()


# --- request heads: size -------------------------------------------------------------------


def test_a_100_kib_header_is_refused_while_health_answers(server: Server) -> None:
    health: list[int] = []

    def check_health() -> None:
        for _ in range(5):
            health.append(httpx.get(f"{server.url}/health", timeout=HTTP_TIMEOUT).status_code)

    checker = threading.Thread(target=check_health)
    with connect(server) as sock:
        checker.start()
        head = b"GET /health HTTP/1.1\r\nHost: test\r\nX-Big: " + b"a" * (100 * 1024) + b"\r\n\r\n"
        with suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head)
        response = read_until_closed(sock)
    checker.join(timeout=60)

    assert status_of(response) == 431, response[:200]  # not 408: refused for size, not time
    assert b'"code": "INVALID_REQUEST"' in response
    assert b"x-content-type-options: nosniff" in head_of(response)
    assert health == [200] * 5


def test_headers_just_under_the_limit_are_served(server: Server) -> None:
    headers = {f"X-Filler-{i}": "f" * 1000 for i in range(50)}  # about 51 KiB
    response = httpx.get(f"{server.url}/health", headers=headers, timeout=HTTP_TIMEOUT)
    assert response.status_code == 200


def test_a_large_body_behind_small_headers_is_no_header_problem(server: Server) -> None:
    """Head, a 300 KB body and the next request, all in one send: only the head counts."""
    body = json.dumps({"email": "someone@example.com", "password": "p" * 300_000}).encode()
    with connect(server) as sock:
        sock.sendall(
            b"POST /api/auth/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s"
            % (len(body), body)
            + b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        )
        responses = read_until_closed(sock)
    assert status_of(responses) == 400  # the password is too long: validation saw the body
    assert b'"code":"VALIDATION_ERROR"' in responses
    assert b"HTTP/1.1 200 OK" in responses
    assert b'{"status":"ok"}' in responses


def test_a_url_past_the_limit_is_refused_too(server: Server) -> None:
    with connect(server) as sock:
        with suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(b"GET /health?" + b"q" * (70 * 1024) + b" HTTP/1.1\r\nHost: t\r\n\r\n")
        response = read_until_closed(sock)
    assert status_of(response) == 431


# --- request heads: time -------------------------------------------------------------------


def test_a_client_that_stops_halfway_through_its_headers_is_disconnected(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\nX-Half: ")
        response = read_until_closed(sock)  # returns: the server closed the connection
    assert status_of(response) == 408
    assert b"x-content-type-options: nosniff" in head_of(response)


def test_a_client_that_trickles_its_headers_is_disconnected(server: Server) -> None:
    """A byte now and then does not keep the connection: the time counts from the first."""
    closed = threading.Event()
    with connect(server) as sock:

        def trickle() -> None:
            with suppress(OSError):
                for byte in b"GET /health HTTP/1.1\r\nHost: test\r\nX-Slow: " + b"s" * 1000:
                    if closed.wait(0.1):
                        return
                    sock.send(bytes([byte]))

        sender = threading.Thread(target=trickle)
        sender.start()
        response = read_until_closed(sock)
        closed.set()
        sender.join(timeout=10)
    assert status_of(response) == 408


def test_a_client_that_connects_and_says_nothing_is_disconnected(server: Server) -> None:
    with connect(server) as sock:
        assert read_until_closed(sock) == b""


def test_a_kept_alive_connection_serves_request_after_request(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=HTTP_TIMEOUT) as client:
        statuses = [client.get("/health").status_code for _ in range(5)]
        pipelined = b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n" * 3
    assert statuses == [200] * 5
    with connect(server) as sock:
        sock.sendall(pipelined + b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        responses = read_until_closed(sock)
    assert responses.count(b"HTTP/1.1 200 OK") == 4


# --- response headers ------------------------------------------------------------------------


def test_no_server_banner_and_nosniff(server: Server) -> None:
    for path in ("/health", "/api/tasks", "/no/such/route"):
        response = httpx.get(f"{server.url}{path}", timeout=HTTP_TIMEOUT)
        assert "server" not in response.headers
        assert response.headers["x-content-type-options"] == "nosniff"


def test_unparseable_requests_get_the_error_body_and_no_banner(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        response = read_until_closed(sock)
    assert status_of(response) == 400
    assert b'"code": "INVALID_REQUEST"' in response
    assert b"server:" not in head_of(response)


# --- the body limit over a socket -------------------------------------------------------------


def test_a_declared_body_over_the_limit_is_refused_before_it_is_sent(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(
            b"POST /api/tasks HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: 104857600\r\n\r\n"  # 100 MB announced, none of it sent
        )
        response = read_until_closed(sock)
    assert status_of(response) == 413
    assert json_of(response)["code"] == "PAYLOAD_TOO_LARGE"


def bearer_header() -> bytes:
    claims = {"sub": str(uuid.uuid4()), "exp": int(time.time()) + 600}
    return b"Authorization: Bearer %s\r\n" % jwt.encode(claims, TEST_SECRET, "HS256").encode()


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(server: Server) -> None:
    chunk = b"x" * 16 * 1024
    with connect(server) as sock:
        sock.sendall(
            b"POST /api/tasks HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            + bearer_header()
            + b"Transfer-Encoding: chunked\r\n\r\n"
        )
        for _ in range(BODY_LIMIT // len(chunk) + 1):  # one chunk past the limit, then silence
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        response = read_until_closed(sock)  # never sent the last chunk: the answer came anyway
    assert status_of(response) == 413
    assert json_of(response)["code"] == "PAYLOAD_TOO_LARGE"


def test_a_body_without_a_token_is_answered_401_before_it_is_read(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(
            b"POST /api/tasks HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n4\r\n{oop\r\n"
        )  # a malformed body, never finished: only the missing token can be answered
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(65536)
    assert status_of(head) == 401


# --- what the server does not speak ------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_an_unknown_transfer_encoding_is_400_in_the_error_format(
    server: Server, method: str
) -> None:
    with connect(server) as sock:
        sock.sendall(
            f"{method} /api/tasks HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: gzip\r\n".encode()
            + bearer_header()
            + b"\r\n{}"
        )
        response = read_until_closed(sock)
    assert status_of(response) == 400, response[:200]
    assert response.count(b"HTTP/1.1 ") == 1  # the application's own answer is not sent too
    body = json.loads(response.partition(b"\r\n\r\n")[2])
    assert (set(body), body["code"]) == ({"error", "code", "details"}, "INVALID_REQUEST")


@pytest.mark.parametrize(("token", "status"), [(False, 401), (True, 405)])
def test_a_websocket_upgrade_on_mcp_is_answered_in_the_error_format(
    server: Server, token: bool, status: int
) -> None:
    with connect(server) as sock:
        sock.sendall(
            b"GET /mcp HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            + (bearer_header() if token else b"")
            + b"\r\n"
        )
        response = read_until_closed(sock)  # the connection ends with the answer
    assert status_of(response) == status, response[:200]
    assert b"content-type: application/json" in head_of(response)
    body = json.loads(response.partition(b"\r\n\r\n")[2])
    assert set(body) == {"error", "code", "details"}
    assert "upgrade request" not in server.log().lower()  # no warning about a missing library


# --- clients that leave mid-request ---------------------------------------------------------

COUNTER_LINE = re.compile(
    r'^http_requests_total\{method="(\w+)",route="([^"]+)",status="(\d+)"\} (\S+)$', re.M
)


def request_counts(server: Server) -> dict[tuple[str, str, str], float]:
    """`http_requests_total` by (method, route, status), from /metrics."""
    text = httpx.get(f"{server.url}/metrics", timeout=HTTP_TIMEOUT).text
    return {(m, r, s): float(n) for m, r, s, n in COUNTER_LINE.findall(text)}


# (method, path, route label, content type) of routes that read a body, /mcp included.
BODY_ROUTES = [
    ("POST", "/api/tasks", "/api/tasks", "application/json"),
    ("POST", "/api/tasks/bulk", "/api/tasks/bulk", "application/json"),
    ("POST", "/api/lists", "/api/lists", "application/json"),
    ("POST", "/api/auth/login", "/api/auth/login", "application/json"),
    ("POST", "/api/auth/token", "/api/auth/token", "application/x-www-form-urlencoded"),
    ("POST", "/mcp", "/mcp", "application/json"),
]


def test_a_client_that_leaves_mid_body_is_counted_499_on_every_route(server: Server) -> None:
    before = request_counts(server)
    for method, path, _, content_type in BODY_ROUTES:
        with connect(server) as sock:
            sock.sendall(
                f"{method} {path} HTTP/1.1\r\nHost: t\r\nContent-Type: {content_type}\r\n"
                "Accept: application/json, text/event-stream\r\nContent-Length: 1000\r\n".encode()
                + bearer_header()
                + b'\r\n{"ti'
            )
    expected = {(method, route, "499") for method, _, route, _ in BODY_ROUTES}
    deadline = time.monotonic() + LOG_WAIT
    while True:
        after = request_counts(server)
        counted = {key for key in expected if after.get(key, 0) > before.get(key, 0)}
        if counted == expected or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert counted == expected
    failures = [key for key in after if key[2].startswith("5") and after[key] > before.get(key, 0)]
    assert failures == []
    assert "Traceback" not in server.log()


# --- request bodies: time ---------------------------------------------------------------------


def test_a_client_that_stops_halfway_through_its_body_is_answered_408(server: Server) -> None:
    marker = uuid.uuid4().hex
    with connect(server) as sock:
        sock.sendall(
            b"POST /api/tasks HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            + bearer_header()
            + b'X-Request-Id: %s\r\nContent-Length: 100\r\n\r\n{"title": ' % marker.encode()
        )
        response = read_until_closed(sock)  # returns: the server closed the connection
    assert status_of(response) == 408
    assert b'"code": "INVALID_REQUEST"' in response
    assert b"x-content-type-options: nosniff" in head_of(response)
    # The route that was waiting for the body is logged as abandoned, not as a failure.
    deadline = time.monotonic() + LOG_WAIT
    while not (lines := [line for line in server.log().splitlines() if marker in line]):
        assert time.monotonic() < deadline, "the request was not logged"
        time.sleep(0.05)
    assert "POST /api/tasks 499" in lines[0]
    assert "unhandled error" not in server.log()


def test_a_client_that_trickles_its_body_is_answered_408(server: Server) -> None:
    """A byte now and then does not keep the connection: the time counts from the headers."""
    closed = threading.Event()
    with connect(server) as sock:
        sock.sendall(
            b"POST /api/tasks HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            + bearer_header()
            + b"Content-Length: 1000\r\n\r\n"
        )

        def trickle() -> None:
            with suppress(OSError):
                for byte in b'{"title": "' + b"s" * 1000:
                    if closed.wait(0.1):
                        return
                    sock.send(bytes([byte]))

        sender = threading.Thread(target=trickle)
        sender.start()
        response = read_until_closed(sock)
        closed.set()
        sender.join(timeout=10)
    assert status_of(response) == 408


def test_a_body_sent_after_the_answer_cannot_hold_the_connection(server: Server) -> None:
    """Answered 401 before its body is read; the body never finishes: the connection ends."""
    with connect(server) as sock:
        sock.sendall(
            b"POST /api/tasks HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        response = read_until_closed(sock)
    assert status_of(response) == 401
    assert response.count(b"HTTP/1.1 ") == 1


# --- pipelining and clients that do not read ----------------------------------------------

HEALTH = b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n"
MIB = 1024 * 1024


def resident_bytes(server: Server) -> int:
    """The server process's resident memory (Linux)."""
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(kib) * 1024


def unread_connection(server: Server) -> socket.socket:
    """A connection whose client reads nothing: its receive window stays small."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(SOCKET_TIMEOUT)
    sock.connect(("127.0.0.1", server.port))
    return sock


def send_until_blocked(sock: socket.socket, data: bytes) -> int:
    """Sends what the connection takes within a second of blocking; returns how much."""
    sock.settimeout(1.0)
    sent = 0
    with suppress(TimeoutError):
        while sent < len(data):
            sent += sock.send(data[sent : sent + 65536])
    sock.settimeout(SOCKET_TIMEOUT)
    return sent


def test_a_client_that_pipelines_without_reading_is_not_read_further(server: Server) -> None:
    """4 MB of requests whose answers are never read: the server's memory stays put, and the
    client leaving (with answers unread: a reset) logs no error."""
    before = resident_bytes(server)
    with unread_connection(server) as sock:
        sent = send_until_blocked(sock, HEALTH * (4 * MIB // len(HEALTH)))
        peak = before
        for _ in range(20):  # what a server that parses it all would grow to meanwhile
            peak = max(peak, resident_bytes(server))
            time.sleep(0.1)
    assert sent > MIB  # the kernel's buffers took plenty: the server could have read it all
    assert peak - before < 32 * MIB
    assert httpx.get(f"{server.url}/health", timeout=HTTP_TIMEOUT).status_code == 200
    assert "Traceback" not in server.log()


def test_a_pipelining_client_that_reads_gets_every_answer_in_order(server: Server) -> None:
    """2 000 requests in one send (many parse slices): each is answered, once, in order."""
    requests = [b"GET /health?n=%d HTTP/1.1\r\nHost: t\r\n\r\n" % i for i in range(1999)]
    last = b"GET /no/such/route HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    with connect(server) as sock:
        sock.sendall(b"".join(requests) + last)
        responses = read_until_closed(sock)
    assert responses.count(b"HTTP/1.1 200 OK") == 1999
    assert responses.count(b"HTTP/1.1 ") == 2000
    assert responses.rindex(b"HTTP/1.1 200 OK") < responses.index(b"HTTP/1.1 404 ")


def test_an_answer_the_client_does_not_read_drops_the_connection(server: Server) -> None:
    """Answers of 80 KB each, pipelined and never read: once the server's buffers stay full
    for the send timeout, the connection is dropped (not kept, holding the answers)."""
    count = 200
    with unread_connection(server) as sock:
        send_until_blocked(sock, b"GET /openapi.json HTTP/1.1\r\nHost: t\r\n\r\n" * count)
        time.sleep(SEND_TIMEOUT * 3)
        received = read_until_closed(sock)
    assert received.count(b"HTTP/1.1 200 OK") < count
    assert "its answer could not be sent" in server.log()
    assert "Traceback" not in server.log()


# --- forwarded addresses -----------------------------------------------------------------------


def failed_logins(server: Server, count: int) -> list[int]:
    """Wrong logins, each for a new email and each claiming another forwarded address."""
    statuses = []
    with httpx.Client(base_url=server.url, timeout=HTTP_TIMEOUT) as client:
        for i in range(count):
            response = client.post(
                "/api/auth/login",
                json={"email": f"nobody-{uuid.uuid4().hex}@example.com", "password": "wrong pass"},
                headers={"X-Forwarded-For": f"198.51.100.{i + 1}", "X-Forwarded-Proto": "https"},
            )
            statuses.append(response.status_code)
    return statuses


def test_forwarded_for_from_an_untrusted_peer_does_not_change_the_client(server: Server) -> None:
    assert failed_logins(server, ATTEMPTS + 1) == [401] * ATTEMPTS + [429]


def test_forwarded_for_from_a_trusted_proxy_is_the_client(proxied_server: Server) -> None:
    assert failed_logins(proxied_server, ATTEMPTS + 1) == [401] * (ATTEMPTS + 1)


# --- Host and the log ------------------------------------------------------------------------


def test_the_host_header_comes_back_in_no_header(server: Server) -> None:
    for path in ("/api/tasks/", "/api/tasks", "/no/such/route/", "/health"):
        response = httpx.get(
            f"{server.url}{path}", headers={"Host": "evil.example"}, timeout=HTTP_TIMEOUT
        )
        assert not any("evil.example" in value for value in response.headers.values()), path
    redirect = httpx.get(f"{server.url}/api/tasks/", timeout=HTTP_TIMEOUT)
    assert (redirect.status_code, redirect.headers["location"]) == (307, "/api/tasks")


def test_a_forged_line_in_the_path_stays_inside_its_own_log_line(server: Server) -> None:
    marker = uuid.uuid4().hex
    httpx.get(f"{server.url}/api/tasks/%0d%0aFORGED-{marker}", timeout=HTTP_TIMEOUT)
    deadline = time.monotonic() + LOG_WAIT
    while not (lines := [line for line in server.log().splitlines() if marker in line]):
        assert time.monotonic() < deadline, "the request was not logged"
        time.sleep(0.05)
    assert len(lines) == 1
    assert "todo_api.request GET /api/tasks/\\r\\nFORGED-" in lines[0]
