"""The floor under the baseline: the five hot routes as one bare ASGI callable over asyncpg.

No framework at all: no Starlette request, response, router or lifespan, no middleware. The
callable reads the scope, routes by method and path with string operations, reads the body
from `receive`, and sends the answer's two messages with its headers as byte pairs. The work
is `baseline_app.py`'s, by its own functions (the token check and its cache, the body's
validation, the service's SQL from `baseline_sql.py`, the rows written by `task_json`, the
cursor, the same pool and session settings): what they take is plain values, so that nothing
of Starlette runs on a request here. The same bodies and headers byte for byte (the headers
in Starlette's order: the route's own, the request id, `Vary`, nosniff, `Cache-Control`, then
`content-length` and `content-type`), checked by `cpu_per_request.py` against the service, and
the same statements, checked by `sql_parity.py`.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/NAME JWT_SECRET=... \\
    .venv/bin/uvicorn floor_app:app --app-dir bench --port 8002 --workers 1 \\
        --loop uvloop --http httptools --no-access-log --no-server-header

Serves GET /api/tasks (no query string), GET /api/tasks/{id}, POST /api/tasks, PATCH
/api/tasks/{id} (priority alone) and POST /api/tasks/{id}/complete, as the baseline does, and
GET /health; anything else is a 404 without a body.
"""

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import baseline_app as work
import baseline_sql

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Answer = tuple[bytes, int, dict[str, str]]

PREFIX = "/api/tasks/"
JSON = b"application/json"
NOT_FOUND: Answer = (b"", 404, {})
_pool: asyncpg.Pool | None = None


def pool() -> asyncpg.Pool:
    assert _pool is not None, "the lifespan opens the pool"
    return _pool


def header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""


async def body_of(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def send_answer(send: Send, answer: Answer, private: bool = True) -> None:
    """The answer's headers as baseline_app's `answer` gives them to Starlette's Response."""
    body, status, own = answer
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in own.items()]
    raw += [
        (b"x-request-id", uuid.uuid4().hex.encode()),
        (b"vary", b"Origin"),
        (b"x-content-type-options", b"nosniff"),
    ]
    if private:
        raw.append((b"cache-control", b"private, no-cache"))
    raw += [(b"content-length", str(len(body)).encode()), (b"content-type", JSON)]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def list_tasks(user_id: uuid.UUID) -> Answer:
    async with pool().acquire() as conn:
        await work.plan_as(conn, False)
        # (the totals' defaults, the caller, the page's length + 1: as the service binds them)
        rows = await conn.fetch(baseline_sql.LIST, 0, user_id, 0, 0, work.LIMIT + 1)
    return work.task_page("/api/tasks", user_id, rows)


async def get_task(user_id: uuid.UUID, task_id: uuid.UUID) -> Answer:
    async with pool().acquire() as conn:
        await work.plan_as(conn, False)
        row = await conn.fetchrow(baseline_sql.GET, task_id, user_id)
    if row is None:
        raise work.Refused(404, "NOT_FOUND", "Task not found")
    return work.task_answer(row)


async def create_task(user_id: uuid.UUID, data: Any) -> Answer:
    row = work.new_task(user_id, work.parse_create(data), datetime.now(UTC))
    async with pool().acquire() as conn:
        await work.plan_as(conn, False)
        written = await conn.fetchrow(baseline_sql.CREATE, *work.insert_parameters(row, None))
    return work.created_task(row, written)


async def update_task(user_id: uuid.UUID, task_id: uuid.UUID, data: Any) -> Answer:
    priority = work.parse_update(data)
    async with pool().acquire() as conn:
        await work.plan_as(conn, False)
        # (the priority, who changed it, the version's step, when, the task, the caller)
        row = await conn.fetchrow(
            baseline_sql.PATCH, priority, user_id, 1, datetime.now(UTC), task_id, user_id
        )
    if row is None:  # not there, not the caller's to change, or a webhook listens
        raise work.Refused(404, "NOT_FOUND", "Task not found")
    return work.task_answer(row)


async def complete_task(user_id: uuid.UUID, task_id: uuid.UUID) -> Answer:
    now = datetime.now(UTC)
    async with pool().acquire() as conn:
        await work.plan_as(conn, False)
        # (done, when, by whom, changed by whom, the version's step, when, the task, the caller)
        row = await conn.fetchrow(
            baseline_sql.COMPLETE, True, now, user_id, user_id, 1, now, task_id, user_id
        )
        if row is None:  # not there, already completed (left as it is), or recurring
            row = await conn.fetchrow(baseline_sql.GET, task_id, user_id)
            if row is None:
                raise work.Refused(404, "NOT_FOUND", "Task not found")
            if not row["is_completed"]:
                raise work.Refused(501, "NOT_IMPLEMENTED", "the baseline makes no next occurrences")
    return work.task_answer(row)


async def route(scope: Scope, receive: Receive) -> Answer:
    """The answer of a request to one of the five routes (a Refused otherwise)."""
    method, path = scope["method"], scope["path"]
    if path == "/api/tasks" and not scope["query_string"]:
        if method == "GET":
            return await list_tasks(await work.user_of(header(scope, b"authorization"), pool()))
        if method == "POST":
            user_id = await work.user_of(header(scope, b"authorization"), pool())
            data = work.read_json(header(scope, b"content-type"), await body_of(receive))
            return await create_task(user_id, data)
        return NOT_FOUND
    if not path.startswith(PREFIX):
        return NOT_FOUND
    rest = path[len(PREFIX) :]
    if method == "POST" and rest.endswith("/complete") and rest.count("/") == 1:
        user_id = await work.user_of(header(scope, b"authorization"), pool())
        return await complete_task(user_id, work.task_id_of(rest[: -len("/complete")]))
    if "/" in rest or method not in ("GET", "PATCH"):
        return NOT_FOUND
    user_id = await work.user_of(header(scope, b"authorization"), pool())
    task_id = work.task_id_of(rest)
    if method == "GET":
        return await get_task(user_id, task_id)
    data = work.read_json(header(scope, b"content-type"), await body_of(receive))
    return await update_task(user_id, task_id, data)


async def lifespan(receive: Receive, send: Send) -> None:
    global _pool
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            _pool = await work.open_pool()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if _pool is not None:
                await _pool.close()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        return await lifespan(receive, send)
    if scope["path"] == "/health" and scope["method"] == "GET":
        async with pool().acquire() as conn:
            await conn.fetchval("SELECT 1")
        return await send_answer(send, (b'{"status":"ok"}', 200, {}), private=False)
    try:
        answer = await route(scope, receive)
    except work.Refused as exc:
        body, headers, private = work.refusal(exc)
        return await send_answer(send, (body, exc.status, headers or {}), private)
    await send_answer(send, answer)
