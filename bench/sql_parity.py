"""Whether `baseline_app.py` sends todo-api's own statements, on the hot routes and new ones.

    .venv/bin/python bench/sql_parity.py --db bench_cpu_...          # check (exit 1: differ)
    .venv/bin/python bench/sql_parity.py --db bench_cpu_... --write  # bench/baseline_sql.py

Issue 55's yardstick is a raw handler doing the same work as the service: the same SQL text
and parameters, so that the ratio of their CPU measures the service's own Python. The same
holds for the bare-ASGI floor (`floor_app.py`) on the five hot routes it serves. On a
database kept by `cpu_per_request.py --keep`, each route's request goes once through each
app in this process (as `inprocess.py` drives them, after one request to warm them), and every
statement asyncpg is asked to run is recorded. The check compares the texts, and the
parameters' values (their types only for ids and times, which each request makes anew); the
statements sent without parameters (a transaction's, a savepoint's) count too. Over the whole
run, the session settings each app made (`SET plan_cache_mode`: the filtered list's statement
is planned per call) must be the same. `--write` writes the service's statements into
`baseline_sql.py`, which the baseline sends: run it when the service's statements change, then
the check. `cpu_per_request.py` runs the check before it measures.
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
from benchlib import FILTER_USER, SMALL_USER, WRITER_USER, db_url, new_secret  # noqa: E402

# Each route's statements, in the order the service sends them, by their names in
# baseline_sql.py.
STATEMENTS = {
    "list": ("LIST",),
    "get": ("GET",),
    "create": ("CREATE",),
    "patch": ("PATCH",),
    "complete": ("COMPLETE",),
    "quick": ("USER_ZONE", "QUICK"),
    "filter": ("FILTER",),
    "comments": ("COMMENTS_TASK", "COMMENTS"),
}
ROUTES = tuple(STATEMENTS)
Sent = list[tuple[str, tuple[Any, ...]]]

_sent: Sent = []
_settings: set[str] = set()  # the session settings made (SET ...), over an app's run
_execute = asyncpg.connection.Connection._execute
_execute_text = asyncpg.connection.Connection.execute


async def _recorded(self: Any, query: str, args: Any, *rest: Any, **named: Any) -> Any:
    _sent.append((query, tuple(args)))
    return await _execute(self, query, args, *rest, **named)


async def _recorded_text(self: Any, query: str, *args: Any, **named: Any) -> Any:
    """A statement without parameters goes to the server as it is, not through `_execute`."""
    if not args:
        _sent.append((query, ()))
        if query.startswith("SET "):
            _settings.add(query)
    return await _execute_text(self, query, *args, **named)


def _comparable(value: Any) -> Any:
    if isinstance(value, uuid.UUID | datetime | date):
        return type(value).__name__
    if isinstance(value, enum.Enum):
        return value.value
    return value


async def capture(service_only: bool) -> tuple[dict[str, dict[str, Sent]], dict[str, set[str]]]:
    """Per route, per app, the statements one request sent; per app, the session settings.
    `service_only`: the service's alone (the baseline may not know the statements yet)."""
    asyncpg.connection.Connection._execute = _recorded  # type: ignore[method-assign]
    asyncpg.connection.Connection.execute = _recorded_text  # type: ignore[method-assign]
    from todo_api.app import create_app

    service = create_app(jobs=[])
    baseline = importlib.import_module("baseline_app").app
    floor = importlib.import_module("floor_app").app
    database = os.environ["BENCH_DB"]
    secret = os.environ["JWT_SECRET"]
    tokens = {
        "reader": inprocess.token(secret, SMALL_USER),
        "writer": inprocess.token(secret, WRITER_USER),
        "patch": inprocess.token(secret, inprocess.PATCH_USER),
        "complete": inprocess.token(secret, inprocess.COMPLETE_USER),
        "filter": inprocess.token(secret, FILTER_USER),
    }
    ids = {
        "get": (await inprocess.ids_of(database, SMALL_USER, 11))[-1:],
        "patch": await inprocess.ids_of(database, inprocess.PATCH_USER, 10),
        "complete": await inprocess.ids_of(database, inprocess.COMPLETE_USER, 10, open_only=True),
        "comments": await inprocess.ids_of(database, FILTER_USER, 1),
    }
    routes = inprocess.Routes(tokens, ids)
    found: dict[str, dict[str, Sent]] = {route: {} for route in ROUTES}
    settings: dict[str, set[str]] = {}
    apps = [("todo-api", service)]
    if not service_only:
        apps += [("baseline", baseline), ("floor", floor)]
    for name, app in apps:  # each started, its routes in turn, stopped: as a benchmark's server
        _settings.clear()
        async with inprocess.started(app):
            for route in ROUTES if name != "floor" else inprocess.FLOOR_ROUTES:
                await inprocess.call(app, *routes.request(route))  # the user known, the token
                _sent.clear()
                status = await inprocess.call(app, *routes.request(route))
                if status >= 300:
                    raise SystemExit(f"{route} on {name}: status {status}")
                found[route][name] = list(_sent)
        settings[name] = set(_settings)
    return found, settings


def write(found: dict[str, dict[str, Sent]]) -> None:
    lines = [
        '"""todo-api\'s statements on the hot routes and the new ones, as it sends them: what',
        '`baseline_app.py` sends. Written by `sql_parity.py --write`; do not edit."""',
        "",
        "# ruff: noqa: E501",
        "",
    ]
    for route, sent in found.items():
        statements = [sql for sql, _ in sent["todo-api"]]
        names = STATEMENTS[route]
        if len(statements) != len(names):
            raise SystemExit(
                f"{route}: the service sent {len(statements)} statements, not {len(names)}"
            )
        lines += [f"{name} = {sql!r}" for name, sql in zip(names, statements, strict=True)]
    (BENCH_DIR / "baseline_sql.py").write_text("\n".join(lines) + "\n")


def check(found: dict[str, dict[str, Sent]], settings: dict[str, set[str]]) -> bool:
    same = True
    for route, sent in found.items():
        ours = [(sql, tuple(map(_comparable, args))) for sql, args in sent["todo-api"]]
        for other in ("baseline", "floor"):
            if other not in sent:  # the floor serves the five hot routes only
                continue
            theirs = [(sql, tuple(map(_comparable, args))) for sql, args in sent[other]]
            if ours == theirs:
                print(f"{route:9} {other}: the same {len(ours)} statement(s) and parameters")
                continue
            same = False
            print(f"{route:9} {other}: DIFFER")
            print(f"  todo-api: {pprint.pformat(ours)}\n  {other}: {pprint.pformat(theirs)}")
    # The floor never plans a statement per call (the filtered list is not among its routes).
    per_call = {setting for setting in settings["todo-api"] if "plan_cache_mode" in setting}
    expected = {"baseline": settings["todo-api"], "floor": settings["todo-api"] - per_call}
    for other, wanted in expected.items():
        if settings[other] == wanted:
            print(f"sessions  {other}: the settings expected: {sorted(wanted)}")
        else:
            same = False
            print(f"sessions  {other}: DIFFER: {settings[other]}, expected {wanted}")
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
    found, settings = uvloop.run(capture(service_only=args.write))
    if args.write:
        write(found)
        return
    if not check(found, settings):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
