"""What one PgBouncer process passes: transactions per second through Debian's pgbouncer in
transaction mode, and its CPU per transaction, for the capacity model (docs/scaling.md).

    .venv/bin/python bench/pgbouncer_tps.py                  # ~2 min
    .venv/bin/python bench/pgbouncer_tps.py --seconds 5 --rounds 2

pgbouncer (tests/helpers_server.py's `running_pgbouncer`: transaction mode, 20 server
connections) in front of the machine's PostgreSQL, and pgbench (extended protocol, as asyncpg
speaks it) with `--clients` clients on it, for two kinds of transaction: one statement (a
request's read on a hot path), and BEGIN, two statements, COMMIT (a request that writes), in
rounds. PgBouncer is single-threaded: its ceiling is one core, so what it passes per second of its
own CPU (on-CPU time, schedstat) is what one PgBouncer process passes at 100 % of a core,
whatever else the machine is doing; the throughput seen here is the loaded machine's.

Needs pgbouncer (scripts/setup-ci.sh) and PostgreSQL's pgbench. Prints Markdown.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import PG_HOST, PG_PORT, PG_USER, log, scheduler_cpu_seconds_of

from helpers_server import pgbouncer_binary, running_pgbouncer

PGBENCH = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"
SCRIPTS = {
    "one statement": "SELECT 1;\n",
    "BEGIN, two statements, COMMIT": "BEGIN;\nSELECT 1;\nSELECT 2;\nCOMMIT;\n",
}


def pgbench(port: int, script: Path, clients: int, seconds: float) -> int:
    """Transactions pgbench completed in `seconds`."""
    done = subprocess.run(
        [
            PGBENCH,
            "-n",
            "-M",
            "extended",
            "-f",
            str(script),
            "-c",
            str(clients),
            "-j",
            "2",
            "-T",
            str(int(seconds)),
            "-h",
            PG_HOST,
            "-p",
            str(port),
            "-U",
            PG_USER,
            "postgres",
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PGCONNECT_TIMEOUT": "10"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    found = re.search(r"number of transactions actually processed: (\d+)", done.stdout)
    assert found, done.stdout + done.stderr
    return int(found[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=40)
    args = parser.parse_args()
    binary = pgbouncer_binary()
    if binary is None or not Path(PGBENCH).exists():
        sys.exit("pgbouncer and pgbench are needed: sh scripts/setup-ci.sh")
    rows = []
    with tempfile.TemporaryDirectory(prefix="pgbouncer-tps-") as folder:
        work = Path(folder)
        with running_pgbouncer(binary, work, PG_HOST, PG_PORT) as bouncer:
            pid = bouncer.process.pid
            for kind, text in SCRIPTS.items():
                script = work / "script.sql"
                script.write_text(text)
                through, per_cpu = [], []
                for round_ in range(args.rounds):
                    log(f"{kind}: round {round_ + 1}")
                    before = scheduler_cpu_seconds_of([pid])[pid]
                    count = pgbench(bouncer.port, script, args.clients, args.seconds)
                    spent = scheduler_cpu_seconds_of([pid])[pid] - before
                    through.append(count / args.seconds)
                    per_cpu.append(count / spent)
                rows.append(
                    f"| {kind} | {statistics.median(through):,.0f} | "
                    f"{1e6 / statistics.median(per_cpu):.1f} | "
                    f"{statistics.median(per_cpu):,.0f} |"
                )
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(
        f"{args.clients} clients, {args.rounds} rounds of {args.seconds:.0f} s "
        f"(medians); load average at the end {' '.join(load)}\n"
    )
    print(
        "| transaction | through PgBouncer /s | PgBouncer CPU µs per transaction | "
        "PgBouncer transactions per CPU second |"
    )
    print("|---|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
