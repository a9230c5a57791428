"""Where /dav's full sync holds memory, in process: tracemalloc around the sync of
`caldav_sync.py` (sync-collection with an empty token, calendar-multiget in batches of 100, a
PROPFIND Depth 1 of every ETag) on a calendar of N VTODOs PUT by a client, PostgreSQL.

The app is called as ASGI directly and each answer is thrown away as it streams (a client
holding a whole answer would be counted too). After two unmeasured syncs (statements compiled
and prepared, caches filled), the third is traced: the Python heap's peak during each kind of
request above what was held when it started, and, with `--where`, the lines that held the most
at each kind's largest point (the snapshots cost time and memory of their own).

    .venv/bin/python bench/caldav_memory.py [--tasks 1000] [--where]
"""

import argparse
import asyncio
import base64
import secrets
import tempfile
import tracemalloc
import uuid
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from benchlib import ADMIN_URL, db_url, log, new_secret

from todo_api.app import create_app
from todo_api.auth.tokens import mint_token
from todo_api.config import Settings
from todo_api.migrations import upgrade_to_head

Message = MutableMapping[str, Any]


def vtodo(uid: str) -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VTODO\r\n"
        f"UID:{uid}\r\nDTSTAMP:20261101T000000Z\r\nSUMMARY:Task {uid[:8]}\r\n"
        "DUE:20261224T090000Z\r\nPRIORITY:5\r\nCATEGORIES:bench\r\n"
        "X-BENCH:kept\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
    ).encode()


class Tracer:
    """Each kind of request's peak above its start, and its largest sampled snapshot."""

    def __init__(self, where: bool) -> None:
        self.where = where
        self.kind = ""
        self.peaks: dict[str, int] = {}
        self.largest: dict[str, tuple[int, tracemalloc.Snapshot]] = {}

    def sample(self) -> None:
        if not self.where or not tracemalloc.is_tracing():
            return
        now = tracemalloc.get_traced_memory()[0]
        if now > self.largest.get(self.kind, (0, None))[0] + 32 * 1024:
            self.largest[self.kind] = (now, tracemalloc.take_snapshot())


async def call(
    app: Any, tracer: Tracer, method: str, path: str, body: bytes, headers: dict[str, str]
) -> int:
    """The app's answer to one request, thrown away as it streams: its size in bytes."""
    sent = 0
    received = False

    async def receive() -> Message:
        nonlocal received
        if received:  # (a streamed answer listens for the client leaving)
            await asyncio.sleep(3600)
        received = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal sent
        if message["type"] == "http.response.body":
            sent += len(message.get("body", b""))
            tracer.sample()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + [(b"host", b"bench")],
        "client": ("127.0.0.1", 1),
        "server": ("bench", 80),
        "state": {},
    }
    await app(scope, receive, send)
    return sent


def client_for(app: Any, headers: dict[str, str]) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers)


async def measure(app: Any, settings: Settings, count: int, tracer: Tracer) -> None:
    bearer = {"Authorization": f"Bearer {mint_token(settings, subject=str(uuid.uuid4()))}"}
    async with client_for(app, bearer) as api:
        token = (await api.post("/api/tokens", json={"name": "bench"})).json()["token"]
        me = (await api.get("/api/auth/me")).json()["id"]
    auth = {"Authorization": "Basic " + base64.b64encode(f"bench:{token}".encode()).decode()}
    coll = f"/dav/calendars/{me}/bench/"
    names = [f"{uuid.uuid4()}.ics" for _ in range(count)]
    async with client_for(app, auth) as dav:
        made = await dav.request("MKCALENDAR", coll)
        assert made.status_code == 201, made.text
        log(f"putting {count} VTODOs")
        for name in names:
            put = await dav.put(coll + name, content=vtodo(name[:-4]))
            assert put.status_code == 201, put.text
    await asyncio.sleep(1)  # past PostgreSQL's bound of the change feed
    headers = {**auth, "Depth": "1", "Content-Type": "application/xml"}
    sync = (
        b'<d:sync-collection xmlns:d="DAV:"><d:sync-token/><d:sync-level>1</d:sync-level>'
        b"<d:prop><d:getetag/></d:prop></d:sync-collection>"
    )
    propfind = b'<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>'

    def multiget(batch: list[str]) -> bytes:
        inner = "".join(f"<d:href>{coll}{name}</d:href>" for name in batch)
        return (
            '<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
            f"<d:prop><d:getetag/><c:calendar-data/></d:prop>{inner}</c:calendar-multiget>"
        ).encode()

    async def one(kind: str, method: str, body: bytes) -> int:
        tracer.kind = kind
        if not tracemalloc.is_tracing():
            return await call(app, tracer, method, coll, body, headers)
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
        sent = await call(app, tracer, method, coll, body, headers)
        peak = tracemalloc.get_traced_memory()[1] - start
        tracer.peaks[kind] = max(tracer.peaks.get(kind, 0), peak)
        return sent

    async def full() -> int:
        sent = await one("sync-collection (ETags)", "REPORT", sync)
        for start in range(0, count, 100):
            sent += await one("calendar-multiget of 100", "REPORT", multiget(names[start:][:100]))
        return sent + await one("PROPFIND Depth 1 (ETags)", "PROPFIND", propfind)

    await full()
    await full()
    tracemalloc.start(1)
    before = tracemalloc.take_snapshot() if tracer.where else None
    sent = await full()
    tracemalloc.stop()
    print(f"\n{count} VTODOs, {sent} bytes answered; Python heap's peak above each start:\n")
    print("| request | peak (KiB) |\n|---|---:|")
    for kind, peak in tracer.peaks.items():
        print(f"| {kind} | {peak / 1024:.0f} |")
    for kind, (size, snapshot) in tracer.largest.items():
        assert before is not None
        print(f"\n{kind}: the lines holding the most at {size / 1024:.0f} KiB traced")
        for stat in snapshot.compare_to(before, "lineno")[:10]:
            print(f"    {stat}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--where", action="store_true", help="the lines holding the most")
    args = parser.parse_args()
    name = f"bench_davmem_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory(prefix="todo-bench-") as data:
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                database_url=db_url(name),
                jwt_secret=new_secret(),
                data_dir=Path(data),
                log_level="WARNING",
            )
            await upgrade_to_head(settings)
            await measure(create_app(settings), settings, args.tasks, Tracer(args.where))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
