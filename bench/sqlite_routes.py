"""CPU per request of the embedded default: todo-api on a SQLite file (no configuration but the
secret), one worker, for list 50, get one, create and complete. SQLite runs inside the server
process, so the server's CPU is the whole cost of a request.

    .venv/bin/python bench/sqlite_routes.py                       # ~2 min
    BENCH_SRC=/tmp/snap/src .venv/bin/python bench/sqlite_routes.py   # another tree, as in README

The reader has 1 000 tasks in their inbox (35 % done); the writer creates into an empty one;
complete closes tasks of a third user, reopened between rounds.
"""

import argparse
import functools
import sqlite3
import uuid
from pathlib import Path

import httpx
from benchlib import (
    BENCH_SRC,
    bulk,
    cpu_seconds,
    helpers,
    log,
    median,
    migrate,
    new_secret,
    running_server,
    serve_argv,
    token_for,
    work_dir,
    wrk,
)

BENCH_DIR = Path(__file__).resolve().parent
POST_SCRIPT = BENCH_DIR / "post_task.lua"
IDS_SCRIPT = BENCH_DIR / "task_ids.lua"
READER, WRITER, CLOSER = (str(uuid.UUID(int=n)) for n in (0x5A1, 0x5A2, 0x5A3))


def fill(client: httpx.Client, count: int, done_every: int = 0) -> list[str]:
    """`count` tasks through the bulk route; every `done_every`-th created completed."""
    creates = [
        {"op": "create", "data": {"title": f"Task {n}", "tags": ["bench"]}} for n in range(count)
    ]
    ids = [result["id"] for result in bulk(client, creates)]
    if done_every:
        bulk(client, [{"op": "complete", "id": task_id} for task_id in ids[::done_every]])
    return ids


def reopen_all(database: Path) -> None:
    with sqlite3.connect(database) as conn:
        conn.execute("UPDATE tasks SET is_completed = 0, completed_at = NULL WHERE is_completed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=float, default=6)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    log(f"source: {BENCH_SRC or 'installed'}")
    with work_dir() as cwd:
        database = cwd / "bench.db"
        env = helpers.clean_env(
            DATABASE_URL=f"sqlite:///{database}", JWT_SECRET=new_secret(), ENV="development"
        )
        if BENCH_SRC:
            env["PYTHONPATH"] = BENCH_SRC
        migrate(env, cwd)
        tokens = {user: token_for(user, env, cwd) for user in (READER, WRITER, CLOSER)}
        port = helpers.free_port()
        with running_server("todo-api", serve_argv(port), env, cwd, port) as server:
            base = f"http://127.0.0.1:{port}"
            headers = {"Authorization": f"Bearer {tokens[READER]}"}
            with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
                get_id = fill(client, 1_000, done_every=3)[10]
            closer = {"Authorization": f"Bearer {tokens[CLOSER]}"}
            with httpx.Client(base_url=base, headers=closer, timeout=60) as client:
                (cwd / "complete_ids.txt").write_text("\n".join(fill(client, 20_000)) + "\n")
            routes = [
                ("list 50", "/api/tasks", READER, None, ()),
                ("get one", f"/api/tasks/{get_id}", READER, None, ()),
                ("create", "/api/tasks", WRITER, POST_SCRIPT, ()),
                (
                    "complete",
                    "/",
                    CLOSER,
                    IDS_SCRIPT,
                    (str(cwd / "complete_ids.txt"), "1", "POST", "/complete"),
                ),
            ]
            results: dict[str, list[tuple[float, float]]] = {name: [] for name, *_ in routes}
            for round_number in range(args.rounds):
                for name, path, user, script, script_args in routes:
                    if name == "complete":
                        reopen_all(database)
                    run = functools.partial(
                        wrk,
                        base + path,
                        token=tokens[user],
                        connections=args.connections,
                        script=script,
                        script_args=script_args,
                    )
                    run(seconds=args.warmup)
                    before = cpu_seconds(server.process.pid)
                    measured = run(seconds=args.duration)
                    spent = cpu_seconds(server.process.pid) - before
                    per_request = 1000 * spent / max(1, measured.requests)
                    results[name].append((per_request, measured.rps))
                    log(
                        f"round {round_number + 1} {name:9} CPU {per_request:.3f} ms/req "
                        f"{measured.rps:7.0f} req/s non-2xx {measured.non_2xx}"
                    )
    print("\n| route | CPU ms/req (median) | range | req/s |")
    print("|---|---:|---:|---:|")
    for name, runs in results.items():
        cpu = [c for c, _ in runs]
        print(
            f"| {name} | {median(cpu):.3f} | {min(cpu):.3f}-{max(cpu):.3f} "
            f"| {median([r for _, r in runs]):.0f} |"
        )


if __name__ == "__main__":
    main()
