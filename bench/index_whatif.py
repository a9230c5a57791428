"""What if: would other indexes (or a capped count) fix the slow list cases of list_scale.py?

    .venv/bin/python bench/list_scale.py --keep              # prints the kept database's name
    .venv/bin/python bench/index_whatif.py --db NAME         # then, on that database
    psql -h 127.0.0.1 -U postgres -c 'DROP DATABASE NAME WITH (FORCE)'

For each candidate it creates the index(es) on the kept benchmark database, ANALYZEs, times
the service's own list statement (`pages.page_query` of the request's shape, compiled for
asyncpg, on a reused prepared statement, custom plans as the service's connections make them)
and records its plan, then drops what it created, so the database ends as it began (btree_gin
is dropped again if this script created it). Nothing here touches the migrations: these are
measurements for a decision, not a change.
"""

import argparse
import asyncio
import sys
import uuid
from typing import Any

import asyncpg
from benchlib import BIG_USER, SMALL_USER, db_url, exit_cleanly_on_sigterm, log
from list_scale import explain_case, service_statement

from todo_api.tasks.listing import ListQuery, TaskFilters

CASES = {
    "q=milk": ListQuery(filters=TaskFilters(q="milk")),
    "tag=groceries": ListQuery(filters=TaskFilters(tags=("groceries",))),
    "completed=false&sort=-priority": ListQuery(
        filters=TaskFilters(completed=False), sort="-priority"
    ),
}
USERS = {"1k": SMALL_USER, "100k": BIG_USER}

# name -> (indexes to create, cases it is meant for)
CANDIDATES: dict[str, tuple[list[str], list[str]]] = {
    "as migrated": ([], list(CASES)),
    "btree (user_id, priority, id) INCLUDE (is_completed)": (
        [
            "CREATE INDEX whatif_user_priority_open ON tasks (user_id, priority, id) "
            "INCLUDE (is_completed)"
        ],
        ["completed=false&sort=-priority"],
    ),
}
COUNTS = {
    "exact count": "SELECT count(*) FROM tasks WHERE user_id = $1",
    "count capped at 1001": (
        "SELECT count(*) FROM (SELECT 1 FROM tasks WHERE user_id = $1 LIMIT 1001) AS capped"
    ),
}


async def run(database: str, repeats: int) -> list[str]:
    # Custom plans, as the service's connections make them.
    conn = await asyncpg.connect(
        db_url(database), timeout=10, server_settings={"plan_cache_mode": "force_custom_plan"}
    )
    lines = [
        "| candidate | user | case | SQL ms | count part ms | access paths |",
        "|---|---|---|---:|---:|---|",
    ]
    plans: list[str] = []
    created_extension = False
    try:
        await conn.execute("SET statement_timeout = '300s'; SET maintenance_work_mem = '512MB'")
        if not await conn.fetchval("SELECT count(*) FROM pg_extension WHERE extname = 'btree_gin'"):
            await conn.execute("CREATE EXTENSION btree_gin")
            created_extension = True
        for candidate, (ddl, case_names) in CANDIDATES.items():
            created: list[str] = []
            try:
                for statement in ddl:
                    log(f"{candidate}: {statement}")
                    await conn.execute(statement)
                    created.append(statement.split()[2])
                if created:
                    await conn.execute("ANALYZE tasks")
                for case_name in case_names:
                    for label, user in USERS.items():
                        sql, params, _shape = service_statement(
                            uuid.UUID(user), CASES[case_name], "not-used-without-a-cursor"
                        )
                        found: dict[str, Any] = await explain_case(conn, sql, params, repeats)
                        paths = "; ".join(
                            f"{k}: {' + '.join(v)}" for k, v in found["paths"].items() if v
                        )
                        lines.append(
                            f"| {candidate} | {label} | {case_name} | {found['sql_ms']:.1f} | "
                            f"{found['count_ms']:.1f} | {paths} |"
                        )
                        plans += [f"### {candidate}: {label} {case_name}", "", "```"]
                        plans += [found["plan"], "```", ""]
            finally:
                for name in created:
                    await conn.execute(f'DROP INDEX IF EXISTS "{name}"')
        lines += ["", "| count | user | SQL ms |", "|---|---|---:|"]
        for name, sql in COUNTS.items():
            for label, user in USERS.items():
                found = await explain_case(conn, sql, [uuid.UUID(user)], repeats)
                lines.append(f"| {name} | {label} | {found['sql_ms']:.2f} |")
    finally:
        if created_extension:
            await conn.execute("DROP EXTENSION IF EXISTS btree_gin")
        await conn.close()
    return [*lines, "", *plans]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="a database kept by list_scale.py --keep")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    if not args.db.startswith("bench_list_"):
        sys.exit("--db must be a database made by list_scale.py (bench_list_...)")
    print("\n".join(asyncio.run(run(args.db, args.repeats))))


if __name__ == "__main__":
    main()
