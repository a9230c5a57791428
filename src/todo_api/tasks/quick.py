"""Quick add: a task from the words a person types (`POST /api/tasks/quick`), and what it
would make of them without making it (`POST /api/tasks/quick/preview`).

The words are read by `todo_api.words` on the user's clock and zone; the task is then
made by `service.create_task`, the create path of `POST /api/tasks` (its checks, events and
reminders), from a `TaskCreate` of what was read.
"""

import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, select

from todo_api import words
from todo_api.db import Connection, Query
from todo_api.kit import access, catalogs, zones
from todo_api.kit.errors import InvalidField
from todo_api.tables import keys
from todo_api.tables.sections import sections
from todo_api.tables.tasks import TaskRow
from todo_api.tasks import schedule, service
from todo_api.tasks.schemas import QuickAdd, TaskCreate
from todo_api.words import clock

LANGUAGES = words.LANGUAGES
_GIVEN = frozenset({"list_id"})  # fields the body gives itself, not read from `text`


# The first of the reader's languages an `Accept-Language` header names, else en.
language = catalogs.accepted_language


def reading_language(given: str | None, chosen: str | None, accept_language: str | None) -> str:
    """The language words are read in: the one the request gives (`lang`), else the one the
    person chose (their profile's), else their browser's; English is read too (todo_api.words)."""
    return given or catalogs.language_of(chosen, accept_language)


async def quick_add(
    conn: Connection, user_id: uuid.UUID, *, data: QuickAdd, accept_language: str | None
) -> tuple[TaskRow, list[words.Span]]:
    """The task `data.text` describes, made as `POST /api/tasks` makes one, and the spans read.
    Raises InvalidField naming `text` when no title is left, a date is before 1900 or after
    2100, a `#name` names no list the caller may put tasks in, or a `/name` no section of the
    task's list."""
    task_data, spans = await read(conn, user_id, data=data, accept_language=accept_language)
    try:
        task = await service.create_task(conn, user_id, data=task_data)
    except InvalidField as exc:
        # What was read from `text` is wrong (a rule with no occurrence after its first):
        # `text` is what the caller wrote. A `list_id` they gave keeps its own name.
        details = exc.details or []
        if any(detail.field in _GIVEN for detail in details):
            raise
        messages = "; ".join(f"its {detail.field} {detail.message}" for detail in details)
        raise InvalidField("text", messages) from None
    return task, spans


async def read(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    data: QuickAdd,
    accept_language: str | None,
    lists: bool = True,
) -> tuple[TaskCreate, list[words.Span]]:
    """What quick add would make of `data.text`, and the spans read; nothing is written
    (`POST /api/tasks/quick/preview`). Raises InvalidField as `quick_add` does for the text.
    The language is `data.lang`, else the user's, else `accept_language`'s (`reading_language`).
    Without `lists`, a `#list` is read and left out, naming nothing (`data.list_id` decides:
    tasks by email, whose address names the list)."""
    zone, chosen = await schedule.user_zone_and_language(conn, user_id)
    lang = reading_language(data.lang, chosen, accept_language)
    try:
        reading = words.read(data.text, clock.now(), zones.zone(zone), lang)
    except words.OutOfRange as far:
        phrase = data.text[far.start : far.end]
        raise InvalidField(
            "text",
            f"{phrase!r} (characters {far.start} to {far.end}) is a date before 1900 or after 2100",
        ) from None
    # The user's zone, as a create would default it (read once: the create need not again).
    fields: dict[str, Any] = {"title": reading.title, "tags": reading.tags, "timezone": zone}
    if data.list_id is not None:
        fields["list_id"] = str(data.list_id)
    if reading.list_span is not None and lists:
        fields["list_id"] = str(await _list(conn, user_id, reading.list_span))
    if reading.section_span is not None:
        list_id = fields.get("list_id")
        fields["section_id"] = str(await _section(conn, user_id, list_id, reading.section_span))
    if reading.priority is not None:
        fields["priority"] = reading.priority
    fields.update(_dated(reading))
    if not reading.title:
        raise InvalidField(
            "text", "leaves no title once its date, list, section, tags and priority are read"
        )
    try:
        task_data = TaskCreate.model_validate(fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = error["loc"][0] if error["loc"] else "text"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise InvalidField("text", f"its {where} {message}") from None
    return task_data, reading.spans


DATE_KINDS = frozenset({"due", "recurrence"})


async def read_dates(
    conn: Connection, user_id: uuid.UUID, *, text: str, accept_language: str | None
) -> tuple[str, dict[str, Any], list[words.Span]]:
    """A title's date and recurrence words, read as quick add reads them (a `#list`, `@tag` or
    priority in it stays words): the title without them, the fields they set (`due_at` or
    `due_date`, `recurrence`), and their spans. Raises InvalidField naming `title` for a date
    before 1900 or after 2100."""
    zone, chosen = await schedule.user_zone_and_language(conn, user_id)
    lang = reading_language(None, chosen, accept_language)
    try:
        reading = words.read(text, clock.now(), zones.zone(zone), lang)
    except words.OutOfRange as far:
        phrase = text[far.start : far.end]
        raise InvalidField("title", f"{phrase!r} is a date before 1900 or after 2100") from None
    spans = sorted((s for s in reading.spans if s.kind in DATE_KINDS), key=lambda s: s.start)
    if not spans:
        return text, {}, spans
    title = text
    for span in reversed(spans):
        title = title[: span.start] + title[span.end :]
    return " ".join(title.split()), _dated(reading), spans


def _dated(reading: words.Reading) -> dict[str, Any]:
    """The fields a reading's date and recurrence words set."""
    fields: dict[str, Any] = {}
    if reading.due_at is not None:
        fields["due_at"] = reading.due_at.isoformat()
    if reading.due_date is not None:
        fields["due_date"] = reading.due_date.isoformat()
    if reading.recurrence is not None:
        fields["recurrence"] = reading.recurrence
    return fields


class UnknownList(InvalidField):
    """A `#name` that names no list of the caller's (the web app offers to make it)."""

    def __init__(self, span: words.Span) -> None:
        where = f"#{span.value} (characters {span.start} to {span.end})"
        super().__init__("text", f"{where} is no list of yours")
        self.span = span


async def _list(conn: Connection, user_id: uuid.UUID, span: words.Span) -> uuid.UUID:
    found = await access.list_named(conn, user_id, keys.name_key(span.value))
    if found is None:
        raise UnknownList(span)
    if not found[1]:
        raise InvalidField(
            "text",
            f"#{span.value} (characters {span.start} to {span.end}) is a list you may only view",
        )
    return found[0]


# The section of that name (its key) in the list, if the caller sees the list.
_SECTION_NAMED = Query(
    select(sections.c.id).where(
        sections.c.list_id == bindparam("list_id"),
        sections.c.name_key == bindparam("name_key"),
        access.member_of(sections.c.list_id),
    )
)


async def _section(
    conn: Connection, user_id: uuid.UUID, list_id: str | None, span: words.Span
) -> uuid.UUID:
    """The section `/name` names in the task's list (the `#list` named, else `list_id`)."""
    where = f"/{span.value} (characters {span.start} to {span.end})"
    if list_id is None:
        raise InvalidField("text", f"{where} is no section: the inbox has none")
    found = (
        await conn.execute(
            _SECTION_NAMED,
            {
                "list_id": uuid.UUID(list_id),
                "name_key": keys.name_key(span.value),
                "user_id": user_id,
            },
        )
    ).scalar()
    if found is None:
        raise InvalidField("text", f"{where} is no section of the task's list")
    section_id: uuid.UUID = found
    return section_id
