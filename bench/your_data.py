"""Your data: importing 10 000 Todoist rows, and exporting 20 000 tasks in flat memory.

    .venv/bin/python bench/your_data.py                          # PostgreSQL, then SQLite
    .venv/bin/python bench/your_data.py --databases postgresql --rounds 5

For each database (a PostgreSQL database with a random name on 127.0.0.1, dropped at the
end; a SQLite file in a temporary folder), this script starts `todo-api serve --workers 1` on
a free port and:

1. imports a Todoist CSV of --rows rows (a realistic mix: sections, subtasks, priorities,
   dates, times in zones, recurrences, descriptions) as --rounds new users, one
   `POST /api/import?source=todoist` each, and times each answer, with the CPU it took (the
   server's and PostgreSQL's backends', from /proc): on a machine others load, the wall time
   waits for them, the CPU time is what the import costs (the contract: within 10 s);
2. imports it twice more into one user (2 x --rows tasks), stops the server, starts a fresh
   one, warms it up with one small export, then downloads that user's `GET /api/export`
   (streamed) while reading the server's VmRSS every 20 ms: the rise over the resident memory
   before the export (the contract: below 50 MB), with the export's size and time;
3. the same for the iCalendar export (`GET /api/export?format=ics`), on another fresh server.

Every wait is bounded; the server is stopped by its process id.
"""

import argparse
import asyncio
import random
import statistics
import threading
import time
import uuid
from pathlib import Path

import httpx
from benchlib import (
    CpuReading,
    Server,
    cpu_spent,
    exit_cleanly_on_sigterm,
    free_port,
    log,
    machine_summary,
    migrate,
    new_secret,
    process_tree,
    rss_mb,
    running_server,
    scheduler_cpu_seconds_of,
    scratch_database,
    serve_argv,
    server_and_database_cpu,
    service_env,
    source_summary,
    token_for,
    work_dir,
)

HEADER = (
    "TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE,"
    "DURATION,DURATION_UNIT,DEADLINE,DEADLINE_LANG"
)
WORDS = ("call", "book", "pay", "send", "water", "plan", "fix", "paint", "buy", "renew")
THINGS = ("bank", "flights", "rent", "invoice", "plants", "trip", "fence", "milk", "cake")
DATES = ["", "", "", "2031-05-01", "2031-04-20 18:30", "every day", "every monday, thursday",
         "every 2 weeks", "every month"]  # fmt: skip
ZONES = ["Europe/Lisbon", "America/New_York", "Asia/Tokyo", ""]
IMPORT_GOAL_S = 10.0
EXPORT_GOAL_MB = 50.0
TIMEOUT = 120.0


def todoist_csv(rows: int, seed: int = 7) -> bytes:
    """A Todoist export of `rows` task rows (plus a section every 50)."""
    pick = random.Random(seed)
    lines = [HEADER]
    for n in range(rows):
        if n % 50 == 0:
            lines.append(f"section,Section {n // 50},,,,,,,,,,,,")
        title = f"{pick.choice(WORDS).title()} the {pick.choice(THINGS)} #{n}"
        description = f'"Notes for {n}, with a comma"' if n % 3 == 0 else ""
        indent = 2 if n % 4 == 3 else 1
        date = pick.choice(DATES) if indent == 1 else ""
        lines.append(
            f"task,{title},{description},{pick.randint(1, 4)},{indent},Sam (40000001),,"
            f'"{date}",en,{pick.choice(ZONES)},,,,'
        )
    return ("\r\n".join(lines) + "\r\n").encode()


class Sampler:
    """The server's VmRSS every `every` seconds, in a thread, while a block runs."""

    def __init__(self, pid: int, every: float = 0.02) -> None:
        self.pid, self.every = pid, every
        self.highest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.highest = max(self.highest, rss_mb(self.pid)[0])
            time.sleep(self.every)

    def __enter__(self) -> "Sampler":
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def import_as(url: str, token: str, body: bytes) -> tuple[float, dict[str, object]]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/csv"}
    started = time.perf_counter()
    answer = httpx.post(
        f"{url}/api/import", params={"source": "todoist"}, content=body, headers=headers,
        timeout=TIMEOUT,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if answer.status_code != 200:
        raise RuntimeError(f"import: {answer.status_code} {answer.text[:300]}")
    return elapsed, answer.json()


# What starts each task in an export of each format.
TASK_MARKS = {"json": b'"title":', "ics": b"BEGIN:VTODO"}


def export_as(url: str, token: str, export_format: str = "json") -> tuple[int, int, float]:
    """Download the export as a client does; its size, its task count, its time."""
    headers = {"Authorization": f"Bearer {token}"}
    mark = TASK_MARKS[export_format]
    started = time.perf_counter()
    size = tasks = 0
    tail = b""  # a mark cut in two by a chunk's end is counted once, whole
    with httpx.stream(
        "GET", f"{url}/api/export", params={"format": export_format}, headers=headers,
        timeout=TIMEOUT,
    ) as answer:  # fmt: skip
        if answer.status_code != 200:
            raise RuntimeError(f"export: {answer.status_code}")
        for chunk in answer.iter_bytes():
            size += len(chunk)
            tasks += (tail + chunk).count(mark)
            tail = chunk[-(len(mark) - 1) :]
    return size, tasks, time.perf_counter() - started


def measure_export(
    kind: str, env: dict[str, str], cwd: Path, token: str, export_format: str
) -> tuple[int, int, float, float, float, float]:
    """On a fresh server warmed up by one small export: the export's size, task count and
    time, and the server's VmRSS before, at its peak during, and after it."""
    port = free_port()
    with running_server("todo-api", serve_argv(port), env, cwd, port) as server:
        warm = token_for(str(uuid.uuid4()), env, cwd)
        export_as(server.url, warm, export_format)
        before = rss_mb(server.process.pid)[0]
        with Sampler(server.process.pid) as sampler:
            size, count, seconds = export_as(server.url, token, export_format)
        after = rss_mb(server.process.pid)[0]
    log(f"{kind}: exported {count} tasks as {export_format} ({size / 1e6:.1f} MB) in "
        f"{seconds:.2f} s; VmRSS {before:.1f} -> peak {sampler.highest:.1f} MB")  # fmt: skip
    return size, count, seconds, before, sampler.highest, after


async def _cpu(server: Server, database: str | None) -> CpuReading:
    """The server's CPU seconds, and PostgreSQL's backends' on the database (if any)."""
    if database is None:
        return sum(scheduler_cpu_seconds_of(process_tree(server.process.pid)).values()), {}
    return await server_and_database_cpu(server, database)


def run(
    kind: str, env: dict[str, str], cwd: Path, args: argparse.Namespace, database: str | None
) -> list[str]:
    migrate(env, cwd)
    body = todoist_csv(args.rows)
    exporter = str(uuid.uuid4())
    importers = [str(uuid.uuid4()) for _ in range(args.rounds)]
    tokens = {sub: token_for(sub, env, cwd) for sub in [exporter, *importers]}
    times, cpu = [], []
    port = free_port()
    with running_server("todo-api", serve_argv(port), env, cwd, port) as server:
        for sub in importers:
            cpu_before = asyncio.run(_cpu(server, database))
            elapsed, result = import_as(server.url, tokens[sub], body)
            server_s, database_s = cpu_spent(cpu_before, asyncio.run(_cpu(server, database)))
            times.append(elapsed)
            cpu.append(server_s + database_s)
            log(f"{kind}: imported {result['tasks']} tasks in {elapsed:.2f} s "
                f"(CPU: server {server_s:.2f} s, PostgreSQL {database_s:.2f} s)")  # fmt: skip
        for _ in range(2):
            import_as(server.url, tokens[exporter], body)
    size, count, seconds, before, peak, after = measure_export(
        kind, env, cwd, tokens[exporter], "json"
    )
    rise = peak - before
    ics_size, ics_count, ics_seconds, ics_before, ics_peak, _ = measure_export(
        kind, env, cwd, tokens[exporter], "ics"
    )
    ics_rise = ics_peak - ics_before
    # On a machine others load, the wall time also waits for them: the CPU the import took
    # (the server's, and PostgreSQL's) is what it costs, shown beside it.
    verdict_import = "met" if statistics.median(times) <= IMPORT_GOAL_S else "missed"
    verdict_export = "met" if rise < EXPORT_GOAL_MB else "missed"
    verdict_ics = "met" if ics_rise < EXPORT_GOAL_MB else "missed"
    return [
        f"| {kind} | {args.rows} | {statistics.median(times):.2f} | {max(times):.2f} | "
        f"{statistics.median(cpu):.2f} | {verdict_import} | {count} | {size / 1e6:.1f} | "
        f"{seconds:.2f} | {before:.1f} | "
        f"{peak:.1f} | {rise:+.1f} | {after:.1f} | {verdict_export} | "
        f"{ics_count} | {ics_size / 1e6:.1f} | {ics_seconds:.2f} | {ics_rise:+.1f} | "
        f"{verdict_ics} |"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--databases", default="postgresql,sqlite")
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    args = parser.parse_args()
    if not 1 <= args.rows <= 50_000 or not 1 <= args.rounds <= 20:
        parser.error("--rows 1 to 50 000, --rounds 1 to 20")
    exit_cleanly_on_sigterm()
    secret = new_secret()
    table = [
        "| database | rows | import p50 s | import max s | import CPU p50 s | p50 within 10 s | "
        "exported tasks | "
        "export MB | export s | VmRSS before MB | peak during MB | rise MB | after MB | "
        "rise < 50 MB | ics tasks | ics MB | ics s | ics rise MB | ics rise < 50 MB |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    for kind in args.databases.split(","):
        with work_dir() as cwd:
            if kind == "sqlite":
                env = service_env("unused", secret, DATABASE_URL=f"sqlite:///{cwd}/todo.db")
                table += run(kind, env, cwd, args, None)
            else:
                with scratch_database("bench_data") as database:
                    table += run(kind, service_env(database, secret), cwd, args, database)
    text = "\n".join([f"Machine: {machine_summary()}", f"Code: {source_summary()}", "", *table])
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
