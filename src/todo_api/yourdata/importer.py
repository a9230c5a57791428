"""An import: a file's intermediate rows (todo_api.yourdata.records) checked against the API's
own rules, then written all at once.

Two steps. `prepare` reads the file and checks every value as `POST /api/tasks` would (the
same input model, the same rules for due dates, zones, recurrences and reminders), outside any
transaction: a file with any wrong value is refused whole, each error naming its line or index
and field. `store` writes what was prepared in one transaction, through the services every
other write uses: the new lists (`lists.service`, each a `list.created`), then every task
(`tasks.service.create_many`: rows made as a create makes them, inserted in batches, each a
`task.created`, reminders scheduled). The database's triggers stamp them for the change feed
(and so for live streams), count them, and index their tags, as for any other write.
"""

import asyncio
import contextlib
import functools
import unicodedata
import uuid
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from dateutil.parser import isoparse
from pydantic import ValidationError
from sqlalchemy import bindparam, select, update
from starlette.concurrency import run_in_threadpool

from todo_api import words
from todo_api.collaboration import comments as comments_service
from todo_api.collaboration.schemas import CommentCreate
from todo_api.config import Settings
from todo_api.db import Connection, Database, Query, insert_bound
from todo_api.files import service as files_service
from todo_api.files.errors import QuotaExceeded, TooManyAttachments
from todo_api.files.storage import Files
from todo_api.kit import ordering, quota, reminders, zones
from todo_api.kit.errors import InvalidField
from todo_api.kit.ids import new_id, utcnow
from todo_api.lists import sections as lists_sections
from todo_api.lists import service as lists_service
from todo_api.lists.schemas import ListCreate, ListUpdate
from todo_api.lists.section_schemas import SectionCreate
from todo_api.push import service as push_service
from todo_api.push.schemas import SubscriptionIn
from todo_api.tables import keys
from todo_api.tables.dav import dav_objects
from todo_api.tables.lists import lists
from todo_api.tables.sections import SECTIONS_MAX_COUNT
from todo_api.tables.tasks import (
    DESCRIPTION_MAX_LENGTH,
    TITLE_MAX_LENGTH,
)
from todo_api.tables.users import users
from todo_api.tasks import completions, rules, schedule
from todo_api.tasks import service as tasks_service
from todo_api.tasks.schemas import DateTimeText, TaskCreate, TaskUpdate, stored_values
from todo_api.yourdata import archive
from todo_api.yourdata.archive import Incoming
from todo_api.yourdata.records import (
    FileErrors,
    ImportedList,
    ImportedTask,
    Parsed,
    Skipped,
    Where,
)
from todo_api.yourdata.sources import SOURCES

# What a calendar file gave beyond the mapping, as CalDAV keeps it (todo_api.dav.store).
_KEEP_OBJECT = Query(insert_bound(dav_objects, "task_id", "name", "uid", "extra"))
_NAME_KEYS = Query(select(lists.c.name_key).where(lists.c.user_id == bindparam("user_id")))
# The exporter's language, theme and first day of the week become the importer's only where
# they have chosen none.
_UNSET = {
    name: Query(
        update(users)
        .where(users.c.id == bindparam("user_id"), users.c[name].is_(None))
        .values({name: bindparam("chosen"), "updated_at": bindparam("now")})
    )
    for name in ("language", "theme", "week_start")
}
THEMES = ("light", "dark")  # the themes an account takes (accounts.schemas.Theme)
WEEK_STARTS = ("monday", "sunday", "saturday")  # (accounts.schemas.WeekStart)


class ImportedFields(TaskCreate):
    """A task as a file gives it: what a create takes, and when it was completed."""

    completed_at: DateTimeText | None = None


@dataclass
class Prepared:
    """A file checked and ready to write."""

    lists: list[tuple[ImportedList, ListCreate]] = field(default_factory=list)
    # Each task's row (list and parent still named by the file's keys) and where it was.
    tasks: list[tuple[ImportedTask, dict[str, Any]]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    language: str | None = None  # the importer's, unless they have chosen one
    theme: str | None = None  # the same
    week_start: str | None = None  # the same
    # The exporter's push subscriptions, each checked as `POST /api/push-subscriptions`
    # checks its body (its endpoint's address by `check_push_endpoints`), and where it was.
    push_subscriptions: list[tuple[Where, SubscriptionIn]] = field(default_factory=list)
    # The files the document lists (this service's export), as it gives them: read from the
    # zip (todo_api.yourdata.archive) or, for a document sent alone, left out (`without_files`).
    files: list[tuple[Where, Any]] = field(default_factory=list)


def sources() -> list[str]:
    return list(SOURCES)


def prepare(source: str, body: bytes, options: dict[str, str], *, zone: str) -> Prepared:
    """The file read and every value checked (in the user's `zone` where the file names
    none); raises ValidationFailed listing what is wrong, where."""
    parsed = SOURCES[source](body, options)
    errors = FileErrors()
    prepared = Prepared(skipped=parsed.skipped)
    if parsed.language is not None and parsed.language not in words.LANGUAGES:
        errors.add(("index", "user"), "language", f"must be one of {', '.join(words.LANGUAGES)}")
    else:
        prepared.language = parsed.language
    if parsed.theme is not None and parsed.theme not in THEMES:
        errors.add(("index", "user"), "theme", f"must be one of {', '.join(THEMES)}")
    else:
        prepared.theme = parsed.theme
    if parsed.week_start is not None and parsed.week_start not in WEEK_STARTS:
        errors.add(("index", "user"), "week_start", f"must be one of {', '.join(WEEK_STARTS)}")
    else:
        prepared.week_start = parsed.week_start
    for item in parsed.lists:
        try:
            checked = ListCreate.model_validate({"name": item.name, "color": item.color})
        except ValidationError as exc:
            for error in exc.errors():
                name = _location(error["loc"])
                field_name = item.name_field if name == "name" else name
                errors.add(item.where, field_name, _message(error))
            continue
        item.sections = _checked_sections(item, prepared.skipped)
        prepared.lists.append((item, checked))
    user_zone = zones.zone(zone)
    now = utcnow()
    keys_seen: set[str] = set()
    for task in parsed.tasks:
        if task.key is not None:
            if task.key in keys_seen:
                name = task.columns.get("id", "id")
                errors.add(task.at("id"), name, f"another task of the file has this {name}")
            keys_seen.add(task.key)
        if parsed.liberal:
            _cut_long_title(task, prepared.skipped)
        values = _task_values(task, zone, now, user_zone, errors, prepared.skipped)
        if values is not None:
            values["created_at"] = _created_at(task, now, prepared.skipped)
            prepared.tasks.append((task, values))
        _check_comments(task, now, errors)
        _check_completions(task, now, errors)
    for where, subscription in parsed.push_subscriptions:
        try:
            checked_push = SubscriptionIn.model_validate(subscription)
        except ValidationError as exc:
            for error in exc.errors():
                errors.add(where, _location(error["loc"]) or "push_subscription", _message(error))
            continue
        prepared.push_subscriptions.append((where, checked_push))
    errors.raise_any()
    _place_subtasks(parsed, prepared)
    prepared.files = parsed.files
    return prepared


def prepare_any(
    source: str,
    body: bytes,
    options: dict[str, str],
    *,
    zone: str,
    max_document: int,
    max_unpacked: int,
) -> tuple[Prepared, zipfile.ZipFile | None]:
    """`prepare`, also for this service's zip of `?with_files=true` (its document read, at most
    `max_document` bytes; the zip itself, whose files `receive_files` reads; its members
    together at most `max_unpacked` bytes, else 413)."""
    if source == "todo-api" and archive.is_zip(body):
        opened, document = archive.open_archive(body, max_document, max_unpacked)
        return prepare(source, document, options, zone=zone), opened
    prepared = prepare(source, body, options, zone=zone)
    without_files(prepared)
    return prepared, None


async def prepare_in_thread(
    settings: Settings, source: str, body: bytes, options: dict[str, str], *, zone: str
) -> tuple[Prepared, zipfile.ZipFile | None]:
    """`prepare_any` within the settings' limits, in a thread: reading and checking a large
    file takes a while (about 1 s for 10 000 rows), and the worker's other requests are
    answered meanwhile."""
    read = functools.partial(
        prepare_any,
        zone=zone,
        max_document=settings.import_max_bytes,
        max_unpacked=settings.import_unpacked_max_bytes,
    )
    return await run_in_threadpool(read, source, body, options)


async def receive_files(
    db: Database,
    user_id: uuid.UUID,
    prepared: Prepared,
    opened: zipfile.ZipFile | None,
    files: Files,
) -> list[Incoming]:
    """The zip's files for the tasks the import makes, in the storage (`archive.receive`,
    within what is left of the importer's quota now); what does not fit is listed in
    `skipped`. `store` writes their rows; `archive.drop` removes the bytes of the others."""
    if opened is None:
        return []
    async with db.connection() as conn:
        used = await quota.usage(conn, user_id)
    room = max(files.quota_bytes - used, 0)
    incoming, skipped = await archive.receive(
        opened, prepared.files, task_keys(prepared), files, room=room
    )
    prepared.skipped += skipped
    return incoming


def without_files(prepared: Prepared) -> None:
    """A document sent alone: the files it lists are left out (their bytes come in the zip),
    each listed in `skipped`."""
    for where, item in prepared.files:
        name = item.get("name") if isinstance(item, dict) else None
        reason = "its bytes come in the zip of GET /api/export?with_files=true"
        prepared.skipped.append(Skipped(where, f"file {name} left out: {reason}"))
    prepared.files = []


def task_keys(prepared: Prepared) -> set[str]:
    """The document's ids of the tasks the import makes."""
    return {task.key for task, _values in prepared.tasks if task.key is not None}


@dataclass(frozen=True)
class Received:
    """A file to import, read and checked, its files' bytes in the storage: what `store`
    writes, and what names the file (`source`, `options`, `body`) for `todo_api.yourdata.once`."""

    source: str
    options: dict[str, str]
    body: bytes
    prepared: Prepared
    incoming: list[Incoming]


@contextlib.asynccontextmanager
async def received(
    db: Database,
    settings: Settings,
    files: Files,
    user_id: uuid.UUID,
    source: str,
    options: dict[str, str],
    body: bytes,
    *,
    zone: str,
) -> AsyncIterator[Received]:
    """The file read (`prepare_in_thread`), its push endpoints checked and its files received,
    for the API and the web app alike; on the way out, the bytes of the files whose rows were
    not written (a failure's, a repeat's) are removed."""
    prepared, opened = await prepare_in_thread(settings, source, body, options, zone=zone)
    await check_push_endpoints(settings, prepared)
    incoming = await receive_files(db, user_id, prepared, opened, files)
    try:
        yield Received(source, options, body, prepared, incoming)
    finally:
        await asyncio.shield(archive.drop(files, incoming))


async def check_push_endpoints(settings: Settings, prepared: Prepared) -> None:
    """Leave out (listed in `skipped`) each push subscription whose endpoint this service
    would not take from a browser (not https on a public address, unless
    WEBHOOK_ALLOW_PRIVATE_URLS). Looks the hosts up: call it outside any connection."""
    kept = []
    for where, subscription in prepared.push_subscriptions:
        problem = await push_service.endpoint_problem(settings, subscription.endpoint)
        if problem is None:
            kept.append((where, subscription))
        else:
            prepared.skipped.append(
                Skipped(where, f"push subscription left out: endpoint {problem}")
            )
    prepared.push_subscriptions = kept


def _task_values(
    task: ImportedTask,
    zone: str,
    now: datetime,
    user_zone: Any,
    errors: FileErrors,
    skipped: list[Skipped],
) -> dict[str, Any] | None:
    """The task's stored columns as a create would write them; None (and errors) if wrong."""
    fields = dict(task.fields)
    zone_name = fields.get("timezone") if isinstance(fields.get("timezone"), str) else zone
    try:
        local_zone = zones.zone(zone_name or zone)
    except (KeyError, ValueError):
        local_zone = user_zone  # the zone's own check below names it
    if task.local_due is not None:
        fields["due_at"] = task.local_due.replace(tzinfo=local_zone).isoformat()
    if task.local_start is not None:
        fields["start_at"] = task.local_start.replace(tzinfo=local_zone).isoformat()
    if task.spoken_due is not None:
        _read_spoken_due(task, fields, local_zone, skipped)
    try:
        data = ImportedFields.model_validate(fields)
    except ValidationError as exc:
        for error in exc.errors():
            name = _location(error["loc"])
            top = name.split(".")[0]
            errors.add(task.at(top), task.columns.get(top, name), _message(error))
        return None
    values = stored_values(data)
    completed_at = values.pop("completed_at")
    for name in ("list_id", "parent_id", "assignee_id"):
        values.pop(name)
    values["timezone"] = values["timezone"] or zone
    try:
        values.update(schedule.due_values(_UNSCHEDULED | {"timezone": values["timezone"]}, values))
        schedule.check_order(values)
        if not values["is_completed"] and values["recurrence"] is not None:
            # A completed task recurs no more. Files repeat rules and dates: each pair once.
            when = (values["due_at"], values["due_date"], values["start_at"], values["start_date"])
            _check_rule(values["recurrence"], *when, values["timezone"])
        values["reminders"] = reminders.with_ids(values["reminders"])
        reminders.check(values)
    except InvalidField as exc:
        for detail in exc.details or []:
            field_name = task.columns.get(detail.field, detail.field)
            errors.add(task.at(detail.field), field_name, detail.message)
        return None
    completed = values["is_completed"]
    if completed_at is None or completed_at > now:  # a time to come is no completion time
        completed_at = now
    values["completed_at"] = completed_at if completed else None
    return values


_UNSCHEDULED: dict[str, Any] = {
    "due_at": None,
    "due_date": None,
    "start_at": None,
    "start_date": None,
}
# A title is cut at a word's end when one is this close to the limit, else at the limit.
WORD_END_REACH = 20


def _check_completions(task: ImportedTask, now: datetime, errors: FileErrors) -> None:
    """A repeating task's completed occurrences (this service's export, newest first): each
    an occurrence (a date, or a time with its offset) and when it was completed (a time in
    the past; else the import's)."""
    for index, item in enumerate(task.completions):
        name = f"completions[{index}]"
        given = item.get("occurrence") if isinstance(item, dict) else None
        occurrence: datetime | date | None = None
        with contextlib.suppress(TypeError, ValueError, OverflowError):
            if isinstance(given, str) and len(given) == 10:
                occurrence = date.fromisoformat(given)
            elif isinstance(given, str) and (moment := isoparse(given)).tzinfo is not None:
                occurrence = moment.astimezone(UTC)
        if occurrence is None or not isinstance(item, dict):
            errors.add(task.where, f"{name}.occurrence", "must be a date or a time with its offset")
            continue
        at, written_at = now, item.get("completed_at")
        with contextlib.suppress(TypeError, ValueError, OverflowError):
            written = isoparse(written_at) if isinstance(written_at, str) else None
            if written is not None and written.tzinfo is not None and written <= now:
                at = written.astimezone(UTC)
        task.checked_completions.insert(0, (occurrence, at))


def _check_comments(task: ImportedTask, now: datetime, errors: FileErrors) -> None:
    """The task's comments checked as the comment route checks a body; each keeps its time
    when the file gives one in the past (else the import's, in the file's order)."""
    for index, item in enumerate(task.comments):
        name = f"comments[{index}]"
        if not isinstance(item, dict):
            errors.add(task.where, name, "must be an object with a body")
            continue
        try:
            body = CommentCreate.model_validate({"body": item.get("body")}).body
        except ValidationError as exc:
            # Another app's comment names its own line and field where it gives them.
            where = item.get("where") if isinstance(item.get("where"), tuple) else task.where
            field_name = str(item.get("field") or f"{name}.body")
            errors.add(where, field_name, _message(exc.errors()[0]))
            continue
        at, given = now, item.get("created_at")
        with contextlib.suppress(TypeError, ValueError, OverflowError):
            written = isoparse(given) if isinstance(given, str) else None
            if written is not None and written.tzinfo is not None and written <= now:
                at = written.astimezone(UTC)
        task.checked_comments.append((body, at))
        key = item.get("id")
        task.comment_keys.append(key if isinstance(key, str) else None)


def _cut_long_title(task: ImportedTask, skipped: list[Skipped]) -> None:
    """Another app's title over the limit (Todoist's own onboarding tasks have 215
    characters): cut at the limit (at the last word's end within it, when one is within
    WORD_END_REACH of it), the whole of it put at the start of the description (within the
    description's limit), and the task listed in `skipped`."""
    title = task.fields.get("title")
    if not isinstance(title, str):
        return
    if "\n" in title or "\r" in title:  # a title on several lines (TickTick's): one line
        title = task.fields["title"] = " ".join(title.split())
    whole = unicodedata.normalize("NFC", title.strip())
    if len(whole) <= TITLE_MAX_LENGTH:
        return
    cut = whole[:TITLE_MAX_LENGTH]
    if not whole[TITLE_MAX_LENGTH].isspace():
        space = max((i for i, char in enumerate(cut) if char.isspace()), default=-1)
        if space >= TITLE_MAX_LENGTH - WORD_END_REACH:
            cut = cut[:space]
    task.fields["title"] = cut.rstrip()
    description = task.fields.get("description")
    text = whole if not isinstance(description, str) else f"{whole}\n\n{description}"
    task.fields["description"] = text[:DESCRIPTION_MAX_LENGTH]
    skipped.append(
        Skipped(
            task.at("title"),
            f"{task.columns.get('title', 'title')} longer than {TITLE_MAX_LENGTH} characters: "
            "cut, and the whole of it put at the start of the description",
        )
    )


def _created_at(task: ImportedTask, now: datetime, skipped: list[Skipped]) -> datetime:
    """When the source app made the task, if the file says and it is past; else now."""
    made = task.created
    if made is None:
        return now
    if isinstance(made, str):
        with contextlib.suppress(ValueError, OverflowError):
            made = isoparse(made)
    if not isinstance(made, datetime) or made.tzinfo is None:
        name = task.columns.get("created_at", "created_at")
        skipped.append(Skipped(task.at("created_at"), f"{name} is not a time: left out"))
        return now
    made = made.astimezone(UTC)
    return made if made < now else now


def _read_spoken_due(
    task: ImportedTask, fields: dict[str, Any], zone: Any, skipped: list[Skipped]
) -> None:
    """A date or recurrence as typed (`4 Jan`, `every other monday`), read on the import's
    clock in the task's zone; a recurring task is due on its first occurrence. What the
    reader cannot read is left out and listed."""
    assert task.spoken_due is not None
    phrase, lang = task.spoken_due
    now = words.clock.now()  # the import's time, as the reader's clock gives it
    rule = words.read_rule(phrase, now, zone, lang)
    due = rule[1] if rule is not None else words.read_date(phrase, now, zone, lang)
    if due is None:
        skipped.append(Skipped(task.where, f"DATE {phrase!r} left out: set it again"))
        return
    if rule is not None:
        fields["recurrence"] = rule[0]
    name = "due_at" if isinstance(due, datetime) else "due_date"
    fields[name] = due.isoformat()


@functools.lru_cache(maxsize=1024)
def _check_rule(
    rule: str,
    due_at: datetime | None,
    due_date: date | None,
    start_at: datetime | None,
    start_date: date | None,
    zone: str,
) -> None:
    """rules.check_rule, once per rule, due time and start (raising InvalidField is not
    kept)."""
    task = {
        "recurrence": rule,
        "due_at": due_at,
        "due_date": due_date,
        "start_at": start_at,
        "start_date": start_date,
        "timezone": zone,
    }
    rules.check_rule(task)


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def _message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "Unknown field"
    return str(error["msg"]).removeprefix("Value error, ")


def _checked_sections(item: ImportedList, skipped: list[Skipped]) -> list[tuple[str, Any]]:
    """The list's sections that can be made: a name a section takes, none twice (ignoring
    case), at most as many as a list has; each other one skipped, its tasks in no section."""
    kept: list[tuple[str, Any]] = []
    taken: set[str] = set()
    for key, name in item.sections:
        where = item.section_where.get(key) or item.where or ("index", "lists")
        try:
            checked = SectionCreate.model_validate({"name": name}).name
        except ValidationError:
            skipped.append(Skipped(where, "a section without a name"))
            continue
        if keys.name_key(checked) in taken or len(kept) >= SECTIONS_MAX_COUNT:
            skipped.append(Skipped(where, f"section {checked} left out"))
            continue
        taken.add(keys.name_key(checked))
        kept.append((key, checked))
    return kept


def _place_subtasks(parsed: Parsed, prepared: Prepared) -> None:
    """Each subtask under a top-level task of the file (a deeper one under its top-level
    ancestor), in its parent's list; one whose parent is not in the file goes top-level."""
    by_key = {task.key: task for task, _values in prepared.tasks if task.key is not None}
    for task, _values in prepared.tasks:
        if task.parent_key is None:
            continue
        parent = by_key.get(task.parent_key)
        seen = {task.key}
        while parent is not None and parent.parent_key is not None and parent.key not in seen:
            seen.add(parent.key)
            parent = by_key.get(parent.parent_key)
        if parent is None or parent.parent_key is not None or parent is task:
            prepared.skipped.append(Skipped(task.where, "its parent is not in the file: top-level"))
            task.parent_key = None
        else:
            task.parent_key = parent.key
            task.list_key = parent.list_key
            task.section_key = parent.section_key


async def store(
    conn: Connection,
    user_id: uuid.UUID,
    prepared: Prepared,
    incoming: list[Incoming] | None = None,
    *,
    quota: int = 0,
) -> dict[str, Any]:
    """Write what `prepare` checked, all or nothing (the exporter's language, theme and week too,
    for an importer who has chosen none), with the zip's files (`incoming`, their bytes in the
    storage already: each `written` once its row is), within the owner's `quota`; the
    import's answer."""
    left_out: list[Skipped] = []
    async with conn.transaction():
        await ordering.serialise(conn, user_id)
        chosen_settings = (
            ("language", prepared.language),
            ("theme", prepared.theme),
            ("week_start", prepared.week_start),
        )
        for name, chosen in chosen_settings:
            if chosen is not None:
                await conn.execute(
                    _UNSET[name], {"user_id": user_id, "chosen": chosen, "now": utcnow()}
                )
        list_ids, section_ids = await _make_lists(conn, user_id, prepared.lists)
        inbox_last = await tasks_service.inbox_last(conn, user_id)
        rows, made, objects = _rows(user_id, prepared, list_ids, inbox_last)
        for row, task in zip(rows, made, strict=True):
            row["section_id"] = section_ids.get((task.list_key, task.section_key))
        created = await tasks_service.create_many(conn, user_id, rows)
        if objects:
            await conn.execute_many(_KEEP_OBJECT, objects)
        commented = [(row, task) for row, task in zip(rows, made, strict=True) if task.comment_keys]
        comment_ids = iter(
            await comments_service.add_imported(
                conn, user_id, [(row, task.checked_comments) for row, task in commented]
            )
        )  # in the order given: each task's, in turn
        # Each new comment by the file's ids of its task and of it: a file the export had on a
        # comment goes on the new one (a comment of the file's own task only).
        new_comments: dict[tuple[str | None, str | None], uuid.UUID] = {}
        for _, task in commented:
            for key in task.comment_keys:
                new = next(comment_ids)
                if key is not None:
                    new_comments[(task.key, key)] = new
        subscribed = await _subscribe(conn, user_id, prepared)
        for row, task in zip(rows, made, strict=True):
            if task.completes_occurrence:  # as a CalDAV PUT of the same override does
                await tasks_service.update_task(
                    conn,
                    user_id,
                    task_id=row["id"],
                    data=_COMPLETING,
                    completed_at=task.occurrence_completed_at,
                )
        done = [(r, t.checked_completions) for r, t in zip(rows, made, strict=True)]
        await completions.add_imported(conn, user_id, [item for item in done if item[1]])
        new_ids = {task.key: row["id"] for row, task in zip(rows, made, strict=True) if task.key}
        added = []
        for item in incoming or []:
            comment_id = new_comments.get((item.task_key, item.comment_key))
            refused = await _add_file(
                conn, user_id, new_ids[item.task_key], comment_id, item, quota
            )
            left_out += refused
            if not refused:
                added.append(item)
    for item in added:  # written once the whole import is
        item.written = True
    return {
        "lists": len(list_ids),
        "sections": len(section_ids),
        "tasks": created,
        "comments": sum(len(task.comment_keys) for _, task in commented),
        "skipped": [item.body() for item in [*prepared.skipped, *subscribed, *left_out]],
    }


async def _add_file(
    conn: Connection,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    comment_id: uuid.UUID | None,
    item: Incoming,
    quota: int,
) -> list[Skipped]:
    """The zip's file on its new task (and its new comment, if it was on one), as an upload
    adds one (the limits checked again: the importer's other uploads meanwhile count); left
    out when it no longer fits."""
    try:
        async with conn.savepoint():
            await files_service.add_attachment(
                conn, user_id, task_id, row=item.row, quota=quota, comment_id=comment_id
            )
    except TooManyAttachments:
        return [Skipped(item.where, f"file {item.row['name']} left out: a task has at most 100")]
    except QuotaExceeded:
        return [Skipped(item.where, f"file {item.row['name']} left out: past your storage quota")]
    return []


async def _subscribe(conn: Connection, user_id: uuid.UUID, prepared: Prepared) -> list[Skipped]:
    """The file's push subscriptions made the importer's (one of an endpoint they have
    already: its keys as the file gives them); those beyond the most a user may have are
    left out, and listed."""
    left_out = []
    for where, subscription in prepared.push_subscriptions:
        try:
            await push_service.save(conn, user_id, subscription)
        except push_service.TooManySubscriptions as exc:
            left_out.append(Skipped(where, f"push subscription left out: {exc}"))
    return left_out


_COMPLETING = TaskUpdate(is_completed=True)


async def _make_lists(
    conn: Connection, user_id: uuid.UUID, wanted: list[tuple[ImportedList, ListCreate]]
) -> tuple[dict[str, uuid.UUID], dict[tuple[str | None, str | None], uuid.UUID]]:
    """The file's lists made as new lists of the user's, last among theirs in the file's
    order; a name the user has already gets a number: "Groceries (2)". Each with its sections
    in order; their ids by (list key, section key)."""
    taken = {row["name_key"] for row in await conn.execute(_NAME_KEYS, {"user_id": user_id})}
    made: dict[str, uuid.UUID] = {}
    sections: dict[tuple[str | None, str | None], uuid.UUID] = {}
    for item, data in wanted:
        name = lists_service.free_name(data.name, taken)
        taken.add(keys.name_key(name))
        created = await lists_service.create_list(
            conn, user_id, ListCreate(name=name, color=data.color)
        )
        made[item.key] = created["id"]
        for key, section_name in item.sections:
            section = await lists_sections.create_section(
                conn, user_id, created["id"], SectionCreate(name=section_name)
            )
            sections[(item.key, key)] = section["id"]
    await _place_inside(conn, user_id, wanted, made)
    return made, sections


async def _place_inside(
    conn: Connection,
    user_id: uuid.UUID,
    wanted: list[tuple[ImportedList, ListCreate]],
    made: dict[str, uuid.UUID],
) -> None:
    """Each list the file puts inside another goes inside it, as the tree's rules allow (a
    parent not in the file, a cycle or a fourth level: it stays at the top)."""
    for item, _ in wanted:
        parent_id = made.get(item.parent_key) if item.parent_key is not None else None
        if parent_id is None:
            continue
        with contextlib.suppress(InvalidField):
            async with conn.savepoint():
                change = ListUpdate(parent_id=parent_id)
                await lists_service.update_list(conn, user_id, made[item.key], change)


def _rows(
    user_id: uuid.UUID, prepared: Prepared, list_ids: dict[str, uuid.UUID], inbox_last: int
) -> tuple[list[dict[str, Any]], list[ImportedTask], list[dict[str, Any]]]:
    """Every task's row, with its id, list, parent and place: siblings in the file's order
    (its positions where it has them), after what the user's inbox holds already; the file's
    task of each row; and the `dav_objects` rows of those a calendar file gave."""
    now = utcnow()
    ids = {task.key: new_id() for task, _values in prepared.tasks if task.key is not None}
    groups: dict[tuple[Any, Any], list[tuple[int, ImportedTask, dict[str, Any]]]] = {}
    for index, (task, values) in enumerate(prepared.tasks):
        group = (task.list_key, task.parent_key)
        groups.setdefault(group, []).append((index, task, values))
    rows: list[dict[str, Any]] = []
    made: list[ImportedTask] = []
    objects: list[dict[str, Any]] = []
    for (list_key, parent_key), members in groups.items():
        members.sort(key=lambda member: (member[1].order, member[0]))
        start = inbox_last if list_key is None and parent_key is None else 0
        for place, (_index, task, values) in enumerate(members, start=1):
            row = tasks_service.new_row(
                values,
                task_id=ids.get(task.key) if task.key is not None else None,
                user_id=user_id,
                actor=user_id,
                now=now,
                created_at=values["created_at"],
                completed_at=values["completed_at"],
            )
            row["list_id"] = None if list_key is None else list_ids[list_key]
            row["parent_id"] = None if parent_key is None else ids[parent_key]
            row["position"] = start + place * ordering.STEP
            row["assignee_id"] = user_id if task.assigned_to_importer else None
            rows.append(row)
            made.append(task)
            if task.calendar_object is not None:
                task_id = rows[-1]["id"]
                uid, extra = task.calendar_object
                objects.append(
                    {
                        "task_id": task_id,
                        "name": f"{task_id}.ics",
                        "uid": uid or str(task_id),
                        "extra": extra,
                    }
                )
    return rows, made, objects
