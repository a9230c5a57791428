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

One webhook's receiver cannot hold up another's: a turn of the job claims due deliveries
round robin across webhooks, at most PER_WEBHOOK of a webhook's held at once (its earliest
first), starts their attempts and returns without waiting for them. Each attempt's outcome is
written when it ends (those that end together in one transaction), which frees its place and
wakes the next turn. A receiver that never answers holds its own webhook's places until the
timeout; every other webhook's deliveries are claimed and attempted meanwhile.

The claim's lease (WEBHOOK_TIMEOUT_SECONDS + 10 s, at most 60 s) outlasts the attempt (cut at
WEBHOOK_TIMEOUT_SECONDS) and the write of its outcome: a worker that dies mid-attempt holds the
delivery until the lease runs out, and another worker then attempts it again (at least once,
never two at a time).
"""

import asyncio
import logging
import time
import uuid
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, case, exists, select, update
from standardwebhooks.webhooks import Webhook

from todo_api.config import Settings
from todo_api.db import Database, Query, Row
from todo_api.kit import jobs
from todo_api.kit.claims import Claim, claim, release_each
from todo_api.kit.events import DELIVERY_JOB, FAILED, PENDING, SUCCEEDED
from todo_api.kit.ids import utcnow
from todo_api.kit.reads import told
from todo_api.kit.throttle import TracebackThrottle
from todo_api.tables.webhooks import ERROR_MAX_LENGTH, webhook_deliveries, webhooks

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("todo_api")

# Beyond the attempt's timeout: a turn's limit (see scheduled.py), and the lease's margin for
# writing the outcome.
TURN_MARGIN_SECONDS = 5
LEASE_MARGIN_SECONDS = 10
MAX_LEASE_SECONDS = 60
# A turn claims up to BATCH deliveries; at most IN_FLIGHT attempts run at once in a process,
# and at most PER_WEBHOOK per webhook (as claimed, across processes), so that a receiver that
# never answers holds PER_WEBHOOK places and slows only its own webhook.
BATCH = 50
IN_FLIGHT = 500
PER_WEBHOOK = 10
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
    webhooks.c.user_id,
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
    client: "httpx.AsyncClient",
    target: Mapping[str, Any],
    delivery: Mapping[str, Any],
    seconds: float,
) -> Outcome:
    """One POST of the delivery to its webhook; never raises but cancellation."""
    import httpx  # loaded with the client

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
_tracebacks = TracebackThrottle()


@dataclass(eq=False)
class _Sender:
    """What the task running one process's deliveries (the job runner's loop for this job,
    which lives as long as the process serves) has in flight: its HTTP client, whose
    connections are kept alive from one attempt to the next (each still checked by
    GuardedTransport when made), the attempts running, and the outcomes not yet written."""

    client: "httpx.AsyncClient"
    attempts: set[asyncio.Task[None]] = field(default_factory=set)
    ended: list[tuple[Claim, Row, Outcome]] = field(default_factory=list)
    writer: asyncio.Task[None] | None = None

    def start(self, db: Database, settings: Settings, taken: Claim, target: Row, row: Row) -> None:
        task = asyncio.create_task(self._attempt(db, settings, taken, target, row))
        self.attempts.add(task)
        task.add_done_callback(self.attempts.discard)

    async def _attempt(
        self, db: Database, settings: Settings, taken: Claim, target: Row, row: Row
    ) -> None:
        outcome = await attempt(self.client, target, row, settings.webhook_timeout_seconds)
        self.ended.append((taken, row, outcome))
        if self.writer is None:
            self.writer = asyncio.create_task(self._write(db, settings))

    async def _write(self, db: Database, settings: Settings) -> None:
        """The outcomes that ended, in one transaction; those that end meanwhile in the next
        (so that a burst of quick answers is written together, and a slow one waits for
        nobody). Each write frees places: the job's next turn claims more at once."""
        try:
            while self.ended:
                ended, self.ended = self.ended, []
                try:
                    await _write_outcomes(db, settings, ended)
                except Exception as exc:  # held until their lease runs out, then tried again
                    _tracebacks.log(log, logging.ERROR, exc, "webhook outcomes not written: %s")
                jobs.wake(DELIVERY_JOB)
        finally:
            self.writer = None

    def stop(self) -> None:
        """Cancel what is in flight (its deliveries stay held until their lease runs out),
        then close the client."""
        running = [*self.attempts, *([self.writer] if self.writer else [])]
        for task in running:
            task.cancel()

        async def close() -> None:
            await asyncio.gather(*running, return_exceptions=True)
            await self.client.aclose()

        closing = asyncio.ensure_future(close())
        _closing.add(closing)
        closing.add_done_callback(_closing.discard)


_senders: weakref.WeakKeyDictionary[asyncio.Task[Any], _Sender] = weakref.WeakKeyDictionary()
_closing: set[asyncio.Future[None]] = set()


def _in_flight() -> int:
    """How many attempts the task running the deliveries has running."""
    task = asyncio.current_task()
    sender = _senders.get(task) if task is not None else None
    return len(sender.attempts) if sender is not None else 0


def _sender(settings: Settings) -> _Sender:
    """The sender of the task running the deliveries: made on its first turn, stopped when
    that task ends (the app's shutdown cancels it)."""
    task = asyncio.current_task()
    assert task is not None
    sender = _senders.get(task)
    if sender is None:
        import httpx  # with the first delivery, as its guard

        from todo_api.kit.guarded import GuardedTransport

        client = httpx.AsyncClient(
            transport=GuardedTransport(
                allow_private=settings.webhook_allow_private_urls,
                keep_alive=BATCH,
                connections=IN_FLIGHT,
            ),
            timeout=settings.webhook_timeout_seconds,
            follow_redirects=False,
            trust_env=False,
        )
        sender = _senders[task] = _Sender(client)

        def stop(_task: asyncio.Task[Any], sender: _Sender = sender) -> None:
            sender.stop()

        task.add_done_callback(stop)
    return sender


async def deliver_due(db: Database, settings: Settings) -> int:
    """Claim due deliveries of active webhooks (a batch, each webhook's in turn and at most
    PER_WEBHOOK of its own in flight) and start their attempts, which run on after the turn
    (each writes its outcome when it ends); returns how many were claimed."""
    room = min(BATCH, IN_FLIGHT - _in_flight())
    if room <= 0:  # an attempt that ends wakes the job
        return 0
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
        limit=room,
        order_by=webhook_deliveries.c.next_attempt_at,
        per=(webhook_deliveries.c.webhook_id, PER_WEBHOOK),
    )
    if not taken.rows:
        return 0
    if len(taken.rows) == room:  # more may be due: another turn at once
        jobs.wake(DELIVERY_JOB)
    ids = list({row["webhook_id"] for row in taken.rows})
    async with db.connection() as conn:
        found = await conn.execute(select(*_TARGET_COLUMNS).where(webhooks.c.id.in_(ids)))
    targets = {row["id"]: row for row in found}
    await told(row["user_id"] for row in targets.values())  # (read replicas: kit/reads.py)
    # A delivery whose webhook was deleted meanwhile went with it: nothing to attempt.
    sender = _sender(settings)
    for row in taken.rows:
        if row["webhook_id"] in targets:
            sender.start(db, settings, taken, targets[row["webhook_id"]], row)
    return len(taken.rows)


async def _write_outcomes(
    db: Database, settings: Settings, ended: list[tuple[Claim, Row, Outcome]]
) -> None:
    """Each delivery's outcome, and its webhook's count of failures in a row, in one
    transaction (a delivery taken over after the lease ran out is left to the other worker)."""
    schedule = settings.webhook_retry_schedule
    results = {
        delivery["id"]: _result(delivery, outcome, schedule) for _, delivery, outcome in ended
    }
    # Released by the claim that holds them (by its claimant, unique per claim).
    claims: dict[str, tuple[Claim, dict[Any, dict[str, Any]]]] = {}
    for taken, delivery, _outcome in ended:
        claims.setdefault(taken.claimant, (taken, {}))[1][delivery["id"]] = results[delivery["id"]]
    limit = settings.webhook_disable_after
    reason = f"disabled after {limit} failed deliveries in a row"
    async with db.transaction() as conn:
        held: set[uuid.UUID] = set()
        for taken, outcomes in claims.values():
            held |= await release_each(conn, webhook_deliveries, taken, outcomes)
        # In the order the attempts ended; a success after a success changes nothing more.
        reset: set[uuid.UUID] = set()
        for _taken, delivery, _outcome in sorted(ended, key=lambda item: item[2].ended_at):
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
