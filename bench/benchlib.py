"""What the benchmarks share: a throw-away PostgreSQL database, the seed, servers, tokens.

Everything here targets 127.0.0.1 only, and every wait is bounded. The database gets a random
name and is dropped when the `with` block ends, whether the benchmark finished, failed, or was
interrupted (Ctrl-C or SIGTERM).
"""

import asyncio
import os
import platform
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

# BENCH_SRC=/path/to/src measures that source tree (e.g. a `git archive` of a commit) instead
# of the installed one. It goes first on sys.path here, before the scripts import todo_api, and
# on PYTHONPATH for the processes they start.
BENCH_SRC = os.environ.get("BENCH_SRC")
if BENCH_SRC:
    sys.path.insert(0, BENCH_SRC)

# The tests' helpers for running the installed program as a process (controlled environment,
# free port, bounded start and stop) serve the benchmarks too. Appended, so that nothing in
# tests/ shadows an installed module.
TESTS_DIR = Path(__file__).resolve().parent.parent / "tests"
for folder in (TESTS_DIR, TESTS_DIR.parent):  # the root too: helpers_server imports tests.*
    if str(folder) not in sys.path:
        sys.path.append(str(folder))

import helpers_server as helpers  # noqa: E402

BIN_DIR = helpers.BIN_DIR
TODO_API = helpers.TODO_API
free_port = helpers.free_port
ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"

CLI_TIMEOUT = 120.0
# A server's start, bounded: longer than the tests' bound, since a benchmark's server may start
# while other people's test suites load the machine (20 s at a load of 10, over 60 s at 16).
STARTUP_TIMEOUT = 180.0
SEED_TIMEOUT_MS = 30 * 60 * 1000  # statement_timeout for each seeding statement

# Fixed user ids, so that a kept database can be measured again with new tokens.
SMALL_USER = "00000000-0000-4000-8000-000000001000"  # 1 000 tasks
BIG_USER = "00000000-0000-4000-8000-000000100000"  # 100 000 tasks
WRITER_USER = "00000000-0000-4000-8000-00000000beef"  # no tasks at first; the POST benchmark's
# 1 000 tasks of their own, and an editor of SHARED_LISTS lists of TASKS_PER_SHARED_LIST tasks,
# each owned by another user (seed's `shared_with`).
MEMBER_USER = "00000000-0000-4000-8000-000000020000"
SHARED_LISTS = 20
TASKS_PER_SHARED_LIST = 5_000
# 1 000 tasks of their own, every fifth of them high and tagged work, and COMMENTS comments on
# the first of them by id (cpu_per_request.py's filter and comments routes).
FILTER_USER = "00000000-0000-4000-8000-00000000f117"
FILTER = "p1 & @work"  # the filtered list's query (GET /api/tasks?filter=...)
QUICK_TEXT = "Buy milk tomorrow 5pm @groceries @errands p3"  # quick add's words, as quick_add.lua's
COMMENTS = 20


class Interrupted(SystemExit):
    pass


def exit_cleanly_on_sigterm() -> None:
    """SIGTERM unwinds the stack like Ctrl-C does, so the `finally` blocks drop the database."""

    def _raise(signum: int, _frame: Any) -> None:
        raise Interrupted(128 + signum)

    signal.signal(signal.SIGTERM, _raise)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def db_url(name: str) -> str:
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


async def _admin(statement: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL, timeout=10)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextmanager
def scratch_database(prefix: str, keep: bool = False, existing: str | None = None) -> Iterator[str]:
    """A new database with a random name, dropped afterwards (unless `keep`).

    With `existing`, that database is used as it is and never dropped.
    """
    if existing:
        yield existing
        return
    name = f"{prefix}_{secrets.token_hex(6)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    log(f"created database {name}")
    try:
        yield name
    finally:
        if keep:
            log(f"kept database {name} (drop it with: DROP DATABASE {name} WITH (FORCE))")
        else:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            log(f"dropped database {name}")


def service_env(database: str, secret: str, **extra: str) -> dict[str, str]:
    """The service's environment: nothing of the caller's leaks in but what a process needs."""
    env = helpers.clean_env(DATABASE_URL=db_url(database), JWT_SECRET=secret, ENV="development")
    for name in helpers.CHEAPEST_HASHES_ENV:  # the tests' password hashes: measure the default
        del env[name]
    if BENCH_SRC:
        env["PYTHONPATH"] = BENCH_SRC
    env.update(extra)
    return env


def new_secret() -> str:
    return secrets.token_urlsafe(36)  # 48 characters


def run_cli(*args: str, env: dict[str, str], cwd: Path) -> str:
    result = helpers.run_cli(*args, env=env, cwd=cwd, timeout=CLI_TIMEOUT)
    if result.returncode != 0:
        raise RuntimeError(f"todo-api {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout.strip()


def token_for(sub: str, env: dict[str, str], cwd: Path, minutes: int = 240) -> str:
    return run_cli("token", "--sub", sub, "--minutes", str(minutes), env=env, cwd=cwd)


@dataclass
class Server(helpers.Server):
    """The tests' server handle (stopped by its process id), with a name for the logs."""

    name: str = "server"


@contextmanager
def running_server(
    name: str, argv: Sequence[str], env: dict[str, str], cwd: Path, port: int
) -> Iterator[Server]:
    """A server process answering 200 on /health; always stopped afterwards."""
    log_path = cwd / f"{name}-{port}.log"
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            list(argv),
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(process=process, port=port, log_path=log_path, name=name)
    try:
        helpers._wait_until_healthy(server, STARTUP_TIMEOUT)
        yield server
    finally:
        server.stop()


def uvicorn_argv(app: str, port: int) -> list[str]:
    """An ASGI app of this folder (`module:attribute`) under uvicorn, one worker, with uvloop
    and httptools, as todo-api runs."""
    return [
        str(BIN_DIR / "uvicorn"),
        app,
        "--app-dir",
        str(Path(__file__).resolve().parent),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]


def baseline_argv(port: int) -> list[str]:
    """The raw Starlette + asyncpg baseline (baseline_app.py), without uvicorn's `server`
    header, as todo-api serves."""
    return [*uvicorn_argv("baseline_app:app", port), "--no-server-header"]


def floor_argv(port: int) -> list[str]:
    """The bare-ASGI floor (floor_app.py) under the baseline's uvicorn settings."""
    return [*uvicorn_argv("floor_app:app", port), "--no-server-header"]


def serve_argv(port: int) -> list[str]:
    return [TODO_API, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]


# --- a server's processes, from /proc ---------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat from field 3 (state) on; None once the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text[text.rindex(")") + 2 :].split()


def process_tree(pid: int) -> list[int]:
    """The process and its descendants that are alive now (at most 1 000)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo and len(found) < 1_000:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, []))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the process and its live descendants (all threads), plus what its
    waited-for children used; in seconds (resolution 1/SC_CLK_TCK)."""
    ticks = 0
    for member in process_tree(pid):
        fields = _stat_fields(member)
        if fields is not None:  # utime, stime, cutime, cstime: fields 14 to 17
            ticks += sum(int(f) for f in fields[11:15])
    return ticks / CLOCK_TICKS


def machine_cpu_seconds() -> float:
    """CPU time of the whole machine, every process of every user (all but idle and iowait),
    from /proc/stat; in seconds of one core."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def cpu_seconds_of(pids: Sequence[int]) -> dict[int, float]:
    """User + system CPU of each of these processes (no descendants), in seconds."""
    found: dict[int, float] = {}
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            found[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return found


def scheduler_cpu_seconds_of(pids: Sequence[int]) -> dict[int, float]:
    """On-CPU time of each of these processes (all their live threads; no descendants), in
    seconds, as the scheduler counts it: /proc/<pid>/task/<tid>/schedstat in nanoseconds. Where
    utime + stime (cpu_seconds_of) count whole clock ticks (10 ms), too coarse to split among a
    few hundred requests, this is exact."""
    found: dict[int, float] = {}
    for pid in pids:
        with suppress(FileNotFoundError, ProcessLookupError):
            total = 0
            for task in Path(f"/proc/{pid}/task").iterdir():
                with suppress(FileNotFoundError, ProcessLookupError):
                    total += int((task / "schedstat").read_text().split()[0])
            found[pid] = total / 1e9
    return found


async def backend_pids(database: str) -> list[int]:
    """The client backends on the database (asked from the admin database, so that this
    connection is not one of them)."""
    conn = await asyncpg.connect(ADMIN_URL, timeout=10)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = $1 AND backend_type = 'client backend'",
            database,
        )
    finally:
        await conn.close()
    return [r["pid"] for r in rows]


async def database_cpu(database: str) -> dict[int, float]:
    """Each client backend's on-CPU seconds."""
    return scheduler_cpu_seconds_of(await backend_pids(database))


CpuReading = tuple[float, dict[int, float]]


async def server_and_database_cpu(server: "Server", database: str) -> CpuReading:
    """The server's process tree's on-CPU seconds, and each client backend's."""
    server_cpu = sum(scheduler_cpu_seconds_of(process_tree(server.process.pid)).values())
    return server_cpu, await database_cpu(database)


def cpu_spent(before: CpuReading, after: CpuReading) -> tuple[float, float]:
    """Server and PostgreSQL seconds between two readings (backends that came meanwhile
    count from zero)."""
    db = sum(t - before[1].get(p, 0.0) for p, t in after[1].items())
    return after[0] - before[0], db


def rss_mb(pid: int) -> tuple[float, float]:
    """Resident memory (VmRSS) of the process and its live descendants, and the sum of their
    peaks (VmHWM), in MiB."""
    rss = peak = 0
    for member in process_tree(pid):
        with suppress(FileNotFoundError, ProcessLookupError):
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    peak += int(line.split()[1])
    return rss / 1024, peak / 1024


# --- wrk ------------------------------------------------------------------------------------


@dataclass
class WrkRun:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int  # "Non-2xx or 3xx responses"
    socket_errors: int  # connect, read, write, timeout
    output: str

    @property
    def bad(self) -> int:
        return self.non_2xx + self.socket_errors


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _duration_ms(text: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not found:
        raise ValueError(text)
    return float(found.group(1)) * _UNITS[found.group(2)]


def _grab(pattern: str, text: str) -> str:
    found = re.search(pattern, text, re.M)
    if found is None:
        raise RuntimeError(f"wrk's output has no {pattern!r}:\n{text}")
    return found.group(1)


def wrk(
    url: str,
    *,
    token: str | None = None,
    headers: Sequence[str] = (),
    seconds: float,
    connections: int,
    threads: int = 1,
    script: Path | None = None,
    script_args: Sequence[str] = (),
) -> WrkRun:
    """One wrk run (`--latency`, 5 s request timeout), bounded to `seconds` + 60 s, with
    `token` as a bearer token and `headers` ("Name: value") on each request. wrk takes whole
    seconds: `seconds` is rounded to the nearest, at least 1."""
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "5s",
        "--latency",
    ]
    if token is not None:
        headers = [f"Authorization: Bearer {token}", *headers]
    for header in headers:
        argv += ["-H", header]
    if script is not None:
        argv += ["-s", str(script)]
    argv.append(url)
    if script_args:
        argv += ["--", *script_args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    out = done.stdout
    non_2xx = socket_errors = 0
    if found := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        non_2xx = int(found.group(1))
    if found := re.search(r"Socket errors: (.*)", out):
        socket_errors = sum(int(n) for n in re.findall(r"\d+", found.group(1)))
    return WrkRun(
        rps=float(_grab(r"Requests/sec:\s+([\d.]+)", out)),
        p50_ms=_duration_ms(_grab(r"^\s+50%\s+(\S+)\s*$", out)),  # the latency distribution
        p99_ms=_duration_ms(_grab(r"^\s+99%\s+(\S+)\s*$", out)),
        requests=int(_grab(r"(\d+) requests in", out)),
        non_2xx=non_2xx,
        socket_errors=socket_errors,
        output=out,
    )


@contextmanager
def work_dir() -> Iterator[Path]:
    """A temporary working directory: no .env or ./data of the checkout is picked up."""
    with tempfile.TemporaryDirectory(prefix="todo-bench-") as path:
        yield Path(path)


# Operations per request of the bulk route (its limit).
BULK_LIMIT = 100


def bulk(client: Any, operations: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """`operations` through POST /api/tasks/bulk (an httpx.Client signed in), a request per
    BULK_LIMIT of them; the results, in order."""
    results: list[dict[str, Any]] = []
    for start in range(0, len(operations), BULK_LIMIT):
        batch = {"operations": list(operations[start : start + BULK_LIMIT])}
        response = client.post("/api/tasks/bulk", json=batch)
        response.raise_for_status()
        results += response.json()["results"]
    return results


def migrate(env: dict[str, str], cwd: Path) -> None:
    run_cli("migrate", env=env, cwd=cwd)


# --- the seed -------------------------------------------------------------------------------

VERBS = [
    "Buy", "Call", "Email", "Fix", "Write", "Review", "Book", "Pay", "Clean", "Plan",
    "Schedule", "Prepare", "Read", "Send", "Order", "Pick up", "Return", "Update", "Check",
    "Cancel", "Renew", "Sort out", "Print", "Finish", "Ask about",
]  # fmt: skip
OBJECTS = [
    "bread", "eggs", "coffee beans", "the dentist", "the quarterly report", "the invoice",
    "car insurance", "the presentation", "a flight to Berlin", "the plumber", "train tickets",
    "the electricity bill", "the garage door", "the kitchen sink", "birthday present for Sam",
    "the tax return", "the library books", "passport", "the newsletter", "team lunch",
    "the budget spreadsheet", "the landlord", "gym membership", "the vet", "dog food",
    "the blog post", "slides for Monday", "the contract", "the hotel in Lisbon", "new tyres",
    "the broken lamp", "the recycling", "the garden hose", "printer ink", "the school form",
    "the pharmacy", "vitamins", "the bank", "the pull request", "the release notes",
    "the onboarding doc", "the standup notes", "groceries", "the parcel", "the laundry",
    "the windows", "the bike", "the boiler service", "holiday photos", "the wedding RSVP",
    "the phone contract", "the insurance claim", "a haircut", "the car wash", "the piano tuner",
    "the roof gutter", "the spare key", "the meeting room", "the conference talk", "the CV",
    "the design review", "the database backup", "the server upgrade", "the expense report",
    "flowers for Mum", "the neighbours", "the babysitter", "concert tickets", "the sofa",
    "the curtains", "batteries", "light bulbs", "the oven", "the fridge", "the shower head",
    "the cat flap", "the lawn mower", "the paint samples", "the moving boxes", "the mortgage",
    "the pension forms", "the running shoes", "the yoga class", "the book club", "the podcast",
    "the photo album", "the crossword", "the spreadsheet macros", "the firewall rules",
    "the DNS records", "the SSL certificate", "the backlog", "the roadmap", "the OKRs",
    "the interview panel", "the job ad", "the office plants", "the whiteboard", "milk",
]  # fmt: skip
SUFFIXES = [
    "", "", "", "", "", "", " today", " tomorrow", " before Friday", " this weekend",
    " next week", " asap", " (again)", " for the trip", " after work",
]  # fmt: skip
SENTENCES = [
    "Check the opening hours first.", "Ask Alex whether this is still needed.",
    "Keep the receipt for the expense claim.", "The reference number is in the email thread.",
    "Do not forget the discount code.", "It was postponed last time, so do it properly.",
    "Compare at least three offers.", "Needs a signature from both of us.",
    "Bring the old one back to the shop.", "The deadline is the end of the month.",
    "Low priority unless it starts leaking again.", "Call before noon, they close early.",
    "Use the shared folder, not email.", "Split the cost with the flatmates.",
    "There is a template on the wiki.", "Take photos before and after.",
    "Price went up since last year.", "Remember to cancel the old subscription.",
    "Book the slot online, it is cheaper.", "Write down the meter reading.",
    "Check whether the warranty still applies.", "Ask for an itemised quote.",
    "Park at the back entrance.", "Pay by card, they do not take cash.",
    "Send the confirmation to the group chat.", "Reuse last quarter's numbers where possible.",
    "Double-check the time zone of the call.", "Print two copies.",
    "The code is on the back of the card.", "Needs review by Priya before it goes out.",
    "Take the recycling out on the way.", "They asked for the ID number as well.",
    "Ask about the loyalty points.", "Check the tyre pressure while there.",
    "The form must be filled in block capitals.", "Leave the key with the neighbours.",
    "Get the large size this time.", "It is the blue folder on the top shelf.",
    "Make sure the backup finished first.", "Ping the team once it is done.",
    "Read the small print about cancellation.", "Bring a reusable bag.",
    "Avoid the rush hour.", "Check the allergy list for the kids.",
    "The invoice number starts with INV-.", "Ask for a receipt with VAT.",
    "Try the new place on the corner.", "Write a short summary afterwards.",
    "Get semi-skimmed milk and a dozen eggs.",
]  # fmt: skip
TAGS = [
    "work", "home", "errands", "groceries", "urgent", "health", "finance", "family",
    "travel", "someday", "reading", "garden", "car", "admin", "kids", "pets",
]  # fmt: skip


def _array(words: list[str]) -> str:
    quoted = ", ".join("'" + w.replace("'", "''") + "'" for w in words)
    return f"ARRAY[{quoted}]::text[]"


def _pick(words: list[str], random_expr: str = "random()") -> str:
    return f"({_array(words)})[1 + floor({random_expr} * {len(words)})::int]"


def seed_sql(
    bulk_tasks: int, bulk_users: int, specials: dict[str, int], shared_with: str | None = None
) -> list[str]:
    """Statements that fill users and tasks, tasks in creation order across all users.

    The heap is written in `created_at` order, as a service that has been running for a year
    would have written it: one user's tasks are scattered over the table, not clustered.
    Only integers, fixed ids and the word lists above (constants) are interpolated, hence the
    noqa. The words are ASCII, so their search keys (todo_api.tables.keys.search_key) are
    lower().

    `shared_with`: a user (one of `specials`) who is an editor of SHARED_LISTS lists of
    TASKS_PER_SHARED_LIST tasks each, every list owned by a user of its own.
    """
    special_users = " UNION ALL ".join(
        f"SELECT '{uuid.UUID(uid)}'::uuid AS user_id, NULL::uuid AS list_id, g "  # noqa: S608
        f"FROM generate_series(1, {int(count)}) g"
        for uid, count in specials.items()
    )
    if shared_with is not None:
        special_users += (
            " UNION ALL SELECT md5('bench-owner-' || i)::uuid, md5('bench-list-' || i)::uuid, g "  # noqa: S608
            f"FROM generate_series(1, {SHARED_LISTS}) i, "
            f"generate_series(1, {TASKS_PER_SHARED_LIST}) g"
        )
    users = [
        "INSERT INTO users (id, email, name, created_at, updated_at) "  # noqa: S608
        "SELECT md5('bench-user-' || i)::uuid, 'user' || i || '@example.com', 'User ' || i, "
        "now() - interval '400 days', now() - interval '400 days' "
        f"FROM generate_series(1, {int(bulk_users)}) i",
        "INSERT INTO users (id, email, name, created_at, updated_at) "  # noqa: S608
        "SELECT id::uuid, NULL, 'Bench ' || id, now() - interval '400 days', "
        "now() - interval '400 days' "
        f"FROM unnest(ARRAY[{', '.join(repr(str(uuid.UUID(u))) for u in specials)}]) AS id",
    ]
    sentence = _pick(SENTENCES)
    tasks = f"""
INSERT INTO tasks (id, user_id, list_id, title, description, title_key, description_key,
                   is_completed, priority, due_at, tags, completed_at, created_at, updated_at)
SELECT gen_random_uuid(), user_id, list_id, title, description, lower(title), lower(description),
       done, priority, due_at, tags, CASE WHEN done THEN updated_at END, created_at, updated_at
FROM (
    SELECT user_id, list_id,
           {_pick(VERBS)} || ' ' || {_pick(OBJECTS)} || {_pick(SUFFIXES)} AS title,
           CASE WHEN random() < 0.35 THEN NULL
                WHEN random() < 0.5 THEN {sentence}
                ELSE {sentence} || ' ' || {sentence} END AS description,
           random() < 0.35 AS done,
           floor(random() * 4)::smallint AS priority,
           CASE WHEN random() < 0.4 THEN NULL
                ELSE created_at + random() * interval '60 days' END AS due_at,
           CASE WHEN tag_roll < 0.4 THEN '[]'::jsonb
                WHEN tag_roll < 0.85 THEN jsonb_build_array(tags[t1])
                ELSE jsonb_build_array(tags[t1], tags[1 + (t1 + t2) % {len(TAGS)}]) END AS tags,
           created_at,
           created_at + random() * (now() - created_at) AS updated_at
    FROM (
        SELECT user_id, list_id,
               now() - random() * interval '365 days' AS created_at,
               random() AS tag_roll,
               1 + floor(random() * {len(TAGS)})::int AS t1,
               floor(random() * {len(TAGS) - 1})::int AS t2,
               {_array(TAGS)} AS tags
        FROM (
            SELECT md5('bench-user-' || (1 + floor(random() * {bulk_users}))::int)::uuid
                   AS user_id, NULL::uuid AS list_id, g
            FROM generate_series(1, {bulk_tasks}) g
            UNION ALL {special_users}
        ) owners
        OFFSET 0
    ) rolls
    OFFSET 0
) rows
ORDER BY created_at
"""  # noqa: S608
    return [*users, *_shared_lists_sql(shared_with), tasks]


def _shared_lists_sql(member: str | None) -> list[str]:
    """The owners, their lists (each its owner's), and the memberships of `member`."""
    if member is None:
        return []
    lists = f"generate_series(1, {SHARED_LISTS}) i"
    return [
        "INSERT INTO users (id, email, name, created_at, updated_at) "  # noqa: S608
        "SELECT md5('bench-owner-' || i)::uuid, NULL, 'Owner ' || i, "
        f"now() - interval '400 days', now() - interval '400 days' FROM {lists}",
        "INSERT INTO lists (id, user_id, name, name_key, created_at, updated_at) "  # noqa: S608
        "SELECT md5('bench-list-' || i)::uuid, md5('bench-owner-' || i)::uuid, "
        "'Shared ' || i, 'shared ' || i, now() - interval '400 days', "
        f"now() - interval '400 days' FROM {lists}",
        "INSERT INTO list_members (list_id, user_id, role, position, joined_at) "  # noqa: S608
        "SELECT md5('bench-list-' || i)::uuid, md5('bench-owner-' || i)::uuid, 'owner', 1, "
        f"now() - interval '400 days' FROM {lists} UNION ALL "
        f"SELECT md5('bench-list-' || i)::uuid, '{uuid.UUID(member)}'::uuid, 'editor', i, "
        f"now() - interval '300 days' FROM {lists}",
    ]


# The open and done tasks of every list and inbox, into its first row of `task_counts`
# (migrations 0018, 0019), after a seed that inserted the tasks with their count trigger off.
RECOUNT = """
UPDATE task_counts SET open_count = counted.open_count, done_count = counted.done_count
FROM (
    SELECT coalesce(list_id, user_id) AS scope_id,
        count(*) FILTER (WHERE NOT is_completed) AS open_count,
        count(*) FILTER (WHERE is_completed) AS done_count
    FROM tasks GROUP BY 1
) AS counted
WHERE task_counts.scope_id = counted.scope_id
"""


async def seed(
    database: str,
    bulk_tasks: int,
    bulk_users: int,
    specials: dict[str, int],
    shared_with: str | None = None,
) -> None:
    """Fill the migrated database; indexes are dropped first and rebuilt after (far faster),
    from their own definitions, so the schema ends exactly as the migrations made it."""
    conn = await asyncpg.connect(db_url(database), timeout=10)
    try:
        await conn.execute(
            f"SET statement_timeout = {SEED_TIMEOUT_MS}; SET work_mem = '256MB'; "
            "SET maintenance_work_mem = '512MB'; SELECT setseed(0.4242)"
        )
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = 'public' AND tablename = 'tasks' AND indexname <> 'pk_tasks'"
        )
        for row in indexes:
            await conn.execute(f'DROP INDEX "{row["indexname"]}"')
        counted = await conn.fetchval(
            "SELECT count(*) FROM pg_trigger WHERE tgname = 'tasks_count' AND NOT tgisinternal"
        )
        if counted:  # one INSERT of every task: counted once at the end, not row by row
            await conn.execute("ALTER TABLE tasks DISABLE TRIGGER tasks_count")
        started = time.monotonic()
        for statement in seed_sql(bulk_tasks, bulk_users, specials, shared_with):
            await conn.execute(statement)
        if counted:
            await conn.execute(RECOUNT)
            await conn.execute("ALTER TABLE tasks ENABLE TRIGGER tasks_count")
        log(f"inserted rows in {time.monotonic() - started:.0f} s; rebuilding indexes")
        for row in indexes:
            started = time.monotonic()
            await conn.execute(row["indexdef"])
            log(f"  {row['indexname']}: {time.monotonic() - started:.0f} s")
        started = time.monotonic()
        await conn.execute("VACUUM (ANALYZE) users")
        await conn.execute("VACUUM (ANALYZE) tasks")
        await conn.execute("VACUUM (ANALYZE) task_tags")
        await conn.execute("VACUUM (ANALYZE) lists")
        await conn.execute("VACUUM (ANALYZE) list_members")
        if counted:
            await conn.execute("VACUUM (ANALYZE) task_counts")
        log(f"VACUUM (ANALYZE) in {time.monotonic() - started:.0f} s")
    finally:
        await conn.close()


# --- reporting ------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = q / 100 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def source_summary() -> str:
    """Which todo_api is measured: its folder and, in a git checkout, the commit."""
    import todo_api

    folder = Path(todo_api.__file__).resolve().parent.parent
    result = subprocess.run(
        ["git", "-C", str(folder), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    commit = result.stdout.strip() if result.returncode == 0 else "not a git checkout"
    return f"todo_api from {folder} ({commit})"


def machine_summary() -> str:
    cpu = "unknown CPU"
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}, load average {load}"
    )


async def server_version(database: str) -> str:
    conn = await asyncpg.connect(db_url(database), timeout=10)
    try:
        version: str = await conn.fetchval("SHOW server_version")
        settings = await conn.fetch(
            "SELECT name, current_setting(name) AS value FROM pg_settings WHERE name IN "
            "('shared_buffers', 'work_mem', 'effective_cache_size', 'random_page_cost', "
            "'jit', 'plan_cache_mode')"
        )
        described = ", ".join(f"{r['name']}={r['value']}" for r in settings)
        return f"PostgreSQL {version} ({described})"
    finally:
        await conn.close()
