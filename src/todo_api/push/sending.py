"""Sending the pending push messages (RFC 8030), each encrypted for its subscription (RFC
8291, aes128gcm) and signed for its push service (VAPID, RFC 8292), both by pywebpush and
py_vapid, never by hand.

A message is written when its reminder fires (todo_api.reminders.firing), in that transaction,
and sent by a job of its own, as reminder emails are: each pending message is claimed by one
worker at a time (todo_api.kit.claims), so that a reminder is pushed once across every
instance. The encryption and the signature (elliptic-curve arithmetic) run in a thread; the
request goes through the webhooks' guarded transport (todo_api.kit.targets): the push service
must be on a public address at every connection, as a webhook's URL, unless
WEBHOOK_ALLOW_PRIVATE_URLS. A push service that answers 404 or 410 has dropped the
subscription: it is deleted (and its messages with it). A 429, a 5xx or no answer is tried
again after each delay of REMINDER_EMAIL_RETRY_SCHEDULE, and not before the push service's
`Retry-After` (seconds or a date, at most a day) when it gives one; any other answer fails
the message. A message whose recipient no longer sees the task (access lost, or the task
deleted, since the reminder fired) fails unsent, as the reminder's email does
(todo_api.kit.access.sees_task).
The log names the subscription by its id and host, never by its endpoint (a bearer secret).
"""

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson
from sqlalchemy import delete, select

from todo_api.config import Settings
from todo_api.db import Database, Query, Row
from todo_api.kit import access
from todo_api.kit.claims import claim, next_due, release, sleep_before_due
from todo_api.kit.ids import utcnow
from todo_api.kit.reads import told
from todo_api.push.service import FAILED, PENDING, SENT
from todo_api.tables.push import ERROR_MAX_LENGTH, push_messages, push_subscriptions

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("todo_api")

PUSH_JOB = "reminders.push"
BATCH = 20
TIMEOUT_SECONDS = 10.0
LEASE = timedelta(seconds=TIMEOUT_SECONDS + 10)
# How long a push service keeps a message for a browser that is offline: a reminder a day
# late is still worth seeing.
TTL_SECONDS = 24 * 3600
# The VAPID token's life (RFC 8292: at most 24 hours).
TOKEN_SECONDS = 12 * 3600
GONE = frozenset({404, 410})
# The longest wait a push service's Retry-After is taken for (a longer one: this long).
MOST_RETRY_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Attempt:
    status: int | None  # the push service's answer, None when none came
    error: str | None = None  # None: sent
    final: bool = False  # not to be tried again
    not_before: timedelta | None = None  # the push service's Retry-After


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A Retry-After header's wait (RFC 9110: seconds, or an HTTP date), at most
    MOST_RETRY_AFTER; None when there is none or it cannot be read."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        wait = timedelta(seconds=int(value))
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        wait = max(when - now, timedelta(0))
    return min(wait, MOST_RETRY_AFTER)


waiting_at = push_messages.c.next_attempt_at
_EARLIEST = Query(next_due(push_messages, waiting_at))


def sealed(settings: Settings, subscription: Row, payload: str) -> tuple[bytes, dict[str, str]]:
    """The encrypted body and the headers of one message (CPU work: run in a thread)."""
    # Loaded by the first message, not at start: pywebpush brings aiohttp and requests, which
    # a deployment without Web Push never needs.
    from py_vapid import Vapid  # type: ignore[import-untyped]
    from pywebpush import WebPusher  # type: ignore[import-untyped]

    info = {
        "endpoint": subscription["endpoint"],
        "keys": {"p256dh": subscription["p256dh"], "auth": subscription["auth"]},
    }
    body = WebPusher(info).encode(payload.encode(), "aes128gcm")["body"]
    parts = urlsplit(subscription["endpoint"])
    assert settings.vapid_private_key is not None
    vapid = Vapid.from_raw(settings.vapid_private_key.get_secret_value().encode())
    claims = {
        "sub": settings.vapid_contact,
        "aud": f"{parts.scheme}://{parts.netloc}",
        "exp": int(time.time()) + TOKEN_SECONDS,
    }
    headers = {
        **vapid.sign(claims),
        "Content-Encoding": "aes128gcm",
        "Content-Type": "application/octet-stream",
        "TTL": str(TTL_SECONDS),
        "Urgency": "high",
    }
    return body, headers


async def send_due(db: Database, settings: Settings) -> float | None:
    """Send the pending messages that are due (a batch); returns the seconds until the next
    turn is worth it."""
    if not settings.web_push_enabled:
        return None
    now, wait = await sleep_before_due(db, _EARLIEST, settings.reminder_sleep_seconds)
    if wait is not None:
        return wait
    taken = await claim(
        db, push_messages, due=waiting_at <= now, lease=LEASE, limit=BATCH, order_by=waiting_at
    )
    if not taken.rows:
        return 0.0
    ids = list({row["subscription_id"] for row in taken.rows})
    async with db.connection() as conn:
        found = await conn.execute(
            select(push_subscriptions).where(push_subscriptions.c.id.in_(ids))
        )
    subscriptions = {row["id"]: row for row in found.rows}
    unseen = await _unseen(db, taken.rows, subscriptions)
    await told(row["user_id"] for row in subscriptions.values())  # (read replicas: kit/reads.py)
    import httpx  # with the first message sent, as its guard

    from todo_api.kit.guarded import GuardedTransport

    transport = GuardedTransport(allow_private=settings.webhook_allow_private_urls)
    async with httpx.AsyncClient(
        transport=transport, timeout=TIMEOUT_SECONDS, follow_redirects=False, trust_env=False
    ) as client:
        outcomes = await asyncio.gather(
            *(
                _attempt(
                    client,
                    settings,
                    message,
                    subscriptions.get(message["subscription_id"]),
                    message["id"] in unseen,
                )
                for message in taken.rows
            )
        )
    gone = {
        message["subscription_id"]
        for message, attempt in zip(taken.rows, outcomes, strict=True)
        if attempt.status in GONE
    }
    if gone:
        async with db.transaction() as conn:
            await conn.execute(delete(push_subscriptions).where(push_subscriptions.c.id.in_(gone)))
    schedule = settings.reminder_email_retry_schedule
    for message, attempt in zip(taken.rows, outcomes, strict=True):
        if attempt.status in GONE:
            continue  # deleted with its subscription
        values = _outcome(message, attempt, schedule)
        await release(db, push_messages, taken, [message["id"]], values)
    return 0.0


async def _unseen(db: Database, messages: list[Row], subscriptions: dict[Any, Row]) -> set[Any]:
    """The messages whose recipient (their subscription's user) no longer sees their task."""
    unseen = set()
    async with db.connection() as conn:
        for message in messages:
            subscription = subscriptions.get(message["subscription_id"])
            task_id = _task_of(message["payload"])
            if subscription is None or task_id is None:
                continue
            if not await access.sees_task(conn, subscription["user_id"], task_id):
                unseen.add(message["id"])
    return unseen


def _task_of(payload: str) -> uuid.UUID | None:
    """The task a message is about (its payload's `task_id`), if it names one."""
    try:
        return uuid.UUID(str(orjson.loads(payload).get("task_id")))
    except (orjson.JSONDecodeError, AttributeError, ValueError):
        return None


async def _attempt(
    client: "httpx.AsyncClient",
    settings: Settings,
    message: Row,
    subscription: Row | None,
    unseen: bool,
) -> Attempt:
    """One attempt of one message."""
    import httpx  # loaded by send_due, which made the client

    if subscription is None:  # dropped since it was claimed: its message went with it
        return Attempt(None, "the subscription is gone", final=True)
    if unseen:
        return Attempt(None, "not sent: the recipient no longer sees the task", final=True)
    host = urlsplit(subscription["endpoint"]).hostname
    where = f"push subscription {subscription['id']} ({host})"
    try:
        body, headers = await asyncio.to_thread(sealed, settings, subscription, message["payload"])
        response = await client.post(subscription["endpoint"], content=body, headers=headers)
    except httpx.HTTPError as exc:
        log.warning("%s: no answer: %s", where, type(exc).__name__)
        return Attempt(None, f"no answer: {exc}")
    except Exception as exc:  # a key the libraries refuse: never sendable
        log.warning("%s: could not be sealed: %s", where, type(exc).__name__)
        return Attempt(None, f"could not be encrypted: {type(exc).__name__}", final=True)
    status = response.status_code
    if status < 300:
        return Attempt(status)
    if status in GONE:
        log.info("%s is gone (%d): deleted", where, status)
        return Attempt(status, final=True)
    retried = status == 429 or status >= 500
    log.warning("%s answered %d%s", where, status, "" if retried else "; not tried again")
    wait = retry_after(response.headers.get("retry-after"), utcnow()) if retried else None
    return Attempt(status, f"{status} {response.text[:200]}", not retried, wait)


def _outcome(message: Row, attempt: Attempt, schedule: tuple[float, ...]) -> dict[str, Any]:
    attempts = message["attempts"] + 1
    now = utcnow()
    error = attempt.error
    values: dict[str, Any] = {"attempts": attempts, "error": error and error[:ERROR_MAX_LENGTH]}
    if error is None:
        return {**values, "status": SENT, "sent_at": now, "next_attempt_at": None}
    if attempt.final or attempts > len(schedule):
        return {**values, "status": FAILED, "next_attempt_at": None}
    delay = timedelta(seconds=schedule[attempts - 1])
    if attempt.not_before is not None:  # the push service's word: not before then
        delay = max(delay, attempt.not_before)
    return {**values, "status": PENDING, "next_attempt_at": now + delay}
