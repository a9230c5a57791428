"""Every webhook query: a webhook is its user's only (someone else's is not found), and its
deliveries are reached through it.

Statements are built once (`todo_api.db.Query`) and each holds the owner in its WHERE clause.
Creating takes the user's row lock (PostgreSQL; SQLite's write transactions take turns) so
that two creates at once cannot make a 21st webhook.
"""

import base64
import secrets
import uuid
from typing import Any, cast

from sqlalchemy import and_, bindparam, case, delete, func, insert, or_, select, update

from todo_api.db import Connection, Query, Row
from todo_api.kit import events, jobs
from todo_api.kit.events import PENDING
from todo_api.kit.ids import new_id, utcnow
from todo_api.kit.paging import page_by_created
from todo_api.tables.users import users
from todo_api.tables.webhooks import WebhookRow, webhook_deliveries, webhooks
from todo_api.webhooks.errors import DeliveryNotFound, TooManyWebhooks, WebhookNotFound
from todo_api.webhooks.schemas import WebhookCreate, WebhookUpdate

MAX_WEBHOOKS_PER_USER = 20
SECRET_BYTES = 32
DISABLED_BY_OWNER = "disabled by its owner"
DEFAULT_PAGE, MAX_PAGE = 50, 100

_MINE = and_(webhooks.c.id == bindparam("id"), webhooks.c.user_id == bindparam("user_id"))
_LOCK_USER = Query(select(users.c.id).where(users.c.id == bindparam("user_id")).with_for_update())
_COUNT = Query(
    select(func.count()).select_from(webhooks).where(webhooks.c.user_id == bindparam("user_id"))
)
_INSERT = Query(insert(webhooks).returning(*webhooks.c))
_ALL = Query(
    select(webhooks)
    .where(webhooks.c.user_id == bindparam("user_id"))
    .order_by(webhooks.c.created_at, webhooks.c.id)
)
_ONE = Query(select(webhooks).where(_MINE))
_DELETE = Query(delete(webhooks).where(_MINE))
_ROTATE = Query(
    update(webhooks)
    .where(_MINE)
    .values(
        previous_secret=webhooks.c.secret,
        secret=bindparam("secret"),
        rotated_at=bindparam("now"),
        updated_at=bindparam("now"),
    )
    .returning(*webhooks.c)
)
_DELIVERY = Query(
    select(webhook_deliveries).where(
        webhook_deliveries.c.id == bindparam("delivery_id"),
        webhook_deliveries.c.webhook_id == bindparam("id"),
    )
)
# A manual retry: one more attempt, now. A delivery that had ended gets exactly that one
# (`manual`); a pending one is only brought forward, its schedule unchanged.
_RETRY = Query(
    update(webhook_deliveries)
    .where(
        webhook_deliveries.c.id == bindparam("delivery_id"),
        webhook_deliveries.c.webhook_id == bindparam("id"),
    )
    .values(
        manual=case(
            (webhook_deliveries.c.status == PENDING, webhook_deliveries.c.manual), else_=True
        ),
        status=PENDING,
        next_attempt_at=bindparam("now"),
    )
    .returning(*webhook_deliveries.c)
)
_NEWEST_FIRST = (webhook_deliveries.c.created_at.desc(), webhook_deliveries.c.id.desc())
_PAGE = Query(
    select(webhook_deliveries)
    .where(webhook_deliveries.c.webhook_id == bindparam("id"))
    .order_by(*_NEWEST_FIRST)
    .limit(bindparam("limit"))
)
_PAGE_AFTER = Query(
    select(webhook_deliveries)
    .where(
        webhook_deliveries.c.webhook_id == bindparam("id"),
        or_(
            webhook_deliveries.c.created_at < bindparam("after_at"),
            and_(
                webhook_deliveries.c.created_at == bindparam("after_at"),
                webhook_deliveries.c.id < bindparam("after_id"),
            ),
        ),
    )
    .order_by(*_NEWEST_FIRST)
    .limit(bindparam("limit"))
)


def new_secret() -> str:
    """`whsec_` and the base64 of 32 random bytes (the Standard Webhooks form)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


async def create_webhook(conn: Connection, user_id: uuid.UUID, data: WebhookCreate) -> WebhookRow:
    """A new webhook with its secret; TooManyWebhooks beyond the limit."""
    now = utcnow()
    values: dict[str, Any] = {
        "id": new_id(),
        "user_id": user_id,
        "url": data.url,
        "events": data.events,
        "event_mask": events.mask_of(data.events),
        "description": data.description,
        "secret": new_secret(),
        "previous_secret": None,
        "rotated_at": None,
        "active": True,
        "disabled_reason": None,
        "failures_in_row": 0,
        "created_at": now,
        "updated_at": now,
    }
    async with conn.transaction():
        if conn.name == "postgresql":  # SQLite's write transactions take turns
            await conn.execute(_LOCK_USER, {"user_id": user_id})
        if (await conn.execute(_COUNT, {"user_id": user_id})).scalar() >= MAX_WEBHOOKS_PER_USER:
            raise TooManyWebhooks(MAX_WEBHOOKS_PER_USER)
        row = (await conn.execute(_INSERT, values)).one()
    return cast(WebhookRow, row)


async def list_webhooks(conn: Connection, user_id: uuid.UUID) -> list[WebhookRow]:
    return cast(list[WebhookRow], (await conn.execute(_ALL, {"user_id": user_id})).rows)


async def get_webhook(conn: Connection, user_id: uuid.UUID, webhook_id: uuid.UUID) -> WebhookRow:
    row = (await conn.execute(_ONE, {"id": webhook_id, "user_id": user_id})).first()
    if row is None:
        raise WebhookNotFound
    return cast(WebhookRow, row)


async def update_webhook(
    conn: Connection, user_id: uuid.UUID, webhook_id: uuid.UUID, data: WebhookUpdate
) -> WebhookRow:
    """The changed webhook. Enabling it starts its failures in a row from zero; disabling it
    says its owner did."""
    values: dict[str, Any] = {**data.model_dump(exclude_unset=True), "updated_at": utcnow()}
    if "events" in values:
        values["event_mask"] = events.mask_of(values["events"])
    if values.get("active") is True:
        values["disabled_reason"], values["failures_in_row"] = None, 0
    elif values.get("active") is False:
        values["disabled_reason"] = DISABLED_BY_OWNER
    mine = (webhooks.c.id == webhook_id, webhooks.c.user_id == user_id)
    statement = update(webhooks).where(*mine).values(**values).returning(*webhooks.c)
    row = (await conn.execute(statement)).first()
    if row is None:
        raise WebhookNotFound
    if values.get("active") is True:
        jobs.wake(events.DELIVERY_JOB)  # its pending deliveries are due again
    return cast(WebhookRow, row)


async def delete_webhook(conn: Connection, user_id: uuid.UUID, webhook_id: uuid.UUID) -> None:
    """Delete the webhook and its deliveries (foreign key)."""
    if not (await conn.execute(_DELETE, {"id": webhook_id, "user_id": user_id})).rowcount:
        raise WebhookNotFound


async def rotate_secret(conn: Connection, user_id: uuid.UUID, webhook_id: uuid.UUID) -> WebhookRow:
    """A new secret; the one it replaces signs deliveries too for a day."""
    params = {"id": webhook_id, "user_id": user_id, "secret": new_secret(), "now": utcnow()}
    row = (await conn.execute(_ROTATE, params)).first()
    if row is None:
        raise WebhookNotFound
    return cast(WebhookRow, row)


async def ping(conn: Connection, user_id: uuid.UUID, webhook_id: uuid.UUID) -> Row:
    """A `ping` delivery for the webhook, whatever its events; the delivery."""
    async with conn.transaction():
        await get_webhook(conn, user_id, webhook_id)
        delivery_id = await events.record_ping(conn, webhook_id, user_id)
        params = {"delivery_id": delivery_id, "id": webhook_id}
        return (await conn.execute(_DELIVERY, params)).one()


async def retry(
    conn: Connection, user_id: uuid.UUID, webhook_id: uuid.UUID, delivery_id: uuid.UUID
) -> Row:
    """One more attempt of the delivery, now; the delivery."""
    async with conn.transaction():
        await get_webhook(conn, user_id, webhook_id)
        params = {"delivery_id": delivery_id, "id": webhook_id, "now": utcnow()}
        row = (await conn.execute(_RETRY, params)).first()
        if row is None:
            raise DeliveryNotFound
    jobs.wake(events.DELIVERY_JOB)
    return row


async def deliveries(
    conn: Connection,
    user_id: uuid.UUID,
    webhook_id: uuid.UUID,
    *,
    limit: int,
    cursor: str | None,
) -> tuple[list[Row], str | None]:
    """A page of the webhook's deliveries, newest first, and the next page's cursor."""
    await get_webhook(conn, user_id, webhook_id)
    params = {"id": webhook_id}
    return await page_by_created(conn, _PAGE, _PAGE_AFTER, params, limit=limit, cursor=cursor)
