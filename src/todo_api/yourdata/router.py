"""Your data: `GET /api/export`, `POST /api/import`, `DELETE /api/auth/me`."""

import hashlib
import re
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from todo_api.auth import (
    Caller,
    Identity,
    KnownTokens,
    KnownUsers,
    SeenProfiles,
    caller,
    ensure_user,
)
from todo_api.config import Settings
from todo_api.db import Database
from todo_api.files import in_calendar
from todo_api.files.storage import Files
from todo_api.kit import text
from todo_api.kit.deps import database, held, primary
from todo_api.kit.errors import Forbidden, InvalidField, InvalidRequest, error_responses
from todo_api.kit.http import (
    NO_CONTENT,
    documented,
    header_parameter,
    json_bytes,
    no_content,
    read_json,
)
from todo_api.kit.idempotency import StoredResponse, request_fingerprint, respond_once, valid_key
from todo_api.kit.ids import utcnow
from todo_api.tables.lists import NAME_MAX_LENGTH
from todo_api.tasks import schedule
from todo_api.yourdata import deletion, export, importer, once
from todo_api.yourdata.schemas import AccountDeletion, ImportResult
from todo_api.yourdata.sources import AUTO

IMPORT_PATH = "/api/import"
router = APIRouter(tags=["your data"], responses=error_responses(401, 500, 503))

IDEMPOTENCY_KEY = header_parameter(
    "Idempotency-Key",
    "The same file sent again with the same key imports nothing new: the first answer is "
    "given again",
    "import-2026-11-25",
)
SOURCE = {
    "name": "source",
    "in": "query",
    "required": True,
    "description": "Where the file comes from; `auto`: told from its content",
    "schema": {"type": "string", "enum": [*importer.sources(), AUTO]},
    "example": "todoist",
}
TRELLO = {
    "name": "trello",
    "in": "query",
    "required": False,
    "description": "Trello: the board's lists as `sections` of one list (default) or as `lists`",
    "schema": {"type": "string", "enum": ["sections", "lists"]},
}
AGAIN = {
    "name": "again",
    "in": "query",
    "required": False,
    "description": "Import a file imported before anew (else its second run makes nothing)",
    "schema": {"type": "boolean"},
}
LIST_NAME = {
    "name": "list",
    "in": "query",
    "required": False,
    "description": "Todoist, Trello, a To Do list's tasks: the new list's name (default: the "
    'file\'s name from `Content-Disposition`, else "Todoist import")',
    "schema": {
        "type": "string",
        **text.documented(text.LINE_PATTERN, NAME_MAX_LENGTH, min_length=1),
    },
    "example": "Groceries",
}
_PARAMETERS = [SOURCE, LIST_NAME, TRELLO, AGAIN, IDEMPOTENCY_KEY]
FILE_TYPES = ("application/json", "text/calendar", "text/csv", "application/zip")
_FILE_BODY = {
    "requestBody": {
        "required": True,
        "content": {kind: {"schema": {"type": "string"}} for kind in FILE_TYPES},
    }
}


EXPORT_FORMATS = ("json", "ics")


@router.get(
    "/api/export",
    summary="Everything you own, as one JSON document; or your tasks as one iCalendar file "
    "(`format=ics`); streamed",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"application/json": {}, "text/calendar": {}, "application/zip": {}},
            "description": "The export",
        },
        **error_responses(400),
    },
)
async def export_data(
    request: Request,
    export_format: Annotated[
        str,
        Query(
            alias="format",
            description="`json` (everything, default) or `ics` (your tasks as VTODOs)",
            # Checked in the handler (after the token): the document says what it takes.
            json_schema_extra={"enum": list(EXPORT_FORMATS)},
        ),
    ] = "json",
    with_files: Annotated[
        bool,
        Query(
            description="`true`: a zip of the JSON document and each file of your tasks as "
            "`files/<id>/<name>` (`format=json` only)"
        ),
    ] = False,
) -> Response:
    call = await caller(request)
    if export_format not in EXPORT_FORMATS:
        raise InvalidField("format", f"must be one of {', '.join(EXPORT_FORMATS)}")
    if with_files and export_format != "json":
        raise InvalidField("with_files", "goes with format=json only")
    db = database(request)
    user = await export.user_of(db, call.user_id)
    if user is None:  # deleted behind this process's cache: a new, empty user
        db = primary(request)  # (made there: read there too)
        async with db.connection() as conn:
            await ensure_user(conn, call.user)
        user = await export.user_of(db, call.user_id)
    assert user is not None
    day = utcnow().date().isoformat()
    if export_format == "ics":
        return StreamingResponse(
            export.calendar(db, call.user_id, in_calendar.base_url(request)),
            media_type="text/calendar; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="todo-api-tasks-{day}.ics"'},
        )
    if with_files:
        return StreamingResponse(
            export.zipped(db, user, held(request.app, Files)),
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="todo-api-export-{day}.zip"'},
        )
    return StreamingResponse(
        export.document(db, user),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="todo-api-export-{day}.json"'},
    )


@router.post(
    IMPORT_PATH,
    response_model=ImportResult,
    responses=error_responses(400, 409, 413, 422),
    summary="Import a file exported from this service (its zip with the files too), an "
    "iCalendar file of tasks (Apple "
    "Reminders, Thunderbird, tasks.org), Todoist (CSV or JSON), Google Tasks (Takeout's "
    "Tasks.json), a Trello board (JSON), a TickTick backup (CSV) or Microsoft To Do's lists "
    "from Graph (JSON); all or nothing",
    openapi_extra={
        **_FILE_BODY,
        **documented(headers=[SOURCE, LIST_NAME, TRELLO, AGAIN, IDEMPOTENCY_KEY]),
    },
)
async def import_data(
    request: Request,
    # Both checked in the handler, after the token (a request without one is 401 whatever
    # it asks), and documented above as what they are.
    source: Annotated[str | None, Query(include_in_schema=False)] = None,
    list_name: Annotated[str | None, Query(alias="list", include_in_schema=False)] = None,
    again: Annotated[bool, Query(include_in_schema=False)] = False,
) -> Response:
    call = await caller(request)
    key = request.headers.get("idempotency-key")
    if key is not None and not valid_key(key):
        raise InvalidField("Idempotency-Key", "must be 1 to 255 visible ASCII characters")
    if source not in [*importer.sources(), AUTO]:
        once.source_of(source, b"")  # 400 naming source
    filename = _filename(request.headers.get("content-disposition", ""))
    options = once.options_of(list_name, filename, request.query_params.get("trello"))
    body = await request.body()
    if not body:
        raise InvalidRequest("The file is empty: send it as the request body")
    source = once.source_of(source, body)
    db = database(request)
    async with db.connection() as conn:
        zone = await schedule.user_zone(conn, call.user_id)
    settings = held(request.app, Settings)
    files = held(request.app, Files)
    async with importer.received(
        db, settings, files, call.user_id, source, options, body, zone=zone
    ) as upload:
        if key is None:  # once per file unless `again` (todo_api.yourdata.once)
            async with db.connection() as conn:
                result = await call.with_user_row(
                    conn,
                    lambda: once.store(
                        conn, call.user_id, upload, quota=files.quota_bytes, again=again
                    ),
                )
            answer = StoredResponse(200, json_bytes(result).decode())
        else:
            answer = await _stored(request, call, db, key, upload, files)
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    return Response(answer.body, answer.status_code, headers, "application/json")


async def _stored(
    request: Request,
    call: Caller,
    db: Database,
    key: str,
    upload: importer.Received,
    files: Files,
) -> StoredResponse:
    """The import written once for the client's Idempotency-Key, and its answer."""
    async with db.connection() as conn:

        async def produce() -> StoredResponse:
            result = await call.with_user_row(
                conn,
                lambda: importer.store(
                    conn, call.user_id, upload.prepared, upload.incoming, quota=files.quota_bytes
                ),
            )
            return StoredResponse(200, json_bytes({"source": upload.source, **result}).decode())

        settings = held(request.app, Settings)
        digest = hashlib.sha256(upload.body).hexdigest()
        fingerprint = request_fingerprint("POST", f"{request.url.path}?{request.url.query}", digest)
        return await respond_once(
            conn=conn,
            user_id=call.user_id,
            key=key,
            fingerprint=fingerprint,
            ttl=timedelta(hours=settings.idempotency_key_hours),
            produce=produce,
        )


@router.delete(
    "/api/auth/me",
    **NO_CONTENT,
    tags=["auth"],
    responses=error_responses(400, 403),
    summary="Delete your account and everything of yours; lists you share pass to their "
    "longest-standing editor, or are deleted when they have none",
    openapi_extra=documented(body=AccountDeletion),
)
async def delete_account(request: Request) -> Response:
    call = await caller(request)
    if not _by_the_person(call.user):
        raise Forbidden("An account is deleted by its owner signed in, not by a token for apps")
    if not await request.body():  # a wrong body like any other: it names the field
        raise InvalidField("confirm", "is required: your account's email")
    data = await read_json(request, AccountDeletion)
    # Before it commits: a write of theirs that the deletion overtakes then fails, rather than
    # making the user again (todo_api.auth.users.with_user_row).
    known_users = held(request.app, KnownUsers)
    known_users.discard(call.user_id)
    async with database(request).connection() as conn:
        tokens = await deletion.delete_account(
            conn, call.user_id, confirm=data.confirm, files=held(request.app, Files)
        )
    # Every process forgets the tokens and the user at once, and ends the streams they opened
    # (a cached token would make the user again).
    await held(request.app, KnownTokens).revoked(*tokens, deleted_user=call.user_id)
    # This process makes the user again on their next request (another process does when
    # it finds the row gone: todo_api.auth.users.with_user_row).
    known_users.discard(call.user_id)
    held(request.app, SeenProfiles).forget(call.user_id)
    return no_content()


def _filename(disposition: str) -> str | None:
    """The file's name a `Content-Disposition: attachment; filename="…"` header gives."""
    found = _FILENAME.search(disposition)
    return found.group(1).strip() if found else None


_FILENAME = re.compile(r'filename\s*=\s*"?([^";]+)"?', re.IGNORECASE)


def _by_the_person(identity: Identity) -> bool:
    """Whether the token is the person's own sign-in (a session's JWT): personal access tokens
    and apps' OAuth tokens, which carry a scope, may not delete an account (403)."""
    return identity.scope is None
