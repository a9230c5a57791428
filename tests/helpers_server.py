"""Run the installed `todo-api` program as a real process: the CLI, and a server on a free port.

Every process gets a controlled environment (only what a shell needs plus what the test
passes) and a working directory of the test's choosing, so no `.env`, `./data/` or variable of
the developer's leaks in. Every wait is bounded.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.forking import ForkedProcess, fork_todo_api
from todo_api.auth.tokens import mint_token
from todo_api.config import MIN_HASH_ITERATIONS, MIN_HASH_MEMORY_KIB, Settings

BIN_DIR = Path(sys.executable).parent
TODO_API = str(BIN_DIR / "todo-api")
# Kept from the parent environment: what a process needs to run, nothing the service reads.
_PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
# Password hashes at the lowest cost the service takes, as the tests' in-process apps have them
# (tests.support.CHEAPEST_HASHES says why); the benchmarks take them out.
CHEAPEST_HASHES_ENV = {
    "PASSWORD_HASH_MEMORY_KIB": str(MIN_HASH_MEMORY_KIB),
    "PASSWORD_HASH_ITERATIONS": str(MIN_HASH_ITERATIONS),
}

STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
CLI_TIMEOUT = 60.0
LOG_LINES_ON_FAILURE = 80  # of a server's log, printed when its test fails
# How long a test asks the change feed again for what it expects: PostgreSQL's feed holds back
# changes while an older transaction anywhere on the database server runs, and a shared server
# may run long ones.
FEED_WAIT_SECONDS = 30.0


def clean_env(**values: str) -> dict[str, str]:
    """A minimal environment plus `values` (DATABASE_URL, JWT_SECRET, ENV, ...): password
    hashes at the lowest cost the service takes (CHEAPEST_HASHES_ENV)."""
    env = {name: os.environ[name] for name in _PASSED_THROUGH if name in os.environ}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(CHEAPEST_HASHES_ENV)
    env.update(values)
    return env


def run_command(
    command: list[str], *, env: dict[str, str], cwd: Path, timeout: float = CLI_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """A command, waited for, with its output captured as text (its exit status not checked)."""
    return subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def run_cli(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = CLI_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """`todo-api ARGS...`, waited for, with its output captured."""
    return run_command([TODO_API, *args], env=env, cwd=cwd, timeout=timeout)


def cli_token(env: dict[str, str], cwd: Path, sub: str, email: str | None = None) -> str:
    """What `todo-api token` prints in `cwd` (where it finds a development secret)."""
    args = ["token", "--sub", sub] + (["--email", email] if email else [])
    result = run_cli(*args, env=env, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def server_token(env: dict[str, str], sub: str, email: str | None = None) -> str:
    """A token that a server started with `env` (its JWT_SECRET) accepts: what `todo-api
    token` would print, minted here rather than by a process that costs a second or two of
    CPU to start (tests/test_cli.py runs the command itself)."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        jwt_secret=env["JWT_SECRET"],
        jwt_issuer=env.get("JWT_ISSUER"),
        jwt_audience=env.get("JWT_AUDIENCE"),
    )
    return mint_token(settings, subject=sub, email=email)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# A server's process: a program (`subprocess.Popen`) or forked (tests/forking.py).
Process = subprocess.Popen[bytes] | ForkedProcess


@dataclass
class Server:
    process: Process
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not gone within STOP_TIMEOUT."""
        if self.process.poll() is not None:
            return
        with suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)


def start_server(cwd: Path, env: dict[str, str], log_path: Path, port: int | None = None) -> Server:
    """`todo-api serve` on `port` (default: a free one); returns once /health answers 200 (or
    raises)."""
    server = launch_server(cwd, env, log_path, port)
    wait_until_healthy(server)
    return server


def launch_server(
    cwd: Path,
    env: dict[str, str],
    log_path: Path,
    port: int | None = None,
    *,
    program: Sequence[str] = (TODO_API,),
    args: Sequence[str] = (),
) -> Server:
    """`todo-api serve` on `port` (default: a free one), started and not waited for. `program`
    runs instead of `todo-api` (another release's: `python -m todo_api`); `args` go after
    `serve`'s own (`--workers 2`)."""
    port = port or free_port()
    # make test's processes each start servers on one PostgreSQL (100 connections): a pool of
    # 5 serves a test's requests, unless the test sets its own.
    env = {"DATABASE_POOL_SIZE": "5", **env}
    command = [*program, "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    process: Process
    if tuple(program) == (TODO_API,) and not args and "PYTEST_CURRENT_TEST" in os.environ:
        # In a test, the installed program's own `main`, forked from a process that has
        # imported it (tests/forking.py); other releases, worker processes and the benchmarks'
        # servers (whose memory and CPU they read) start as programs.
        process = fork_todo_api(command, env, cwd, log_path)
    else:
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                command,
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
    return Server(process=process, port=port, log_path=log_path)


def wait_until_healthy(server: Server, timeout: float = STARTUP_TIMEOUT) -> None:
    """Until /health answers 200; stops the server and raises if it does not, or exits."""
    try:
        _wait_until_healthy(server, timeout)
    except BaseException:
        server.stop()
        raise


def _wait_until_healthy(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(
                f"the server exited with {server.process.returncode}:\n{server.log()}"
            )
        with suppress(httpx.TransportError):
            if httpx.get(f"{server.url}/health", timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError(f"/health did not answer within {timeout} s:\n{server.log()}")


def poll_feed(client: httpx.Client, since: str | None, wait_for: set[str]) -> dict[str, Any]:
    """The change feed (200 expected), asked again for a few seconds until it shows every id
    of `wait_for`: PostgreSQL's feed holds back changes while an older transaction anywhere on
    the database server is still running."""
    params = {"since": since} if since else {}
    deadline = time.monotonic() + FEED_WAIT_SECONDS
    while True:
        response = client.get("/api/tasks/changes", params=params)
        assert response.status_code == 200, response.text
        feed: dict[str, Any] = response.json()
        seen = {task["id"] for task in feed["changes"]} | set(feed["deleted"])
        if wait_for <= seen or time.monotonic() > deadline:
            return feed
        time.sleep(0.05)


@contextmanager
def node_running(
    folder: Path, *args: str, ready: str, name: str, timeout: float = 30.0
) -> Iterator[subprocess.Popen[str]]:
    """`node *args` in `folder` (a test's JavaScript server), once it prints a line starting
    with `ready`; always stopped afterwards."""
    process = subprocess.Popen(
        ["node", *args],
        cwd=folder,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline and not line.startswith(ready):
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                raise AssertionError(f"{name} exited with {process.returncode}")
        assert line.startswith(ready), f"{name} did not start"
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def running_server(
    cwd: Path, env: dict[str, str], log_path: Path, port: int | None = None
) -> Iterator[Server]:
    """A started server that is always stopped afterwards, whatever the test did."""
    with started(launch_server(cwd, env, log_path, port)) as server:
        yield server


@contextmanager
def started(server: Server) -> Iterator[Server]:
    """A launched server (`launch_server`) once /health answers 200, always stopped
    afterwards, whatever the test did."""
    wait_until_healthy(server)
    try:
        yield server
    except BaseException:
        # A failing test shows what its server said (pytest prints a failure's output), once
        # what it was doing has had a moment to reach its log.
        time.sleep(1)
        status = server.process.poll()
        state = "still running" if status is None else f"ended with status {status}"
        print(f"--- the server ({state}): the last lines of {server.log_path}:")
        print("\n".join(server.log().splitlines()[-LOG_LINES_ON_FAILURE:]))
        raise
    finally:
        server.stop()


@contextmanager
def all_started(servers: Sequence[Server]) -> Iterator[list[Server]]:
    """Servers launched side by side (`launch_server`: their starts overlap) once each answers
    /health, all stopped afterwards, whatever the test did. On a database that may be new,
    migrate first (`upgrade_to_head`): the first one started would do it."""
    with ExitStack() as stack:
        for server in servers:
            stack.callback(server.stop)
        yield [stack.enter_context(started(server)) for server in servers]


# --- PgBouncer --------------------------------------------------------------------------------

PGBOUNCER_CANDIDATES = ("pgbouncer", "/usr/sbin/pgbouncer")


def pgbouncer_binary() -> str | None:
    """Debian's pgbouncer (installed by scripts/setup-ci.sh), or None."""
    for candidate in PGBOUNCER_CANDIDATES:
        if found := shutil.which(candidate):
            return found
    return None


@dataclass
class PgBouncer:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@contextmanager
def running_pgbouncer(
    binary: str, folder: Path, server_host: str, server_port: int, port: int | None = None
) -> Iterator[PgBouncer]:
    """pgbouncer in transaction mode (Neon's pooled URLs work so), trusting every local user,
    on `port` (default: a free one) in front of the PostgreSQL at server_host:server_port;
    stopped afterwards."""
    port = port or free_port()
    config = folder / "pgbouncer.ini"
    config.write_text(
        "[databases]\n"
        f"* = host={server_host} port={server_port}\n"
        "[pgbouncer]\n"
        "listen_addr = 127.0.0.1\n"
        f"listen_port = {port}\n"
        "unix_socket_dir =\n"
        "auth_type = trust\n"
        f"auth_file = {folder / 'userlist.txt'}\n"
        "pool_mode = transaction\n"
        "max_client_conn = 1000\n"
        "default_pool_size = 20\n"
        # asyncpg and libpq send these at connect; pgbouncer refuses what it does not know.
        "ignore_startup_parameters = extra_float_digits,options\n"
        "logfile =\n"  # to stderr, into log_path (opened here, whichever user it runs as)
        "pidfile =\n"
    )
    (folder / "userlist.txt").write_text('"postgres" ""\n')
    # pgbouncer refuses to run as root: it reads its files first, then becomes postgres.
    as_user = ["-u", "postgres"] if os.geteuid() == 0 else []
    log_path = folder / "pgbouncer.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [binary, *as_user, str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    bouncer = PgBouncer(process=process, port=port, log_path=log_path)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while "listening on" not in bouncer.log():
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"pgbouncer did not start:\n{bouncer.log()}")
            time.sleep(0.05)
        yield bouncer
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a reset counts as closed)."""
    received = b""
    with suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            received += chunk
    return received


def status_of(response: bytes) -> int:
    """The status code of a raw HTTP/1.1 response."""
    return int(response.split(b" ", 2)[1])


def json_of(response: bytes) -> Any:
    """The JSON body of a raw HTTP/1.1 response read until the connection closed."""
    return json.loads(response.partition(b"\r\n\r\n")[2])
