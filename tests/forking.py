"""`todo-api` servers forked from a process that has already imported the service.

Each `todo-api serve` a test starts spends most of its start-up CPU (3 to 4 s on two busy
cores) importing the service and its libraries and loading dateparser's languages, the same
work every time. A test process therefore starts one helper, this module run as a program,
which does that work once and then forks a child for each server asked of it: the child sets
the test's environment, working directory and log, and runs the same `todo_api.cli.main` that
the installed `todo-api` program runs, in a process of its own (its own pid, signals, exit
status). `launch_server` uses it for the installed program's `serve`; another release's program
and multi-worker servers are started as programs as before.

The protocol, one JSON line each way on the helper's stdin and stdout: `{"argv", "env", "cwd",
"log"}` in, `{"pid", "id"}` out. The helper reaps its children and writes each one's exit
status (negative: the signal that ended it) to the file `<status folder>/<id>`.
"""

import atexit
import contextlib
import gc
import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

_POLL_SECONDS = 0.01


class ForkedProcess:
    """A forked server, as much of `subprocess.Popen` as the tests use."""

    def __init__(self, pid: int, status_path: Path) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._status_path = status_path

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                self.returncode = int(self._status_path.read_text())
            except (FileNotFoundError, ValueError):
                return None
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(["todo-api", str(self.pid)], timeout or 0)
            time.sleep(_POLL_SECONDS)
        return code

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:  # never a signal to a pid the system may have reused
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class _Forker:
    """The helper process of this test process, started on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._status = Path(tempfile.mkdtemp(prefix="todo-api-forks-"))
        self._helper = subprocess.Popen(
            [sys.executable, "-u", __file__, str(self._status)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        atexit.register(self.close)

    def start(self, argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> ForkedProcess:
        request = {"argv": argv, "env": env, "cwd": str(cwd), "log": str(log)}
        with self._lock:
            assert self._helper.stdin is not None
            assert self._helper.stdout is not None
            self._helper.stdin.write(json.dumps(request) + "\n")
            self._helper.stdin.flush()
            line = self._helper.stdout.readline()
        if not line:
            raise RuntimeError(f"the forking helper exited with {self._helper.poll()}")
        answer = json.loads(line)
        return ForkedProcess(answer["pid"], self._status / str(answer["id"]))

    def close(self) -> None:
        if self._helper.poll() is None:
            self._helper.terminate()  # it ends the children it still has
            self._helper.wait(timeout=30)


_forker: _Forker | None = None


def fork_todo_api(argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> ForkedProcess:
    """`todo-api ARGV` as a forked child of this test process's helper."""
    global _forker
    if _forker is None:
        _forker = _Forker()
    return _forker.start(argv, env, cwd, log)


# --- the helper ----------------------------------------------------------------------------------


def _prepare() -> None:
    """What every `todo-api serve` would otherwise do at its start: the imports (the app's
    modules, uvicorn, the protocol, the migrations and alembic, which they import when they
    run) and dateparser's languages."""
    for name in (
        "alembic.command",
        "alembic.config",
        "alembic.runtime.migration",
        "alembic.script",
        "uvicorn",
        "uvloop",
        "todo_api.app",
        "todo_api.cli",
        "todo_api.edge.protocol",
        "todo_api.migrations",
        "todo_api.process.logs",
        "todo_api.process.shutdown",
    ):
        importlib.import_module(name)
    from todo_api.words.reader import prepare

    prepare()
    # What every child inherits stays out of its garbage collector's passes (and its pages
    # shared with this process: a pass would write to every object it walks).
    gc.collect()
    gc.freeze()


def _child(request: dict[str, Any]) -> None:
    """In the forked child: become `todo-api ARGV` run in the test's environment, then exit."""
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL if sig != signal.SIGINT else signal.default_int_handler)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    time.tzset()
    log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdin = open(0)  # noqa: SIM115 - the process's own, for its lifetime
    sys.stdout = open(1, "w", buffering=1)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1)  # noqa: SIM115
    sys.argv = request["argv"]

    from todo_api.cli import main

    # Ends the process as the program would: SystemExit runs threading's and atexit's shutdown.
    raise SystemExit(main(request["argv"][1:]))


def _serve(status: Path) -> None:
    children: dict[int, int] = {}

    def reap(*_: object) -> None:
        while children:
            try:
                pid, wait_status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            code = os.waitstatus_to_exitcode(wait_status)
            done = status / f"{children.pop(pid)}.tmp"
            done.write_text(str(code))
            done.rename(done.with_suffix(""))

    def end(*_: object) -> None:
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        os._exit(0)

    signal.signal(signal.SIGTERM, end)
    signal.signal(signal.SIGCHLD, reap)
    for count, line in enumerate(sys.stdin, start=1):
        request = json.loads(line)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
        pid = os.fork()
        if pid == 0:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
            _child(request)
        children[pid] = count
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        os.write(1, (json.dumps({"pid": pid, "id": count}) + "\n").encode())
    end()


if __name__ == "__main__":
    _prepare()
    _serve(Path(sys.argv[1]))
