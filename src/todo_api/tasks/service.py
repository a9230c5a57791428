"""Every task query, each scoped to its owner in the statement itself."""

import uuid
from typing import Any

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from todo_api.db import new_id, utcnow
from todo_api.tasks.models import tasks
from todo_api.tasks.schemas import TaskCreate, TaskUpdate


async def list_tasks(*, conn: AsyncConnection, user_id: uuid.UUID) -> list[Row[Any]]:
    query = (
        select(tasks)
        .where(tasks.c.user_id == user_id)
        .order_by(tasks.c.created_at.desc(), tasks.c.id.desc())
    )
    return list(await conn.execute(query))


async def get_task(
    *, conn: AsyncConnection, user_id: uuid.UUID, task_id: uuid.UUID
) -> Row[Any] | None:
    query = select(tasks).where(tasks.c.id == task_id, tasks.c.user_id == user_id)
    return (await conn.execute(query)).first()


async def create_task(
    *, conn: AsyncConnection, user_id: uuid.UUID, data: TaskCreate
) -> dict[str, Any]:
    now = utcnow()
    row = {
        "id": new_id(),
        "user_id": user_id,
        **data.model_dump(),
        "created_at": now,
        "updated_at": now,
    }
    await conn.execute(insert(tasks).values(**row))
    return row


async def update_task(
    *, conn: AsyncConnection, user_id: uuid.UUID, task_id: uuid.UUID, data: TaskUpdate
) -> Row[Any] | None:
    statement = (
        update(tasks)
        .where(tasks.c.id == task_id, tasks.c.user_id == user_id)
        .values(**data.changes(), updated_at=utcnow())
        .returning(*tasks.c)
    )
    return (await conn.execute(statement)).first()


async def delete_task(*, conn: AsyncConnection, user_id: uuid.UUID, task_id: uuid.UUID) -> bool:
    statement = delete(tasks).where(tasks.c.id == task_id, tasks.c.user_id == user_id)
    return (await conn.execute(statement)).rowcount > 0
