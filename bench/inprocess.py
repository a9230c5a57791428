"""The hot routes (and the new ones) driven in one process, without a server: CPU and a profile.

    .venv/bin/python bench/inprocess.py --db bench_cpu_...               # CPU µs per request
    .venv/bin/python bench/inprocess.py --db bench_cpu_... --profile get # cProfile, top 40
    .venv/bin/python bench/inprocess.py --db bench_cpu_... --profile get --of baseline
    .venv/bin/python bench/inprocess.py --db bench_cpu_... --profile get --of floor

With `--first-results`, asyncpg answers each statement with the rows it first gave: no
socket, no PostgreSQL, so what is measured is each side's Python alone, steady to a few
per cent even on a busy machine (the comparison for a change of the service's Python).

On a database kept by `cpu_per_request.py --keep`, the service's ASGI app (`create_app`, no
background jobs), `baseline_app.py` and the bare-ASGI floor `floor_app.py` (on the five hot
routes) are called directly, in turn, N requests 8 at a time per route, and the process's CPU
time is divided by the requests (minimum of the rounds). Without uvicorn and httptools (the
same for all), the ratios come out higher than over HTTP, but they move with the code alone and
are steadier on a shared machine; cProfile (on the process's CPU clock) shows where the
service's time goes. Nothing goes over the network but to PostgreSQL."""

import argparse
import asyncio
import cProfile
import importlib
import json
import os
import pstats
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg
import uvloop

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from benchlib import (  # noqa: E402
    FILTER,
    FILTER_USER,
    QUICK_TEXT,
    SMALL_USER,
    WRITER_USER,
    db_url,
    new_secret,
)

PATCH_USER = "00000000-0000-4000-8000-000000009a7c"
COMPLETE_USER = "00000000-0000-4000-8000-00000000c0de"
CREATE_BODY = (
    b'{"title": "Buy milk", "description": "Two litres, semi-skimmed", '
    b'"priority": "low", "tags": ["groceries", "errands"]}'
)
QUICK_BODY = json.dumps({"text": QUICK_TEXT}).encode()
FILTERED = f"/api/tasks?{urlencode({'filter': FILTER})}"
FLOOR_ROUTES = ("list", "get", "create", "patch", "complete")  # what floor_app.py serves
App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def token(secret: str, sub: str) -> str:
    import jwt

    claims = {"sub": sub, "exp": int(time.time()) + 3600, "iat": int(time.time())}
    return jwt.encode(claims, secret, algorithm="HS256")


async def call(app: App, method: str, target: str, tok: str, body: bytes = b"") -> int:
    path, _, query = target.partition("?")
    headers = [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {tok}".encode())]
    if body:
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


@asynccontextmanager
async def started(app: App) -> AsyncIterator[None]:
    """The app started and, afterwards, stopped through ASGI's lifespan messages, as uvicorn
    does (a bare ASGI app has no router to do it)."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    task = asyncio.ensure_future(app({"type": "lifespan", "state": {}}, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    if (await outbox.get())["type"] != "lifespan.startup.complete":
        raise SystemExit("the app did not start")
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task


class Routes:
    def __init__(self, tokens: dict[str, str], ids: dict[str, list[str]]) -> None:
        self.tokens, self.ids = tokens, ids
        self.turn = 0

    def request(self, route: str) -> tuple[str, str, str, bytes]:
        self.turn += 1
        if route == "list":
            return "GET", "/api/tasks", self.tokens["reader"], b""
        if route == "get":
            return "GET", f"/api/tasks/{self.ids['get'][0]}", self.tokens["reader"], b""
        if route == "create":
            return "POST", "/api/tasks", self.tokens["writer"], CREATE_BODY
        if route == "quick":
            return "POST", "/api/tasks/quick", self.tokens["writer"], QUICK_BODY
        if route == "filter":
            return "GET", FILTERED, self.tokens["filter"], b""
        if route == "comments":
            task = self.ids["comments"][0]
            return "GET", f"/api/tasks/{task}/comments", self.tokens["filter"], b""
        if route == "patch":
            task = self.ids["patch"][self.turn % len(self.ids["patch"])]
            body = b'{"priority": "high"}' if self.turn % 2 else b'{"priority": "low"}'
            return "PATCH", f"/api/tasks/{task}", self.tokens["patch"], body
        task = self.ids["complete"].pop()
        return "POST", f"/api/tasks/{task}/complete", self.tokens["complete"], b""


async def drive(app: App, routes: Routes, route: str, count: int, width: int = 8) -> float:
    """CPU seconds per request of `count` requests, `width` at a time."""

    async def one() -> None:
        for _ in range(count // width):
            status = await call(app, *routes.request(route))
            if status >= 300:
                raise SystemExit(f"{route}: status {status}")

    started = time.process_time()
    await asyncio.gather(*(one() for _ in range(width)))
    return (time.process_time() - started) / count


async def ids_of(database: str, user: str, limit: int, open_only: bool = False) -> list[str]:
    conn = await asyncpg.connect(db_url(database))
    try:
        if open_only:
            await conn.execute(
                "UPDATE tasks SET is_completed = false, completed_at = NULL "
                "WHERE user_id = $1 AND is_completed",
                uuid.UUID(user),
            )
        rows = await conn.fetch(
            "SELECT id FROM tasks WHERE user_id = $1 ORDER BY id LIMIT $2", uuid.UUID(user), limit
        )
    finally:
        await conn.close()
    return [str(r["id"]) for r in rows]


def answer_from_first_results() -> None:
    """asyncpg answers each statement (by its text) with the rows it first gave, without the
    socket or PostgreSQL: what is left is each side's Python, and asyncpg's above its protocol.
    A statement that gave no rows (a miss, a write without RETURNING) is sent every time."""
    execute = asyncpg.connection.Connection._execute
    kept: dict[tuple[str, int, bool], Any] = {}

    async def answered(self: Any, query: str, args: Any, limit: int, *rest: Any, **kw: Any) -> Any:
        key = (query, limit, bool(kw.get("return_status")))
        if key in kept:
            return kept[key]
        result = await execute(self, query, args, limit, *rest, **kw)
        if result[0] if key[2] else result:
            kept[key] = result
        return result

    asyncpg.connection.Connection._execute = answered  # type: ignore[method-assign]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument(
        "--routes", default="list,get,create,patch,complete", help="also quick, filter, comments"
    )
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", help="one route: profile the service on it")
    parser.add_argument(
        "--of",
        choices=("todo-api", "baseline", "floor"),
        default="todo-api",
        help="what --profile or --only runs",
    )
    parser.add_argument("--only", help="one route: drive one app alone (for py-spy)")
    parser.add_argument(
        "--first-results",
        action="store_true",
        help="each statement answered by its first rows, without PostgreSQL: the Python alone",
    )
    args = parser.parse_args()
    secret = new_secret()
    os.environ.update(DATABASE_URL=db_url(args.db), JWT_SECRET=secret, ENV="development")
    os.environ.setdefault("LOG_LEVEL", "INFO")
    os.environ.setdefault("DATABASE_POOL_SIZE", "8")  # the baseline opens twice as many
    from todo_api.app import create_app

    service = create_app(jobs=[])
    baseline_module = importlib.import_module("baseline_app")
    baseline = baseline_module.app
    floor = importlib.import_module("floor_app").app
    apps = {"todo-api": service, "baseline": baseline, "floor": floor}
    tokens = {
        "reader": token(secret, SMALL_USER),
        "writer": token(secret, WRITER_USER),
        "patch": token(secret, PATCH_USER),
        "complete": token(secret, COMPLETE_USER),
        "filter": token(secret, FILTER_USER),
    }
    rounds = 1 if args.profile or args.only else args.rounds
    need = args.requests * (rounds + 1) * len(apps) + 100  # each app's rounds and warm-up
    ids = {
        "get": (await ids_of(args.db, SMALL_USER, 11))[-1:],
        "patch": await ids_of(args.db, PATCH_USER, 1000),
        "complete": await ids_of(
            args.db,
            COMPLETE_USER,
            need,
            open_only="complete" in (*args.routes.split(","), args.profile, args.only),
        ),
        "comments": await ids_of(args.db, FILTER_USER, 1),
    }
    routes = Routes(tokens, ids)
    if args.first_results:
        answer_from_first_results()
    async with started(service), started(baseline), started(floor):
        driven = apps[args.of]
        if args.only:
            spent = await drive(driven, routes, args.only, args.requests)
            print(f"{args.only}: {spent * 1e6:.0f} µs per request")
            return
        if args.profile:
            await drive(driven, routes, args.profile, args.requests)  # warm
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
            spent = await drive(driven, routes, args.profile, args.requests * 2)
            profiler.disable()
            print(f"{args.of} {args.profile}: {spent * 1e6:.0f} µs per request (profiled)")
            if os.environ.get("PROFILE_OUT"):  # the raw stats, for pstats' callers and callees
                profiler.dump_stats(os.environ["PROFILE_OUT"])
            stats = pstats.Stats(profiler).sort_stats("tottime")
            stats.print_stats(45)
            stats.sort_stats("cumulative").print_stats(60)
            return
        for route in args.routes.split(","):
            # The floor serves the five hot routes only.
            measured = {n: a for n, a in apps.items() if n != "floor" or route in FLOOR_ROUTES}
            results: dict[str, list[float]] = {name: [] for name in measured}
            for app in measured.values():
                await drive(app, routes, route, args.requests // 4)  # warm
            for _ in range(rounds):
                for name, app in measured.items():
                    results[name].append(await drive(app, routes, route, args.requests))
            best = {name: min(spent) for name, spent in results.items()}
            line = "  ".join(f"{name} {spent * 1e6:6.0f} µs" for name, spent in best.items())
            ratios = "  ".join(
                f"/ {name} {best['todo-api'] / best[name]:.2f}"
                for name in best
                if name != "todo-api"
            )
            print(f"{route:9} {line}  todo-api {ratios}", flush=True)


if __name__ == "__main__":
    uvloop.run(main())
