"""Whether `baseline_app.py` sends todo-api's own statements on the hot routes.

    .venv/bin/python bench/sql_parity.py --db bench_cpu_...          # check (exit 1: differ)
    .venv/bin/python bench/sql_parity.py --db bench_cpu_... --write  # bench/baseline_sql.py

Issue 55's yardstick is a raw handler doing the same work as the service: the same SQL text
and parameters, so that the ratio of their CPU measures the service's own Python. On a
database kept by `cpu_per_request.py --keep`, each route's request goes once through each
app in this process (as `inprocess.py` drives them, after one request to warm them), and every
statement asyncpg is asked to run is recorded. The check compares the texts, and the
parameters' values (their types only for ids and times, which each request makes anew).
`--write` writes the service's statements into `baseline_sql.py`, which the baseline sends:
run it when the service's statements change, then the check. `cpu_per_request.py` runs the
check before it measures.
"""

import argparse
import enum
import importlib
import os
import pprint
import sys
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any

import asyncpg
import uvloop

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import inprocess  # noqa: E402
from benchlib import SMALL_USER, WRITER_USER, db_url, new_secret  # noqa: E402

ROUTES = ("list", "get", "create", "patch", "complete")
Sent = list[tuple[str, tuple[Any, ...]]]

_sent: Sent = []
_execute = asyncpg.connection.Connection._execute


async def _recorded(self: Any, query: str, args: Any, *rest: Any, **named: Any) -> Any:
    _sent.append((query, tuple(args)))
    return await _execute(self, query, args, *rest, **named)


def _comparable(value: Any) -> Any:
    if isinstance(value, uuid.UUID | datetime | date):
        return type(value).__name__
    if isinstance(value, enum.Enum):
        return value.value
    return value


async def capture() -> dict[str, dict[str, Sent]]:
    """Per route, per app, the statements one request sent."""
    asyncpg.connection.Connection._execute = _recorded  # type: ignore[method-assign]
    from todo_api.app import create_app

    service = create_app(jobs=[])
    baseline = importlib.import_module("baseline_app").app
    database = os.environ["BENCH_DB"]
    secret = os.environ["JWT_SECRET"]
    tokens = {
        "reader": inprocess.token(secret, SMALL_USER),
        "writer": inprocess.token(secret, WRITER_USER),
        "patch": inprocess.token(secret, inprocess.PATCH_USER),
        "complete": inprocess.token(secret, inprocess.COMPLETE_USER),
    }
    ids = {
        "get": (await inprocess.ids_of(database, SMALL_USER, 11))[-1:],
        "patch": await inprocess.ids_of(database, inprocess.PATCH_USER, 10),
        "complete": await inprocess.ids_of(database, inprocess.COMPLETE_USER, 10, open_only=True),
    }
    routes = inprocess.Routes(tokens, ids)
    found: dict[str, dict[str, Sent]] = {}
    async with service.router.lifespan_context(service), baseline.router.lifespan_context(baseline):
        for route in ROUTES:
            found[route] = {}
            for name, app in (("todo-api", service), ("baseline", baseline)):
                await inprocess.call(app, *routes.request(route))  # the user known, the token
                _sent.clear()
                status = await inprocess.call(app, *routes.request(route))
                if status >= 300:
                    raise SystemExit(f"{route} on {name}: status {status}")
                found[route][name] = list(_sent)
    return found


def write(found: dict[str, dict[str, Sent]]) -> None:
    texts = {route: [sql for sql, _ in sent["todo-api"]] for route, sent in found.items()}
    for route, statements in texts.items():
        if len(statements) != 1:
            raise SystemExit(f"{route}: the service sent {len(statements)} statements, not one")
    lines = [
        '"""todo-api\'s statements on the hot routes, as it sends them: what `baseline_app.py`',
        'sends. Written by `sql_parity.py --write`; do not edit."""',
        "",
        "# ruff: noqa: E501",
        "",
    ]
    for route, (statement,) in texts.items():
        lines.append(f"{route.upper()} = {statement!r}")
    (BENCH_DIR / "baseline_sql.py").write_text("\n".join(lines) + "\n")


def check(found: dict[str, dict[str, Sent]]) -> bool:
    same = True
    for route, sent in found.items():
        ours = [(sql, tuple(map(_comparable, args))) for sql, args in sent["todo-api"]]
        theirs = [(sql, tuple(map(_comparable, args))) for sql, args in sent["baseline"]]
        if ours == theirs:
            print(f"{route:9} the same {len(ours)} statement(s) and parameters")
            continue
        same = False
        print(f"{route:9} DIFFER")
        print(f"  todo-api: {pprint.pformat(ours)}\n  baseline: {pprint.pformat(theirs)}")
    return same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--write", action="store_true", help="write baseline_sql.py")
    args = parser.parse_args()
    os.environ.update(
        DATABASE_URL=db_url(args.db),
        JWT_SECRET=new_secret(),
        ENV="development",
        LOG_LEVEL="WARNING",
        BENCH_DB=args.db,
    )
    found = uvloop.run(capture())
    if args.write:
        write(found)
        return
    if not check(found):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
