"""Idempotency keys: a retried POST gets the first response again instead of doing it twice.

A request claims its key (per user) before it does its work; the work and the response it
produced are committed in one transaction, so a key is either free, claimed by a request still
running, or bound to exactly one response. A claim left behind by a crashed process (its work
never committed) can be taken over after a short while.
"""

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypedDict, Unpack

from fastapi import Request, Response
from pydantic import BaseModel
from sqlalchemy import delete, or_, select
from sqlalchemy import update as sql_update

from todo_api.config import Settings
from todo_api.db import Connection, Database, insert_or_ignore
from todo_api.kit.deps import database, held
from todo_api.kit.errors import Conflict, IdempotencyKeyReused, InvalidField
from todo_api.kit.ids import utcnow
from todo_api.tables.idempotency import KEY_MAX_LENGTH, idempotency_keys

# What a replay repeats of the first response besides its status and body.
REPLAYED_HEADERS = ("Location", "ETag")
# A claim older than this with no response is from a request that died before committing.
STALE_CLAIM = timedelta(seconds=60)


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)
    replayed: bool = False


class Once(TypedDict):
    """What `respond_once` and `respond_once_apart` are asked: whose key, the key, what the
    request asked (`request_fingerprint`), how long its response is kept, and the work."""

    user_id: uuid.UUID
    key: str
    fingerprint: str
    ttl: timedelta
    produce: Callable[[], Awaitable[StoredResponse]]


def request_fingerprint(method: str, path: str, canonical_body: str) -> str:
    return hashlib.sha256(f"{method} {path}\n{canonical_body}".encode()).hexdigest()


def valid_key(key: str) -> bool:
    return 0 < len(key) <= KEY_MAX_LENGTH and all(0x20 < ord(ch) < 0x7F for ch in key)


async def respond_once(*, conn: Connection, **once: Unpack[Once]) -> StoredResponse:
    """The response to this request: produced now (and kept), or the one kept for its key."""
    claim_id = uuid.uuid4()
    kept = await _claim(conn, once, claim_id)
    if kept is not None:
        return kept
    mine = _claimed(once["user_id"], once["key"], claim_id)
    try:
        async with conn.transaction():
            response = await once["produce"]()
            if await _keep(conn, mine, response) != 1:
                # So slow that the claim was taken over: the other request answers, not this.
                raise _still_running()
    except BaseException:
        # The work did not happen: free the key so that a retry can do it.
        await conn.execute(delete(idempotency_keys).where(*mine))
        raise
    return response


async def respond_idempotently(
    request: Request,
    user_id: uuid.UUID,
    key: str | None,
    data: BaseModel,
    produce: Callable[[Connection], Awaitable[Response]],
    *,
    replayable: Callable[[Connection, StoredResponse], Awaitable[None]] | None = None,
) -> Response:
    """`produce(conn)`'s response, run once per `Idempotency-Key` when the request carries one
    (a retry with the key gets the first response again, marked `Idempotent-Replayed`).
    `replayable` may refuse a replay (raising) when what the first response showed is no
    longer the caller's to see."""
    if key is not None and not valid_key(key):
        raise InvalidField("Idempotency-Key", "must be 1 to 255 visible ASCII characters")
    async with database(request).connection() as conn:
        if key is None:
            return await produce(conn)

        async def stored() -> StoredResponse:
            response = await produce(conn)
            kept = {
                name: response.headers[name]
                for name in REPLAYED_HEADERS
                if name in response.headers
            }
            return StoredResponse(response.status_code, bytes(response.body).decode(), kept)

        settings = held(request.app, Settings)
        fingerprint = request_fingerprint(request.method, request.url.path, data.model_dump_json())
        kept = await respond_once(
            conn=conn,
            user_id=user_id,
            key=key,
            fingerprint=fingerprint,
            ttl=timedelta(hours=settings.idempotency_key_hours),
            produce=stored,
        )
        if kept.replayed and replayable is not None:
            await replayable(conn, kept)
    headers = {**kept.headers, "Idempotent-Replayed": "true"} if kept.replayed else kept.headers
    return Response(kept.body, kept.status_code, headers, "application/json")


async def respond_once_apart(database: Database, **once: Unpack[Once]) -> StoredResponse:
    """respond_once for work that takes connections of its own (a web app's form, whose
    handler leases them as it goes): the key is claimed first, the work done, then its
    response kept. A retry meanwhile is told to wait (409), one after gets the kept response.
    Unlike respond_once the work and the kept response are two commits: a process that dies
    between them leaves a claim that a retry takes over after STALE_CLAIM, and does again."""
    claim_id = uuid.uuid4()
    async with database.connection() as conn:
        kept = await _claim(conn, once, claim_id)
    if kept is not None:
        return kept
    mine = _claimed(once["user_id"], once["key"], claim_id)
    try:
        response = await once["produce"]()
    except BaseException:
        async with database.connection() as conn:  # not done: a retry may do it
            await conn.execute(delete(idempotency_keys).where(*mine))
        raise
    async with database.connection() as conn:
        await _keep(conn, mine, response)
    return response


async def _keep(conn: Connection, mine: tuple[Any, ...], response: StoredResponse) -> int:
    """Bind the claim's key to its response; how many rows that took (0: the claim was taken
    over meanwhile)."""
    kept = await conn.execute(
        sql_update(idempotency_keys)
        .where(*mine)
        .values(
            status_code=response.status_code,
            response_body=response.body,
            response_headers=response.headers,
        )
    )
    return int(kept.rowcount)


def _still_running() -> Conflict:
    return Conflict(
        "A request with this Idempotency-Key is still being processed; retry shortly",
        headers={"Retry-After": "1"},
    )


def _claimed(user_id: uuid.UUID, key: str, claim_id: uuid.UUID) -> tuple[Any, ...]:
    """The conditions that find this claim's row (and no later claim of the same key)."""
    return (
        idempotency_keys.c.user_id == user_id,
        idempotency_keys.c.key == key,
        idempotency_keys.c.claim_id == claim_id,
    )


async def _claim(conn: Connection, once: Once, claim_id: uuid.UUID) -> StoredResponse | None:
    """None when this request now holds the key; else the kept response, or an error."""
    user_id, key, fingerprint = once["user_id"], once["key"], once["fingerprint"]
    now = utcnow()
    claim: dict[str, Any] = {
        "request_hash": fingerprint,
        "claim_id": claim_id,
        "status_code": None,
        "response_body": None,
        "response_headers": None,
        "created_at": now,
        "expires_at": now + once["ttl"],
    }
    inserted = await conn.execute(
        insert_or_ignore(conn, idempotency_keys).values(user_id=user_id, key=key, **claim)
    )
    if inserted.rowcount == 1:
        return None
    # Taken: by an expired response, or by a claim whose request died; either can be reused.
    reclaimed = await conn.execute(
        sql_update(idempotency_keys)
        .where(
            idempotency_keys.c.user_id == user_id,
            idempotency_keys.c.key == key,
            or_(
                idempotency_keys.c.expires_at <= now,
                (idempotency_keys.c.status_code.is_(None))
                & (idempotency_keys.c.created_at < now - STALE_CLAIM),
            ),
        )
        .values(**claim)
    )
    if reclaimed.rowcount == 1:
        return None
    row = (
        await conn.execute(
            select(idempotency_keys).where(
                idempotency_keys.c.user_id == user_id, idempotency_keys.c.key == key
            )
        )
    ).first()
    if row is None or row.status_code is None:
        raise _still_running()
    if row.request_hash != fingerprint:
        raise IdempotencyKeyReused("This Idempotency-Key was used with a different request")
    return StoredResponse(
        status_code=row.status_code,
        body=row.response_body or "",
        headers=dict(row.response_headers or {}),
        replayed=True,
    )
