"""What the hardest texts cost the word reader, and what four of them at once do to /health.

    .venv/bin/python bench/words_cost.py                    # SQLite, 5 rounds
    .venv/bin/python bench/words_cost.py --databases sqlite postgresql
    BENCH_SRC=/tmp/old/src .venv/bin/python bench/words_cost.py   # another source tree

Goals (the contract's "Bounded work"): at most 20 ms of CPU per text, and a concurrent
`GET /health` answered within 0.1 s while four of the costliest quick adds run at once.

First, in this process: every text of tests/words/hostile.py (quick add's corpus in every
language, each language's own words repeated, and the DATE and filter phrases through
`read_rule`/`read_date`) is read --repeat times, its CPU the best of them (time.process_time);
the worst texts are listed. Then, for each database, `todo-api serve --workers 1` starts on a
free port (PostgreSQL: a database with a random name, dropped at the end); a prober process
sends GET /health every 10 ms while four threads each POST /api/tasks/quick with one of the
four costliest quick-add texts, --rounds times; the report gives the attacks' answers and the
probes' worst wait, and beside it the worst of as long a quiet window right after (no
attack: the machine's own noise).
"""

import argparse
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

import httpx
from benchlib import (
    db_url,
    exit_cleanly_on_sigterm,
    free_port,
    log,
    machine_summary,
    new_secret,
    running_server,
    scratch_database,
    serve_argv,
    service_env,
    source_summary,
    token_for,
    work_dir,
)
from hostile import Prober

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.words.hostile

from tests.words.hostile import CORPUS, LANGUAGE_WORDS, PHRASES

from todo_api import words

CPU_GOAL_MS = 20.0
HEALTH_GOAL_MS = 100.0
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def _quick(text: str, lang: str) -> None:
    with suppress(ValueError):  # OutOfRange: a far date, refused
        words.read(text, NOW, "Europe/Berlin", lang)


def _phrase(text: str, lang: str) -> None:
    words.read_rule(text, NOW, "Europe/Berlin", lang) or words.read_date(
        text, NOW, "Europe/Berlin", lang
    )


def reader_costs(repeat: int) -> list[tuple[float, str, str, str]]:
    """(best CPU ms, what, lang, text) for every text, costliest first."""
    if hasattr(words, "prepare"):
        words.prepare()  # as a server's start-up does
    cases = [("quick", lang, text) for lang in words.LANGUAGES for text in CORPUS]
    cases += [("quick", lang, text) for lang, text in LANGUAGE_WORDS]
    cases += [("date", lang, text) for lang in words.LANGUAGES for text in PHRASES]
    costs = []
    for what, lang, text in cases:
        read = _quick if what == "quick" else _phrase
        best = float("inf")
        for _ in range(repeat):
            started = time.process_time()
            read(text, lang)
            best = min(best, time.process_time() - started)
        costs.append((best * 1000, what, lang, text))
    return sorted(costs, reverse=True)


@contextmanager
def database_url(kind: str, cwd: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{cwd}/words.db"
        return
    with scratch_database("bench_words") as name:
        yield db_url(name)


def attack(url: str, token: str, texts: list[tuple[str, str]]) -> tuple[float, float, list[int]]:
    """The texts posted at once, a thread and a connection each (opened before): (start, end,
    statuses)."""
    statuses: list[int] = []
    headers = {"Authorization": f"Bearer {token}"}
    clients = [httpx.Client(base_url=url, timeout=60, headers=headers) for _ in texts]
    for client in clients:
        client.get("/health")  # connected before the attack starts
    ready = threading.Barrier(len(texts) + 1)

    def post(client: httpx.Client, text: str, lang: str) -> None:
        ready.wait()
        answer = client.post("/api/tasks/quick", json={"text": text, "lang": lang})
        statuses.append(answer.status_code)

    threads = [
        threading.Thread(target=post, args=(client, text, lang))
        for client, (text, lang) in zip(clients, texts, strict=True)
    ]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.monotonic()
    for thread in threads:
        thread.join()
    ended = time.monotonic()
    for client in clients:
        client.close()
    return started, ended, statuses


def serve_and_attack(
    kind: str, texts: list[tuple[str, str]], rounds: int
) -> list[tuple[float, float, float, list[int]]]:
    with work_dir() as cwd, database_url(kind, cwd) as url:
        env = service_env("unused", new_secret(), DATABASE_URL=url, LOG_LEVEL="WARNING")
        token = token_for(str(uuid.uuid4()), env, cwd)
        port = free_port()
        with running_server(f"todo-api-{kind}", serve_argv(port), env, cwd, port) as server:
            httpx.post(
                f"{server.url}/api/tasks/quick",
                json={"text": "warm up tomorrow"},
                headers={"Authorization": f"Bearer {token}"},
            )
            rows = []
            with Prober(server.url, 0.01, 30) as prober:
                time.sleep(0.5)
                windows, quiet = [], []
                for _ in range(rounds):
                    windows.append(attack(server.url, token, texts))
                    started = time.monotonic()  # as long again with no attack: the noise
                    time.sleep(windows[-1][1] - windows[-1][0])
                    quiet.append((started, time.monotonic()))
            for (start, end, statuses), calm in zip(windows, quiet, strict=True):
                worst = max(prober.between(start, end), default=0.0)
                calm_worst = max(prober.between(*calm), default=0.0)
                rows.append((end - start, worst * 1000, calm_worst * 1000, statuses))
            return rows


def main() -> None:
    exit_cleanly_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--databases", nargs="+", default=["sqlite"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--worst", type=int, default=8, help="texts listed")
    args = parser.parse_args()

    costs = reader_costs(args.repeat)
    print(f"Source: {source_summary()}")
    print(f"Machine: {machine_summary()}")
    print(f"\nReader CPU per text ({len(costs)} texts, best of {args.repeat}), the costliest:\n")
    print("| CPU ms | read as | lang | text |")
    print("| ---: | --- | --- | --- |")
    for ms, what, lang, text in costs[: args.worst]:
        shown = text if len(text) <= 50 else f"{text[:47]}... ({len(text)} characters)"
        print(f"| {ms:.2f} | {what} | {lang} | `{shown}` |")
    worst = costs[0][0]
    verdict = "met" if worst <= CPU_GOAL_MS else "NOT met"
    print(f"\nWorst {worst:.2f} ms (goal {CPU_GOAL_MS:.0f} ms): {verdict}")

    heaviest = [(lang, text) for _, what, lang, text in costs if what == "quick"][:4]
    texts = [(text, lang) for lang, text in heaviest]
    for kind in args.databases:
        log(f"{kind}: four quick adds at once, {args.rounds} rounds")
        rows = serve_and_attack(kind, texts, args.rounds)
        print(f"\n{kind}: four of the costliest quick adds at once, GET /health every 10 ms\n")
        print("| round | the four answered in (s) | answers | /health worst (ms) | quiet (ms) |")
        print("| ---: | ---: | --- | ---: | ---: |")
        for number, (seconds, health_ms, calm_ms, statuses) in enumerate(rows, start=1):
            answers = ", ".join(map(str, sorted(statuses)))
            print(f"| {number} | {seconds:.3f} | {answers} | {health_ms:.1f} | {calm_ms:.1f} |")
        worst_health = max(row[1] for row in rows)
        verdict = "met" if worst_health <= HEALTH_GOAL_MS else "NOT met"
        print(f"\n/health worst {worst_health:.1f} ms (goal {HEALTH_GOAL_MS:.0f} ms): {verdict}")


if __name__ == "__main__":
    main()
