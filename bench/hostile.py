"""How long a concurrent `GET /health` waits while one hostile request is under way.

    .venv/bin/python bench/hostile.py                      # both databases, 3 rounds
    .venv/bin/python bench/hostile.py --databases sqlite --rounds 1

The goal (issue 9): no request below holds a concurrent GET /health up by more than 300 ms.
For each database this script starts `todo-api serve --workers 1` on a free port (PostgreSQL:
a database with a random name on 127.0.0.1, dropped at the end; SQLite: a file in a temporary
folder), with REQUEST_HEADER_TIMEOUT_SECONDS and REQUEST_BODY_TIMEOUT_SECONDS of --timeout
(2 s, to keep the slow clients short) and everything else at its default. A prober thread sends
GET /health on one kept-alive connection every --interval seconds; each attack runs in the
main thread from its first byte to the server's answer (or close), and the report gives the
attack's answer and time, and the probes' median and worst wait during it. "quiet" is the same
window with no attack: the machine's own noise.

Every socket wait is bounded by --socket-timeout; the whole run by --max-seconds.
"""

import argparse
import json
import multiprocessing
import socket
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from benchlib import (
    db_url,
    exit_cleanly_on_sigterm,
    free_port,
    log,
    machine_summary,
    new_secret,
    running_server,
    scratch_database,
    serve_argv,
    service_env,
    source_summary,
    token_for,
    work_dir,
)

GOAL_MS = 300.0
MIB = 1024 * 1024
Attack = Callable[[], str]  # sends one hostile request; returns what the server answered


@dataclass
class Target:
    port: int
    token: str
    socket_timeout: float
    slow_seconds: float  # how long a slow client keeps trickling (past the server's timeouts)


# --- the attacks: each returns what the server answered -----------------------------------------


def _connect(target: Target) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", target.port), timeout=target.socket_timeout)
    sock.settimeout(target.socket_timeout)
    return sock


def _answer(sock: socket.socket) -> str:
    """The status line of what the server sends (or how the connection ended)."""
    received = b""
    with suppress(ConnectionResetError, TimeoutError, OSError):
        while b"\r\n" not in received and (chunk := sock.recv(65536)):
            received += chunk
    line = received.split(b"\r\n", 1)[0].decode("latin-1")
    return line.removeprefix("HTTP/1.1 ") or "closed"


def _request(target: Target, head: bytes, body: bytes = b"", chunk: int = MIB) -> str:
    """Sends the head and the body (until the server stops reading), then reads the answer."""
    with _connect(target) as sock:
        with suppress(OSError):
            sock.sendall(head)
            for start in range(0, len(body), chunk):
                sock.sendall(body[start : start + chunk])
        return _answer(sock)


def _post(path: str, body: bytes, *, token: str | None, length: int | None = None) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    head += f"Content-Length: {len(body) if length is None else length}\r\n\r\n"
    return head.encode()


def _unknown_keys(count: int) -> bytes:
    return b"{" + b",".join(b'"k%07d":0' % i for i in range(count)) + b"}"  # 13 bytes a key


def _sender(path: str, body: bytes, *, with_token: bool) -> Callable[[Target], Attack]:
    def prepare(target: Target) -> Attack:
        head = _post(path, body, token=target.token if with_token else None)
        return lambda: _request(target, head, body)

    return prepare


def _at_once(times: int, prepare: Callable[[Target], Attack]) -> Callable[[Target], Attack]:
    def prepare_all(target: Target) -> Attack:
        attacks = [prepare(target) for _ in range(times)]

        def run() -> str:
            answers: list[str] = []
            threads = [threading.Thread(target=lambda a=a: answers.append(a())) for a in attacks]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(target.socket_timeout * 2)
            return ", ".join(sorted(set(answers)))

        return run

    return prepare_all


def _raw(head: bytes) -> Callable[[Target], Attack]:
    return lambda target: lambda: _request(target, head)


NEVER_RECURS = json.dumps(
    {
        "title": "Never again",
        "due_at": "0001-01-01T00:00:00Z",
        "recurrence": "FREQ=DAILY;INTERVAL=7;BYDAY=TU",
    }
).encode()
HUNDRED_MB = b"x" * (100 * MIB)


def _trickle(target: Target, head: bytes, trickled: bytes) -> str:
    """Sends `head`, then a byte of `trickled` every 100 ms until the server answers or closes
    (or slow_seconds pass), then reads the answer."""
    with _connect(target) as sock:
        sock.sendall(head)
        sock.settimeout(0.1)
        deadline = time.monotonic() + target.slow_seconds
        answer = b""
        for byte in trickled:
            if time.monotonic() > deadline:
                break
            try:
                answer = sock.recv(65536)
                break  # the server answered, or closed (b"")
            except TimeoutError:
                pass
            except OSError:
                break
            with suppress(OSError):
                sock.send(bytes([byte]))
        sock.settimeout(target.socket_timeout)
        if answer:
            return answer.split(b"\r\n", 1)[0].decode("latin-1").removeprefix("HTTP/1.1 ")
        return _answer(sock)


def _slow(head: bytes, trickled: bytes, *, with_token: bool) -> Callable[[Target], Attack]:
    def prepare(target: Target) -> Attack:
        auth = f"Authorization: Bearer {target.token}\r\n".encode() if with_token else b""
        return lambda: _trickle(target, head + auth, trickled)

    return prepare


def _pipelined_unread(connections: int, megabytes: int) -> Callable[[Target], Attack]:
    """`connections` clients, each writing `megabytes` of back-to-back GET /health and reading
    none of the answers: each sends until the server stops taking more, then all leave."""
    payload = b"GET /health HTTP/1.1\r\nHost: bench\r\n\r\n" * (megabytes * MIB // 37)

    def prepare(target: Target) -> Attack:
        def run() -> str:
            socks: list[socket.socket] = []
            taken = 0
            try:
                for _ in range(connections):
                    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    socks.append(sock)
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                    sock.settimeout(target.socket_timeout)
                    sock.connect(("127.0.0.1", target.port))
                    sock.settimeout(1.0)  # a second without progress: the server stopped reading
                    sent = 0
                    with suppress(OSError):
                        while sent < len(payload):
                            sent += sock.send(payload[sent : sent + MIB])
                    taken += sent
            finally:
                for sock in socks:
                    sock.close()
            return f"{taken / MIB:.0f} of {connections * megabytes} MB taken, no answer read"

        return run

    return prepare


def _quiet(target: Target) -> Attack:
    def run() -> str:
        time.sleep(1.0)
        return "-"

    return run


# Each entry prepares its request (payloads are built before the clock starts), then sends it.
ATTACKS: list[tuple[str, Callable[[Target], Attack]]] = [
    ("quiet (no attack, 1 s)", _quiet),
    (
        "login, 1 MiB of unknown keys (no token)",
        _sender("/api/auth/login", _unknown_keys((MIB - 1024) // 13), with_token=False),
    ),
    (
        "login, 1 000 000 unknown keys, 13 MB (no token)",
        _sender("/api/auth/login", _unknown_keys(1_000_000), with_token=False),
    ),
    (
        'create, "tags": [1, 1, ...] in 1 MiB',
        _sender(
            "/api/tasks",
            b'{"title": "t", "tags": [' + b",".join([b"1"] * (MIB // 2 - 64)) + b"]}",
            with_token=True,
        ),
    ),
    ("create, 100 MB body", _sender("/api/tasks", HUNDRED_MB, with_token=True)),
    (
        "create, six 100 MB bodies at once",
        _at_once(6, _sender("/api/tasks", HUNDRED_MB, with_token=True)),
    ),
    (
        "50 MB header",
        _raw(b"GET /api/tasks HTTP/1.1\r\nX-Big: " + b"a" * (50 * MIB) + b"\r\n\r\n"),
    ),
    (
        "create, a rule that never recurs (due 0001-01-01)",
        _sender("/api/tasks", NEVER_RECURS, with_token=True),
    ),
    ("pipelining, 5 connections x 10 MB, answers never read", _pipelined_unread(5, 10)),
    (
        "slow client: headers, a byte per 100 ms",
        _slow(b"GET /health HTTP/1.1\r\n", b"X-Slow: " + b"s" * 10_000, with_token=False),
    ),
    (
        "slow client: body, a byte per 100 ms",
        _slow(
            b"POST /api/tasks HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            b"Content-Length: 10000\r\n",
            b'\r\n{"title": "' + b"s" * 10_000,
            with_token=True,
        ),
    ),
]


# --- the prober ---------------------------------------------------------------------------------


def _probe(url: str, interval: float, timeout: float, stop: Any, out: Any) -> None:
    """The prober's process: its own interpreter, so that the attacks' work in this one (and
    its GIL) never shows in the waits."""
    waits: list[tuple[float, float, bool]] = []
    with httpx.Client(base_url=url, timeout=timeout) as client:
        while not stop.is_set():
            started = time.monotonic()  # CLOCK_MONOTONIC: the same clock in every process
            try:
                ok = client.get("/health").status_code == 200
            except httpx.HTTPError:
                ok = False
            waits.append((started, time.monotonic() - started, ok))
            stop.wait(interval)
    out.send(waits)


class Prober:
    """GET /health every `interval` seconds on one kept-alive connection, from another
    process; each wait is kept with when it started."""

    def __init__(self, url: str, interval: float, timeout: float) -> None:
        self._stop = multiprocessing.Event()
        self._receive, send = multiprocessing.Pipe(duplex=False)
        self._process = multiprocessing.Process(
            target=_probe, args=(url, interval, timeout, self._stop, send), daemon=True
        )
        self.waits: list[tuple[float, float, bool]] = []

    def between(self, start: float, end: float) -> list[float]:
        """The waits of the probes that were under way at some point in [start, end]."""
        return [wait for began, wait, _ in self.waits if began <= end and began + wait >= start]

    @property
    def failures(self) -> int:
        return sum(not ok for _, _, ok in self.waits)

    def __enter__(self) -> "Prober":
        self._process.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._receive.poll(30):
            self.waits = self._receive.recv()
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()


# --- running it -----------------------------------------------------------------------------


@dataclass
class Row:
    attack: str
    answer: str
    seconds: float
    probes: int
    median_ms: float
    worst_ms: float


@dataclass
class Window:
    attack: str
    answer: str
    start: float
    end: float


def attack_all(target: Target, rounds: int) -> list[Window]:
    windows = []
    for name, attack in ATTACKS:
        for _ in range(rounds):
            send = attack(target)
            time.sleep(0.3)  # the previous attack's connections settle
            start = time.monotonic()
            answer = send()
            end = time.monotonic()
            windows.append(Window(name, answer, start, end))
            log(f"{name}: {answer} in {end - start:.2f} s")
    time.sleep(0.5)  # the probe under way at the end comes back
    return windows


def rows_of(windows: list[Window], prober: Prober) -> list[Row]:
    rows = []
    for w in windows:
        waits = [wait * 1000 for wait in prober.between(w.start, w.end)] or [0.0]
        seconds = w.end - w.start
        rows.append(
            Row(w.attack, w.answer, seconds, len(waits), statistics.median(waits), max(waits))
        )
    return rows


@contextmanager
def database_url(kind: str, cwd: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{cwd}/hostile.db"
        return
    with scratch_database("bench_hostile") as name:
        yield db_url(name)


def run(kind: str, args: argparse.Namespace) -> list[Row]:
    with work_dir() as cwd, database_url(kind, cwd) as url:
        env = service_env(
            "unused",
            new_secret(),
            DATABASE_URL=url,
            LOG_LEVEL="WARNING",
            REQUEST_HEADER_TIMEOUT_SECONDS=str(args.timeout),
            REQUEST_BODY_TIMEOUT_SECONDS=str(args.timeout),
        )
        token = token_for(str(uuid.uuid4()), env, cwd)
        port = free_port()
        with running_server(f"todo-api-{kind}", serve_argv(port), env, cwd, port) as server:
            target = Target(port, token, args.socket_timeout, args.timeout + 2)
            with Prober(server.url, args.interval, args.socket_timeout) as prober:
                windows = attack_all(target, args.rounds)
            if prober.failures:
                log(f"{prober.failures} probes of /health failed")
            return rows_of(windows, prober)


def report(results: dict[str, list[Row]], args: argparse.Namespace) -> str:
    lines = [
        f"Source: {source_summary()}",
        f"Machine: {machine_summary()}",
        f"Probes every {args.interval * 1000:.0f} ms; timeouts {args.timeout} s; "
        f"{args.rounds} round(s); worst of the rounds shown, goal <= {GOAL_MS:.0f} ms",
        "",
    ]
    for kind, rows in results.items():
        lines += [
            f"{kind}:",
            "",
            "| request | answer | its time | /health median | /health worst | goal |",
            "|---|---|---|---|---|---|",
        ]
        for name, _ in ATTACKS:
            mine = [row for row in rows if row.attack == name]
            worst = max(mine, key=lambda row: row.worst_ms)
            answers = ", ".join(sorted({row.answer for row in mine}))
            verdict = "ok" if worst.worst_ms <= GOAL_MS else "MISSED"
            lines.append(
                f"| {name} | {answers} | {max(r.seconds for r in mine):.2f} s "
                f"| {statistics.median(r.median_ms for r in mine):.1f} ms "
                f"| {worst.worst_ms:.0f} ms | {verdict} |"
            )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--interval", type=float, default=0.02)
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--socket-timeout", type=float, default=30.0)
    parser.add_argument("--max-seconds", type=float, default=900.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    deadline = time.monotonic() + args.max_seconds
    results = {}
    for kind in args.databases.split(","):
        if time.monotonic() > deadline:
            raise SystemExit(f"--max-seconds passed before {kind}")
        results[kind] = run(kind, args)
    text = report(results, args)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
