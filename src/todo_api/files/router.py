"""The attachment routes: a task's files (`/api/tasks/{id}/attachments`), each file's metadata
(`/api/attachments/{id}`) and its bytes (`.../content`).

An upload is checked before its body is read (the task, the caller's right to change it, the
count and the quota with the declared length), streamed to a spool file, put in the storage,
and only then given its row; if the row cannot be written the bytes are removed. The content is
served with its SHA-256 as ETag, single byte ranges, `nosniff`, a sandbox CSP and a
`Content-Disposition` that shows in the browser only images, PDFs and plain text; with S3 and
ATTACHMENT_PRESIGN, as a redirect to a URL the store signs for five minutes."""

import asyncio
import logging
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from starlette.responses import RedirectResponse, StreamingResponse

from todo_api.auth import Caller, Unauthorized, authenticate, caller
from todo_api.files import kinds, upload
from todo_api.files import service as service
from todo_api.files.errors import AttachmentNotFound, FileTooLarge, RangeNotSatisfiable
from todo_api.files.schemas import PREFIX, AttachmentRead, attachment_body
from todo_api.files.storage import Files, key_for
from todo_api.kit.deps import held
from todo_api.kit.errors import InvalidField, TaskNotFound, error_responses
from todo_api.kit.http import NO_CONTENT, header, json_response, no_content
from todo_api.kit.ids import new_id
from todo_api.kit.inputs import id_in_path, parse_id
from todo_api.tables.attachments import AttachmentRow

log = logging.getLogger("todo_api")

router = APIRouter(tags=["attachments"], responses=error_responses(401, 500, 503))

TaskIdPath = Annotated[str, id_in_path("The task's id")]
AttachmentIdPath = Annotated[str, id_in_path("The attachment's id")]
UPLOAD_PATH = re.compile(r"^/api/tasks/[^/]+/attachments$")
SANDBOX = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
_LENGTH = re.compile(r"^[0-9]{1,19}$")
_RANGE = re.compile(r"^bytes=([0-9]{0,19})-([0-9]{0,19})$")

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
            "application/octet-stream": {
                "schema": {"type": "string", "format": "binary"},
                "description": "The raw bytes (any Content-Type), with `?name=`",
            },
        },
    }
}


def _attachment_id(text: str) -> uuid.UUID:
    return parse_id(text, AttachmentNotFound)


def _declared_length(request: Request) -> int | None:
    text = header(request, b"content-length")
    return int(text) if text is not None and _LENGTH.match(text) else None


@router.post(
    "/api/tasks/{task_id}/attachments",
    response_model=AttachmentRead,
    status_code=status.HTTP_201_CREATED,
    responses={
        **error_responses(400, 403, 404, 409, 413),
        201: {
            "description": "The file, stored",
            "headers": {
                "Location": {"description": "The file's URL", "schema": {"type": "string"}}
            },
        },
    },
    summary="Attach a file to a task (multipart `file`, or the raw body with `?name=`; 413 "
    "PAYLOAD_TOO_LARGE past ATTACHMENT_MAX_BYTES, 413 QUOTA_EXCEEDED past the owner's quota, "
    "409 CONFLICT for a 101st file)",
    openapi_extra=_UPLOAD_BODY,
)
async def upload_attachment(
    task_id: TaskIdPath,
    request: Request,
    name: Annotated[
        str | None,
        Query(max_length=1000, description="The file's name, for a raw body"),
    ] = None,
) -> Response:
    call = await caller(request)
    task_uuid = parse_id(task_id, TaskNotFound)
    files = held(request.app, Files)
    content_type = header(request, b"content-type")
    multipart = (content_type or "").lower().startswith("multipart/form-data")
    length = _declared_length(request)
    allowed = files.max_bytes + (upload.MULTIPART_SLACK if multipart else 0)
    if length is not None and length > allowed:
        raise FileTooLarge(files.max_bytes)
    if not multipart and name is None:
        raise InvalidField("name", "A raw upload needs the file's name in `?name=`")
    if name is not None and "\x00" in name:
        raise InvalidField("name", "must not contain the NUL character")
    await call.run(
        service.check_upload,
        task_uuid,
        size=None if multipart else length,
        quota=files.quota_bytes,
    )
    received = await upload.receive(
        request.stream(),
        content_type=content_type,
        name=name,
        spool_dir=files.storage.spool_dir,
        max_bytes=files.max_bytes,
    )

    async def create(row: dict[str, Any]) -> AttachmentRow:
        quota = files.quota_bytes
        return await call.create(service.add_attachment, task_uuid, row=row, quota=quota)

    made = await keep_upload(files, received, name, create)
    return json_response(
        attachment_body(made), status.HTTP_201_CREATED, {"Location": f"{PREFIX}/{made['id']}"}
    )


async def keep_upload(
    files: Files,
    received: upload.Received,
    name: str | None,
    create: Callable[[dict[str, Any]], Awaitable[AttachmentRow]],
) -> AttachmentRow:
    """The received file put in the storage, then given its row by `create` (which takes
    every column but the task's, the uploader's and the time); its bytes are removed again if
    the row cannot be written."""
    row = await put_received(files, received, name)
    try:
        return await create(row)
    except BaseException:
        await asyncio.shield(files.remove(row["storage_key"]))
        raise


async def put_received(files: Files, received: upload.Received, name: str | None) -> dict[str, Any]:
    """The received file put in the storage (its name cleaned, its type sniffed); the row it
    is to have: every column but the task's, the uploader's and the time. Whoever cannot
    write the row removes the bytes (`files.remove(row["storage_key"])`)."""
    attachment_id = new_id()
    key = key_for(str(attachment_id))
    row = {
        "id": attachment_id,
        "name": kinds.clean_name(name if name is not None else received.name),
        "size": received.size,
        "content_type": kinds.content_type(received.declared_type, received.head, received.size),
        "sha256": received.sha256,
        "storage_key": key,
    }
    await files.put(key, received.spool, received.size)
    return row


@router.get(
    "/api/tasks/{task_id}/attachments",
    response_model=list[AttachmentRead],
    responses=error_responses(404),
    summary="A task's files, oldest first",
)
async def list_attachments(task_id: TaskIdPath, request: Request) -> Response:
    call = await caller(request)
    rows = await call.run(service.list_attachments, parse_id(task_id, TaskNotFound))
    return json_response([attachment_body(row) for row in rows])


@router.get(
    PREFIX + "/{attachment_id}",
    response_model=AttachmentRead,
    responses=error_responses(404),
    summary="A file's metadata",
)
async def get_attachment(attachment_id: AttachmentIdPath, request: Request) -> Response:
    call = await caller(request)
    row = await call.run(service.get_attachment, _attachment_id(attachment_id))
    return json_response(attachment_body(row))


def _byte_range(request: Request, size: int, etag: str) -> tuple[int, int] | None:
    """The single range asked for (first, last byte), or None for the whole file (no range,
    one that is not understood, several, or an If-Range that no longer matches). Raises
    RangeNotSatisfiable for a range past the end."""
    asked = header(request, b"range")
    if asked is None:
        return None
    if_range = header(request, b"if-range")
    if if_range is not None and if_range.strip() != etag:
        return None
    match = _RANGE.match(asked.strip())
    if match is None or not (match[1] or match[2]):
        return None
    if match[1]:
        start = int(match[1])
        end = int(match[2]) if match[2] else size - 1
        if start >= size:
            raise RangeNotSatisfiable(size)
        if end < start:
            return None
        return start, min(end, size - 1)
    suffix = int(match[2])
    if suffix == 0 or size == 0:
        raise RangeNotSatisfiable(size)
    return max(0, size - suffix), size - 1


def _matches(if_none_match: str | None, etag: str) -> bool:
    if if_none_match is None:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


@router.get(
    PREFIX + "/{attachment_id}/content",
    response_class=Response,
    responses={
        **error_responses(404, 416),
        200: {
            "description": "The bytes, with ETag (their SHA-256) and Content-Disposition",
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        },
        206: {"description": "The byte range asked for (`Range: bytes=first-last`)"},
        302: {"description": "With S3 and ATTACHMENT_PRESIGN: a URL valid for five minutes"},
        304: {"description": "The bytes have not changed (If-None-Match)"},
    },
    summary="A file's bytes",
)
async def attachment_content(attachment_id: AttachmentIdPath, request: Request) -> Response:
    call = await _reader(request)
    row = await call.run(service.get_attachment, _attachment_id(attachment_id))
    return await content_response(request, row)


async def _reader(request: Request) -> Caller:
    """Who reads a file's bytes: a bearer token as on the rest of /api, or HTTP Basic with a
    personal token as its password, the credentials a calendar app syncs with (CalDAV writes
    a task's files as ATTACH URLs of this route, which the app fetches as it syncs)."""
    if header(request, b"authorization") is None:
        raise Unauthorized(headers={"WWW-Authenticate": 'Bearer, Basic realm="todo-api"'})
    return Caller(request, await authenticate(request, basic=True))


async def content_response(request: Request, row: AttachmentRow) -> Response:
    """The file's bytes as `.../content` answers them (the web app's download too)."""
    files = held(request.app, Files)
    kind = row["content_type"]
    etag = f'"{row["sha256"]}"'
    disposition = kinds.disposition(kind, row["name"])
    served_as = f"{kind}; charset=utf-8" if kind == "text/plain" else kind
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Content-Disposition": disposition,
        "Content-Security-Policy": SANDBOX,
    }
    if _matches(header(request, b"if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    url = await files.presigned_url(row["storage_key"], served_as, disposition)
    if url is not None:
        return RedirectResponse(url, 302, headers={"Cache-Control": "no-store"})
    size = row["size"]
    span = _byte_range(request, size, etag)
    status_code = 200
    start, end = 0, size - 1
    if span is not None:
        start, end = span
        status_code = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(end - start + 1)
    body = await files.opened(row["storage_key"], start, end) if size else _nothing()
    return StreamingResponse(body, status_code, headers, media_type=served_as)


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # (an asynchronous generator that yields nothing)


@router.delete(
    PREFIX + "/{attachment_id}",
    **NO_CONTENT,
    responses=error_responses(403, 404),
    summary="Delete a file (its uploader, or the owner of its task's list)",
)
async def delete_attachment(attachment_id: AttachmentIdPath, request: Request) -> Response:
    call = await caller(request)
    row = await call.run(service.delete_attachment, _attachment_id(attachment_id))
    await asyncio.shield(held(request.app, Files).remove(row["storage_key"]))
    return no_content()
