"""The settings of what is kept and for how long: idempotency keys, the change feed's record of
deleted tasks, the activity, how often the maintenance job clears what expired, and when a
transaction holding the change feed back is named in the log. A group of its own, which
`todo_api.config.Settings` inherits."""

from pydantic import Field
from pydantic_settings import BaseSettings


class RetentionSettings(BaseSettings):
    # A retried POST with the same Idempotency-Key gets the first response for this long.
    idempotency_key_hours: int = Field(default=24, ge=1, le=24 * 30)
    # Deleted tasks are remembered for the change feed this long; older sync tokens get 410.
    sync_retention_days: int = Field(default=30, ge=1, le=3650)
    # The activity of lists and tasks (todo_api.collaboration) is kept this long.
    activity_retention_days: int = Field(default=90, ge=1, le=3650)
    # How often expired idempotency keys and old tombstones are removed (by one worker of
    # every instance: see todo_api.kit.jobs).
    maintenance_interval_seconds: int = Field(default=600, ge=1)
    # A transaction open this long holds every user's change feed back: the log names it (at
    # most once a check, every this many seconds). `feed_lag_seconds` in /metrics says how long.
    feed_lag_warn_seconds: float = Field(default=10, gt=0, le=3600)
