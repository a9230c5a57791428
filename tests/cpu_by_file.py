"""CPU by test file, with TEST_CPU_REPORT=<path>: what each file cost the machine, counted as
the CPU time of the test process and everything under it (the servers it forked or started,
Chromium and its renderers, npm, clients) while the file's tests ran. Each process of the run
appends one JSON line per file to <path>; `python -m tests.cpu_by_file <path>` sums them.

A process's CPU is read from /proc (utime + stime of each live process under the test process,
plus cutime + cstime: what its children that have ended used), so nothing is counted twice.
Linux only; with the variable unset nothing is measured.
"""

import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _tree_seconds(root: int) -> float:
    """CPU seconds of `root` and every live process under it (ended children included)."""
    parents: dict[int, int] = {}
    spent: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                # The command's name may hold spaces: the fields start after its ")".
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        spent[pid] = sum(int(value) for value in fields[11:15])
    children: dict[int, list[int]] = defaultdict(list)
    for pid, parent in parents.items():
        children[parent].append(pid)
    total, waiting = 0, [root]
    while waiting:
        pid = waiting.pop()
        total += spent.get(pid, 0)
        waiting.extend(children.get(pid, ()))
    return total / _TICK


class CpuByFile:
    """A pytest plugin: the CPU of each file's tests, appended to `path` at the end."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.current: str | None = None
        self.started = 0.0
        self.files: dict[str, float] = defaultdict(float)
        # When each file ran (wall clock), to see what ran beside what.
        self.spans: dict[str, list[float]] = {}

    def _switch(self, file: str | None) -> None:
        now, clock = _tree_seconds(os.getpid()), time.time()
        if self.current is not None:
            self.files[self.current] += now - self.started
            self.spans[self.current][1] = clock
        if file is not None:
            self.spans.setdefault(file, [clock, clock])
        self.current, self.started = file, now

    def pytest_runtest_logstart(self, nodeid: str, location: tuple[str, int, str]) -> None:
        if location[0] != self.current:
            self._switch(location[0])

    def pytest_sessionfinish(self) -> None:
        self._switch(None)
        with self.path.open("a") as report:
            for file, seconds in self.files.items():
                start, end = self.spans[file]
                row = {"file": file, "cpu_seconds": round(seconds, 2), "pid": os.getpid()}
                row |= {"start": round(start, 1), "end": round(end, 1)}
                report.write(json.dumps(row) + "\n")


def summary(path: Path, top: int = 25) -> str:
    files: dict[str, float] = defaultdict(float)
    for line in path.read_text().splitlines():
        row = json.loads(line)
        files[row["file"]] += row["cpu_seconds"]
    ranked = sorted(files.items(), key=lambda item: -item[1])
    lines = [f"CPU of the test files: {sum(files.values()) / 60:.1f} min in {len(files)} files"]
    lines += [f"{seconds:8.1f} s  {file}" for file, seconds in ranked[:top]]
    return "\n".join(lines)


if __name__ == "__main__":
    print(summary(Path(sys.argv[1])))
