"""Who may see and change what: the one place the access rule lives, for every domain.

Today a user reaches their own lists and tasks only; every query scopes rows to the caller in
the statement itself, and what a domain needs to ask of another's rows is asked here.
"""

import uuid

from sqlalchemy import bindparam, exists, select

from todo_api.db import Connection, Query
from todo_api.tables.lists import lists

_OWNS_LIST = Query(
    select(
        exists().where(lists.c.id == bindparam("list_id"), lists.c.user_id == bindparam("user_id"))
    )
)


async def owns_list(conn: Connection, user_id: uuid.UUID, list_id: uuid.UUID) -> bool:
    return bool((await conn.execute(_OWNS_LIST, {"list_id": list_id, "user_id": user_id})).scalar())
