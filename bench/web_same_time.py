"""The web app's account pages answer in the same time whether an email has an account or not.

    .venv/bin/python bench/web_same_time.py                    # 100 pairs a page: ~8 min
    .venv/bin/python bench/web_same_time.py --requests 50 --pages forgot

The API's account routes answer before anything is looked up or sent (accounts/emails.py): a
stranger cannot tell from the time taken whether an address is someone's. This times the web
app's pages that take an email from anyone, posting the form as a browser does (its CSRF
token and cookie), with an address that has an account and with one that has none:

- forgot: `POST /app/forgot` (the reset link is looked up and sent in the background);
- sign-up: `POST /app/signup` under EMAIL_VERIFICATION=required, where the page is the same
  whether the email was taken (the holder is told by email) or not (an unconfirmed account is
  made); an unknown address is a new one each time;
- sign-in: `POST /app/signin` with a wrong password (the password is checked against a
  stand-in hash when the address has no account).

One `todo-api serve` worker on a new PostgreSQL database, SMTP_URL=console (the emails go to
its log), the sign-in limits raised out of the way. For each page, --requests pairs: one
request with the known address and one with an unknown one, in a random order within each
pair, one request at a time (each one's background email work runs beside the next request,
whichever kind it is), after --warmup pairs not counted. Reports each kind's wall time over
HTTP (p10, p50, p90, p99, mean) and the difference of the medians beside the spread. Not
a test: a timed assertion would fail on a busy machine, so the figures go to bench/README.md.
Every answer must be the page's expected status, the same for both kinds.
"""

import argparse
import asyncio
import random
import re
import secrets
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
import httpx
from benchlib import (
    db_url,
    exit_cleanly_on_sigterm,
    free_port,
    log,
    machine_summary,
    migrate,
    new_secret,
    percentile,
    running_server,
    scratch_database,
    serve_argv,
    server_version,
    service_env,
    source_summary,
    work_dir,
)

KNOWN_EMAIL = "known@example.com"
PASSWORD = "correct horse battery staple 42"
WRONG_PASSWORD = "not the password at all 42"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PAGES = ("forgot", "signup", "signin")


@dataclass(frozen=True)
class Page:
    path: str
    status: int  # what both kinds of address get
    form: Callable[[str], dict[str, str]]  # the form's fields for an email


PAGE_FORMS = {
    "forgot": Page("/app/forgot", 200, lambda email: {"email": email}),
    "signup": Page("/app/signup", 200, lambda email: {"email": email, "password": PASSWORD}),
    "signin": Page("/app/signin", 401, lambda email: {"email": email, "password": WRONG_PASSWORD}),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100, help="pairs timed per page")
    parser.add_argument("--warmup", type=int, default=10, help="pairs first, not counted")
    parser.add_argument("--pages", default=",".join(PAGES), help=f"any of {', '.join(PAGES)}")
    parser.add_argument("--seed", type=int, default=1, help="the order within each pair")
    args = parser.parse_args()
    args.page_keys = [key.strip() for key in args.pages.split(",") if key.strip()]
    unknown = set(args.page_keys) - set(PAGES)
    if unknown:
        parser.error(f"unknown pages: {', '.join(sorted(unknown))}")
    return args


def form_token(client: httpx.Client, path: str) -> str:
    """The page's CSRF token for this client's browser cookie."""
    page = client.get(path)
    page.raise_for_status()
    found = CSRF.search(page.text)
    if found is None:
        raise SystemExit(f"no csrf_token on {path}")
    return found.group(1)


def timed_post(client: httpx.Client, page: Page, token: str, email: str) -> float:
    started = time.perf_counter()
    answer = client.post(page.path, data={"csrf_token": token, **page.form(email)})
    elapsed = time.perf_counter() - started
    if answer.status_code != page.status:
        raise SystemExit(f"{page.path} {email}: {answer.status_code}, not {page.status}")
    return elapsed * 1000


def make_known_account(base: str, database: str) -> None:
    """The known address: an account made as the sign-up page makes it, then confirmed."""
    with httpx.Client(base_url=base, timeout=30) as client:
        token = form_token(client, "/app/signup")
        client.post(
            "/app/signup", data={"csrf_token": token, **PAGE_FORMS["signup"].form(KNOWN_EMAIL)}
        )

    async def confirm() -> None:
        conn = await asyncpg.connect(db_url(database), timeout=10)
        try:
            done = await conn.execute(
                "UPDATE users SET email_verified = true WHERE lower(email) = $1", KNOWN_EMAIL
            )
        finally:
            await conn.close()
        if done != "UPDATE 1":
            raise SystemExit(f"the known account was not made ({done})")

    asyncio.run(confirm())


def measure(
    base: str, page: Page, pairs: int, warmup: int, rng: random.Random
) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"known": [], "unknown": []}
    with httpx.Client(base_url=base, timeout=60) as client:
        token = form_token(client, page.path)
        for number in range(warmup + pairs):
            kinds = ["known", "unknown"]
            rng.shuffle(kinds)
            for kind in kinds:
                email = KNOWN_EMAIL if kind == "known" else f"n{secrets.token_hex(8)}@example.com"
                elapsed = timed_post(client, page, token, email)
                if number >= warmup:
                    times[kind].append(elapsed)
    return times


def summary_row(page: str, kind: str, values: list[float]) -> str:
    figures = [percentile(values, q) for q in (10, 50, 90, 99)]
    cells = " | ".join(f"{value:.1f}" for value in figures)
    return f"| {page} | {kind} | {len(values)} | {cells} | {statistics.fmean(values):.1f} |"


def main() -> None:
    args = parse_args()
    exit_cleanly_on_sigterm()
    rng = random.Random(args.seed)
    with work_dir() as cwd, scratch_database("bench_same") as database:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = service_env(
            database,
            new_secret(),
            SMTP_URL="console",
            PUBLIC_URL=base,
            EMAIL_VERIFICATION="required",
            AUTH_RATE_LIMIT_ATTEMPTS="1000000",
        )
        migrate(env, cwd)
        results: dict[str, dict[str, list[float]]] = {}
        with running_server("service", serve_argv(port), env, cwd, port):
            make_known_account(base, database)
            for key in args.page_keys:
                log(f"{key}: {args.warmup} pairs of warm-up, then {args.requests}")
                results[key] = measure(base, PAGE_FORMS[key], args.requests, args.warmup, rng)
        lines = [
            f"Machine: {machine_summary()}",
            f"Database: {asyncio.run(server_version(database))}",
            f"Code: {source_summary()}",
            f"One worker; {args.requests} pairs per page (known, unknown in a random order), "
            f"one request at a time, after {args.warmup} pairs of warm-up; wall ms over HTTP.",
            "",
            "| page | address | requests | p10 | p50 | p90 | p99 | mean |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for key, times in results.items():
            lines += [summary_row(key, kind, values) for kind, values in times.items()]
        lines.append("")
        for key, times in results.items():
            known, unknown = times["known"], times["unknown"]
            gap = percentile(known, 50) - percentile(unknown, 50)
            spread = percentile(unknown, 90) - percentile(unknown, 10)
            lines.append(
                f"{key}: median known - unknown {gap:+.2f} ms (unknown's p10-p90 spread "
                f"{spread:.1f} ms)"
            )
        print("\n".join(lines))


if __name__ == "__main__":
    main()
