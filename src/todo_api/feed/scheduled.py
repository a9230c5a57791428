"""The change feed's background work (see todo_api.kit.jobs): saying who holds it back.

The feed (with it live updates) shows a change once every transaction of the database that
may still commit an older one has ended (todo_api.kit.changes). A transaction left open (a
psql session, a stuck worker, a long backfill) holds every user's feed back for as long as it
stays open: once it has been open FEED_LAG_WARN_SECONDS, each check names it in the log.
"""

import logging

from todo_api.config import Settings
from todo_api.db import Database
from todo_api.kit import changes
from todo_api.kit.jobs import Schedule

log = logging.getLogger("todo_api")

schedule = Schedule()


@schedule.job("feed.lag", every=lambda settings: settings.feed_lag_warn_seconds)
async def name_what_holds_the_feed(db: Database, settings: Settings) -> None:
    async with db.connection() as conn:
        found = await changes.holders(conn)
    for holder in found:
        if holder.held < settings.feed_lag_warn_seconds:
            break  # longest open first
        log.warning(
            "the change feed waits for a transaction: pid=%s database=%s application_name=%s"
            " held=%.0f (PostgreSQL's idle_in_transaction_session_timeout ends idle ones)",
            holder.pid if holder.pid is not None else "-",
            holder.database,
            holder.application_name or "-",
            holder.held,
        )
