"""Sending the due deliveries: each claimed by one worker of every process and instance
(todo_api.kit.claims), signed per Standard Webhooks, its outcome written back by the claimant
still holding it.

An attempt is a POST of the event's JSON (as stored when the change committed) with
`webhook-id` (the event's id), `webhook-timestamp` (this attempt's Unix seconds) and
`webhook-signature` (the `standardwebhooks` library's `v1,<base64 HMAC-SHA256>`; for a day
after a rotation, the new secret's and the old one's, space-separated). A 2xx within
WEBHOOK_TIMEOUT_SECONDS succeeds; anything else (another status, a redirect, which is not
followed, a timeout, a refused or forbidden connection) is tried again after the next delay of
WEBHOOK_RETRY_SCHEDULE, counted from the end of the attempt; after the last one the delivery
is `failed`, and a webhook with WEBHOOK_DISABLE_AFTER failed deliveries in a row (counted in
one UPDATE, so workers racing add up) is disabled.

The claim's lease (WEBHOOK_TIMEOUT_SECONDS + 10 s, at most 60 s) outlasts the turn that
attempts it (cut at WEBHOOK_TIMEOUT_SECONDS + 5 s, see scheduled.py): a worker that dies
mid-attempt holds the delivery until the lease runs out, and another worker then attempts it
again (at least once, never two at a time).
"""

import asyncio
import logging
import time
import uuid
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import bindparam, case, exists, select, update
from standardwebhooks.webhooks import Webhook

from todo_api.config import Settings
from todo_api.db import Database, Query, Row
from todo_api.kit import jobs
from todo_api.kit.claims import Claim, claim, release_each
from todo_api.kit.events import DELIVERY_JOB, FAILED, PENDING, SUCCEEDED
from todo_api.kit.ids import utcnow
from todo_api.kit.targets import GuardedTransport
from todo_api.tables.webhooks import ERROR_MAX_LENGTH, webhook_deliveries, webhooks

log = logging.getLogger("todo_api")

# Beyond the attempt's timeout: the turn's own margin (TURN_MARGIN), and as much again.
TURN_MARGIN_SECONDS = 5
LEASE_MARGIN_SECONDS = 10
MAX_LEASE_SECONDS = 60
BATCH = 50
# An answer is read up to this much, and this much of it is kept (in a failure's `error`).
READ_BYTES = 64 * 1024
KEPT_BYTES = 1024
# For a day after a rotation, the replaced secret signs too.
OLD_SECRET_SIGNS_FOR = timedelta(hours=24)
USER_AGENT = "todo-api-webhooks"

_ACTIVE_WEBHOOKS = select(webhooks.c.id).where(webhooks.c.active.is_(True))
_TARGET_COLUMNS = (
    webhooks.c.id,
    webhooks.c.url,
    webhooks.c.secret,
    webhooks.c.previous_secret,
    webhooks.c.rotated_at,
)
_SUCCEEDED = Query(
    update(webhooks)
    .where(webhooks.c.id == bindparam("id"), webhooks.c.failures_in_row != 0)
    .values(failures_in_row=0)
)
# One more delivery ended `failed`: counted, and the webhook disabled at the limit, in one
# statement (every right-hand side reads the row as it was).
_FAILED = Query(
    update(webhooks)
    .where(webhooks.c.id == bindparam("id"))
    .values(
        failures_in_row=webhooks.c.failures_in_row + 1,
        active=case(
            (webhooks.c.failures_in_row + 1 >= bindparam("limit"), False),
            else_=webhooks.c.active,
        ),
        disabled_reason=case(
            (
                (webhooks.c.failures_in_row + 1 >= bindparam("limit")) & webhooks.c.active,
                bindparam("reason"),
            ),
            else_=webhooks.c.disabled_reason,
        ),
        updated_at=case(
            (webhooks.c.failures_in_row + 1 >= bindparam("limit"), bindparam("now")),
            else_=webhooks.c.updated_at,
        ),
    )
)


@dataclass(frozen=True, slots=True)
class Outcome:
    succeeded: bool
    status: int | None
    error: str | None
    duration_ms: int
    ended_at: datetime


def signatures(
    secret: str,
    previous: str | None,
    rotated_at: datetime | None,
    event_id: str,
    at: datetime,
    body: str,
) -> str:
    """`webhook-signature`: the secret's, and for a day after a rotation the old one's too."""
    signed = [Webhook(secret).sign(event_id, at, body)]
    if previous and rotated_at is not None and at - rotated_at < OLD_SECRET_SIGNS_FOR:
        signed.append(Webhook(previous).sign(event_id, at, body))
    return " ".join(signed)


def lease(settings: Settings) -> timedelta:
    seconds = settings.webhook_timeout_seconds + LEASE_MARGIN_SECONDS
    return timedelta(seconds=min(seconds, MAX_LEASE_SECONDS))


def _kept(answer: bytes) -> str:
    return answer[:KEPT_BYTES].decode("utf-8", errors="replace")


async def attempt(
    client: httpx.AsyncClient,
    target: Mapping[str, Any],
    delivery: Mapping[str, Any],
    seconds: float,
) -> Outcome:
    """One POST of the delivery to its webhook; never raises but cancellation."""
    started = time.monotonic()
    now = utcnow()
    event_id = str(delivery["event_id"])
    body = delivery["payload"]
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signatures(
            target["secret"],
            target["previous_secret"],
            target["rotated_at"],
            event_id,
            now,
            body,
        ),
    }
    status: int | None = None
    error: str | None
    try:
        async with asyncio.timeout(seconds):
            async with client.stream(
                "POST", target["url"], content=body.encode(), headers=headers
            ) as response:
                status = response.status_code
                answer = bytearray()
                async for chunk in response.aiter_raw():
                    answer += chunk
                    if len(answer) >= READ_BYTES:
                        break
        error = None if 200 <= status < 300 else f"HTTP {status}: {_kept(bytes(answer))}"
    except TimeoutError:
        error = f"timed out after {seconds:g} s"
    except httpx.ConnectError as exc:
        error = str(exc) or "could not connect"
    except httpx.TransportError as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    except Exception as exc:  # a URL httpx refuses, say: the delivery fails, the job goes on
        error = f"could not send: {type(exc).__name__}"
        log.warning("webhook delivery %s: %s", delivery["id"], error)
    ended = utcnow()
    duration = round((time.monotonic() - started) * 1000)
    return Outcome(error is None, status, error and error[:ERROR_MAX_LENGTH], duration, ended)


def _result(delivery: Row, outcome: Outcome, schedule: tuple[float, ...]) -> dict[str, Any]:
    """What the delivery becomes after this attempt."""
    attempts = delivery["attempts"] + 1
    values: dict[str, Any] = {
        "attempts": attempts,
        "response_status": outcome.status,
        "error": outcome.error,
        "duration_ms": outcome.duration_ms,
        "manual": False,
    }
    if outcome.succeeded:
        return {**values, "status": SUCCEEDED, "next_attempt_at": None}
    if delivery["manual"] or attempts > len(schedule):
        return {**values, "status": FAILED, "next_attempt_at": None}
    delay = timedelta(seconds=schedule[attempts - 1])
    return {**values, "status": PENDING, "next_attempt_at": outcome.ended_at + delay}


# Due deliveries, read before claiming (`now` bound at each call).
_DUE = (webhook_deliveries.c.next_attempt_at <= bindparam("now")) & (
    webhook_deliveries.c.webhook_id.in_(_ACTIVE_WEBHOOKS)
)
_ANY_DUE = Query(select(exists().where(_DUE)))

# The HTTP client of each process's sender (the job's task, see `_client`): its connections
# are kept alive from one turn to the next, each still checked by GuardedTransport when made.
_clients: weakref.WeakKeyDictionary[asyncio.Task[Any], httpx.AsyncClient] = (
    weakref.WeakKeyDictionary()
)
_closing: set[asyncio.Task[None]] = set()


def _client(settings: Settings) -> httpx.AsyncClient:
    """The client of the task running the deliveries (the job runner's loop for this job,
    which lives as long as the process serves): made on its first turn, closed when that
    task ends (the app's shutdown cancels it)."""
    sender = asyncio.current_task()
    assert sender is not None
    client = _clients.get(sender)
    if client is None:
        client = httpx.AsyncClient(
            transport=GuardedTransport(
                allow_private=settings.webhook_allow_private_urls, keep_alive=BATCH
            ),
            timeout=settings.webhook_timeout_seconds,
            follow_redirects=False,
            trust_env=False,
        )
        _clients[sender] = client

        def close(_task: asyncio.Task[Any], client: httpx.AsyncClient = client) -> None:
            closing = asyncio.ensure_future(client.aclose())
            _closing.add(closing)
            closing.add_done_callback(_closing.discard)

        sender.add_done_callback(close)
    return client


async def deliver_due(db: Database, settings: Settings) -> int:
    """Claim the due deliveries of active webhooks (a batch), attempt them at once, and write
    their outcomes in one transaction; returns how many were attempted."""
    now = utcnow()
    # A read first: an idle poll takes no lock (SQLite's claim begins a write transaction).
    async with db.connection() as conn:
        if not (await conn.execute(_ANY_DUE, {"now": now})).scalar():
            return 0
    due = (webhook_deliveries.c.next_attempt_at <= now) & webhook_deliveries.c.webhook_id.in_(
        _ACTIVE_WEBHOOKS
    )
    taken = await claim(
        db,
        webhook_deliveries,
        due=due,
        lease=lease(settings),
        limit=BATCH,
        order_by=webhook_deliveries.c.next_attempt_at,
    )
    if not taken.rows:
        return 0
    if len(taken.rows) == BATCH:  # more may be due: another turn at once
        jobs.wake(DELIVERY_JOB)
    ids = list({row["webhook_id"] for row in taken.rows})
    async with db.connection() as conn:
        found = await conn.execute(select(*_TARGET_COLUMNS).where(webhooks.c.id.in_(ids)))
    targets = {row["id"]: row for row in found}
    # A delivery whose webhook was deleted meanwhile went with it: nothing to attempt.
    attempted = [row for row in taken.rows if row["webhook_id"] in targets]
    client = _client(settings)
    timeout = settings.webhook_timeout_seconds
    outcomes = await asyncio.gather(
        *(attempt(client, targets[row["webhook_id"]], row, timeout) for row in attempted)
    )
    await _write_outcomes(db, settings, taken, attempted, outcomes)
    return len(taken.rows)


async def _write_outcomes(
    db: Database,
    settings: Settings,
    taken: Claim,
    attempted: list[Row],
    outcomes: list[Outcome],
) -> None:
    """Each delivery's outcome, and its webhook's count of failures in a row, in one
    transaction (a delivery taken over after the lease ran out is left to the other worker)."""
    schedule = settings.webhook_retry_schedule
    results = {
        delivery["id"]: _result(delivery, outcome, schedule)
        for delivery, outcome in zip(attempted, outcomes, strict=True)
    }
    limit = settings.webhook_disable_after
    reason = f"disabled after {limit} failed deliveries in a row"
    async with db.transaction() as conn:
        held = await release_each(conn, webhook_deliveries, taken, results)
        # In the order the attempts ended; a success after a success changes nothing more.
        reset: set[uuid.UUID] = set()
        ended = sorted(zip(attempted, outcomes, strict=True), key=lambda pair: pair[1].ended_at)
        for delivery, _outcome in ended:
            if delivery["id"] not in held:
                continue
            webhook_id: uuid.UUID = delivery["webhook_id"]
            status = results[delivery["id"]]["status"]
            if status == SUCCEEDED and webhook_id not in reset:
                await conn.execute(_SUCCEEDED, {"id": webhook_id})
                reset.add(webhook_id)
            elif status == FAILED:
                params = {"id": webhook_id, "limit": limit, "reason": reason, "now": utcnow()}
                await conn.execute(_FAILED, params)
                reset.discard(webhook_id)
