"""What writes (and a page of the list) cost on two source trees, side by side.

    .venv/bin/python bench/write_cost.py                          # ~6 min: seed two dbs, 6 rounds
    .venv/bin/python bench/write_cost.py --rounds 3 --requests 200
    .venv/bin/python bench/write_cost.py --before-src /tmp/snap/src --out /tmp/write_cost.md

Migration 0012 added seven partial indexes `WHERE list_id IS NOT NULL` on `tasks` and made three
existing ones partial, so a task in a list should cost more to write than before and a task in
the inbox less. This script measures it (issue 21, item 5), and any other pair of trees:
--marker names a table or index only the after tree's migrations make (`activity` for the
comments and activity of issue 53, whose triggers write a row per change), --env gives both
servers a setting. Two PostgreSQL databases with random names are created on 127.0.0.1, one
migrated by each source tree ("before": --before-src, by default a `git archive` of ba13451
unpacked in /tmp/src-ba13451; "after": this checkout's `src`), and seeded alike: --bulk-tasks
tasks of --bulk-users users, the member of benchlib (MEMBER_USER) with --inbox-tasks tasks of
their own in the inbox and editor of 20 shared lists of 5 000 tasks each. The tree is chosen
with PYTHONPATH for every process, and each database is checked to have (after) or lack (before)
the marker.

Then one `todo-api serve --workers 1` of each tree, both started before the first round and
serving to the end, answers the member's httpx requests (sequential; --concurrency in flight),
round after round. In each round each case runs on the two trees back to back (which goes first
alternates): --warmup requests, then --requests measured. The cases: create a task in the inbox
and in a list (the 20 lists in turn), PATCH the title of a task in the inbox and in a list,
complete an open task in a list and in the inbox, and read a page of 50 tasks of the inbox and
of a list (`GET /api/tasks`, `?list_id=`). Each PATCH or complete goes to another task (PATCH
from one end of the ids, complete from the other). Around the measured requests it reads the on-
CPU time of the server's processes and of the PostgreSQL backends on the database (those alive
at the end) from /proc/<pid>/task/*/schedstat (nanoseconds: utime + stime count 10 ms ticks, too
coarse for a few hundred requests), and divides by the requests. Any unexpected status stops the
script. Figures are medians over the rounds, with min-max; the difference is the median of each
round's after-minus-before (the two ran back to back). Both databases are dropped at the end,
also on failure, Ctrl-C or SIGTERM.
"""

import argparse
import asyncio
import contextlib
import itertools
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from benchlib import (
    MEMBER_USER,
    SHARED_LISTS,
    TASKS_PER_SHARED_LIST,
    Server,
    database_cpu,
    db_url,
    exit_cleanly_on_sigterm,
    free_port,
    log,
    machine_summary,
    median,
    migrate,
    new_secret,
    percentile,
    process_tree,
    running_server,
    scheduler_cpu_seconds_of,
    scratch_database,
    seed,
    serve_argv,
    server_version,
    service_env,
    token_for,
    work_dir,
)

BENCH_DIR = Path(__file__).resolve().parent
# main just before migration 0012: `git archive ba13451 src | tar -x -C /tmp/src-ba13451`.
DEFAULT_BEFORE_SRC = Path("/tmp/src-ba13451/src")  # noqa: S108 (only read, never written)
DEFAULT_AFTER_SRC = BENCH_DIR.parent / "src"
# A relation only the after tree's migrations make (by default 0012's list-led index; --marker
# names another, e.g. `activity` for migration 0034): tells the two databases apart.
LIST_LED_INDEX = "ix_tasks_list_id_created_at_id"
SETTLE_SECONDS = 0.3  # after the last answer: the backends' counters catch up


@dataclass(frozen=True)
class Tree:
    name: str  # "before" or "after"
    src: Path


@dataclass(frozen=True)
class Targets:
    """What one database's writes go to: the member's inbox tasks, the shared lists' tasks."""

    lists: list[str]
    inbox: list[str]  # every inbox task of the member, for PATCH
    inbox_open: list[str]  # for complete
    listed: list[str]  # tasks in the shared lists, for PATCH
    listed_open: list[str]  # for complete


@dataclass(frozen=True)
class Case:
    key: str
    name: str
    status: int
    pool: Callable[[Targets], list[str]] | None  # the tasks it writes to, one per request
    # (method, path, body) of the request number `n`, given the task (or list) it goes to.
    request: Callable[[int, str], tuple[str, str, dict[str, Any] | None]]


def _create_inbox(n: int, _unused: str) -> tuple[str, str, dict[str, Any] | None]:
    return "POST", "/api/tasks", {"title": f"Write cost probe {n}"}


def _create_in_list(n: int, list_id: str) -> tuple[str, str, dict[str, Any] | None]:
    return "POST", "/api/tasks", {"title": f"Write cost probe {n}", "list_id": list_id}


def _patch_title(n: int, task: str) -> tuple[str, str, dict[str, Any] | None]:
    return "PATCH", f"/api/tasks/{task}", {"title": f"Renamed by the write cost probe {n}"}


def _complete(_n: int, task: str) -> tuple[str, str, dict[str, Any] | None]:
    return "POST", f"/api/tasks/{task}/complete", None


def _list_inbox(_n: int, _unused: str) -> tuple[str, str, dict[str, Any] | None]:
    return "GET", "/api/tasks", None


def _list_of_list(_n: int, list_id: str) -> tuple[str, str, dict[str, Any] | None]:
    return "GET", f"/api/tasks?list_id={list_id}", None


CASES = (
    Case("create-inbox", "create, inbox", 201, None, _create_inbox),
    Case("create-list", "create, in a list", 201, None, _create_in_list),
    Case("patch-inbox", "PATCH title, inbox", 200, lambda t: t.inbox, _patch_title),
    Case("patch-list", "PATCH title, in a list", 200, lambda t: t.listed, _patch_title),
    Case("complete-list", "complete, in a list", 200, lambda t: t.listed_open, _complete),
    Case("complete-inbox", "complete, inbox", 200, lambda t: t.inbox_open, _complete),
    # The reads the writes' columns ride on (comment_count, changed_by): a page of 50.
    Case("list-inbox", "list 50, inbox", 200, None, _list_inbox),
    Case("list-list", "list 50, in a list", 200, None, _list_of_list),
)


@dataclass
class Sample:
    db_us: float  # PostgreSQL backends' CPU per request, microseconds
    server_us: float  # the server's CPU per request
    p50_ms: float  # HTTP latency seen by the client


@dataclass
class Cell:
    samples: list[Sample] = field(default_factory=list)

    def median(self, value: Callable[[Sample], float]) -> float:
        return median([value(s) for s in self.samples])

    def spread(self, value: Callable[[Sample], float]) -> str:
        values = [value(s) for s in self.samples]
        return f"{min(values):.0f}-{max(values):.0f}"


# --- the databases --------------------------------------------------------------------------


async def _targets(database: str) -> Targets:
    conn = await asyncpg.connect(db_url(database), timeout=10)
    member = uuid.UUID(MEMBER_USER)
    try:
        lists = await conn.fetch(
            "SELECT list_id FROM list_members WHERE user_id = $1 AND role = 'editor' "
            "ORDER BY position",
            member,
        )
        # Ordered by id (random): the rows written are scattered over the table.
        inbox = await conn.fetch(
            "SELECT id, is_completed FROM tasks WHERE user_id = $1 AND list_id IS NULL ORDER BY id",
            member,
        )
        listed = await conn.fetch(
            "SELECT id, is_completed FROM tasks WHERE list_id = ANY($1::uuid[]) ORDER BY id",
            [r["list_id"] for r in lists],
        )
    finally:
        await conn.close()
    # PATCH goes down the list from the end, complete up from the start: apart for long.
    return Targets(
        lists=[str(r["list_id"]) for r in lists],
        inbox=[str(r["id"]) for r in reversed(inbox)],
        inbox_open=[str(r["id"]) for r in inbox if not r["is_completed"]],
        listed=[str(r["id"]) for r in reversed(listed)],
        listed_open=[str(r["id"]) for r in listed if not r["is_completed"]],
    )


@dataclass(frozen=True)
class IndexFacts:
    heap_mb: float
    indexes_mb: float
    partial_mb: float  # the partial indexes among them
    count: int
    partial: int
    inbox_entries: int  # indexes an inbox task (top level) is written into
    list_entries: int  # indexes a task in a list (top level) is written into
    has_marker: bool  # the relation --marker names exists
    head: str  # the migration the database is at


async def _index_facts(database: str, targets: Targets, marker: str) -> IndexFacts:
    conn = await asyncpg.connect(db_url(database), timeout=10)
    try:
        indexes = await conn.fetch(
            "SELECT c.relname AS name, pg_get_expr(i.indpred, i.indrelid) AS predicate, "
            "pg_relation_size(c.oid) AS bytes "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = 'tasks'::regclass"
        )

        async def entries(task: str) -> int:
            # A row enters an index without a predicate, or one whose predicate it meets
            # (the predicates are the catalog's own text, of this scratch database).
            count = 0
            for index in indexes:
                if index["predicate"] is None or await conn.fetchval(
                    f"SELECT ({index['predicate']}) FROM tasks WHERE id = $1",  # noqa: S608
                    uuid.UUID(task),
                ):
                    count += 1
            return count

        sizes = await conn.fetchrow(
            "SELECT pg_relation_size('tasks') AS heap, pg_indexes_size('tasks') AS indexes"
        )
        head: str = await conn.fetchval("SELECT version_num FROM alembic_version")
        return IndexFacts(
            heap_mb=sizes["heap"] / 2**20,
            indexes_mb=sizes["indexes"] / 2**20,
            partial_mb=sum(i["bytes"] for i in indexes if i["predicate"]) / 2**20,
            count=len(indexes),
            partial=sum(1 for i in indexes if i["predicate"]),
            inbox_entries=await entries(targets.inbox[0]),
            list_entries=await entries(targets.listed[0]),
            has_marker=await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", marker),
            head=head,
        )
    finally:
        await conn.close()


def _server_cpu(pid: int) -> float:
    return sum(scheduler_cpu_seconds_of(process_tree(pid)).values())


# --- the requests ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One tree's server, its database, and the member's token."""

    tree: Tree
    server: Server
    database: str
    token: str
    concurrency: int


async def _send(run: Run, client: httpx.AsyncClient, case: Case, n: int, target: str) -> float:
    """One request; its latency in ms. A status other than the case's stops the script."""
    method, path, body = case.request(n, target)
    started = time.perf_counter()
    response = await client.request(method, path, json=body)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != case.status:
        tail = "\n".join(run.server.log().splitlines()[-20:])
        raise SystemExit(
            f"{run.tree.name} {case.key}: {method} {path} answered {response.status_code} "
            f"{response.text[:500]}\nthe server's log:\n{tail}"
        )
    return elapsed


async def _send_all(
    run: Run, client: httpx.AsyncClient, case: Case, targets: list[str], counter: Iterator[int]
) -> list[float]:
    """Every target once, `run.concurrency` requests in flight; the latencies."""
    pending = iter(targets)
    latencies: list[float] = []

    async def worker() -> None:
        for target in pending:  # shared: each target goes to one worker
            latencies.append(await _send(run, client, case, next(counter), target))

    await asyncio.gather(*(worker() for _ in range(run.concurrency)))
    return latencies


async def _measure(
    run: Run, case: Case, batch: list[str], warmup: int, counter: Iterator[int]
) -> Sample:
    async with httpx.AsyncClient(
        base_url=run.server.url,
        headers={"Authorization": f"Bearer {run.token}"},
        timeout=10,
        limits=httpx.Limits(max_connections=run.concurrency),
    ) as client:
        # The warm-up also opens the connections (HTTP, and the server's to PostgreSQL).
        await _send_all(run, client, case, batch[:warmup], counter)
        measured = batch[warmup:]
        pid = run.server.process.pid
        db_before = await database_cpu(run.database)
        cpu_before = _server_cpu(pid)
        latencies = await _send_all(run, client, case, measured, counter)
        await asyncio.sleep(SETTLE_SECONDS)
        cpu_after = _server_cpu(pid)
        db_after = await database_cpu(run.database)
    db_cpu = sum(t - db_before.get(p, 0.0) for p, t in db_after.items())
    return Sample(
        db_us=1e6 * db_cpu / len(measured),
        server_us=1e6 * (cpu_after - cpu_before) / len(measured),
        p50_ms=percentile(latencies, 50),
    )


def measure(run: Run, case: Case, batch: list[str], warmup: int, counter: Iterator[int]) -> Sample:
    """The warm-up requests, then the measured ones with the CPU they cost."""
    return asyncio.run(_measure(run, case, batch, warmup, counter))


def _batches(case: Case, targets: Targets, per_round: int) -> Iterator[list[str]]:
    """Each round's targets of the case: new tasks every time (or the lists in turn)."""
    if case.pool is None:
        for start in itertools.count(0, per_round):
            yield [targets.lists[(start + i) % len(targets.lists)] for i in range(per_round)]
        return
    pool = case.pool(targets)
    for start in range(0, len(pool) - per_round + 1, per_round):
        yield pool[start : start + per_round]
    raise SystemExit(f"{case.key}: out of tasks to write (raise --inbox-tasks)")


# --- the report -----------------------------------------------------------------------------


def report(
    cells: dict[tuple[str, str], Cell],
    facts: dict[str, IndexFacts],
    trees: list[Tree],
    marker: str,
) -> list[str]:
    before, after = trees
    lines = [
        f"| tree | migration | {marker} | indexes on tasks (partial) "
        "| written by an inbox task | by a task in a list | index size MB (partial) | heap MB |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for tree in trees:
        f = facts[tree.name]
        lines.append(
            f"| {tree.name} | {f.head} | {'yes' if f.has_marker else 'no'} "
            f"| {f.count} ({f.partial}) | {f.inbox_entries} | {f.list_entries} "
            f"| {f.indexes_mb:.1f} ({f.partial_mb:.1f}) | {f.heap_mb:.1f} |"
        )
    lines += [
        "",
        "| write | PostgreSQL CPU µs/req: before | after | after - before | "
        "server CPU µs/req: before | after | after - before | p50 ms: before | after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for case in CASES:
        b, a = cells[(before.name, case.key)], cells[(after.name, case.key)]

        def paired(value: Callable[[Sample], float], b: Cell = b, a: Cell = a) -> str:
            diffs = [value(y) - value(x) for x, y in zip(b.samples, a.samples, strict=True)]
            base = b.median(value)
            return (
                f"{round(median(diffs)):+d} ({round(100 * median(diffs) / base):+d} %; "
                f"{round(min(diffs)):+d} to {round(max(diffs)):+d})"
            )

        def cell(c: Cell, value: Callable[[Sample], float]) -> str:
            return f"{c.median(value):.0f} ({c.spread(value)})"

        def db(s: Sample) -> float:
            return s.db_us

        def server(s: Sample) -> float:
            return s.server_us

        lines.append(
            f"| {case.name} | {cell(b, db)} | {cell(a, db)} | {paired(db)} "
            f"| {cell(b, server)} | {cell(a, server)} | {paired(server)} "
            f"| {b.median(lambda s: s.p50_ms):.1f} | {a.median(lambda s: s.p50_ms):.1f} |"
        )
    return lines


# --- the run --------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before-src", type=Path, default=DEFAULT_BEFORE_SRC)
    parser.add_argument("--after-src", type=Path, default=DEFAULT_AFTER_SRC)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=100, help="measured, per case and round")
    parser.add_argument("--warmup", type=int, default=10, help="per case and round")
    parser.add_argument("--concurrency", type=int, default=1, help="requests in flight")
    parser.add_argument("--bulk-tasks", type=int, default=300_000)
    parser.add_argument("--bulk-users", type=int, default=3_000)
    parser.add_argument("--inbox-tasks", type=int, default=6_000, help="the member's own")
    parser.add_argument(
        "--marker",
        default=LIST_LED_INDEX,
        help="a table or index only the after tree's migrations make",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for both trees' servers (repeatable)",
    )
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    args = parser.parse_args()
    if any("=" not in setting for setting in args.env):
        parser.error("--env takes NAME=VALUE")
    if not 1 <= args.rounds <= 20 or not 10 <= args.requests <= 5_000:
        parser.error("--rounds 1 to 20, --requests 10 to 5 000")
    if not 0 <= args.warmup <= 1_000 or not 1 <= args.concurrency <= 64:
        parser.error("--warmup 0 to 1 000, --concurrency 1 to 64")
    if args.bulk_tasks < 0 or args.bulk_users < 1:
        parser.error("--bulk-tasks at least 0, --bulk-users at least 1")
    # Complete needs an open inbox task per request (about 65 % of them are open).
    needed = args.rounds * (args.warmup + args.requests)
    if args.inbox_tasks * 0.6 < needed:
        parser.error(f"--inbox-tasks: at least {needed / 0.6:.0f} for these rounds and requests")
    for src in (args.before_src, args.after_src):
        if not (src / "todo_api" / "__init__.py").is_file():
            parser.error(f"{src} is not a source tree (no todo_api/__init__.py in it)")
    return args


async def _seed_both(databases: list[str], args: Any) -> None:
    """Both databases at once: the two INSERTs take most of the script's time otherwise."""
    specials = {MEMBER_USER: args.inbox_tasks}
    await asyncio.gather(
        *(
            seed(db, args.bulk_tasks, args.bulk_users, specials, shared_with=MEMBER_USER)
            for db in databases
        )
    )


def main() -> None:
    args = parse_args()
    exit_cleanly_on_sigterm()
    secret = new_secret()
    trees = [Tree("before", args.before_src.resolve()), Tree("after", args.after_src.resolve())]
    per_round = args.warmup + args.requests
    with (
        work_dir() as cwd,
        scratch_database("bench_wc") as before_db,
        scratch_database("bench_wc") as after_db,
    ):
        databases = {"before": before_db, "after": after_db}
        settings = dict(setting.split("=", 1) for setting in args.env)
        envs = {
            t.name: service_env(databases[t.name], secret, PYTHONPATH=str(t.src), **settings)
            for t in trees
        }
        for t in trees:
            log(f"{t.name}: migrating {databases[t.name]} with {t.src}")
            migrate(envs[t.name], cwd)
        asyncio.run(_seed_both([databases[t.name] for t in trees], args))
        targets = {t.name: asyncio.run(_targets(databases[t.name])) for t in trees}
        facts = {
            n: asyncio.run(_index_facts(databases[n], targets[n], args.marker)) for n in databases
        }
        if facts["before"].has_marker or not facts["after"].has_marker:
            raise SystemExit(
                f"expected {args.marker} after and not before: "
                f"before {facts['before']}, after {facts['after']}"
            )
        token = token_for(MEMBER_USER, envs["after"], cwd)
        batches = {
            (t.name, c.key): _batches(c, targets[t.name], per_round) for t in trees for c in CASES
        }
        header = [
            f"Machine: {machine_summary()}",
            f"Database: {asyncio.run(server_version(after_db))}",
            *(f"{t.name}: todo_api from {t.src}" for t in trees),
            *(f"setting for both: {setting}" for setting in args.env),
            f"Data: {args.bulk_tasks} tasks of {args.bulk_users} users; the member has "
            f"{args.inbox_tasks} in the inbox and edits {SHARED_LISTS} shared lists of "
            f"{TASKS_PER_SHARED_LIST} tasks.",
            f"httpx requests of the member, {args.concurrency} in flight, to one `todo-api serve "
            f"--workers 1` per tree: {args.warmup} warm-up + {args.requests} measured per case "
            "and round, each case on the two trees back to back (order alternating); "
            f"{args.rounds} rounds. "
            "Medians over rounds (min-max); after - before: median of the rounds' differences "
            "(percent of before; min to max).",
        ]
        cells: dict[tuple[str, str], Cell] = {}
        with contextlib.ExitStack() as stack:
            runs = {}
            for tree in trees:
                port = free_port()
                argv = serve_argv(port)
                server = stack.enter_context(
                    running_server(tree.name, argv, envs[tree.name], cwd, port)
                )
                runs[tree.name] = Run(tree, server, databases[tree.name], token, args.concurrency)
            counter = itertools.count()
            for round_no in range(args.rounds):
                for case_no, case in enumerate(CASES):
                    # Each case of a round runs on both trees back to back, in alternating order.
                    order = trees if (round_no + case_no) % 2 == 0 else trees[::-1]
                    for tree in order:
                        sample = measure(
                            runs[tree.name],
                            case,
                            next(batches[(tree.name, case.key)]),
                            args.warmup,
                            counter,
                        )
                        cells.setdefault((tree.name, case.key), Cell()).samples.append(sample)
                        log(
                            f"round {round_no + 1} {tree.name:<6} {case.name:<22} "
                            f"PostgreSQL {sample.db_us:5.0f} µs/req  server "
                            f"{sample.server_us:5.0f} µs/req  p50 {sample.p50_ms:5.1f} ms"
                        )
    text = "\n".join([*header, "", *report(cells, facts, trees, args.marker)])
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
