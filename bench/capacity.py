"""What one request costs, by route, for the capacity model (docs/scaling.md): server CPU,
PostgreSQL CPU, bytes of the answer, PostgreSQL connections.

    .venv/bin/python bench/capacity.py                   # ~6 min with the seed
    .venv/bin/python bench/capacity.py --requests 100 --members 200

One `todo-api serve --workers 1` on a scratch PostgreSQL database seeded with benchlib's
seed (a person of 100 000 tasks among 50 000 others'). Measured, each with `--requests`
requests, 4 at a time, the server's and the database's on-CPU seconds read around them
(benchlib: schedstat of the server's processes and of the database's backends):

- a person of a few hundred tasks (signed up through the API, signed in to the web app):
  create, list 50, get, PATCH, complete, a search, Today, the inbox page (`GET /app/`), a CalDAV
  `sync-collection` of the inbox with a token (nothing changed: a client's poll) and without
  (the whole inbox);
- the person of 100 000 tasks: list 50, a search (`q=milk`), Today (`filter=today`), a CalDAV
  poll and one whole sync of the inbox (a single request);
- a list with `--members` members (each joined through an invitation link): a member's list of
  its 50 tasks against its owner's (the sharing check), and a create in it against a create in
  a private list (what telling the members costs), measured once the joins' after-effects
  are done (QUIET_SECONDS).

The database's CPU is that of every backend of the database, background jobs included: read
it as what the route costs the database, with whatever the service does meanwhile.

A live stream's idle cost is bench/streams_idle.py's. Prints Markdown tables.
"""

import argparse
import asyncio
import math
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from benchlib import (
    BIG_USER,
    Server,
    backend_pids,
    cpu_spent,
    free_port,
    log,
    migrate,
    new_secret,
    running_server,
    scratch_database,
    seed,
    serve_argv,
    server_and_database_cpu,
    service_env,
    token_for,
    work_dir,
)

from helpers_server import server_token

PASSWORD = "a long enough passphrase"
CONCURRENCY = 4
QUIET_SECONDS = 20
SYNC = (
    '<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>{}</d:sync-token>'
    "<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"
)


@dataclass
class Row:
    route: str
    requests: int
    server_ms: float
    database_ms: float
    bytes: float
    backends: int

    def markdown(self) -> str:
        return (
            f"| {self.route} | {self.requests} | {self.server_ms:.2f} | "
            f"{self.database_ms:.2f} | {self.bytes:,.0f} | {self.backends} |"
        )


Send = Callable[[int], Awaitable[httpx.Response]]


async def measure(server: Server, database: str, route: str, n: int, send: Send) -> Row:
    """`send(i)` for i in 0..n-1, CONCURRENCY at a time; each answer must be 2xx."""
    sizes: list[int] = []
    queue = iter(range(n))

    async def worker() -> None:
        for i in queue:
            response = await send(i)
            assert 200 <= response.status_code < 300, (route, response.text[:300])
            sizes.append(len(response.content))

    before = await server_and_database_cpu(server, database)
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    after = await server_and_database_cpu(server, database)
    server_s, database_s = cpu_spent(before, after)
    backends = len(await backend_pids(database))
    row = Row(route, n, server_s / n * 1000, database_s / n * 1000, sum(sizes) / n, backends)
    log(row.markdown())
    return row


def listing(api: httpx.AsyncClient, params: dict[str, str]) -> Send:
    """GET /api/tasks with `params`, a page of 50."""

    def send(_i: int) -> Awaitable[httpx.Response]:
        return api.get("/api/tasks", params={**params, "limit": 50})

    return send


def sync_token(response: httpx.Response) -> str:
    found = re.search(rb"<[a-zA-Z]*:?sync-token[^>]*>([^<]+)<", response.content)
    assert found is not None, response.text[:300]
    return found.group(1).decode()


async def sign_up(base: str) -> tuple[httpx.AsyncClient, httpx.AsyncClient, str]:
    """A new person: the API client (bearer), the web app's client (cookie), their id."""
    email = f"capacity-{uuid.uuid4().hex[:8]}@example.test"
    api = httpx.AsyncClient(base_url=base, timeout=120)
    web = httpx.AsyncClient(base_url=base, timeout=120)
    made = await api.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    assert made.status_code == 201, made.text
    pat = await api.post(
        "/api/tokens",
        json={"name": "bench"},
        headers={"Authorization": f"Bearer {made.json()['access_token']}"},
    )
    api.headers["Authorization"] = f"Bearer {pat.json()['token']}"
    form = await web.get("/app/signin")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf is not None
    fields = {"csrf_token": csrf.group(1), "action": "signin", "email": email}
    signed = await web.post("/app/signin", data={**fields, "password": PASSWORD})
    assert signed.status_code == 303, signed.text
    me = (await api.get("/api/auth/me")).json()
    return api, web, me["id"]


async def person_routes(server: Server, database: str, n: int) -> list[Row]:
    api, web, user_id = await sign_up(server.url)
    inbox = f"/dav/calendars/{user_id}/inbox/"
    ids: list[str] = []

    async def create(i: int) -> httpx.Response:
        response = await api.post("/api/tasks", json={"title": f"Buy milk {i}", "priority": "high"})
        ids.append(response.json()["id"])
        return response

    rows = [await measure(server, database, "create", n, create)]
    rows.append(
        await measure(
            server, database, "list 50", n, lambda i: api.get("/api/tasks", params={"limit": 50})
        )
    )
    rows.append(
        await measure(server, database, "get one", n, lambda i: api.get(f"/api/tasks/{ids[i]}"))
    )
    rows.append(
        await measure(
            server,
            database,
            "PATCH",
            n,
            lambda i: api.patch(f"/api/tasks/{ids[i]}", json={"priority": "low"}),
        )
    )
    rows.append(
        await measure(
            server, database, "complete", n, lambda i: api.post(f"/api/tasks/{ids[i]}/complete")
        )
    )
    for route, params in (("search q=milk", {"q": "milk"}), ("Today", {"filter": "today"})):
        rows.append(await measure(server, database, route, n, listing(api, params)))
    rows.append(
        await measure(server, database, "inbox page (/app/)", n, lambda i: web.get("/app/"))
    )
    token = sync_token(await api.request("REPORT", inbox, content=SYNC.format("").encode()))
    poll = SYNC.format(token).encode()
    rows.append(
        await measure(
            server,
            database,
            "CalDAV sync, nothing changed",
            n,
            lambda i: api.request("REPORT", inbox, content=poll),
        )
    )
    whole = SYNC.format("").encode()
    rows.append(
        await measure(
            server,
            database,
            f"CalDAV sync, whole inbox ({n} tasks)",
            max(4, n // 10),
            lambda i: api.request("REPORT", inbox, content=whole),
        )
    )
    await api.aclose()
    await web.aclose()
    return rows


async def big_person_routes(server: Server, database: str, token: str, n: int) -> list[Row]:
    api = httpx.AsyncClient(
        base_url=server.url, timeout=600, headers={"Authorization": f"Bearer {token}"}
    )
    inbox = f"/dav/calendars/{BIG_USER}/inbox/"
    rows = [
        await measure(
            server,
            database,
            "100k: list 50",
            n,
            lambda i: api.get("/api/tasks", params={"limit": 50}),
        ),
        await measure(
            server,
            database,
            "100k: search q=milk",
            n,
            lambda i: api.get("/api/tasks", params={"q": "milk", "limit": 50}),
        ),
        await measure(
            server,
            database,
            "100k: Today (filter=today)",
            n,
            lambda i: api.get("/api/tasks", params={"filter": "today", "limit": 50}),
        ),
    ]
    whole = await api.request("REPORT", inbox, content=SYNC.format("").encode())
    poll = SYNC.format(sync_token(whole)).encode()
    rows.append(
        await measure(
            server,
            database,
            "100k: CalDAV sync, nothing changed",
            n,
            lambda i: api.request("REPORT", inbox, content=poll),
        )
    )
    rows.append(
        await measure(
            server,
            database,
            "100k: CalDAV sync, whole inbox",
            1,
            lambda i: api.request("REPORT", inbox, content=SYNC.format("").encode()),
        )
    )
    await api.aclose()
    return rows


async def members_routes(
    server: Server, database: str, env: dict[str, str], members: int, n: int
) -> list[Row]:
    owner, web, _ = await sign_up(server.url)
    await web.aclose()
    shared = (await owner.post("/api/lists", json={"name": "Everyone"})).json()["id"]
    private = (await owner.post("/api/lists", json={"name": "Mine"})).json()["id"]
    link = await owner.post(f"/api/lists/{shared}/invitations", json={"role": "editor"})
    assert link.status_code == 201, link.text
    invitation = link.json()["token"]
    tokens = [server_token(env, str(uuid.uuid4()), f"m{i}@example.test") for i in range(members)]
    started = time.monotonic()
    queue = iter(tokens)

    async def join() -> None:
        async with httpx.AsyncClient(base_url=server.url, timeout=120) as client:
            for token in queue:
                headers = {"Authorization": f"Bearer {token}"}
                accepted = await client.post(
                    "/api/invitations/accept", json={"token": invitation}, headers=headers
                )
                assert accepted.status_code == 200, accepted.text

    await asyncio.gather(*(join() for _ in range(CONCURRENCY)))
    log(f"{members} members joined in {time.monotonic() - started:.0f} s")
    for i in range(50):
        await owner.post("/api/tasks", json={"title": f"shared {i}", "list_id": shared})
    # The joins' own after-effects (events, activity) done before anything is measured: the
    # database's CPU is every backend's.
    await asyncio.sleep(QUIET_SECONDS)
    member = httpx.AsyncClient(
        base_url=server.url, timeout=120, headers={"Authorization": f"Bearer {tokens[-1]}"}
    )
    params = {"list_id": shared, "limit": 50}
    rows = [
        await measure(
            server,
            database,
            f"a member's list of a {members}-member list",
            n,
            lambda i: member.get("/api/tasks", params=params),
        ),
        await measure(
            server,
            database,
            f"the owner's list of the same {members}-member list",
            n,
            lambda i: owner.get("/api/tasks", params=params),
        ),
        await measure(
            server,
            database,
            f"create in a {members}-member list",
            n,
            lambda i: owner.post("/api/tasks", json={"title": f"s {i}", "list_id": shared}),
        ),
        await measure(
            server,
            database,
            "create in a private list",
            n,
            lambda i: owner.post("/api/tasks", json={"title": f"p {i}", "list_id": private}),
        ),
    ]
    await member.aclose()
    await owner.aclose()
    return rows


# The worked table's assumptions (docs/scaling.md states them): in the busiest minute a tenth
# of the people are active, each making 4 requests, in this mix of the measured routes; 30 %
# have a CalDAV client polling every 5 minutes; the active tenth each hold one live stream.
POPULATIONS = (1_000, 100_000, 10_000_000)
ACTIVE = 0.10
PER_MINUTE = 4
MIX = {
    "list 50": 0.30,
    "get one": 0.10,
    "create": 0.15,
    "PATCH": 0.10,
    "complete": 0.10,
    "inbox page (/app/)": 0.15,
    "search q=milk": 0.05,
    "Today": 0.05,
}
WRITES = ("create", "PATCH", "complete")
CALDAV_SHARE, CALDAV_EVERY_S = 0.30, 300
# bench/streams_idle.py: 1 000 idle streams, 134 ms server and 10 ms PostgreSQL CPU in 5 s.
STREAM_IDLE_MS_PER_S = (134 / 5 / 1000, 10 / 5 / 1000)
STREAM_MIB = 59 / 1024
WORKER_MIB = 140
UTILISATION = 0.6  # each core's share in use at the peak: room for a lost instance, bursts
WORKERS_PER_INSTANCE = 4
CORES_PER_DATABASE = 16  # a primary's or replica's size in the table
POOL = 5  # DATABASE_POOL_SIZE, each worker's
# Requests per second one PgBouncer process (single-threaded: one core at most) is given in
# the table, measured by bench/pgbouncer_tps.py: 170 µs of its CPU per transaction of BEGIN,
# two statements and COMMIT (about 43 µs per statement's round trip), taken as a request's
# (most reads make fewer), at UTILISATION of its core: 0.6 / 170 µs.
PGBOUNCER_TPS = 3_500


def worked_table(rows: list[Row]) -> list[str]:
    cost = {row.route: (row.server_ms, row.database_ms) for row in rows}
    sync = cost["CalDAV sync, nothing changed"]
    table = [
        "| people | requests/s | CalDAV polls/s | streams open | server cores | instances "
        "(4 workers) | PostgreSQL cores: writes / reads | primaries / replicas (16 cores) | "
        "PgBouncers: client / server connections each | server memory GiB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for people in POPULATIONS:
        per_s = people * ACTIVE * PER_MINUTE / 60
        polls = people * CALDAV_SHARE / CALDAV_EVERY_S
        streams = people * ACTIVE
        server = per_s * sum(share * cost[r][0] for r, share in MIX.items())
        writes = per_s * sum(share * cost[r][1] for r, share in MIX.items() if r in WRITES)
        reads = per_s * sum(share * cost[r][1] for r, share in MIX.items() if r not in WRITES)
        server += polls * sync[0] + streams * STREAM_IDLE_MS_PER_S[0]
        reads += polls * sync[1] + streams * STREAM_IDLE_MS_PER_S[1]
        # A write is pushed to its author's open stream: a feed page, costed as a get.
        pushes = per_s * sum(share for r, share in MIX.items() if r in WRITES)
        server += pushes * cost["get one"][0]
        reads += pushes * cost["get one"][1]
        server_cores = server / 1000 / UTILISATION
        write_cores = writes / 1000 / UTILISATION
        read_cores = reads / 1000 / UTILISATION
        instances = max(2, math.ceil(server_cores / WORKERS_PER_INSTANCE) + 1)
        primaries = max(1, math.ceil(write_cores / CORES_PER_DATABASE))
        # Reads beyond what the primaries' spare cores take go to replicas.
        spare = primaries * CORES_PER_DATABASE - write_cores
        replicas = max(0, math.ceil((read_cores - spare) / CORES_PER_DATABASE))
        workers = instances * WORKERS_PER_INSTANCE
        memory = (workers * WORKER_MIB + streams * STREAM_MIB) / 1024
        bouncers = max(1, math.ceil((per_s + polls) / PGBOUNCER_TPS))
        # 2 to 3 per PostgreSQL core, shared among the PgBouncers.
        databases = primaries + replicas
        server_connections = math.ceil(3 * CORES_PER_DATABASE * databases / bouncers)
        table.append(
            f"| {people:,} | {per_s:,.0f} | {polls:,.0f} | {streams:,.0f} | {server_cores:,.2f} "
            f"| {instances:,} | {write_cores:,.2f} / {read_cores:,.2f} | {primaries} / {replicas} "
            f"| {bouncers}: {math.ceil(workers * POOL / bouncers):,} / {server_connections} "
            f"| {memory:,.1f} |"
        )
    return table


HEADER = [
    "| route | requests | server CPU ms | PostgreSQL CPU ms | bytes | backends |",
    "|---|---:|---:|---:|---:|---:|",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--bulk-tasks", type=int, default=50_000)
    args = parser.parse_args()
    with work_dir() as cwd, scratch_database("bench_capacity") as database:
        env = service_env(database, new_secret())
        migrate(env, cwd)
        asyncio.run(seed(database, args.bulk_tasks, 1000, {BIG_USER: 100_000}))
        big_token = token_for(BIG_USER, env, cwd)
        port = free_port()
        with running_server("todo-api", serve_argv(port), env, cwd, port) as server:
            rows = asyncio.run(person_routes(server, database, args.requests))
            rows += asyncio.run(big_person_routes(server, database, big_token, args.requests))
            rows += asyncio.run(members_routes(server, database, env, args.members, args.requests))
    print("\n".join([*HEADER, *(row.markdown() for row in rows), "", *worked_table(rows)]))


if __name__ == "__main__":
    main()
