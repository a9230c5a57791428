"""Where a server's CPU goes, by library: a summary of a py-spy "raw" (collapsed stacks) file.

    py-spy record --gil -r 200 -d 12 -f raw -p <server pid> -o list.raw   # while wrk runs
    .venv/bin/python bench/pyspy_layers.py list.raw

py-spy is not a dependency of the project; install it anywhere (e.g. `python3 -m venv
/tmp/spy && /tmp/spy/bin/pip install py-spy`). With --gil only samples of the thread holding
the GIL are kept, so the shares are shares of the interpreter's busy time.

Each sample is charged to the innermost frame that belongs to a known layer (so the time
pydantic spends inside a validator of todo_api's counts as todo_api); frames of the standard
library's json, contextlib and the like are charged to their caller (json.loads
called by SQLAlchemy's JSONB decoder counts as SQLAlchemy). The inclusive table shows, for a few
functions of interest, the share of samples with that function anywhere on the stack.
"""

import argparse
import collections
import re

# (layer, pattern on "function (file)"); the first pattern matching a frame names its layer.
LAYERS = [
    ("todo_api", r"\(.*todo_api/"),
    ("SQLAlchemy", r"\(.*sqlalchemy/"),
    ("greenlet", r"\(.*greenlet/"),
    ("asyncpg", r"\(.*asyncpg/"),
    ("PyJWT", r"\(.*jwt/"),
    ("pydantic", r"\(.*pydantic"),
    ("FastAPI dependencies", r"\(.*fastapi/(dependencies|_compat|security)/"),
    ("FastAPI routing and middleware", r"\(.*fastapi/"),
    ("Starlette", r"\(.*starlette/"),
    ("anyio (thread pool)", r"\(.*anyio/|\(.*threading\.py|\(.*queue\.py"),
    ("uvicorn + httptools", r"\(.*uvicorn/|httptools"),
    ("logging", r"\(.*logging/"),
    ("asyncio / uvloop (event loop)", r"\(.*asyncio/|uvloop"),
]
# Charged to their caller: json.loads under PyJWT is PyJWT's, under SQLAlchemy SQLAlchemy's.
TRANSPARENT = r"\(.*(json|contextlib|abc|typing|functools|weakref|enum)[/.]|^<frozen"
INTERESTING = [
    r"^solve_dependencies ",
    r"^serialize_response ",
    r"^run_in_threadpool ",
    r"^TokenVerifier\.verify ",
    r"^connection \(.*todo_api/db",
    r"^AsyncConnection\.execute ",
    r"^PreparedStatement\.__do_execute ",
    r"^Logger\.info ",
    r"^RequestLog\.info ",
    r"^RequestContextMiddleware\.__call__ \(",
    r"^HotLane\.serve ",
    r"^Metrics\.observe ",
    r"^Database\._acquire ",
    r"^Database\._release ",
    r"^authenticate ",
    r"^CORSMiddleware\.__call__ ",
    r"^list_tasks \(.*service",
    r"^get_task \(.*service",
    r"^create_task \(.*service",
    r"^RequestResponseCycle\.send ",
]


def layer_of(frame: str) -> str | None:
    for name, pattern in LAYERS:
        if re.search(pattern, frame):
            return name
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw", help="py-spy output written with -f raw")
    args = parser.parse_args()
    total = 0
    layers: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    with open(args.raw) as lines:
        for line in lines:
            stack, _, count_text = line.rstrip("\n").rpartition(" ")
            if not stack:
                continue
            count = int(count_text)
            total += count
            frames = stack.split(";")
            opaque = [f for f in frames if not re.search(TRANSPARENT, f)] or frames
            charged = next(
                (name for frame in reversed(opaque) if (name := layer_of(frame))), "other"
            )
            layers[charged] += count
            seen = set()
            for pattern in INTERESTING:
                if any(re.search(pattern, frame) for frame in frames):
                    seen.add(pattern)
            for pattern in seen:
                inclusive[pattern] += count
    print(f"{total} samples\n\n| layer (innermost frame) | share |\n|---|---:|")
    for name, count in layers.most_common():
        print(f"| {name} | {100 * count / total:.1f} % |")
    print("\n| function (anywhere on the stack) | share |\n|---|---:|")
    for pattern, count in inclusive.most_common():
        label = pattern.strip("^").split(" ")[0].replace("\\", "")
        print(f"| {label} | {100 * count / total:.1f} % |")


if __name__ == "__main__":
    main()
