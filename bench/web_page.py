"""The web app's inbox with 50 tasks: its server CPU against the API's list of 50, the bytes a
browser fetches for it, and Lighthouse's scores; the bytes and scores of the settings pages too
(`/app/settings`, which opens the profile, and the security page, the biggest).

    .venv/bin/python bench/web_page.py                       # all three, 3 rounds of CPU
    .venv/bin/python bench/web_page.py --rounds 1 --duration 5
    .venv/bin/python bench/web_page.py --skip-lighthouse
    .venv/bin/python bench/web_page.py --list --skip-lighthouse  # a list of 5 sections instead
    .venv/bin/python bench/web_page.py --calendar --skip-lighthouse  # a month of 500 tasks

The contract's budgets ("Light and fast", "A page's database cost"): rendering the inbox costs
at most 2 times the server CPU of `GET /api/tasks?limit=50`, and at most 2 times its
PostgreSQL CPU; a first visit transfers at most 150 KB in all (compressed:
HTML, styles, scripts, icons), a later one 20 KB; Lighthouse scores at least 95 for
performance and 100 for accessibility and best practices.

1. CPU: one `todo-api serve --workers 1` on a scratch PostgreSQL database; one user with 50
   open tasks in the inbox (dues, priorities, tags), signed in to the app through its sign-in
   form (the cookie) and to the API by a bearer token. wrk runs on `GET /app/` then on
   `GET /api/tasks?limit=50` (their order rotated each round), and around each run the server's
   and PostgreSQL's on-CPU seconds are read (benchlib); the ratio is the median of the rounds'.
2. Bytes: for each page (PAGES), Debian's Chromium (Playwright) opens it in a new profile (the
   first visit), then opens it again (a later visit: the hashed, immutable files come from its
   cache); each response's bytes on the wire (headers and body as sent) are summed.
3. Lighthouse 12.2.3 (npm, installed once into bench/lighthouse/node_modules, by
   tests/web/lighthouse.py) on each page with the same cookie, its default (mobile, simulated
   throttling), with Debian's Chromium. tests/web/test_lighthouse_browser.py runs it on the
   inbox with the service worker installed.

With `--list` the page is a list's instead (`GET /app/lists/{id}`): 50 open tasks, 10 in each
of its 5 sections, shown under their headings (issue 75: within 10 % of the list page before it
showed sections; compare with `BENCH_SRC` set to the older source, run after run; or with
`--before src --before-sections 0`, the same source's page of the same list with its tasks in
no section: what showing sections costs). With `--before SRC --at-once` the two pages are under
wrk at the same time (the API's list alone, as before), so that a shared machine's load weighs
on both alike: their after / before is then the steadier figure, their ratios to the API less
so (each page had half the machine).

With `--calendar` the page is a list shown as a calendar (`GET /app/lists/{id}?month=2030-01`):
500 open tasks due in that month (a third at a time of day, one in 25 repeating weekly) and
20 undated ones in its tray; the contract's budget ("Its cost") is 3 times the API's list of 50,
40 KB on a later visit (measured with the service worker blocked: the page as the server sends
it, its files from the browser's cache), and Lighthouse's scores as above on that page.

Needs wrk (bench/setup.sh), npm and /usr/bin/chromium (scripts/setup-ci.sh).
"""

import argparse
import asyncio
import contextlib
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from benchlib import (
    cpu_spent,
    free_port,
    log,
    median,
    migrate,
    new_secret,
    running_server,
    scratch_database,
    serve_argv,
    server_and_database_cpu,
    service_env,
    work_dir,
    wrk,
)
from playwright.async_api import async_playwright
from tests.web.lighthouse import install, scores

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "a long enough password 1"
TAGS = ("home", "work", "errands", "garden")
# The pages whose bytes and scores are measured (the contract's budgets hold on each).
PAGES = ("/app/", "/app/settings", "/app/settings/security")


def seed(base: str, sections: int | None = None) -> tuple[str, str, str]:
    """A user with 50 open inbox tasks, or (`sections` not None) 50 in a list of that many
    sections, spread evenly (none: in no section); their bearer token, the app's cookie header
    and the page to measure."""
    with httpx.Client(base_url=base, timeout=30) as api:
        made = api.post(
            "/api/auth/register", json={"email": "bench@example.com", "password": PASSWORD}
        )
        made.raise_for_status()
        token = made.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        page = "/app/"
        where: list[dict[str, str]] = [{}]  # what each tenth of the tasks is put in
        if sections is not None:
            made_list = api.post("/api/lists", json={"name": "Work"}, headers=headers)
            made_list.raise_for_status()
            list_id = made_list.json()["id"]
            page, where = f"/app/lists/{list_id}", []
            for number in range(sections):
                section = api.post(
                    f"/api/lists/{list_id}/sections",
                    json={"name": f"Section {number}"},
                    headers=headers,
                )
                section.raise_for_status()
                where.append({"list_id": list_id, "section_id": section.json()["id"]})
            where = where or [{"list_id": list_id}]
        for number in range(50):
            body: dict[str, Any] = {
                "title": f"Task number {number} with a title of a usual length",
                "priority": ("none", "low", "medium", "high")[number % 4],
                "tags": [TAGS[number % len(TAGS)]],
            }
            if number % 3 == 0:
                body["due_date"] = f"2030-01-{1 + number % 28:02d}"
            body.update(where[number * len(where) // 50])
            api.post("/api/tasks", json=body, headers=headers).raise_for_status()
    with httpx.Client(base_url=base, timeout=30) as browser:
        sign_in(browser)
        shown = browser.get(page)
        assert shown.status_code == 200, shown.text
        assert shown.text.count('class="task"') == 50, shown.text
        cookie = "; ".join(f"{name}={value}" for name, value in browser.cookies.items())
    return token, cookie, page


async def transfer(
    base: str, cookie: str, path: str, worker: bool = True
) -> tuple[int, int, list[str]]:
    """Bytes on the wire for a first visit of the page and a later one, and what was fetched.
    Without `worker` the service worker is blocked: the later visit fetches the page itself
    (its files from the browser's cache), rather than taking it from the worker's cache."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_FLAGS[1:]
        )
        context = await browser.new_context(service_workers="allow" if worker else "block")
        await context.add_cookies(browser_cookies(base, cookie))  # type: ignore[arg-type]
        page = await context.new_page()
        visits: list[list[Any]] = [[], []]
        visit = 0
        page.on("response", lambda response: visits[visit].append(response))
        for visit in range(2):  # noqa: B007 (read by the listener)
            # "load", not "networkidle": the page's live updates keep a stream open.
            await page.goto(f"{base}{path}", wait_until="load")
            await page.wait_for_timeout(500)
        totals, fetched = [], []
        for responses in visits:
            total = 0
            for response in responses:
                if response.headers.get("content-type", "").startswith("text/event-stream"):
                    continue  # the live updates' stream never ends: its size never comes
                sizes = await response.request.sizes()
                if response.from_service_worker or sizes["responseBodySize"] < 0:
                    continue
                total += sizes["responseHeadersSize"] + sizes["responseBodySize"]
                fetched.append(f"{response.status} {response.url.removeprefix(base)}")
            totals.append(total)
        await browser.close()
    return totals[0], totals[1], fetched


def browser_cookies(base: str, cookie: str) -> list[dict[str, str]]:
    """The cookie header's pairs, as a browser context takes them."""
    return [
        {"name": name, "value": value, "url": base}
        for name, value in (part.split("=", 1) for part in cookie.split("; "))
    ]


async def lighthouse(base: str, cookie: str, out_dir: Path, path: str) -> dict[str, Any]:
    """Lighthouse's category scores (0-100) for the page, its timings, and the audits that
    failed (tests/web/lighthouse.py).

    Lighthouse runs in a Chromium that holds the sign-in's cookies itself: sent as an extra
    header instead, they would lose to the cookie the first answer sets, and the page's later
    requests (its live updates' stream) would go signed out."""
    port = free_port()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch_persistent_context(
            str(out_dir / "lighthouse-profile"),
            executable_path=CHROMIUM,
            args=[*CHROMIUM_FLAGS[1:], f"--remote-debugging-port={port}"],
        )
        await browser.add_cookies(browser_cookies(base, cookie))  # type: ignore[arg-type]
        found = await scores(f"{base}{path}", port, out_dir / "lighthouse.json")
        await browser.close()
    failing = found.pop("failing")
    found["failing"] = " ".join(failing) or "none"
    for audit, items in failing.items():  # what each found, briefly
        for item in items:
            log(f"{path} {audit}: {item}")
    return found


def seed_calendar(base: str) -> tuple[str, str, str]:
    """A user with a list of 500 open tasks due in January 2030 and 20 undated, shown as a
    calendar: their bearer token, the app's cookie header and the month's page."""
    with httpx.Client(base_url=base, timeout=30) as api:
        made = api.post(
            "/api/auth/register", json={"email": "bench@example.com", "password": PASSWORD}
        )
        made.raise_for_status()
        headers = {"Authorization": f"Bearer {made.json()['access_token']}"}
        made_list = api.post("/api/lists", json={"name": "Work"}, headers=headers)
        made_list.raise_for_status()
        list_id = made_list.json()["id"]
        for number in range(520):
            body: dict[str, Any] = {
                "title": f"Task number {number} with a title of a usual length",
                "priority": ("none", "low", "medium", "high")[number % 4],
                "list_id": list_id,
            }
            day = f"2030-01-{1 + number % 31:02d}"
            if number >= 500:
                pass  # the tray's
            elif number % 3 == 0:
                body["due_at"] = f"{day}T{8 + number % 10:02d}:30:00Z"
            else:
                body["due_date"] = day
            if number < 500 and number % 25 == 0:
                body["recurrence"] = "FREQ=WEEKLY"
            api.post("/api/tasks", json=body, headers=headers).raise_for_status()
    page = f"/app/lists/{list_id}"
    with httpx.Client(base_url=base, timeout=30) as browser:
        cookie = sign_in(browser)
        shown = browser.get(page)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', shown.text)
        assert csrf is not None, shown.text
        kept = browser.post(
            "/app/view", data={"csrf_token": csrf.group(1), "back": page, "view": "calendar"}
        )
        assert kept.status_code == 303, kept.text
        month = f"{page}?month=2030-01"
        shown = browser.get(month)
        assert shown.status_code == 200, shown.text
        # Each day's first three in its cell (and the rest by its `more` link), the chosen
        # day's all, the tray's 20.
        assert shown.text.count('class="cal-more"') >= 31, shown.text
        assert shown.text.count('class="cal-task') >= 31 * 3 + 20, shown.text
    return made.json()["access_token"], cookie, month


def sign_in(browser: httpx.Client) -> str:
    """Sign the bench's user in through the app's form: the cookie header it holds then."""
    form = browser.get("/app/signin")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf is not None, form.text
    signed = browser.post(
        "/app/signin",
        data={
            "csrf_token": csrf.group(1),
            "action": "signin",
            "email": "bench@example.com",
            "password": PASSWORD,
        },
    )
    assert signed.status_code == 303, signed.text
    return "; ".join(f"{name}={value}" for name, value in browser.cookies.items())


def measured(
    names: list[str], targets: dict[str, Any], args: argparse.Namespace
) -> dict[str, tuple[tuple[float, float], int]]:
    """Each of `names` under wrk, all at the same time (after a warm-up): its server's and
    PostgreSQL's CPU seconds per request, and the requests made."""

    def load(name: str, seconds: float) -> Any:
        url, headers, _server, _database = targets[name]
        return wrk(url, headers=headers, seconds=seconds, connections=args.connections)

    def cpu() -> dict[str, Any]:
        return {name: asyncio.run(server_and_database_cpu(*targets[name][2:])) for name in names}

    with ThreadPoolExecutor(len(names)) as pool:
        list(pool.map(lambda name: load(name, args.warmup), names))
        before = cpu()
        loaded = pool.map(lambda name: load(name, args.duration), names)
        runs = dict(zip(names, loaded, strict=True))
        after = cpu()
    found = {}
    for name, run in runs.items():
        if run.non_2xx or run.socket_errors:
            sys.exit(f"{name}: {run.non_2xx} non-2xx, {run.socket_errors} errors")
        server_s, db_s = cpu_spent(before[name], after[name])
        found[name] = ((server_s / run.requests, db_s / run.requests), run.requests)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--skip-lighthouse", action="store_true")
    parser.add_argument("--skip-cpu", action="store_true", help="bytes and scores only")
    parser.add_argument("--skip-bytes", action="store_true")
    parser.add_argument("--list", action="store_true", help="a list of 5 sections, not the inbox")
    parser.add_argument("--calendar", action="store_true", help="a month of 500 tasks, no inbox")
    parser.add_argument(
        "--before-sections",
        type=int,
        metavar="N",
        help="with --list: the `--before` side's list has N sections (0: the same list's page "
        "with its tasks in no section, the cost of sections alone)",
    )
    parser.add_argument(
        "--before",
        metavar="SRC",
        help="also the page as the source tree SRC serves it (its own server and database), "
        "measured in the same rounds",
    )
    parser.add_argument(
        "--at-once",
        action="store_true",
        help="with --before: the two pages under wrk at the same time, each server's CPU read "
        "around both (a shared machine's load then weighs on both alike)",
    )
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        cwd = stack.enter_context(work_dir())
        servers = {}
        for side, source in (("before", args.before), ("", None)):
            if side and not source:
                continue
            database = stack.enter_context(scratch_database("bench_web"))
            env = service_env(database, new_secret(), AUTH_RATE_LIMIT_ATTEMPTS="1000000")
            if source:
                env["PYTHONPATH"] = source
            migrate(env, cwd)
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            server = stack.enter_context(
                running_server("todo-api", serve_argv(port), env, cwd, port)
            )
            sections = 5 if args.list else None
            if side and args.before_sections is not None:
                sections = args.before_sections
            made = seed_calendar(base) if args.calendar else seed(base, sections)
            servers[side] = (server, database, base, *made)
        server, database, base, token, cookie, page_path = servers[""]
        targets = {
            f"page GET {page_path}": (
                f"{base}{page_path}",
                [f"Cookie: {cookie}"],
                server,
                database,
            ),
            "api GET /api/tasks?limit=50": (
                f"{base}/api/tasks?limit=50",
                [f"Authorization: Bearer {token}"],
                server,
                database,
            ),
        }
        if "before" in servers:
            old, old_db, old_base, _token, old_cookie, old_path = servers["before"]
            where = (f"{old_base}{old_path}", [f"Cookie: {old_cookie}"], old, old_db)
            targets = {"before: page": where, **targets}
        per_request: dict[str, list[tuple[float, float]]] = {name: [] for name in targets}
        ratios, db_ratios = [], []
        for round_number in range(0 if args.skip_cpu else args.rounds):
            order = list(targets)
            if round_number % 2:
                order.reverse()
            spent: dict[str, tuple[float, float]] = {}
            groups = [[name] for name in order]
            if args.at_once and "before: page" in targets:  # the two pages side by side
                pages = [name for name in order if name.startswith(("before: page", "page "))]
                groups = [group for group in groups if group[0] not in pages]
                groups.insert(round_number % 2, pages)
            for group in groups:
                for name, (per, requests) in measured(group, targets, args).items():
                    spent[name] = per
                    per_request[name].append(per)
                    log(f"round {round_number + 1} {name}: {requests} requests")
            page, api = (spent[name][0] for name in list(targets)[-2:])
            ratios.append(page / api)
            page_db, api_db = (spent[name][1] for name in list(targets)[-2:])
            db_ratios.append(page_db / api_db)
        if ratios:
            print("\n## Server CPU per request (medians over the rounds)\n")
            print("| route | server µs | PostgreSQL µs |")
            print("|---|---|---|")
            for name, readings in per_request.items():
                server_us = median([r[0] for r in readings]) * 1e6
                db_us = median([r[1] for r in readings]) * 1e6
                print(f"| {name} | {server_us:.0f} | {db_us:.0f} |")
            budget = 3 if args.calendar else 2
            print(f"\npage / api server CPU: {median(ratios):.2f} (budget: at most {budget})")
            print(f"page / api PostgreSQL CPU: {median(db_ratios):.2f} (budget: at most 2)")
            print(
                "rounds' ratios, server / PostgreSQL: "
                + ", ".join(f"{a:.2f} / {b:.2f}" for a, b in zip(ratios, db_ratios, strict=True))
            )
            if "before: page" in per_request:  # the same page, as SRC served it
                page_name = list(targets)[-2]
                for kind, index in (("server", 0), ("PostgreSQL", 1)):
                    then = median([r[index] for r in per_request["before: page"]])
                    now = median([r[index] for r in per_request[page_name]])
                    print(f"page after / before, {kind} CPU: {now / then:.3f}")

        shown_pages = (page_path,) if args.calendar else PAGES
        for path in () if args.skip_bytes else shown_pages:
            # The calendar's page is measured as the server sends it (the worker bypassed).
            first, later, fetched = asyncio.run(
                transfer(base, cookie, path, worker=not args.calendar)
            )
            print(f"\n## Bytes on the wire for {path}\n")
            print(f"first visit: {first / 1024:.1f} KB (budget 150 KB)")
            print(f"later visit: {later / 1024:.1f} KB (budget {40 if args.calendar else 20} KB)")
            for line in fetched:
                print(f"  {line}")

        if not args.skip_lighthouse:
            problem = install()
            if problem is not None:
                sys.exit(problem)
            print("\n## Lighthouse 12.2.3 (mobile, simulated throttling)\n")
            for path in shown_pages:
                scores = asyncio.run(lighthouse(base, cookie, cwd, path))
                print(f"{path}: " + ", ".join(f"{k} {v}" for k, v in scores.items()))


if __name__ == "__main__":
    main()
