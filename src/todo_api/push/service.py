"""A user's push subscriptions, and the messages a fired reminder leaves for them.

A subscription is its user's only: another user's with the same endpoint (one browser, two
accounts) is theirs, untouched. Saving takes the user's row lock (PostgreSQL; SQLite's write
transactions take turns), so that two saves at once cannot make a 21st.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, or_, select, update

from todo_api.config import Settings
from todo_api.db import Connection, Query, Row, insert_bound
from todo_api.kit import targets
from todo_api.kit.errors import Conflict
from todo_api.kit.ids import new_id, utcnow
from todo_api.push.schemas import SubscriptionIn
from todo_api.tables.push import push_messages, push_subscriptions
from todo_api.tables.users import users

MAX_SUBSCRIPTIONS_PER_USER = 20
PENDING, SENT, FAILED = "pending", "sent", "failed"

_subs = push_subscriptions.c
_THIS = (_subs.user_id == bindparam("user_id")) & (_subs.endpoint == bindparam("endpoint"))
_LOCK_USER = Query(select(users.c.id).where(users.c.id == bindparam("user_id")).with_for_update())
_COUNT = Query(
    select(func.count())
    .select_from(push_subscriptions)
    .where(_subs.user_id == bindparam("user_id"))
)
_FIND = Query(select(push_subscriptions).where(_THIS))
_RENEW = Query(
    update(push_subscriptions)
    .where(_THIS)
    .values(p256dh=bindparam("p256dh"), auth=bindparam("auth"), expires_at=bindparam("expires_at"))
    .returning(*push_subscriptions.c)
)
_MINE = Query(
    select(push_subscriptions)
    .where(_subs.user_id == bindparam("user_id"))
    .order_by(_subs.created_at, _subs.id)
)
_INSERT = Query(insert(push_subscriptions).returning(*push_subscriptions.c))
_DELETE = Query(delete(push_subscriptions).where(_THIS))
# The subscriptions a reminder goes to: the recipient's that have not expired.
_LIVE = Query(
    select(_subs.id).where(
        _subs.user_id == bindparam("user_id"),
        or_(_subs.expires_at.is_(None), _subs.expires_at > bindparam("now")),
    )
)
_MESSAGE = Query(
    insert_bound(
        push_messages,
        *("id", "subscription_id", "reminder_id", "payload"),
        status=PENDING,
        attempts=0,
        next_attempt_at=bindparam("now"),
        created_at=bindparam("now"),
    )
)


class TooManySubscriptions(Conflict):
    def __init__(self) -> None:
        super().__init__(
            f"You have {MAX_SUBSCRIPTIONS_PER_USER} push subscriptions, the most a user may "
            "have: remove one first"
        )


async def save(conn: Connection, user_id: uuid.UUID, data: SubscriptionIn) -> tuple[Row, bool]:
    """The subscription, new (True) or the one of this endpoint already there, its keys and
    expiry as given now (False); TooManySubscriptions beyond the limit."""
    params: dict[str, Any] = {
        "user_id": user_id,
        "endpoint": data.endpoint,
        "p256dh": data.keys.p256dh,
        "auth": data.keys.auth,
        "expires_at": data.expires_at(),
    }
    async with conn.transaction():
        await conn.execute(_LOCK_USER, params)
        renewed = (await conn.execute(_RENEW, params)).first()
        if renewed is not None:
            return renewed, False
        if (await conn.execute(_COUNT, params)).scalar() >= MAX_SUBSCRIPTIONS_PER_USER:
            raise TooManySubscriptions
        values = {**params, "id": new_id(), "created_at": utcnow()}
        row = (await conn.execute(_INSERT, values)).one()
    return row, True


async def list_subscriptions(conn: Connection, user_id: uuid.UUID) -> list[Row]:
    """The user's subscriptions, oldest first."""
    return (await conn.execute(_MINE, {"user_id": user_id})).rows


async def remove(conn: Connection, user_id: uuid.UUID, endpoint: str) -> None:
    """Forget the user's subscription of this endpoint (none: nothing to do)."""
    async with conn.transaction():
        await conn.execute(_DELETE, {"user_id": user_id, "endpoint": endpoint})


async def queue(
    conn: Connection, user_id: uuid.UUID, reminder_id: uuid.UUID, payload: str, now: datetime
) -> int:
    """A message of `payload` to each live subscription of the user, in the caller's
    transaction (the reminder's firing); how many."""
    found = (await conn.execute(_LIVE, {"user_id": user_id, "now": now})).rows
    for subscription in found:
        values = {
            "id": new_id(),
            "subscription_id": subscription["id"],
            "reminder_id": reminder_id,
            "payload": payload,
            "now": now,
        }
        await conn.execute(_MESSAGE, values)
    return len(found)


async def endpoint_problem(settings: Settings, endpoint: str) -> str | None:
    """Why a push endpoint is refused (None: it is not): https on a public address, as a
    webhook's URL (todo_api.kit.targets), unless WEBHOOK_ALLOW_PRIVATE_URLS. Looks the host
    up: call it outside any database connection."""
    if settings.webhook_allow_private_urls:
        return None
    if not endpoint.lower().startswith("https://"):
        return f"must be an https:// URL; {targets.ALLOW_HINT}"
    return await targets.creation_problem(endpoint)
