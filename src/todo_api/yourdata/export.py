"""The export: everything a user owns as one JSON document, written as it is read.

The document is a few sections, each a JSON array written page by page (`SECTIONS`): a
page is read on a pooled connection held for that page only, and written out before the next
is read, so memory stays flat and no connection waits on a slow reader, whatever the account's
size. Tasks are read in creation order along the user's (created_at, id) index, after the
last one written (keyset), so a page costs the same at the end as at the start.

Adding a section (say, a new kind of row people own) is one more line in `SECTIONS`: a name
and a function giving its items page by page, as its listing route shows them.

`calendar` is the same tasks as one iCalendar `VCALENDAR` (`?format=ics`), each written as
CalDAV serves it (todo_api.ical, with what a calendar client gave for it, its files as
ATTACH), read page by page the same way; each zone's `VTIMEZONE` is written once, before the
first task using it.
"""

import logging
import uuid
import zipfile
from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlalchemy import Select, and_, bindparam, or_, select

from todo_api.auth import list_personal_tokens
from todo_api.collaboration import comments as comments_service
from todo_api.collaboration.schemas import comment_body
from todo_api.db import Connection, Database, Query, Result, Row
from todo_api.files import in_calendar
from todo_api.files.schemas import attachment_body
from todo_api.files.storage import Files
from todo_api.kit.http import json_bytes
from todo_api.kit.ids import utcnow
from todo_api.kit.reads import reading
from todo_api.lists import sections as lists_sections
from todo_api.lists import service as lists_service
from todo_api.lists import sharing
from todo_api.lists.schemas import list_body
from todo_api.lists.section_schemas import section_body
from todo_api.lists.sharing_schemas import member_body
from todo_api.push import service as push_service
from todo_api.push.router import subscription_body
from todo_api.tables.attachments import attachments
from todo_api.tables.dav import dav_objects
from todo_api.tables.sections import sections
from todo_api.tables.tasks import tasks
from todo_api.tables.users import users
from todo_api.tasks import completions
from todo_api.tasks.schemas import task_body
from todo_api.tokens.router import token_body
from todo_api.webhooks import service as webhooks_service
from todo_api.webhooks.schemas import webhook_body

log = logging.getLogger("todo_api")

FORMAT, VERSION = "todo-api", 1
PAGE_SIZE = 500

# A section's items, page by page.
Pages = AsyncIterator[list[dict[str, Any]]]
Section = Callable[[Database, uuid.UUID], Pages]

_USER = Query(
    select(
        users.c.id,
        users.c.email,
        users.c.name,
        users.c.timezone,
        users.c.language,
        users.c.theme,
        users.c.week_start,
        users.c.email_verified,
        users.c.created_at,
        users.c.updated_at,
        users.c.totp_enabled_at.is_not(None).label("two_factor"),
    ).where(users.c.id == bindparam("user_id"))
)
_ORDER = (tasks.c.created_at, tasks.c.id)


def _in_pages(statement: Select[Any]) -> tuple[Query, Query]:
    """The user's tasks of `statement` page by page, in creation order: the first page, and
    the page after the `created_at` and `id` of the last one read."""
    mine = statement.where(tasks.c.user_id == bindparam("user_id"))
    after = or_(
        tasks.c.created_at > bindparam("created_at"),
        and_(tasks.c.created_at == bindparam("created_at"), tasks.c.id > bindparam("id")),
    )
    return (
        Query(mine.order_by(*_ORDER).limit(PAGE_SIZE)),
        Query(mine.where(after).order_by(*_ORDER).limit(PAGE_SIZE)),
    )


_FIRST_TASKS, _NEXT_TASKS = _in_pages(select(tasks))


# The tasks with what calendar clients gave for them (their UID, what the mapping does not
# cover) and their parent's UID, as CalDAV reads them (todo_api.dav.store), in the same order
# and pages.
_parent_dav = dav_objects.alias("parent_dav")
_OBJECTS = select(
    *tasks.c,
    dav_objects.c.uid.label("dav_uid"),
    dav_objects.c.extra.label("dav_extra"),
    _parent_dav.c.uid.label("parent_uid"),
    sections.c.name.label("section_name"),  # X-TODO-API-SECTION
    in_calendar.COLUMN.label("files"),  # ATTACH
).select_from(
    tasks.outerjoin(dav_objects, dav_objects.c.task_id == tasks.c.id)
    .outerjoin(_parent_dav, _parent_dav.c.task_id == tasks.c.parent_id)
    .outerjoin(sections, sections.c.id == tasks.c.section_id)
)
_FIRST_OBJECTS, _NEXT_OBJECTS = _in_pages(_OBJECTS)
CALENDAR_END = b"END:VCALENDAR\r\n"


async def user_of(db: Database, user_id: uuid.UUID) -> dict[str, Any] | None:
    """The user as `GET /api/auth/me` shows them; None if there is no such user."""
    found = await reading(db, _execute, _USER, {"user_id": user_id})
    return found.first()


async def _lists(db: Database, user_id: uuid.UUID) -> Pages:
    """The lists the user owns, in their order, each with its members and sections."""
    yield await reading(db, _lists_page, user_id)


async def _lists_page(conn: Connection, user_id: uuid.UUID) -> list[dict[str, Any]]:
    seen = await lists_service.list_lists(conn, user_id)
    owned = [row for row in seen if row["user_id"] == user_id]
    page: list[dict[str, Any]] = []
    for row in owned:
        members = await sharing.members(conn, user_id, row["id"])
        sections = await lists_sections.list_sections(conn, user_id, row["id"])
        page.append(
            {
                **list_body(row),
                "members": [member_body(m) for m in members],
                "sections": [section_body(s) for s in sections],
            }
        )
    return page


async def _execute(conn: Connection, query: Query, params: dict[str, Any]) -> Result:
    return await conn.execute(query, params)


async def _extras(
    conn: Connection, commented: list[uuid.UUID], repeating: list[uuid.UUID]
) -> tuple[dict[uuid.UUID, Any], dict[uuid.UUID, Any]]:
    """The comments of the tasks `commented`, the completions of those `repeating`."""
    return (
        await comments_service.comments_of_tasks(conn, commented),
        await completions.completions_of_tasks(conn, repeating),
    )


async def _tasks(db: Database, user_id: uuid.UUID) -> Pages:
    """The tasks whose `user_id` is the user's (their inbox and the lists they own), each with
    its comments, oldest first (read for the page's tasks that have any), and a repeating
    task's completed occurrences, newest first, as `GET /api/tasks/{id}/completions`."""
    async for rows in _pages(db, user_id, _FIRST_TASKS, _NEXT_TASKS):
        commented = [row["id"] for row in rows if row["comment_count"]]
        repeating = [row["id"] for row in rows if row["recurrence"] is not None]
        found: dict[uuid.UUID, Any] = {}
        done: dict[uuid.UUID, Any] = {}
        if commented or repeating:
            found, done = await reading(db, _extras, commented, repeating)
        yield [
            {
                **task_body(row),
                "comments": [comment_body(c) for c in found.get(row["id"], [])],
                **({"completions": done[row["id"]]} if row["id"] in done else {}),
            }
            for row in rows
        ]


async def _pages(
    db: Database, user_id: uuid.UUID, first: Query, following: Query
) -> AsyncIterator[list[Row]]:
    """The user's tasks (rows of `first`, then `following`), page by page, oldest first."""
    params: dict[str, Any] = {"user_id": user_id}
    query = first
    while True:
        rows = (await reading(db, _execute, query, params)).rows
        if not rows:
            return
        yield rows
        if len(rows) < PAGE_SIZE:
            return
        query = following
        params = {"user_id": user_id, "created_at": rows[-1]["created_at"], "id": rows[-1]["id"]}


async def calendar(db: Database, user_id: uuid.UUID, base: str) -> AsyncIterator[bytes]:
    """The user's tasks as one VCALENDAR, in pieces, their files' URLs under `base`
    (`in_calendar.base_url`)."""
    from todo_api import ical  # icalendar, with the first calendar exported

    yield f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:{ical.PRODID}\r\n".encode()
    # A TZID names one VTIMEZONE in a calendar: each zone is written once, before its first use,
    # and a zone a client sent under a name another zone took gets a free name.
    names: dict[tuple[str, bytes | None], str] = {}  # (TZID, the VTIMEZONE sent) -> its name
    async for page in _pages(db, user_id, _FIRST_OBJECTS, _NEXT_OBJECTS):
        chunk = bytearray()
        for row in page:
            parent = None if row.parent_id is None else row.parent_uid or str(row.parent_id)
            task = {
                "uid": row.dav_uid or str(row.id),
                "parent_uid": parent,
                "extra": row.dav_extra,
                "files": in_calendar.attached(row, base),
            }
            zones, text = ical.parts(row, **task)
            first_used = {key for key in zones if key not in names}
            for zone, sent in first_used:
                names[(zone, sent)] = _free_name(zone, set(names.values()))
            new_names = {names[key] for key in first_used}
            renamed = {
                zone: names[(zone, sent)] for zone, sent in zones if names[(zone, sent)] != zone
            }
            if renamed:
                zones, text = ical.parts(row, **task, renamed=renamed)
            for zone, sent in zones:
                if zone in new_names:
                    chunk += ical.timezone_ical(zone) if sent is None else sent
            chunk += text
        yield bytes(chunk)
    yield CALENDAR_END


def _free_name(zone: str, taken: set[str]) -> str:
    """`zone`, or when another zone took that name, it with the first number free."""
    name, number = zone, 2
    while name in taken:
        name, number = f"{zone} ({number})", number + 1
    return name


async def _webhooks(db: Database, user_id: uuid.UUID) -> Pages:
    rows = await reading(db, webhooks_service.list_webhooks, user_id)
    yield [webhook_body(row) for row in rows]  # without their secrets


async def _tokens(db: Database, user_id: uuid.UUID) -> Pages:
    rows = await reading(db, list_personal_tokens, user_id)
    yield [token_body(row) for row in rows]  # as their listing shows them: no secret


async def _push_subscriptions(db: Database, user_id: uuid.UUID) -> Pages:
    """The browsers that take the user's reminders, with their keys: imported again (on a
    service with the same VAPID keys), they go on getting them."""
    rows = await reading(db, push_service.list_subscriptions, user_id)
    yield [subscription_body(row) for row in rows]


# The files of the user's tasks, oldest first (their bytes are in `?with_files=true`'s zip).
_FILES = Query(
    select(attachments)
    .select_from(attachments.join(tasks, tasks.c.id == attachments.c.task_id))
    .where(tasks.c.user_id == bindparam("user_id"))
    .order_by(attachments.c.created_at, attachments.c.id)
)


async def _file_rows(db: Database, user_id: uuid.UUID) -> list[Row]:
    return (await reading(db, _execute, _FILES, {"user_id": user_id})).rows


async def _attachments(db: Database, user_id: uuid.UUID) -> Pages:
    yield [attachment_body(row) for row in await _file_rows(db, user_id)]


SECTIONS: list[tuple[str, Section]] = [
    ("lists", _lists),
    ("tasks", _tasks),
    ("webhooks", _webhooks),
    ("tokens", _tokens),
    ("push_subscriptions", _push_subscriptions),
    ("attachments", _attachments),
]
ZIP_DOCUMENT = "todo-api-export.json"


async def document(db: Database, user: dict[str, Any]) -> AsyncIterator[bytes]:
    """The export of `user` (`user_of`), in pieces."""
    head = {"format": FORMAT, "version": VERSION, "exported_at": utcnow(), "user": user}
    yield json_bytes(head)[:-1]  # the object left open for the sections
    for name, section in SECTIONS:
        yield b',"' + name.encode() + b'":['
        first = True
        async for page in section(db, user["id"]):
            if page:
                items = b",".join(json_bytes(item) for item in page)
                yield items if first else b"," + items
                first = False
        yield b"]"
    yield b"}"


class _Pipe:
    """What zipfile writes to: kept until taken (zipfile writes to a stream it cannot seek
    in with data descriptors, so each entry is written once, in order)."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> int:
        self.data += data
        return len(data)

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None

    def take(self) -> bytes:
        taken, self.data = bytes(self.data), bytearray()
        return taken


async def zipped(db: Database, user: dict[str, Any], files: Files) -> AsyncIterator[bytes]:
    """`?with_files=true`: a zip of the document (`todo-api-export.json`) and each file of the
    user's tasks as `files/<id>/<name>`, written as it is read (a file at a time, a chunk at a
    time). A file whose bytes are missing is left out (and logged)."""
    pipe = _Pipe()
    archive = zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED)
    with archive.open(ZIP_DOCUMENT, "w", force_zip64=True) as entry:
        async for piece in document(db, user):
            entry.write(piece)
            yield pipe.take()
    for row in await _file_rows(db, user["id"]):
        if not row["size"]:
            archive.writestr(f"files/{row['id']}/{row['name']}", b"")
            continue
        try:
            chunks = await files.opened(row["storage_key"], 0, row["size"] - 1)
        except Exception:  # missing or unreachable: the rest of the export goes on
            log.warning("export: the bytes of attachment %s are not readable", row["id"])
            continue
        info = zipfile.ZipInfo(f"files/{row['id']}/{row['name']}")
        info.compress_type = zipfile.ZIP_STORED  # files are mostly compressed already
        with archive.open(info, "w", force_zip64=True) as entry:
            async for chunk in chunks:
                entry.write(chunk)
                yield pipe.take()
    archive.close()
    yield pipe.take()
