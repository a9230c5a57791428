"""The caller's reminders between two times: those of the open tasks they can see, by time
(fired or not), read from the schedule's `fires_at` and the tasks' access rule."""

import uuid
from datetime import datetime

from sqlalchemy import bindparam, select

from todo_api.db import Connection, Query, Row
from todo_api.db.types import UTCDateTime
from todo_api.kit import access
from todo_api.tables.reminders import reminder_fires
from todo_api.tables.tasks import tasks

_BETWEEN = Query(
    select(
        reminder_fires.c.task_id,
        reminder_fires.c.reminder_id,
        reminder_fires.c.fires_at,
    )
    .join(tasks, tasks.c.id == reminder_fires.c.task_id)
    .where(
        access.can_see_task(),
        tasks.c.is_completed.is_(False),
        reminder_fires.c.fires_at >= bindparam("start", type_=UTCDateTime()),
        reminder_fires.c.fires_at < bindparam("end", type_=UTCDateTime()),
    )
    .order_by(reminder_fires.c.fires_at, reminder_fires.c.reminder_id)
)


async def between(
    conn: Connection, user_id: uuid.UUID, *, start: datetime, end: datetime
) -> list[Row]:
    params = {"user_id": user_id, "start": start, "end": end}
    return (await conn.execute(_BETWEEN, params)).rows
