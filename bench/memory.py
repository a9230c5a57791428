"""Resident memory of one todo-api worker under a long run of mixed requests.

    .venv/bin/python bench/memory.py                          # 20 000 requests, drop the db
    .venv/bin/python bench/memory.py --requests 40000 --checkpoints 5000,10000,20000,40000
    .venv/bin/python bench/memory.py --pages                  # the web app's sign-in page too
    .venv/bin/python bench/memory.py --imports-only --modules # a fresh import only, by package

DESIGN.md's budget: one worker stays at or under 150 MB, and flat; at rest (before its first
request) within 100 MB, its imports within 1.5 s. First, a fresh interpreter imports the
service and makes its app three times: the CPU that took (user and system, about its time on
a quiet machine, and steadier than the clock on a busy one), its VmRSS then, and which of
the libraries that only some deployments use it loaded (none, if each waits for its first
use: tests/test_lean_start.py holds that); with --modules (and --imports-only), the resident
memory each package's own import took, the service's by sub-package; with --without-dev-tools,
as in an image built from requirements.lock (the dev tools' rich and pygments, which httpx
imports when present, absent). Then the script creates a PostgreSQL database with a random
name on 127.0.0.1, migrates and seeds it (a user with 1 000
tasks among --bulk-tasks others), starts `todo-api serve --workers 1` as configured by default
on a free port, and sends --requests requests from --concurrency concurrent httpx clients,
each going round list 50 (the 1 000-task user), create, get, PATCH, complete and delete (a
task of its own, so that the table does not grow). It reads the server's VmRSS (the server and
its children, /proc/<pid>/status) at start and at each checkpoint, with VmHWM (the peak).
With --pages, each client's round also fetches the web app's sign-in page (`GET /app/signin`,
public), in the next of the seven languages each time (`Accept-Language`): the same process
serves /app/, whose templates and catalogs are loaded on first use.
Any unexpected status stops the script. The database is dropped at the end, also on failure.
"""

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from benchlib import (
    BENCH_SRC,
    SMALL_USER,
    WRITER_USER,
    exit_cleanly_on_sigterm,
    free_port,
    log,
    machine_summary,
    migrate,
    new_secret,
    rss_mb,
    running_server,
    scratch_database,
    seed,
    serve_argv,
    service_env,
    source_summary,
    token_for,
    work_dir,
)

LIMIT_MB = 150.0
STEPS = ("list", "create", "get", "patch", "complete", "delete")
PAGE_STEP = "page"  # with --pages: the web app's sign-in page, in each language in turn
LANGUAGES = ("en", "de", "fr", "es", "it", "pt", "nl")
REQUEST_TIMEOUT = 10.0


# What a fresh interpreter does at a worker's start: the imports and the app. With
# --without-dev-tools, the packages that only requirements-dev.lock installs and that a library
# of the service imports when present (httpx's optional command line: rich, pygments) are
# absent, as in an image built from requirements.lock.
_DEV_ONLY = ("rich", "pygments")
_HIDE = """
import sys
class _Absent:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {hidden!r}:
            raise ImportError(name)
sys.meta_path.insert(0, _Absent())
"""
_IMPORT = """
import json, sys
from todo_api.app import create_app
from todo_api.config import Settings
create_app(Settings(_env_file=None, database_url="sqlite:///unused.db", jwt_secret="x" * 40))
rss = int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) / 1024
few = ("mcp", "pywebpush", "aiohttp", "PIL", "aiobotocore", "authlib", "aiosmtpd", "alembic",
       "webauthn", "segno", "puremagic", "aiosmtplib")
print(json.dumps({"rss": rss, "loaded": [m for m in few if m in sys.modules]}))
"""
# The same, with the resident memory each module's own execution added (its imports' apart),
# summed by top-level package (the service's by its sub-package): where the megabytes are.
_BY_MODULE = """
import collections, importlib.abc, json, sys
def _rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096
own = collections.Counter()
under = []
class _Measured(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is None:
                continue
            run = getattr(spec.loader, "exec_module", None)
            if run is not None:
                def exec_module(module, run=run, name=name):
                    start = _rss()
                    under.append(0)
                    try:
                        run(module)
                    finally:
                        inner, grown = under.pop(), _rss() - start
                        own[name] += grown - inner
                        if under:
                            under[-1] += grown
                try:
                    spec.loader.exec_module = exec_module
                except (AttributeError, TypeError):
                    pass
            return spec
        return None
sys.meta_path.insert(0, _Measured())
start = _rss()
from todo_api.app import create_app
from todo_api.config import Settings
create_app(Settings(_env_file=None, database_url="sqlite:///unused.db", jwt_secret="x" * 40))
by = collections.Counter()
for name, grown in own.items():
    parts = name.split(".")
    by[".".join(parts[:2]) if parts[0] == "todo_api" else parts[0]] += grown
print(json.dumps({"start": start, "end": _rss(), "by": by.most_common()}))
"""


def _python(cwd: Path, code: str, without_dev_tools: bool) -> subprocess.CompletedProcess[str]:
    prefix = _HIDE.format(hidden=_DEV_ONLY) if without_dev_tools else ""
    # The source tree measured (BENCH_SRC) for the fresh interpreter too, not the installed one.
    env = {**os.environ, "PYTHONPATH": BENCH_SRC} if BENCH_SRC else None
    return subprocess.run(
        [sys.executable, "-c", prefix + code],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )


def imports(
    cwd: Path, rounds: int = 3, without_dev_tools: bool = False
) -> tuple[float, float, list[str]]:
    """The least CPU seconds of `rounds` fresh imports, the VmRSS after the last (MB) and the
    libraries of only some deployments it holds."""
    spent = []
    for _ in range(rounds):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = _python(cwd, _IMPORT, without_dev_tools)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        spent.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    found = json.loads(done.stdout.splitlines()[-1])
    return min(spent), found["rss"], found["loaded"]


def by_module(cwd: Path, without_dev_tools: bool = False) -> str:
    """A table of the resident memory a fresh import and app take, by package (MB)."""
    found = json.loads(_python(cwd, _BY_MODULE, without_dev_tools).stdout.splitlines()[-1])
    mb = 1024 * 1024
    lines = [
        f"Interpreter {found['start'] / mb:.1f} MB, after the imports and app "
        f"{found['end'] / mb:.1f} MB (measured, so a little more than without the measuring):",
        "",
        "| package | MB |",
        "|---|---:|",
    ]
    lines += [f"| {name} | {grown / mb:.2f} |" for name, grown in found["by"] if grown >= mb / 4]
    rest = sum(grown for _, grown in found["by"] if grown < mb / 4)
    lines.append(f"| the rest, each under 0.25 MB | {rest / mb:.2f} |")
    return "\n".join(lines)


class UnexpectedAnswer(Exception):
    pass


@dataclass
class Client:
    """One simulated client: where it is in its round of steps, and its current task."""

    number: int
    step: int = 0
    task: str | None = None
    rounds: int = 0


class Load:
    def __init__(
        self, url: str, reader: str, writer: str, concurrency: int, steps: tuple[str, ...]
    ) -> None:
        self.client = httpx.AsyncClient(
            base_url=url,
            timeout=REQUEST_TIMEOUT,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )
        self.reader = {"Authorization": f"Bearer {reader}"}
        self.writer = {"Authorization": f"Bearer {writer}"}
        self.clients = [Client(n) for n in range(concurrency)]
        self.sent = 0
        self.steps = steps
        self.counts = dict.fromkeys(steps, 0)

    async def close(self) -> None:
        await self.client.aclose()

    async def one(self, state: Client) -> None:
        step = self.steps[state.step]
        n = state.number * 1_000_000 + state.rounds
        path = f"/api/tasks/{state.task}"
        if step == "list":
            answer = await self.client.get("/api/tasks", headers=self.reader)
            expected = 200
        elif step == "create":
            body = {
                "title": f"Memory check {n}",
                "description": f"Round {state.rounds} of client {state.number}",
                "priority": "low",
                "tags": ["groceries", f"client-{state.number}"],
            }
            answer = await self.client.post("/api/tasks", headers=self.writer, json=body)
            expected = 201
        elif step == "get":
            answer = await self.client.get(path, headers=self.writer)
            expected = 200
        elif step == "patch":
            change = {"priority": "high"} if n % 2 else {"title": f"Memory check {n}, renamed"}
            answer = await self.client.patch(path, headers=self.writer, json=change)
            expected = 200
        elif step == "complete":
            answer = await self.client.post(f"{path}/complete", headers=self.writer)
            expected = 200
        elif step == PAGE_STEP:
            language = LANGUAGES[(state.number + state.rounds) % len(LANGUAGES)]
            answer = await self.client.get("/app/signin", headers={"Accept-Language": language})
            expected = 200
        else:
            answer = await self.client.delete(path, headers=self.writer)
            expected = 204
        if answer.status_code != expected:
            raise UnexpectedAnswer(
                f"{step} {answer.request.method} {answer.request.url.path}: "
                f"{answer.status_code} {answer.text[:300]}"
            )
        if step == "create":
            state.task = answer.json()["id"]
        self.counts[step] += 1
        state.step = (state.step + 1) % len(self.steps)
        if state.step == 0:
            state.rounds += 1

    async def until(self, target: int, deadline: float) -> None:
        """Sends requests until `target` have been sent in all (or the deadline passes)."""

        async def worker(state: Client) -> None:
            while self.sent < target:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.sent} of {target} requests at the deadline")
                self.sent += 1
                await self.one(state)

        async with asyncio.TaskGroup() as group:
            for state in self.clients:
                group.create_task(worker(state))


async def drive(
    url: str, reader: str, writer: str, args: argparse.Namespace, pid: int
) -> list[tuple[int, float, float]]:
    readings = [(0, *rss_mb(pid))]
    deadline = time.monotonic() + args.max_seconds
    load = Load(url, reader, writer, args.concurrency, args.steps)
    try:
        for checkpoint in args.checkpoint_list:
            started = time.monotonic()
            await load.until(checkpoint, deadline)
            rss, peak = rss_mb(pid)
            readings.append((load.sent, rss, peak))
            log(
                f"{load.sent:>6} requests: VmRSS {rss:6.1f} MB, VmHWM {peak:6.1f} MB "
                f"({time.monotonic() - started:.0f} s)"
            )
    finally:
        await load.close()
    log("requests per step: " + ", ".join(f"{k} {v}" for k, v in load.counts.items()))
    return readings


def _count(n: int) -> str:
    return f"{n:,}".replace(",", " ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument(
        "--checkpoints",
        default="5000,10000,20000",
        help="comma-separated request counts at which to read the memory (the last one "
        "becomes --requests if larger)",
    )
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--bulk-tasks", type=int, default=20_000)
    parser.add_argument("--bulk-users", type=int, default=200)
    parser.add_argument("--max-seconds", type=float, default=1800.0, help="for all requests")
    parser.add_argument("--limit-mb", type=float, default=LIMIT_MB)
    parser.add_argument(
        "--pages", action="store_true", help="the web app's sign-in page in each round too"
    )
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument(
        "--imports-only",
        action="store_true",
        help="only the fresh interpreter's imports and app (no database, no server)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="fresh imports, of which the least CPU counts"
    )
    parser.add_argument(
        "--modules", action="store_true", help="with --imports-only: the memory by package too"
    )
    parser.add_argument(
        "--without-dev-tools",
        action="store_true",
        help="the imports without rich and pygments, which only the dev tools install",
    )
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    args = parser.parse_args()
    points = sorted({int(p) for p in args.checkpoints.split(",") if p.strip()})
    points = [p for p in points if 0 < p < args.requests] + [args.requests]
    if not 1 <= args.requests <= 1_000_000 or not 1 <= args.concurrency <= 256:
        parser.error("--requests 1 to 1 000 000, --concurrency 1 to 256")
    args.checkpoint_list = points
    args.steps = (*STEPS, PAGE_STEP) if args.pages else STEPS
    exit_cleanly_on_sigterm()

    if args.imports_only:
        with work_dir() as cwd:
            import_cpu, import_rss, loaded = imports(
                cwd, args.rounds, without_dev_tools=args.without_dev_tools
            )
            print(
                f"{source_summary()}: imports and app {import_cpu:.2f} s of CPU (least of "
                f"{args.rounds}), VmRSS {import_rss:.1f} MB; loaded of the few: "
                f"{', '.join(loaded) or 'none'}"
            )
            if args.modules:
                print(by_module(cwd, args.without_dev_tools))
        return
    secret = new_secret()
    with work_dir() as cwd, scratch_database("bench_mem", keep=args.keep) as database:
        import_cpu, import_rss, loaded = imports(
            cwd, args.rounds, without_dev_tools=args.without_dev_tools
        )
        log(f"imports: {import_cpu:.2f} s of CPU, VmRSS {import_rss:.1f} MB, loaded {loaded}")
        env = service_env(database, secret)
        migrate(env, cwd)
        asyncio.run(seed(database, args.bulk_tasks, args.bulk_users, {SMALL_USER: 1_000}))
        reader = token_for(SMALL_USER, env, cwd)
        writer = token_for(WRITER_USER, env, cwd)
        port = free_port()
        with running_server("todo-api", serve_argv(port), env, cwd, port) as server:
            readings = asyncio.run(drive(server.url, reader, writer, args, server.process.pid))

    start_rss = readings[0][1]
    first_rss = readings[1][1]
    lines = [
        f"Machine: {machine_summary()}",
        f"Code: {source_summary()}",
        f"todo-api serve --workers 1 (default configuration); {args.concurrency} concurrent "
        f"clients, each going round {', '.join(args.steps)}.",
        "",
        f"A fresh interpreter's imports and app: {import_cpu:.2f} s of CPU (least of "
        f"{args.rounds}), VmRSS {import_rss:.1f} MB; of the libraries only some deployments "
        "use, loaded: "
        f"{', '.join(loaded) or 'none'}.",
        "",
        "| requests | VmRSS MB | since start | VmHWM (peak) MB |",
        "|---:|---:|---:|---:|",
    ]
    for sent, rss, peak in readings:
        label = "start" if sent == 0 else _count(sent)
        lines.append(f"| {label} | {rss:.1f} | {rss - start_rss:+.1f} | {peak:.1f} |")
    highest = max(peak for _, _, peak in readings)
    growth = readings[-1][1] - first_rss
    verdict = "met" if highest <= args.limit_mb else "missed"
    lines += [
        "",
        f"Peak {highest:.1f} MB against {args.limit_mb:g} MB: {verdict}. From "
        f"{_count(readings[1][0])} to {_count(readings[-1][0])} requests: {growth:+.1f} MB.",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
