"""Run the installed `todo-api` program as a real process: the CLI, and a server on a free port.

Every process gets a controlled environment (only what a shell needs plus what the test
passes) and a working directory of the test's choosing, so no `.env`, `./data/` or variable of
the developer's leaks in. Every wait is bounded.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx

BIN_DIR = Path(sys.executable).parent
TODO_API = str(BIN_DIR / "todo-api")
# Kept from the parent environment: what a process needs to run, nothing the service reads.
_PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")

STARTUP_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
CLI_TIMEOUT = 60.0


def clean_env(**values: str) -> dict[str, str]:
    """A minimal environment plus `values` (DATABASE_URL, JWT_SECRET, ENV, ...)."""
    env = {name: os.environ[name] for name in _PASSED_THROUGH if name in os.environ}
    env["PYTHONUNBUFFERED"] = "1"
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
    args = ["token", "--sub", sub] + (["--email", email] if email else [])
    result = run_cli(*args, env=env, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
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


def start_server(cwd: Path, env: dict[str, str], log_path: Path) -> Server:
    """`todo-api serve` on a free port; returns once /health answers 200 (or raises)."""
    port = free_port()
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [TODO_API, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(process=process, port=port, log_path=log_path)
    try:
        _wait_until_healthy(server)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_until_healthy(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(
                f"the server exited with {server.process.returncode}:\n{server.log()}"
            )
        with suppress(httpx.TransportError):
            if httpx.get(f"{server.url}/health", timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError(f"/health did not answer within {STARTUP_TIMEOUT} s:\n{server.log()}")


@contextmanager
def running_server(cwd: Path, env: dict[str, str], log_path: Path) -> Iterator[Server]:
    """A started server that is always stopped afterwards, whatever the test did."""
    server = start_server(cwd, env, log_path)
    try:
        yield server
    finally:
        server.stop()


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
