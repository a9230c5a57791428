"""A task's files in the web app: their part of the task page (`_files.html`: names, sizes and
types, images as the server's thumbnails, a download link, delete for the uploader or the
task's owner after a confirmation page), the upload (`POST /app/tasks/{id}/files`: a plain
multipart form without JavaScript; static/files.js sends each chosen or dropped file alone,
showing its progress, and asks for JSON), the bytes and the thumbnail for this browser's
sign-in, and the files a comment carries (uploaded first, then the comment takes their ids).

What is refused is said in plain words from the API's codes: too large, past the quota, a
101st file."""

import re
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from babel.numbers import format_decimal
from starlette.datastructures import FormData, Headers, UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Scope

from todo_api.accounts.browser import BrowserSignIn
from todo_api.db import Connection
from todo_api.files import service, upload
from todo_api.files.router import content_response, keep_upload
from todo_api.files.storage import Files
from todo_api.files.thumbnails import THUMBNAIL_TYPES, Thumbnails, answer
from todo_api.kit.deps import database, held
from todo_api.kit.errors import ApiError, ErrorCode, InvalidField
from todo_api.tables.attachments import ATTACHMENTS_MAX_COUNT, AttachmentRow
from todo_api.web.common.messages import Gettext
from todo_api.web.common.site import Site, parse_uuid, redirect, user_id

# The routes whose body holds files: the body limit lets them reach ATTACHMENT_MAX_BYTES.
UPLOAD_PATHS = (
    re.compile(r"^/app/tasks/(?P<task>[^/]+)/files$"),
    re.compile(r"^/app/tasks/(?P<task>[^/]+)/comments$"),
)
READ = 64 * 1024
# A file's bytes and its thumbnail, as every page of the app: for this browser only, asked
# again (their ETag makes that cheap) each time, so that none opens from the browser's cache
# once the sign-in has ended (a presigned redirect's no-store stands).
REVALIDATED = "private, no-cache"


def too_large(scope: Scope) -> Response | None:
    """What the body limit answers a file too large for an upload form sent by the browser
    itself (JavaScript off): the task's page saying why, as for any refused upload. files.js,
    which asks for JSON, gets the contract's 413."""
    if "application/json" in Headers(scope=scope).get("accept", ""):
        return None
    for pattern in UPLOAD_PATHS:
        if found := pattern.match(scope["path"]):
            try:
                task_id = uuid.UUID(found["task"])
            except ValueError:
                return None
            return redirect(f"/app/tasks/{task_id}?{REFUSED}={ErrorCode.PAYLOAD_TOO_LARGE}#files")
    return None


# The query parameter of the task's page after a refused upload: the API's code.
REFUSED = "refused"


class FilePages:
    def __init__(self, site: Site) -> None:
        self.site = site

    def routes(self) -> list[BaseRoute]:
        signed = self.site.signed_in
        one = "/app/attachments/{attachment_id}"
        return [
            Route("/app/tasks/{task_id}/files", signed(self.upload, writes=True), methods=["POST"]),
            Route(f"{one}/content", signed(self.content, shared=False), methods=["GET"]),
            Route(f"{one}/thumbnail", signed(self.thumbnail, shared=False), methods=["GET"]),
            Route(f"{one}/delete", signed(self.confirm), methods=["GET"]),
            Route(f"{one}/delete", signed(self.delete, writes=True), methods=["POST"]),
        ]

    async def _row(self, request: Request, signed_in: BrowserSignIn) -> AttachmentRow:
        found = parse_uuid(request.path_params["attachment_id"])
        async with database(request).connection() as conn:
            return await service.get_attachment(conn, user_id(signed_in), found)

    async def content(self, request: Request, signed_in: BrowserSignIn) -> Response:
        return _revalidated(await content_response(request, await self._row(request, signed_in)))

    async def thumbnail(self, request: Request, signed_in: BrowserSignIn) -> Response:
        row = await self._row(request, signed_in)
        try:
            made = await held(request.app, Thumbnails).of(held(request.app, Files), row)
        except ApiError as exc:  # no thumbnail: the image's place shows nothing
            return Response(status_code=exc.status)
        return _revalidated(answer(request, made, row))

    async def upload(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """The chosen files, each stored in turn (the first refused stops the rest): JSON for
        files.js (`Accept: application/json`), else the task's page (saying why, if refused)."""
        task_id = parse_uuid(request.path_params["task_id"])
        json_wanted = "application/json" in request.headers.get("accept", "")
        try:
            made = await store_chosen(request, signed_in, task_id, await request.form())
            if not made:
                raise InvalidField("file", "Choose a file")
        except ApiError as exc:
            if exc.status == 404:
                raise
            if json_wanted:
                files, language = held(request.app, Files), self.site.language(request)
                said = refusal(self.site.words(request), exc.code, files, language)
                return JSONResponse({"code": str(exc.code), "said": said}, exc.status)
            # The task's page says why (task_pages.py reads the code back into words).
            return redirect(f"/app/tasks/{task_id}?{REFUSED}={exc.code}#files")
        if json_wanted:
            return JSONResponse([{"id": str(row["id"]), "name": row["name"]} for row in made], 201)
        return redirect(f"/app/tasks/{task_id}#files")

    async def confirm(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """The deletion's page, for whoever may delete the file (else 403, as the post)."""
        found = parse_uuid(request.path_params["attachment_id"])
        async with database(request).connection() as conn:
            row = await service.get_attachment(conn, user_id(signed_in), found, deleting=True)
        return self.site.render(request, "file_delete.html", user=signed_in.user, file=row)

    async def delete(self, request: Request, signed_in: BrowserSignIn) -> Response:
        found = parse_uuid(request.path_params["attachment_id"])
        async with database(request).connection() as conn:  # refused: 404 or 403 (Site)
            row = await service.delete_attachment(conn, user_id(signed_in), found)
        await held(request.app, Files).remove(row["storage_key"])
        return redirect(f"/app/tasks/{row['task_id']}#files")


def _revalidated(response: Response) -> Response:
    if response.headers.get("cache-control") != "no-store":
        response.headers["Cache-Control"] = REVALIDATED
    return response


async def store_chosen(
    request: Request, signed_in: BrowserSignIn, task_id: uuid.UUID, form: FormData
) -> list[AttachmentRow]:
    """Every file of the form's `file` fields, stored for the task (an empty choice is none).
    Raises what the API's upload raises."""
    files = held(request.app, Files)
    owner = user_id(signed_in)
    made = []
    for chosen in form.getlist("file"):
        if not isinstance(chosen, UploadFile) or not (chosen.filename or chosen.size):
            continue
        async with database(request).connection() as conn:
            await service.check_upload(
                conn, owner, task_id, size=chosen.size, quota=files.quota_bytes
            )
        declared = chosen.content_type or ""
        received = await upload.receive(
            _chunks(chosen),
            content_type="" if declared.lower().startswith("multipart/") else declared,
            name=chosen.filename,
            spool_dir=files.storage.spool_dir,
            max_bytes=files.max_bytes,
        )

        async def create(row: dict[str, Any]) -> AttachmentRow:
            async with database(request).connection() as conn:
                return await service.add_attachment(
                    conn, owner, task_id, row=row, quota=files.quota_bytes
                )

        made.append(await keep_upload(files, received, chosen.filename, create))
    return made


async def remove_uploaded(
    request: Request, signed_in: BrowserSignIn, uploaded: Sequence[AttachmentRow]
) -> None:
    """Files `store_chosen` stored for what was then refused: their rows, then their bytes."""
    files = held(request.app, Files)
    for row in uploaded:
        async with database(request).connection() as conn:
            await service.delete_attachment(conn, user_id(signed_in), row["id"])
        await files.remove(row["storage_key"])


async def _chunks(chosen: UploadFile) -> AsyncIterator[bytes]:
    while block := await chosen.read(READ):
        yield block


def size_text(size: int, language: str, _: Gettext) -> str:
    """A file's size in words: bytes, kB or MB (1000s, as the browsers say them)."""
    if size < 1000:
        return _("%(num)s bytes") % {"num": format_decimal(size, locale=language)}
    if size < 1_000_000:
        return _("%(num)s kB") % {"num": format_decimal(size / 1000, "#,##0.#", locale=language)}
    number = format_decimal(size / 1_000_000, "#,##0.#", locale=language)
    return _("%(num)s MB") % {"num": number}


def refusal(_: Gettext, code: ErrorCode | None, files: Files, language: str) -> str:
    """Why an upload was refused, in plain words, from the API's code."""
    if code == ErrorCode.PAYLOAD_TOO_LARGE:
        most = size_text(files.max_bytes, language, _)
        return _("The file is too large: a file can be at most %(size)s.") % {"size": most}
    if code == ErrorCode.QUOTA_EXCEEDED:
        quota = size_text(files.quota_bytes, language, _)
        return _("There is no room for this file: the task owner's files would pass %(size)s.") % {
            "size": quota
        }
    if code == ErrorCode.CONFLICT:
        return _("A task can have at most %(num)d files.") % {"num": ATTACHMENTS_MAX_COUNT}
    if code == ErrorCode.FORBIDDEN:
        return _("You can read this task but not add files to it.")
    if code == ErrorCode.STORAGE_UNAVAILABLE:
        return _("Files cannot be stored just now. Try again in a moment.")
    if code == ErrorCode.VALIDATION_ERROR:
        return _("Choose a file to upload.")
    return _("The file could not be uploaded.")


# The codes files.js may meet before this module's handler says why (the body limit's 413).
SAID_CODES = (ErrorCode.PAYLOAD_TOO_LARGE, None)


def refusal_words(_: Gettext, files: Files, language: str) -> dict[str, str]:
    """files.js's words for the codes an upload may be refused with before its handler."""
    return {str(code or ""): refusal(_, code, files, language) for code in SAID_CODES}


async def files_of_task(
    conn: Connection, owner: uuid.UUID, task: Mapping[str, Any], language: str, _: Gettext
) -> list[dict[str, Any]]:
    """The task's files as its page shows them, oldest first."""
    rows = await service.list_attachments(conn, owner, task["id"])
    return shown(rows, owner, task.get("user_id"), language, _)


def shown(
    rows: Sequence[Mapping[str, Any]],
    owner: uuid.UUID,
    task_owner: Any,
    language: str,
    _: Gettext,
) -> list[dict[str, Any]]:
    return [
        {
            "id": str(row["id"]),
            "name": row["name"],
            "size": size_text(row["size"], language, _),
            "type": row["content_type"],
            "image": row["content_type"] in THUMBNAIL_TYPES,
            # Opened in the browser's own viewer (served inline, in a sandbox): the page's
            # policy frames nothing, so no <iframe> or <object> of it here.
            "pdf": row["content_type"] == "application/pdf",
            "comment_id": str(row["comment_id"]) if row["comment_id"] else None,
            "deletable": service.may_delete(
                owner, uploader=row["created_by"], task_owner=task_owner
            ),
        }
        for row in rows
    ]
