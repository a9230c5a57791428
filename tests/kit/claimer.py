"""A process that claims rows of a test's work table until none is left to take, then prints
what it took as JSON: `python -m tests.kit.claimer DATABASE_URL TABLE FOLDER NAME [PER]` (PER:
at most that many rows held per `owner`).

It writes FOLDER/NAME.ready once connected, and starts when FOLDER/go appears, so that the
test's claimants start together."""

import asyncio
import json
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import true

from tests.kit.helpers import work_table
from todo_api.config import Settings
from todo_api.db import Database
from todo_api.kit.claims import claim

BATCH = 3
START_TIMEOUT = 60.0


def wait_for(path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear")
        time.sleep(0.01)


async def main(
    database_url: str, table_name: str, folder: Path, name: str, per: int | None
) -> None:
    # Only what the database needs: this process imports none of the app, to start quickly.
    settings = Settings(_env_file=None, database_url=database_url, data_dir=folder / name)  # type: ignore[call-arg]
    table = work_table(table_name)
    db = Database(settings)
    taken: dict[str, list[int]] = {}
    try:
        async with db.connection():
            pass  # connected: the pool's first connection is open
        (folder / f"{name}.ready").touch()
        await asyncio.to_thread(wait_for, folder / "go")
        while True:
            got = await claim(
                db,
                table,
                due=true(),
                lease=timedelta(minutes=5),
                limit=BATCH,
                per=None if per is None else (table.c.owner, per),
            )
            if not got.rows:
                break
            taken[got.claimant] = [row.id for row in got.rows]
            await asyncio.sleep(0.005)  # let the other claimant in between
    finally:
        await db.close()
    print(json.dumps(taken))


if __name__ == "__main__":
    url, table_name, folder, name = sys.argv[1:5]
    per = int(sys.argv[5]) if len(sys.argv) > 5 else None
    asyncio.run(main(url, table_name, Path(folder), name, per))
