"""CalDAV sync against the servers people trust for it: todo-api's /dav (PostgreSQL, one
worker) beside Radicale and Xandikos (from PyPI, in a venv of their own under
bench/.caldav-servers, made on first run), all on 127.0.0.1.

Each server gets one calendar of N VTODOs (1 000 by default), PUT one by one (Radicale's are
written as files into its collection: its PUTs slow down as the collection grows), and is synced
once unmeasured (Radicale builds its item cache then). Then, in each of 3 rounds (`--rounds`),
each server in turn is started anew and, as a client does (DAVx5, the caldav library):

- initial sync: sync-collection with an empty token (ETags), then calendar-multiget of every
  object in batches of 100;
- incremental sync after 10 changes: sync-collection with the token, then a multiget of what
  changed;
- a PROPFIND Depth 1 of every object's ETag (what a client without sync-collection does).

The medians of the wall time and the server's CPU (user + system, from /proc; for todo-api with
its PostgreSQL backends' CPU added, Radicale and Xandikos keep their calendars in files) are
printed as Markdown tables, for bench/README.md, with the server's resident memory (one worker
each): at rest (started, before the sync), its peak during the full sync (VmHWM, reset before),
after the incremental sync, and its peak until the PROPFIND's end; and each above rest.

    .venv/bin/python bench/caldav_sync.py [--tasks 1000] [--rounds 3]
        [--servers todo-api,radicale,xandikos] [--reuse DIR] [--baseline SRC]

`--baseline SRC` runs todo-api from another source tree (a `git archive` of a commit's src)
beside this one, on the same database and calendar: what a change saved.
`--servers` may also name `todo-api-rest`: todo-api with its tasks made through /api (bulk
creates) instead of PUT by a client, so that no client text is kept and each object is
written from its task on every read.

Loading is the slow part (Xandikos's 5 000 PUTs take most of an hour). With `--reuse DIR`
each server's store is kept there (todo-api's database is kept, its name written in DIR) and
a later run with the same DIR and --tasks measures the loaded stores again without loading.
"""

import argparse
import asyncio
import concurrent.futures
import functools
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
from benchlib import (
    cpu_seconds,
    database_cpu,
    free_port,
    log,
    migrate,
    new_secret,
    process_tree,
    rss_mb,
    running_server,
    scratch_database,
    serve_argv,
    service_env,
    token_for,
    work_dir,
)
from lxml import etree

HERE = Path(__file__).resolve().parent
SERVERS_VENV = HERE / ".caldav-servers"
NS = {"d": "DAV:", "c": "urn:ietf:params:xml:ns:caldav"}
RUNS = 3
BATCH = 100
CHANGES = 10
XML = {"Content-Type": "application/xml; charset=utf-8"}
ICS = {"Content-Type": "text/calendar; charset=utf-8"}


def servers_venv() -> Path:
    """A venv with Radicale and Xandikos (made once)."""
    python = SERVERS_VENV / "bin" / "python"
    if not python.exists():
        log("installing radicale and xandikos into bench/.caldav-servers")
        subprocess.run([sys.executable, "-m", "venv", str(SERVERS_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "radicale", "xandikos"], check=True
        )
    return SERVERS_VENV / "bin"


def vtodo(uid: str, summary: str) -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VTODO\r\n"
        f"UID:{uid}\r\nDTSTAMP:20261101T000000Z\r\nSUMMARY:{summary}\r\n"
        "DUE:20261224T090000Z\r\nPRIORITY:5\r\nCATEGORIES:bench\r\n"
        "X-BENCH:kept\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
    ).encode()


def sync_body(token: str) -> bytes:
    return (
        '<d:sync-collection xmlns:d="DAV:"><d:sync-token>'
        f"{token}</d:sync-token><d:sync-level>1</d:sync-level>"
        "<d:prop><d:getetag/></d:prop></d:sync-collection>"
    ).encode()


def multiget_body(hrefs: list[str]) -> bytes:
    inner = "".join(f"<d:href>{h}</d:href>" for h in hrefs)
    return (
        '<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
        f"<d:prop><d:getetag/><c:calendar-data/></d:prop>{inner}</c:calendar-multiget>"
    ).encode()


class Target:
    def __init__(
        self,
        name: str,
        client: httpx.Client,
        collection: str,
        pid: int,
        database: str | None = None,
        folder: Path | None = None,
        make: Callable[[int], list[str]] | None = None,
    ) -> None:
        self.name, self.client, self.collection, self.pid = name, client, collection, pid
        self.database = database  # todo-api's PostgreSQL database, whose CPU counts too
        # Radicale's collection as files: filled by writing them (its PUT into a collection
        # of thousands takes longer the larger it grows: 5 000 take most of an hour here).
        self.folder = folder
        # todo-api's tasks made through /api instead (no client text kept): their names.
        self.make = make

    def cpu(self) -> float:
        """The server's CPU seconds so far, with its database's backends' (todo-api)."""
        spent = cpu_seconds(self.pid)
        if self.database is not None:
            spent += sum(asyncio.run(database_cpu(self.database)).values())
        return spent

    def report(self, body: bytes, depth: str = "1") -> etree._Element:
        response = self.client.request(
            "REPORT", self.collection, content=body, headers={"Depth": depth, **XML}
        )
        assert response.status_code == 207, response.text[:500]
        return etree.fromstring(response.content)

    def sync(self, token: str) -> tuple[list[str], str]:
        root = self.report(sync_body(token))
        hrefs = [
            r.findtext("d:href", namespaces=NS) or ""
            for r in root.iterfind("d:response", NS)
            if r.find("d:propstat", NS) is not None
        ]
        return hrefs, root.findtext("d:sync-token", namespaces=NS) or ""

    def fetch(self, hrefs: list[str]) -> int:
        got = 0
        for start in range(0, len(hrefs), BATCH):
            root = self.report(multiget_body(hrefs[start : start + BATCH]))
            got += len(root.findall(".//c:calendar-data", NS))
        return got


def measured(target: Target, work: Callable[[], Any]) -> tuple[float, float, Any]:
    cpu, wall = target.cpu(), time.perf_counter()
    result = work()
    return time.perf_counter() - wall, target.cpu() - cpu, result


def fill(target: Target, count: int, stores: Path) -> list[str]:
    kept = stores / f"{target.name.lower()}.names"
    if kept.exists():
        names = kept.read_text().split()
        assert len(names) == count, f"{kept} holds {len(names)} objects, not {count}"
        log(f"{target.name}: reusing its {count} VTODOs")
        return names
    log(f"{target.name}: loading {count} VTODOs")
    if target.make is not None:
        names = target.make(count)
    else:
        names = [f"{uuid.uuid4()}.ics" for _ in range(count)]
        _put_all(target, names)
    kept.write_text("\n".join(names))  # once loaded: a half-loaded store is made anew next time
    return names


def _put_all(target: Target, names: list[str]) -> None:
    if target.folder is not None:
        for name in names:
            (target.folder / name).write_bytes(vtodo(name[:-4], f"Task {name[:8]}"))
        return

    def put(name: str) -> None:
        response = target.client.put(
            target.collection + name, content=vtodo(name[:-4], f"Task {name[:8]}"), headers=ICS
        )
        assert response.status_code in (201, 204), response.text[:300]

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(put, names))


def _reset_peak(pid: int) -> None:
    """Resets the peak resident memory (VmHWM) of the server's processes (clear_refs 5)."""
    for member in process_tree(pid):
        with suppress(OSError):
            Path(f"/proc/{member}/clear_refs").write_text("5")


# One round's figures of a server: (wall, CPU) of each sync, and its resident memory (MiB).
Round = dict[str, Any]


def warm(target: Target, count: int, stores: Path) -> list[str]:
    """Loads the store (unless kept) and syncs it once, unmeasured: Radicale builds its item
    cache on a collection's first read, which every later start then reads. The names."""
    names = fill(target, count, stores)
    hrefs, _ = target.sync("")
    assert target.fetch(hrefs) == count
    return names


def one_round(target: Target, count: int, names: list[str]) -> Round:
    """A server just started: its memory at rest, a full sync (its peak during it), ten
    changes and an incremental sync (its memory after), a PROPFIND Depth 1."""
    at_rest = rss_mb(target.pid)[0]
    _reset_peak(target.pid)

    def initial() -> str:
        hrefs, token = target.sync("")
        assert target.fetch(hrefs) == count
        return token

    initial_wall, initial_cpu, token = measured(target, initial)
    full_peak = rss_mb(target.pid)[1]
    for n, name in enumerate(names[:CHANGES]):
        body = vtodo(name[:-4], f"Changed {n} {uuid.uuid4().hex[:6]}")
        put = target.client.put(target.collection + name, content=body, headers=ICS)
        assert put.status_code in (201, 204), put.text[:300]
    # PostgreSQL's feed holds back changes while any older transaction on the server runs:
    # wait (unmeasured) until the token's sync shows them, then measure it.
    deadline = time.monotonic() + 60
    while len(target.sync(token)[0]) < CHANGES:
        assert time.monotonic() < deadline, "the changes never came"
        time.sleep(0.2)

    def incremental(since: str = token) -> int:
        hrefs, _ = target.sync(since)
        return target.fetch(hrefs)

    incremental_wall, incremental_cpu, fetched = measured(target, incremental)
    assert fetched == CHANGES, fetched
    after = rss_mb(target.pid)[0]

    def depth1() -> int:
        response = target.client.request(
            "PROPFIND",
            target.collection,
            content=b'<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>',
            headers={"Depth": "1", **XML},
        )
        assert response.status_code == 207
        return response.content.count(b"getetag>") // 2

    depth1_wall, depth1_cpu, listed = measured(target, depth1)
    assert listed >= count, listed  # (Radicale gives the collection an ETag too)
    whole_peak = rss_mb(target.pid)[1]  # the peak since the full sync's start, PROPFIND's too
    return {
        "initial": (initial_wall, initial_cpu),
        "incremental": (incremental_wall, incremental_cpu),
        "depth1": (depth1_wall, depth1_cpu),
        "rest": at_rest,
        "peak": full_peak,
        "after": after,
        "whole_peak": whole_peak,
        "load": os.getloadavg()[0],
    }


# The user whose calendar a kept database holds.
BENCH_USER = "00000000-0000-4000-8000-00000000ca1d"


@contextmanager
def todo_api_target(
    database: str, name: str = "todo-api", src: Path | None = None
) -> Iterator[Target]:
    """todo-api's /dav on `database` (the calendar made on the first start); as
    `todo-api-rest`, its tasks made through /api (bulk creates into the calendar's list) rather
    than PUT by a client, so that each object is written from the task on every read. With
    `src`, the server runs that source tree (the same schema: `--baseline`)."""
    with work_dir() as cwd:
        extra = {"PYTHONPATH": str(src)} if src is not None else {}
        env = service_env(database, new_secret(), **extra)
        migrate(env, cwd)
        port = free_port()
        with running_server("todo-api", serve_argv(port), env, cwd, port) as server:
            base = f"http://127.0.0.1:{port}"
            # A calendar app signs in with a personal access token as its Basic password.
            bearer = {"Authorization": f"Bearer {token_for(BENCH_USER, env, cwd)}"}
            made = httpx.post(f"{base}/api/tokens", json={"name": "bench"}, headers=bearer)
            assert made.status_code == 201, made.text
            token = made.json()["token"]
            with httpx.Client(base_url=base, auth=("bench", token), timeout=300) as client:
                collection = f"/dav/calendars/{_me(client)}/bench/"
                made = client.request("MKCALENDAR", collection)
                assert made.status_code in (201, 405), made.text  # 405: made before
                rest = name == "todo-api-rest"
                yield Target(
                    name if src is None else BASELINE,
                    client,
                    collection,
                    server.process.pid,
                    database,
                    make=(lambda count: _made_through_api(base, token, count)) if rest else None,
                )


def _made_through_api(base: str, token: str, count: int) -> list[str]:
    """`count` tasks made through /api (with the same personal token, as a bearer token) in
    the calendar's list (as the VTODOs of `vtodo` say: a title, open), 100 per bulk request;
    their object names."""
    bearer = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=bearer, timeout=300) as api:
        [bench] = [item for item in api.get("/api/lists").json() if item["name"] == "bench"]
        names: list[str] = []
        for start in range(0, count, 100):
            operations = [
                {"op": "create", "data": {"title": f"Task {n}", "list_id": bench["id"]}}
                for n in range(start, min(start + 100, count))
            ]
            made = api.post("/api/tasks/bulk", json={"operations": operations})
            assert made.status_code == 200, made.text[:300]
            names += [f"{result['id']}.ics" for result in made.json()["results"]]
    return names


def _me(client: httpx.Client) -> str:
    root = etree.fromstring(
        client.request(
            "PROPFIND",
            "/dav/",
            content=b'<d:propfind xmlns:d="DAV:"><d:prop><d:current-user-principal/>'
            b"</d:prop></d:propfind>",
            headers={"Depth": "0"},
        ).content
    )
    principal = root.findtext(".//d:current-user-principal/d:href", namespaces=NS) or ""
    return principal.rstrip("/").rsplit("/", 1)[1]


@contextmanager
def process_target(
    name: str,
    argv: list[str],
    collection: str,
    port: int,
    folder: Path | None = None,
    made: bool = False,
) -> Iterator[Target]:
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, auth=("bench", "bench"), timeout=300) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    client.request("OPTIONS", "/")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, f"{name} did not start"
                    time.sleep(0.2)
            if not made:
                response = client.request("MKCALENDAR", collection)
                assert response.status_code == 201, response.text
            yield Target(name, client, collection, process.pid, folder=folder)
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def radicale_target(bin_dir: Path, folder: Path) -> Iterator[Target]:
    port = free_port()
    argv = [
        str(bin_dir / "python"),
        "-m",
        "radicale",
        "--server-hosts",
        f"127.0.0.1:{port}",
        "--storage-filesystem-folder",
        str(folder),
        "--auth-type",
        "none",
        "--logging-level",
        "warning",
    ]
    files = folder / "collection-root" / "bench" / "tasks"
    made = files.exists()
    with process_target("Radicale", argv, "/bench/tasks/", port, files, made) as target:
        yield target


@contextmanager
def xandikos_target(bin_dir: Path, folder: Path) -> Iterator[Target]:
    port = free_port()
    argv = [
        str(bin_dir / "xandikos"),
        "serve",
        "-d",
        str(folder),
        "--autocreate",
        "-l",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    made = (folder / "user" / "calendars" / "bench").exists()
    with process_target("Xandikos", argv, "/user/calendars/bench/", port, made=made) as target:
        yield target


@contextmanager
def store_dir(stores: Path, name: str) -> Iterator[Path]:
    """Where a server keeps its calendars: a folder of `stores`, anew unless loaded."""
    folder = stores / name
    if not (stores / f"{name}.names").exists():  # not loaded (or only partly): anew
        shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(exist_ok=True)
    yield folder


Starts = dict[str, Callable[[], AbstractContextManager[Target]]]


# The name of todo-api running another source tree (`--baseline SRC`) on todo-api's database.
BASELINE = "todo-api-baseline"


def servers(
    chosen: list[str], stores: Path, keep: bool, stack: ExitStack, baseline: Path | None
) -> Starts:
    """How to start each chosen server on its store (todo-api's databases made here)."""
    bin_dir = servers_venv() if {"radicale", "xandikos"} & set(chosen) else Path()
    starts: Starts = {}
    for name in chosen:
        if name == BASELINE:
            continue
        if name in ("todo-api", "todo-api-rest"):
            kept = stores / f"{name}.database"
            loaded = (stores / f"{name}.names").exists() and kept.exists()
            existing = kept.read_text().strip() if loaded else None
            database = stack.enter_context(
                scratch_database("bench_caldav", keep=keep, existing=existing)
            )
            kept.write_text(database)
            starts[name] = functools.partial(todo_api_target, database, name)
            if name == "todo-api" and baseline is not None:
                starts[BASELINE] = functools.partial(todo_api_target, database, name, baseline)
        else:
            make = {"radicale": radicale_target, "xandikos": xandikos_target}[name]

            @contextmanager
            def start(name: str = name, make: Callable[..., Any] = make) -> Iterator[Target]:
                with store_dir(stores, name) as folder, make(bin_dir, folder) as target:
                    yield target

            starts[name] = start
    return starts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--servers", default="todo-api,radicale,xandikos")
    parser.add_argument("--reuse", type=Path, help="keep the loaded stores here, and reuse them")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a source tree (its src folder) to measure beside todo-api, on todo-api's calendar",
    )
    args = parser.parse_args()
    chosen: list[str] = args.servers.split(",")
    if args.baseline is not None:
        assert "todo-api" in chosen, "--baseline runs on todo-api's calendar"
        chosen.insert(chosen.index("todo-api") + 1, BASELINE)
    with ExitStack() as stack:
        if args.reuse is not None:
            stores = args.reuse.resolve()
            stores.mkdir(parents=True, exist_ok=True)
        else:
            stores = stack.enter_context(work_dir())
        starts = servers(chosen, stores, args.reuse is not None, stack, args.baseline)
        names: dict[str, list[str]] = {}
        for name, start in starts.items():
            if name == BASELINE:  # todo-api's calendar, loaded just before
                names[name] = names["todo-api"]
                continue
            with start() as target:
                names[name] = warm(target, args.tasks, stores)
        rounds: dict[str, list[Round]] = {name: [] for name in chosen}
        for number in range(args.rounds):
            order = chosen[number % len(chosen) :] + chosen[: number % len(chosen)]
            for name in order:  # each server anew each round, in turn
                with starts[name]() as target:
                    figures = one_round(target, args.tasks, names[name])
                log(f"round {number + 1}, {name}: {figures}")
                rounds[name].append(figures)
    report(args.tasks, rounds)


def report(count: int, rounds: dict[str, list[Round]]) -> None:
    def med(name: str, key: str, index: int | None = None) -> float:
        values = [r[key] if index is None else r[key][index] for r in rounds[name]]
        return statistics.median(values)

    loads = [r["load"] for runs in rounds.values() for r in runs]
    print(
        f"\n{count} VTODOs, {len(next(iter(rounds.values())))} interleaved rounds (each server "
        f"started anew in each), medians; load average {min(loads):.1f} to {max(loads):.1f}\n"
    )
    print("Wall time / server CPU (seconds):\n")
    print("| server | initial sync | incremental (10 changes) | PROPFIND Depth 1 |")
    print("|---|---|---|---|")
    for name in rounds:
        cells = " | ".join(
            f"{med(name, k, 0):.2f} / {med(name, k, 1):.2f}"
            for k in ("initial", "incremental", "depth1")
        )
        print(f"| {name} | {cells} |")
    print("\nResident memory (MiB, the server's processes): at rest (started, before the sync),")
    print("the peak during the full sync (VmHWM), after the incremental one, the peak from the")
    print("full sync's start to the PROPFIND Depth 1's end; each above rest:\n")
    print(
        "| server | at rest | full sync's peak | after incremental | with PROPFIND's peak "
        "| peak - rest | after - rest | with PROPFIND's - rest |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in rounds:
        memory = [med(name, key) for key in ("rest", "peak", "after", "whole_peak")]
        memory += [
            statistics.median(r[key] - r["rest"] for r in rounds[name])
            for key in ("peak", "after", "whole_peak")
        ]
        print(f"| {name} | " + " | ".join(f"{mib:.1f}" for mib in memory) + " |")
    print("\nEach round:\n")
    for name, runs in rounds.items():
        for number, r in enumerate(runs, 1):
            print(
                f"- {name}, round {number} (load {r['load']:.1f}): initial "
                f"{r['initial'][0]:.2f} / {r['initial'][1]:.2f}, memory {r['rest']:.1f} / "
                f"{r['peak']:.1f} / {r['after']:.1f}"
            )


if __name__ == "__main__":
    main()
