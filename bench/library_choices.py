"""Per-call cost of the service's hand-written parts against the library one would reach for,
each doing the job as the service uses it (docs/architecture.md, "Hand-written, and why"):

- attempt counters: one hit on a running fixed window in memory, `kit.ratelimit.MemoryCounter`
  against `limits`' async MemoryStorage with its FixedWindowRateLimiter (and the synchronous
  pair, for reference);
- LRU caches: a membership check (which makes the entry the newest) and an add (which drops the
  oldest) on a cache full at 100 000 entries, `auth.users.KnownUsers` against
  `cachetools.LRUCache` (`SeenProfiles` and `MemoryCounter` are the same OrderedDict pattern);
- ids: a new UUIDv7 as a standard library `uuid.UUID`, `kit.ids.new_id` against `uuid-utils`'
  `compat.uuid7` and `uuid6.uuid7`;
- JSON log lines: one request line formatted, `process.logs.JsonFormatter` against
  `python-json-logger`'s JsonFormatter (and its orjson one) on the same LogRecord, and the
  service's own path without a record (`JsonFormatter.info_line`).

No server, no database. It installs nothing: a library that is not installed is skipped. To
measure the libraries, install them into a scratch venv and run the script with it:

    python3 -m venv /tmp/libs
    /tmp/libs/bin/pip install -e . limits cachetools uuid-utils uuid6 python-json-logger
    /tmp/libs/bin/python bench/library_choices.py            # --repeat 5

Each figure is the best of --repeat timeit runs, in µs per call.
"""

import argparse
import asyncio
import logging
import timeit
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from todo_api.auth.users import KnownUsers
from todo_api.kit.ids import new_id
from todo_api.kit.ratelimit import MemoryCounter
from todo_api.process.logs import JsonFormatter

CAPACITY = 100_000
WINDOW_SECONDS = 60

Row = tuple[str, str, float]  # job, implementation, µs per call


def per_call(stmt: Callable[[], object], repeat: int, number: int) -> float:
    """µs per call of `stmt`, the best of `repeat` runs of `number` calls."""
    return min(timeit.repeat(stmt, repeat=repeat, number=number)) / number * 1e6


def per_await(
    make: Callable[[], Awaitable[object]], repeat: int, number: int, loop: asyncio.AbstractEventLoop
) -> float:
    """µs per await of `make()`, awaited `number` times in a row inside one coroutine, so that
    the event loop's own cost is not counted per call."""

    async def many() -> None:
        for _ in range(number):
            await make()

    return min(timeit.repeat(lambda: loop.run_until_complete(many()), repeat=repeat, number=1)) / (
        number / 1e6
    )


def rate_limit(repeat: int, loop: asyncio.AbstractEventLoop) -> list[Row]:
    job = "a hit on a running fixed window, in memory"
    ours = MemoryCounter()
    rows = [
        (
            job,
            "kit.ratelimit.MemoryCounter.hit",
            per_await(
                lambda: ours.hit("address:203.0.113.7", WINDOW_SECONDS), repeat, 20_000, loop
            ),
        )
    ]
    try:
        from limits import RateLimitItemPerMinute, aio, storage, strategies
    except ImportError:
        return rows
    item = RateLimitItemPerMinute(10)
    async_limiter = aio.strategies.FixedWindowRateLimiter(aio.storage.MemoryStorage())
    rows.append(
        (
            job,
            "limits aio FixedWindowRateLimiter.hit (MemoryStorage)",
            per_await(lambda: async_limiter.hit(item, "address:203.0.113.7"), repeat, 20_000, loop),
        )
    )
    limiter = strategies.FixedWindowRateLimiter(storage.MemoryStorage())
    rows.append(
        (
            job,
            "limits FixedWindowRateLimiter.hit (MemoryStorage, sync)",
            per_call(lambda: limiter.hit(item, "address:203.0.113.7"), repeat, 20_000),
        )
    )
    return rows


def lru(repeat: int) -> list[Row]:
    ids = [uuid.uuid4() for _ in range(CAPACITY)]
    fresh = iter([uuid.uuid4() for _ in range(repeat * 20_000 * 2 + 10)])
    rows: list[Row] = []

    known = KnownUsers(CAPACITY)
    for user_id in ids:
        known.add(user_id)
    # A user seen lately (the common request), then one the cache must make room for.
    present = ids[-1]
    rows.append(
        (
            "membership check, hit, 100 000 entries",
            "auth.users.KnownUsers",
            per_call(lambda: present in known, repeat, 200_000),
        )
    )
    rows.append(
        (
            "add a new entry, full at 100 000 (drops the oldest)",
            "auth.users.KnownUsers",
            per_call(lambda: known.add(next(fresh)), repeat, 20_000),
        )
    )
    try:
        from cachetools import LRUCache
    except ImportError:
        return rows
    cache: LRUCache[uuid.UUID, bool] = LRUCache(maxsize=CAPACITY)
    for user_id in ids:
        cache[user_id] = False
    # `in` alone does not make an LRUCache entry the newest: `get` does, as KnownUsers' check.
    rows.append(
        (
            "membership check, hit, 100 000 entries",
            "cachetools.LRUCache.get",
            per_call(lambda: cache.get(present) is not None, repeat, 200_000),
        )
    )
    rows.append(
        (
            "add a new entry, full at 100 000 (drops the oldest)",
            "cachetools.LRUCache[key] = value",
            per_call(lambda: cache.__setitem__(next(fresh), False), repeat, 20_000),
        )
    )
    return rows


def ids(repeat: int) -> list[Row]:
    job = "a new UUIDv7 as a uuid.UUID"
    rows: list[Row] = [(job, "kit.ids.new_id", per_call(new_id, repeat, 100_000))]
    try:
        from uuid_utils import compat
    except ImportError:
        pass
    else:
        rows.append((job, "uuid_utils.compat.uuid7", per_call(compat.uuid7, repeat, 100_000)))
    try:
        import uuid6
    except ImportError:
        pass
    else:
        rows.append((job, "uuid6.uuid7", per_call(uuid6.uuid7, repeat, 100_000)))
    return rows


def json_lines(repeat: int) -> list[Row]:
    job = "one JSON request line"
    fields: dict[str, Any] = {
        "request_id": "0b1f6c0e9a1d4c7e",
        "method": "GET",
        "route": "/api/tasks/{task_id}",
        "status": 200,
        "duration_ms": 2.41,
        "user_id": str(uuid.uuid4()),
    }
    message = "GET /api/tasks/0192f0aa-54b1-7c3e-8a5d-2b1f0c9d8e7f 200"
    record = logging.LogRecord("todo_api.access", logging.INFO, "", 0, message, None, None)
    record.fields = fields
    ours = JsonFormatter()
    rows = [
        (
            job,
            "process.logs.JsonFormatter.format (a LogRecord)",
            per_call(lambda: ours.format(record), repeat, 50_000),
        ),
        (
            job,
            "process.logs.JsonFormatter.info_line (no LogRecord)",
            per_call(
                lambda: ours.info_line("todo_api.access", record.created, message, fields),
                repeat,
                50_000,
            ),
        ),
    ]
    # The same keys as ours: the time, level, logger and message, then the fields.
    flat = logging.LogRecord("todo_api.access", logging.INFO, "", 0, message, None, None)
    flat.__dict__.update(fields)
    options: dict[str, Any] = {
        "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
        "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
    }
    try:
        from pythonjsonlogger.json import JsonFormatter as LibraryJson
    except ImportError:
        return rows
    library = LibraryJson(**options)
    rows.append(
        (
            job,
            "pythonjsonlogger.json.JsonFormatter",
            per_call(lambda: library.format(flat), repeat, 50_000),
        )
    )
    try:
        from pythonjsonlogger.orjson import OrjsonFormatter
    except ImportError:
        return rows
    library_orjson = OrjsonFormatter(**options)
    rows.append(
        (
            job,
            "pythonjsonlogger.orjson.OrjsonFormatter",
            per_call(lambda: library_orjson.format(flat), repeat, 50_000),
        )
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timeit runs; the best is kept")
    args = parser.parse_args()
    loop = asyncio.new_event_loop()
    rows = (
        rate_limit(args.repeat, loop)
        + lru(args.repeat)
        + ids(args.repeat)
        + json_lines(args.repeat)
    )
    loop.close()
    print("| job | implementation | µs per call |")
    print("|---|---|---:|")
    for job, name, micros in rows:
        print(f"| {job} | {name} | {micros:.2f} |")


if __name__ == "__main__":
    main()
