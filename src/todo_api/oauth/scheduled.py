"""The authorization server's background work (see todo_api.kit.jobs): what expired goes."""

import logging

from todo_api.config import Settings
from todo_api.db import Database
from todo_api.kit.jobs import Schedule
from todo_api.oauth import store

log = logging.getLogger("todo_api")

schedule = Schedule()


@schedule.job("oauth.housekeeping", every=lambda settings: settings.maintenance_interval_seconds)
async def housekeeping(db: Database, settings: Settings) -> None:
    async with db.connection() as conn:
        grants, tokens, clients = await store.prune(conn)
    if grants or tokens or clients:
        log.info(
            "pruned %d expired OAuth grants, %d tokens and %d unused clients",
            grants,
            tokens,
            clients,
        )
