"""The yardstick of the performance budget: the hot routes as raw Starlette + asyncpg handlers.

Same work as todo-api on those routes, nothing more: HS256 verification of the bearer token
with PyJWT (algorithm allow-list, `sub` and `exp` required, 30 s leeway), the subject mapped to
its user id without a lookup and the user row ensured once per subject per process, the same
SQL text and parameters (the service's own statements, written into `baseline_sql.py` by
`sql_parity.py --write` and checked by `sql_parity.py`: the list's page with its total, a
task read, written or completed where the caller may, a write only where no webhook listens),
the same JSON body (field order, RFC 3339 `Z` timestamps, priority names) and the same headers
(X-Total-Count, a signed X-Next-Cursor, Link, ETag). One database round trip per statement the
service sends (one per request on the first five routes). No framework validation layer, no
ORM, no middleware, no per-request log line.

As lean as the service could be, so that the ratio measures the service's own code: JSON in
and out with orjson (the service's options: `Z` timestamps, ids as strings), a verified token
remembered by its text until it expires or for 60 s (as the service's VerifiedTokens), rows
written to bytes in one pass (a dict of the shown columns, orjson does the rest), headers
built from constants.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/NAME JWT_SECRET=... \\
    .venv/bin/uvicorn baseline_app:app --app-dir bench --port 8001 --workers 1 \\
        --loop uvloop --http httptools --no-access-log --no-server-header

Serves GET /api/tasks (default sort and limit only), GET /api/tasks/{id}, POST /api/tasks,
PATCH /api/tasks/{id} (priority, what the benchmarks change; no If-Match), POST
/api/tasks/{id}/complete (no If-Match; a recurring task that is still open is refused, the
baseline makes no next occurrences) and GET /health. PATCH is one UPDATE ... RETURNING, as the
service's; complete is one UPDATE ... RETURNING of an open task, and a second statement only
to tell "already completed" (answered as it is) from "not found". A write that the service's
statement leaves alone because a webhook listens is refused (the service takes its
transactional path then; the benchmarks' users have no webhooks).

And three routes of issue 55's second set, each against its own lean baseline: quick add (POST
/api/tasks/quick with `text` alone: the user's zone, the words read by the service's own
reader, todo_api.words, then the create's INSERT; a `#list`, an all-day date or a
recurrence is refused), a filtered list (GET /api/tasks?filter=pN & @tag alone: the query read
by the service's own parser, todo_api.tasks.filter_query, and the service's statement for that
shape; a session planned per call as the service plans that statement) and a task's comments
(GET /api/tasks/{id}/comments, the first page: the task as the caller sees it, then the page).
"""

import base64
import gc
import hashlib
import hmac
import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import asyncpg
import baseline_sql
import jwt
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from todo_api import words
from todo_api.kit.catalogs import language_of
from todo_api.tables.keys import search_key, tag_form
from todo_api.tasks.filter_query import And, Condition, FilterError, Group, Node
from todo_api.tasks.filter_query import parse as parse_filter

SECRET = os.environ["JWT_SECRET"]
DSN = os.environ["DATABASE_URL"]
POOL_SIZE = int(os.environ.get("DATABASE_POOL_SIZE", "10"))
SUBJECT_NAMESPACE = uuid.UUID("a69c1101-1710-4201-b75d-d847683ff3f2")  # as todo_api's
LIMIT = 50
PRIORITIES = ("none", "low", "medium", "high")
PRIORITY_NUMBERS = {name: number for number, name in enumerate(PRIORITIES)}

# Columns the API shows, in TaskRead's order; `recurrence`, who created, completed and is
# assigned a task, its due date and zone, its reminders, its start and its comment count, only
# once the schema has them.
SHOWN = [
    "id", "user_id", "list_id", "parent_id", "section_id", "position", "title", "description",
    "is_completed", "priority", "due_at", "due_date", "start_at", "start_date", "timezone", "tags",
    "recurrence", "reminders", "completed_at", "created_by", "completed_by", "assignee_id",
    "comment_count",
    "created_at", "updated_at",
]  # fmt: skip
# An all-day due or start keeps the instant its day starts in due_at / start_at; the API shows
# that instant as null (todo_api.tasks.schemas.task_body).
DAY_OF = {"due_at": "due_date", "start_at": "start_date"}
# The gap a new task leaves after the last of its siblings (todo_api.kit.ordering.STEP).
POSITION_STEP = 2**20
# The total as the service counts it: at most TOTAL_CAP ("1000+" beyond).
TOTAL_CAP = 1000

ENSURE_USER_SQL = (
    "INSERT INTO users (id, email, name, created_at, updated_at) "
    "VALUES ($1, $2, NULL, $3, $3) ON CONFLICT DO NOTHING"
)

# The cursor signature, as todo_api's CursorCodec (signing.Signer) makes it for the default
# sort and filters.
_CURSOR_KEY = hmac.new(SECRET.encode(), b"todo-api task cursor", hashlib.sha256).digest()
# TaskFilters' fields, none in use.
_NO_FILTERS = hashlib.sha256(
    json.dumps(
        [None, [], [], None, None, None, None, None, False, None, False, *[None] * 6]
    ).encode()
).hexdigest()[:16]
# TaskFilters' fields but the query as a filter has them: open tasks only (its tree's repr
# follows them in the fingerprint).
_OPEN_ONLY = json.dumps(
    [False, [], [], None, None, None, None, None, False, None, None, None, None, None, None]
)
FILTER_MAX = 1000  # characters (todo_api.tasks.filter_query.MAX_LENGTH)
QUICK_TEXT_MAX = 1000  # characters (todo_api.tasks.schemas.QUICK_TEXT_MAX_LENGTH)
# A comment's columns the API shows, in CommentRead's order, and its first page's length.
COMMENT_SHOWN = ("id", "task_id", "author_id", "body", "mentions", "created_at", "updated_at")
COMMENT_PAGE = 50

JSON = "application/json"
# The service's CORS layer names Origin as varying every answer; nosniff goes on all.
EVERY_ANSWER = {"Vary": "Origin", "X-Content-Type-Options": "nosniff"}
known_users: set[uuid.UUID] = set()
# Tokens verified lately, by their text: the user and until when the entry serves.
LEEWAY = 30
VERIFIED_SECONDS = 60
VERIFIED_MAX = 10_000
verified: dict[str, tuple[uuid.UUID, float]] = {}
# The sessions (by server pid) that plan every statement for its values: as the service (its
# PostgresConnection's `_plan_as`), a session is put in that mode for a statement planned per
# call (the filtered list's) and back for the others, a SET only when it goes from one kind
# to the other.
custom_sessions: set[int] = set()


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        self.status, self.code, self.message, self.field = status, code, message, field


def _default(value: Any) -> Any:
    if isinstance(value, uuid.UUID):  # asyncpg's own UUID type
        return str(value)
    raise TypeError(type(value).__name__)


_JSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=_JSON_OPTIONS)


def answer(
    body: bytes, status: int = 200, headers: dict[str, str] | None = None, private: bool = True
) -> Response:
    """JSON with the headers every answer of the service carries: a request id, nosniff, and
    for a caller whose token was accepted, private, no-cache."""
    headers = {**(headers or {}), "X-Request-ID": uuid.uuid4().hex, **EVERY_ANSWER}
    if private:
        headers["Cache-Control"] = "private, no-cache"
    return Response(body, status, headers=headers, media_type=JSON)


def refusal(exc: Refused) -> tuple[bytes, dict[str, str] | None, bool]:
    """A refusal's body, its own headers, and whether it is private (all but a 401)."""
    details = [{"field": exc.field, "message": exc.message}] if exc.field else None
    message = "The request is not valid" if exc.field else exc.message
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    body = {"error": message, "code": exc.code, "details": details}
    return dumps(body), headers, exc.status != 401


def error(exc: Refused) -> Response:
    body, headers, private = refusal(exc)
    return answer(body, exc.status, headers, private=private)


def task_json(row: Any) -> dict[str, Any]:
    """The shown columns as they are (orjson writes ids, instants and days), the priority by
    name, and an all-day due or start's instant as null."""
    body = {name: row[name] for name in SHOWN}
    body["priority"] = PRIORITIES[body["priority"]]
    for instant, day in DAY_OF.items():
        if body.get(day) is not None:
            body[instant] = None
    return body


async def caller(request: Request) -> uuid.UUID:
    return await user_of(request.headers.get("authorization", ""), request.app.state.pool)


async def user_of(header: str, pool: asyncpg.Pool) -> uuid.UUID:
    """The caller's user id from its Authorization header."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Refused(401, "UNAUTHORIZED", "Missing bearer token")
    now = time.time()
    remembered = verified.get(token)
    if remembered is not None and now < remembered[1]:
        return remembered[0]  # its user row was ensured when it was verified
    try:
        claims = jwt.decode(
            token, SECRET, algorithms=["HS256"], leeway=LEEWAY, options={"require": ["sub", "exp"]}
        )
    except jwt.InvalidTokenError:
        raise Refused(401, "INVALID_TOKEN", "The token is not valid") from None
    subject = claims["sub"]
    if not isinstance(subject, str) or not 0 < len(subject) <= 255:
        raise Refused(401, "INVALID_TOKEN", "The token is not valid")
    try:
        user_id = uuid.UUID(subject)
    except ValueError:
        user_id = uuid.uuid5(SUBJECT_NAMESPACE, subject)
    if len(verified) >= VERIFIED_MAX:
        del verified[next(iter(verified))]
    verified[token] = (user_id, min(claims["exp"] + LEEWAY, now + VERIFIED_SECONDS))
    if user_id not in known_users:
        email = claims.get("email")
        async with pool.acquire() as conn:
            await conn.execute(ENSURE_USER_SQL, user_id, email, datetime.now(UTC))
        known_users.add(user_id)
    return user_id


async def plan_as(conn: asyncpg.Connection, custom: bool) -> None:
    """The session in the plan mode the next statement needs (as the service's `_plan_as`)."""
    if not (custom or custom_sessions):
        return
    pid = conn.get_server_pid()
    if (pid in custom_sessions) == custom:
        return
    await conn.execute(f"SET plan_cache_mode = {'force_custom_plan' if custom else 'auto'}")
    if custom:
        custom_sessions.add(pid)
    else:
        custom_sessions.discard(pid)


def cursor_for(user_id: uuid.UUID, row: Any, seen: int, filters: str = _NO_FILTERS) -> str:
    """The last task's sort values and how many tasks the pages so far held, signed for the
    user, the default sort and the filters' fingerprint."""
    body = orjson.dumps([row["created_at"].isoformat(), row["id"].hex, seen])
    context = f"{user_id.hex}|-created_at|{filters}".encode()
    signature = hmac.new(_CURSOR_KEY, context + b"\0" + body, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(signature + body).decode().rstrip("=")


async def list_tasks(request: Request) -> Response:
    if request.scope["query_string"]:
        return await list_filtered(request)
    try:
        user_id = await caller(request)
    except Refused as exc:
        return error(exc)
    async with request.app.state.pool.acquire() as conn:
        await plan_as(conn, False)
        # (the totals' defaults, the caller, the page's length + 1: as the service binds them)
        rows = await conn.fetch(baseline_sql.LIST, 0, user_id, 0, 0, LIMIT + 1)
    return answer(*task_page(request.url.path, user_id, rows))


def task_page(
    path: str,
    user_id: uuid.UUID,
    rows: list[Any],
    filter_text: str = "",
    node: Node | None = None,
) -> tuple[bytes, int, dict[str, str]]:
    """A page of tasks with its total, and the next page's cursor and link: of the default
    listing, or of a filter's (its text and tree). The body, status and headers."""
    if not rows:
        raise NotImplementedError("an empty page (the service counts its total apart)")
    total = rows[0]["total_count"]
    page = rows[:LIMIT]
    headers = {"X-Total-Count": f"{TOTAL_CAP}+" if total > TOTAL_CAP else str(total)}
    if len(rows) > LIMIT:
        filters = _NO_FILTERS
        link_query = ""
        if node is not None:  # the service's fingerprint of a filter: its tree's repr too
            filters = hashlib.sha256((_OPEN_ONLY + repr(node)).encode()).hexdigest()[:16]
            link_query = urlencode({"filter": filter_text}) + "&"
        cursor = cursor_for(user_id, page[-1], len(page), filters)
        headers["X-Next-Cursor"] = cursor
        # Relative, as the service's without PUBLIC_URL (the cursor needs no escaping).
        headers["Link"] = f'<{path}?{link_query}cursor={cursor}>; rel="next"'
    return dumps([task_json(r) for r in page]), 200, headers


def _priority_and_tag(groups: list[Group]) -> tuple[Node, int, str]:
    """The tree of `pN & @tag` and its values: the one filter whose statement the baseline
    holds (another shape's statement is another text)."""
    match groups:
        case [Group(node=And((Condition("priority", p), Condition("tag", tag))) as node)]:
            return node, 4 - int(p or 4), tag_form(str(tag))  # p1 high (3) .. p4 none (0)
    raise Refused(501, "NOT_IMPLEMENTED", "the baseline holds the statement of pN & @tag only")


async def list_filtered(request: Request) -> Response:
    """GET /api/tasks?filter=pN & @tag, and no other parameter: open tasks only, as the
    service reads a filter."""
    try:
        user_id = await caller(request)
        params = request.query_params
        if list(params) != ["filter"]:
            raise Refused(501, "NOT_IMPLEMENTED", "the baseline reads filter alone")
        text = params["filter"]
        if not 1 <= len(text) <= FILTER_MAX or "\x00" in text:
            raise Refused(400, "VALIDATION_ERROR", f"1 to {FILTER_MAX} characters", "filter")
        try:
            node, priority, tag = _priority_and_tag(parse_filter(text))
        except FilterError as exc:
            raise Refused(400, "VALIDATION_ERROR", str(exc), "filter") from None
        async with request.app.state.pool.acquire() as conn:
            await plan_as(conn, True)
            # (the counts' constant, the caller, open tasks, the priority, the tag, the counts'
            # constant, the page's length + 1, the lists' least count, the bound's constant)
            rows = await conn.fetch(
                baseline_sql.FILTER, 1, user_id, False, priority, tag, 1, LIMIT + 1, 1.0, 1
            )
    except Refused as exc:
        return error(exc)
    return answer(*task_page(request.url.path, user_id, rows, text, node))


async def get_task(request: Request) -> Response:
    try:
        user_id = await caller(request)
        task_id = _task_id(request)
        async with request.app.state.pool.acquire() as conn:
            await plan_as(conn, False)
            row = await conn.fetchrow(baseline_sql.GET, task_id, user_id)
        if row is None:
            raise Refused(404, "NOT_FOUND", "Task not found")
    except Refused as exc:
        return error(exc)
    return _task_response(row)


def _text(data: dict[str, Any], name: str, limit: int, required: bool) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise Refused(400, "VALIDATION_ERROR", "must be a string", name)
    if name == "title":
        value = value.strip()
        if not value:
            raise Refused(400, "VALIDATION_ERROR", "must not be blank", name)
    if len(value) > limit:
        raise Refused(400, "VALIDATION_ERROR", f"at most {limit} characters", name)
    if "\x00" in value:
        raise Refused(400, "VALIDATION_ERROR", "must not contain NUL", name)
    return value


def _priority(value: Any) -> int:
    if not isinstance(value, str) or value not in PRIORITY_NUMBERS:
        raise Refused(400, "VALIDATION_ERROR", "not a priority", "priority")
    return PRIORITY_NUMBERS[value]


def _tags(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise Refused(400, "VALIDATION_ERROR", "must be a list of strings", "tags")
    tags = list(dict.fromkeys(t.strip().lower() for t in value))
    if len(tags) > 20 or any(not t or len(t) > 50 or "\x00" in t for t in tags):
        raise Refused(400, "VALIDATION_ERROR", "at most 20 tags of 1 to 50 characters", "tags")
    return tags


def _new_id() -> uuid.UUID:
    """A UUIDv7, as todo_api's ids."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10))
    value = (millis & (2**48 - 1)) << 80
    value |= 0x7 << 76 | (rand >> 68) << 64
    value |= 0b10 << 62 | (rand & (2**62 - 1))
    return uuid.UUID(int=value)


def parse_create(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise Refused(400, "INVALID_REQUEST", "The body must be a JSON object")
    allowed = {"title", "description", "is_completed", "priority", "due_at", "tags", "recurrence"}
    unknown = set(data) - allowed
    if unknown:
        raise Refused(400, "VALIDATION_ERROR", "unknown field", sorted(unknown)[0])
    completed = data.get("is_completed", False)
    if not isinstance(completed, bool):
        raise Refused(400, "VALIDATION_ERROR", "must be a boolean", "is_completed")
    priority = _priority(data.get("priority", "none"))
    due_at = data.get("due_at")
    if due_at is not None:
        try:
            due_at = datetime.fromisoformat(due_at)
        except (TypeError, ValueError):
            raise Refused(400, "VALIDATION_ERROR", "not a date-time", "due_at") from None
        if due_at.tzinfo is None:
            raise Refused(400, "VALIDATION_ERROR", "needs an offset", "due_at")
        due_at = due_at.astimezone(UTC)
    tags = _tags(data.get("tags", []))
    recurrence = _text(data, "recurrence", 500, required=False)
    if recurrence is not None and due_at is None:
        raise Refused(400, "VALIDATION_ERROR", "a recurring task needs a due_at", "recurrence")
    return {
        "recurrence": recurrence,
        "title": _text(data, "title", 200, required=True),
        "description": _text(data, "description", 2000, required=False),
        "is_completed": completed,
        "priority": priority,
        "due_at": due_at,
        "tags": tags,
    }


async def json_body(request: Request) -> Any:
    return read_json(request.headers.get("content-type", ""), await request.body())


def read_json(content_type: str, body: bytes) -> Any:
    if content_type.split(";")[0].strip() != JSON:
        raise Refused(400, "INVALID_REQUEST", "The body must be application/json")
    try:
        return orjson.loads(body)
    except ValueError:
        raise Refused(400, "INVALID_REQUEST", "The body is not valid JSON") from None


async def create_task(request: Request) -> Response:
    try:
        user_id = await caller(request)
        fields = parse_create(await json_body(request))
    except Refused as exc:
        return error(exc)
    now = datetime.now(UTC)
    row = new_task(user_id, fields, now)
    async with request.app.state.pool.acquire() as conn:
        await plan_as(conn, False)
        written = await conn.fetchrow(baseline_sql.CREATE, *insert_parameters(row, None))
    return created(row, written)


def new_task(user_id: uuid.UUID, fields: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The row of a new task in the inbox, with the fields a create gives."""
    return {
        "id": _new_id(),
        "user_id": user_id,
        "list_id": None,
        "parent_id": None,
        "section_id": None,
        **fields,
        "completed_at": now if fields["is_completed"] else None,
        "created_by": user_id,
        "completed_by": user_id if fields["is_completed"] else None,
        "assignee_id": None,
        "comment_count": 0,
        "due_date": None,
        "start_at": None,
        "start_date": None,
        "reminders": [],
        "created_at": now,
        "updated_at": now,
    }


def insert_parameters(row: dict[str, Any], timezone: str | None) -> tuple[Any, ...]:
    """The service's parameters of its INSERT, in its order: the zone is the creator's unless
    given (the statement reads it), the JSON columns go as text, the position after the last
    sibling."""
    user_id, description, now = row["user_id"], row["description"], row["created_at"]
    return (
        row["id"], user_id, None, None, None, row["title"], description, search_key(row["title"]),
        None if description is None else search_key(description), row["is_completed"],
        row["priority"], row["due_at"], None, None, None, timezone, user_id, "UTC",
        json.dumps(row["tags"]), row["completed_at"], "[]", row["recurrence"], None,
        row["completed_by"], None, user_id, None, 0, 1, now, now, 0, POSITION_STEP,
    )  # fmt: skip


def created(row: dict[str, Any], written: Any, **more: Any) -> Response:
    try:
        return answer(*created_task(row, written, **more))
    except Refused as exc:
        return error(exc)


def created_task(
    row: dict[str, Any], written: Any, **more: Any
) -> tuple[bytes, int, dict[str, str]]:
    """201 with the new task (its position and zone as the INSERT wrote them) and `more`."""
    if written is None:
        raise Refused(501, "NOT_IMPLEMENTED", "the baseline sends no webhook events")
    row["position"], row["timezone"] = written["position"], written["timezone"]
    headers = {"Location": f"/api/tasks/{row['id']}", "ETag": '"1"'}
    return dumps(task_json(row) | more), 201, headers


def parse_quick(data: Any, request: Request) -> str:
    """Quick add's `text`: alone (a `list_id` or `lang`, or the reader's languages, is other
    work that the baseline does not do), read in English."""
    if not isinstance(data, dict):
        raise Refused(400, "INVALID_REQUEST", "The body must be a JSON object")
    unknown = set(data) - {"text", "list_id", "lang"}
    if unknown:
        raise Refused(400, "VALIDATION_ERROR", "unknown field", sorted(unknown)[0])
    if set(data) != {"text"} or "accept-language" in request.headers:
        raise Refused(501, "NOT_IMPLEMENTED", "the baseline reads text alone, in English")
    text = data["text"]
    if not isinstance(text, str) or not 1 <= len(text) <= QUICK_TEXT_MAX:
        raise Refused(400, "VALIDATION_ERROR", f"1 to {QUICK_TEXT_MAX} characters", "text")
    return text


def quick_fields(reading: words.Reading) -> dict[str, Any]:
    """A create's fields from what quick add read: a title, tags, a priority and a due time
    (a `#list`, an all-day date or a recurrence is other work, which the baseline does not
    do)."""
    if reading.list_span is not None or reading.due_date is not None or reading.recurrence:
        raise Refused(501, "NOT_IMPLEMENTED", "the baseline reads no list, day or recurrence")
    if not reading.title:
        raise Refused(400, "VALIDATION_ERROR", "leaves no title", "text")
    try:
        title = _text({"title": reading.title}, "title", 200, required=True)
        tags = _tags(reading.tags)
    except Refused as exc:
        raise Refused(400, "VALIDATION_ERROR", f"its {exc.field} {exc.message}", "text") from None
    return {
        "recurrence": None,
        "title": title,
        "description": None,
        "is_completed": False,
        "priority": PRIORITY_NUMBERS[reading.priority or "none"],
        "due_at": None if reading.due_at is None else reading.due_at.astimezone(UTC),
        "tags": tags,
    }


async def quick_add(request: Request) -> Response:
    try:
        user_id = await caller(request)
        text = parse_quick(await json_body(request), request)
        now = datetime.now(UTC)
        async with request.app.state.pool.acquire() as conn:
            await plan_as(conn, False)
            profile = await conn.fetchrow(baseline_sql.USER_ZONE, user_id)
            zone = (profile and profile["timezone"]) or "UTC"
            # The profile's language, else the browser's, as the service reads it.
            lang = language_of(
                profile and profile["language"], request.headers.get("accept-language")
            )
            reading = words.read(text, now, zone, lang)
            row = new_task(user_id, quick_fields(reading), now)
            written = await conn.fetchrow(baseline_sql.QUICK, *insert_parameters(row, zone))
    except Refused as exc:
        return error(exc)
    return created(row, written, parsed=[vars(span) for span in reading.spans])


async def list_comments(request: Request) -> Response:
    """The first page of a task's comments, oldest first (no `limit` or `cursor`)."""
    try:
        user_id = await caller(request)
        task_id = _task_id(request)
        if request.scope["query_string"]:
            raise Refused(501, "NOT_IMPLEMENTED", "the baseline reads the first page alone")
        async with request.app.state.pool.acquire() as conn:
            await plan_as(conn, False)
            # (the caller, the task), then (the task, the page's length + 1)
            if await conn.fetchrow(baseline_sql.COMMENTS_TASK, user_id, task_id) is None:
                raise Refused(404, "NOT_FOUND", "Task not found")
            rows = await conn.fetch(baseline_sql.COMMENTS, task_id, COMMENT_PAGE + 1)
    except Refused as exc:
        return error(exc)
    page = rows[:COMMENT_PAGE]
    headers = {}
    if len(rows) > COMMENT_PAGE:  # the last comment's created_at and id, as the service's
        last = orjson.dumps([page[-1]["created_at"].isoformat(), page[-1]["id"].hex])
        cursor = base64.urlsafe_b64encode(last).decode().rstrip("=")
        headers["X-Next-Cursor"] = cursor
        headers["Link"] = f'<{request.url.path}?cursor={cursor}>; rel="next"'
    body = dumps([{name: row[name] for name in COMMENT_SHOWN} for row in page])
    return answer(body, headers=headers)


def parse_update(data: Any) -> int:
    """The priority a PATCH sets: what the benchmarks change (the service's statement for
    another set of fields is another text, which the baseline does not hold)."""
    if not isinstance(data, dict):
        raise Refused(400, "INVALID_REQUEST", "The body must be a JSON object")
    allowed = {"title", "description", "is_completed", "priority", "due_at", "tags", "recurrence"}
    unknown = set(data) - allowed
    if unknown:
        raise Refused(400, "VALIDATION_ERROR", "unknown field", sorted(unknown)[0])
    if not data:
        raise Refused(400, "VALIDATION_ERROR", "at least one field must be given", "body")
    other = set(data) - {"priority"}
    if other:
        raise Refused(501, "NOT_IMPLEMENTED", f"the baseline does not change {sorted(other)[0]}")
    if data["priority"] is None:
        raise Refused(400, "VALIDATION_ERROR", "must not be null", "priority")
    return _priority(data["priority"])


def _task_id(request: Request) -> uuid.UUID:
    return task_id_of(request.path_params["task_id"])


def task_id_of(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise Refused(404, "NOT_FOUND", "Task not found") from None


def _task_response(row: Any) -> Response:
    return answer(*task_answer(row))


def task_answer(row: Any) -> tuple[bytes, int, dict[str, str]]:
    return dumps(task_json(row)), 200, {"ETag": f'"{row["version"]}"'}


async def update_task(request: Request) -> Response:
    try:
        user_id = await caller(request)
        task_id = _task_id(request)
        priority = parse_update(await json_body(request))
        async with request.app.state.pool.acquire() as conn:
            await plan_as(conn, False)
            # (the priority, who changed it, the version's step, when, the task, the caller)
            row = await conn.fetchrow(
                baseline_sql.PATCH, priority, user_id, 1, datetime.now(UTC), task_id, user_id
            )
        if row is None:  # not there, not the caller's to change, or a webhook listens
            raise Refused(404, "NOT_FOUND", "Task not found")
    except Refused as exc:
        return error(exc)
    return _task_response(row)


async def complete_task(request: Request) -> Response:
    try:
        user_id = await caller(request)
        task_id = _task_id(request)
        now = datetime.now(UTC)
        async with request.app.state.pool.acquire() as conn:
            await plan_as(conn, False)
            # (done, when, by whom, changed by whom, the version's step, when, the task, the
            # caller)
            row = await conn.fetchrow(
                baseline_sql.COMPLETE, True, now, user_id, user_id, 1, now, task_id, user_id
            )
            if row is None:  # not there, already completed (left as it is), or recurring
                row = await conn.fetchrow(baseline_sql.GET, task_id, user_id)
                if row is None:
                    raise Refused(404, "NOT_FOUND", "Task not found")
                if not row["is_completed"]:
                    raise Refused(501, "NOT_IMPLEMENTED", "the baseline makes no next occurrences")
    except Refused as exc:
        return error(exc)
    return _task_response(row)


async def health(request: Request) -> Response:
    async with request.app.state.pool.acquire() as conn:
        await conn.fetchval("SELECT 1")
    return answer(b'{"status":"ok"}', private=False)


def _json_text(value: str) -> str:
    return value  # the service's parameters: JSON written as text already


async def _init_connection(conn: asyncpg.Connection) -> None:
    for name in ("jsonb", "json"):
        await conn.set_type_codec(
            name, encoder=_json_text, decoder=orjson.loads, schema="pg_catalog"
        )
    # A new session, as the service's: in the default plan mode (its process id may be that of
    # a session gone before), without JIT compilation.
    custom_sessions.discard(conn.get_server_pid())
    await conn.execute("SET jit = off")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Nothing to reset: these connections never SET, LISTEN or take advisory locks. By
    default asyncpg sends a reset query on every release, a second round trip per request
    that the service (SQLAlchemy's pool in autocommit) does not pay."""


async def open_pool() -> asyncpg.Pool:
    """The pool, and the garbage collector as the service sets it (todo_api.app's lifespan
    and its YOUNG_OBJECTS_PER_COLLECTION, not imported: the baseline does not load the app)."""
    pool = await asyncpg.create_pool(
        DSN, min_size=1, max_size=2 * POOL_SIZE, init=_init_connection, reset=_keep_session
    )
    gc.freeze()
    gc.set_threshold(10_000, *gc.get_threshold()[1:])
    return pool


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.pool = await open_pool()
    try:
        yield
    finally:
        await app.state.pool.close()


app = Starlette(
    routes=[
        Route("/api/tasks", list_tasks, methods=["GET"]),
        Route("/api/tasks", create_task, methods=["POST"]),
        Route("/api/tasks/quick", quick_add, methods=["POST"]),
        Route("/api/tasks/{task_id}/comments", list_comments, methods=["GET"]),
        Route("/api/tasks/{task_id}", get_task, methods=["GET"]),
        Route("/api/tasks/{task_id}", update_task, methods=["PATCH"]),
        Route("/api/tasks/{task_id}/complete", complete_task, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
    ],
    lifespan=lifespan,
)
