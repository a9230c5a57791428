"""Server CPU of a calendar feed of 500 tasks against the API's list of the same 500 tasks, side
by side in one run.

    .venv/bin/python bench/feed_cost.py                       # 500 tasks, 5 rounds, drop the db
    .venv/bin/python bench/feed_cost.py --tasks 500 --rounds 3 --requests 40

The contract's goal: `GET /feeds/{secret}.ics` costs at most 2 times the API's list of the same
tasks. A person's 500 open tasks, every one dated (all-day and timed, in several zones), every
tenth repeating weekly with two occurrences completed (EXDATEs), with tags and descriptions;
the feed shows all of them. The API lists them as a client reads them all:
`GET /api/tasks?completed=false&sort=created_at&limit=200`, then its `X-Next-Cursor` pages (3
requests for 500); its cost is the sum of those requests. One `todo-api serve --workers 1` on a
new PostgreSQL database; each round asks for the feed --requests times, then walks the list
--requests times (their order swapped every round), one keep-alive connection, one request at
a time, reading the server's CPU (utime + stime of its process tree, from /proc) around each
half. Reported: CPU ms per feed, per list walk and per list page, and the ratio feed / walk,
each the median over the rounds. The database is dropped at the end.
"""

import argparse
import statistics
import time
import uuid
from typing import Any

import httpx
from benchlib import (
    bulk,
    cpu_seconds,
    exit_cleanly_on_sigterm,
    free_port,
    log,
    migrate,
    new_secret,
    running_server,
    scratch_database,
    serve_argv,
    service_env,
    token_for,
    work_dir,
)

GOAL = 2.0
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC", "Australia/Sydney"]
LIST_PAGE = "/api/tasks?completed=false&sort=created_at&limit=200"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=10)
    return parser.parse_args()


def task_body(number: int) -> dict[str, Any]:
    day = f"2027-{number % 12 + 1:02}-{number % 28 + 1:02}"
    body: dict[str, Any] = {
        "title": f"Task {number}: call the plumber, then pay the bill",
        "description": "Bring the papers; ask about the boiler.\nThen the roof." * (number % 3),
        "tags": ["home", "errands"][: number % 3],
        "timezone": ZONES[number % len(ZONES)],
    }
    if number % 2:
        body["due_date"] = day
    else:
        body["due_at"] = f"{day}T{8 + number % 10:02}:30:00Z"
    if number % 10 == 0:
        body["recurrence"] = "FREQ=WEEKLY"
    return body


def seed(client: httpx.Client, tasks: int) -> str:
    """The person's tasks, two occurrences of each repeating one completed; the feed's URL."""
    made = bulk(client, [{"op": "create", "data": task_body(n)} for n in range(tasks)])
    repeating = [result["id"] for n, result in enumerate(made) if n % 10 == 0]
    for task_id in repeating * 2:
        client.post(f"/api/tasks/{task_id}/complete").raise_for_status()
    feed = client.post("/api/feeds", json={})
    feed.raise_for_status()
    url: str = feed.json()["url"]
    return url


def fetch_feed(client: httpx.Client, path: str) -> int:
    response = client.get(path)
    response.raise_for_status()
    return response.text.count("BEGIN:VEVENT")


def walk_list(client: httpx.Client) -> tuple[int, int]:
    """Every open task through the API's pages: (tasks, requests)."""
    seen, requests, path = 0, 0, LIST_PAGE
    while True:
        response = client.get(path)
        response.raise_for_status()
        seen += len(response.json())
        requests += 1
        cursor = response.headers.get("x-next-cursor")
        if cursor is None:
            return seen, requests
        path = f"{LIST_PAGE}&cursor={cursor}"


def cpu_ms_each(pid: int, requests: int, ask: Any) -> float:
    before = cpu_seconds(pid)
    for _ in range(requests):
        ask()
    return (cpu_seconds(pid) - before) * 1000 / requests


def main() -> None:
    exit_cleanly_on_sigterm()
    args = parse_args()
    with scratch_database("feedcost") as database, work_dir() as cwd:
        env = service_env(database, new_secret())
        migrate(env, cwd)
        port = free_port()
        with running_server("todo-api", serve_argv(port), env, cwd, port) as server:
            token = token_for(str(uuid.uuid4()), env, cwd)
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
                url = seed(client, args.tasks)
                path = "/feeds/" + url.rpartition("/feeds/")[2]
                events = fetch_feed(client, path)
                listed, pages = walk_list(client)
                assert events == listed == args.tasks, (events, listed)
                log(f"{args.tasks} tasks: the feed has {events} events; the list {pages} pages")
                for _ in range(args.warmup):
                    fetch_feed(client, path)
                    walk_list(client)
                pid = server.process.pid
                feeds: list[float] = []
                walks: list[float] = []
                for number in range(args.rounds):
                    halves = [
                        (feeds, lambda: fetch_feed(client, path)),
                        (walks, lambda: walk_list(client)),
                    ]
                    for into, ask in halves if number % 2 == 0 else halves[::-1]:
                        into.append(cpu_ms_each(pid, args.requests, ask))
                        time.sleep(0.2)
                    log(f"round {number + 1}: feed {feeds[-1]:.2f} ms, list {walks[-1]:.2f} ms")
    feed, walk = statistics.median(feeds), statistics.median(walks)
    ratio = statistics.median(f / w for f, w in zip(feeds, walks, strict=True))
    print(f"| tasks | feed CPU ms | list CPU ms ({pages} pages) | per page | feed / list | goal |")
    print("|---:|---:|---:|---:|---:|---|")
    verdict = "met" if ratio <= GOAL else "missed"
    print(
        f"| {args.tasks} | {feed:.2f} | {walk:.2f} | {walk / pages:.2f} | {ratio:.2f} "
        f"| <= {GOAL} ({verdict}) |"
    )


if __name__ == "__main__":
    main()
