"""This service's own export (`GET /api/export`): lists with their colours and order, tasks
with their subtasks, order and every field a client sets, the exporter's language (for an
importer who has chosen none), the browsers that take their reminders (push subscriptions),
and the files of the tasks (their bytes in the zip of `?with_files=true`). What belongs to
other people (a list's members, assignees) and what cannot be recreated (webhooks, whose
secrets are not exported; tokens) is left out, and listed."""

from typing import Any

from todo_api.yourdata.records import TOP as _TOP
from todo_api.yourdata.records import FileErrors, ImportedList, ImportedTask, Parsed, Skipped, Where
from todo_api.yourdata.sources.documents import items, json_document

FORMAT, VERSION = "todo-api", 1
# What a task of the export carries that an import sets again.
TASK_FIELDS = (
    "title",
    "description",
    "is_completed",
    "priority",
    "due_at",
    "due_date",
    "start_at",
    "start_date",
    "timezone",
    "tags",
    "recurrence",
    "reminders",
    "completed_at",
)


def _key(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def parse(body: bytes, _options: dict[str, str]) -> Parsed:
    document = json_document(body, "this service's export")
    errors = FileErrors()
    if document.get("format") != FORMAT:
        errors.add(_TOP, "format", f'must be "{FORMAT}"')
    if document.get("version") != VERSION:
        errors.add(_TOP, "version", f"must be {VERSION}")
    errors.raise_any()
    parsed = Parsed(liberal=False)
    for index, item in enumerate(items(document.get("lists"))):
        where: Where = ("index", f"lists[{index}]")
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            errors.add(where, "id", "a list needs its id")
            continue
        sections = [
            (section["id"], section.get("name"))
            for section in items(item.get("sections"))
            if isinstance(section, dict) and isinstance(section.get("id"), str)
        ]
        parsed.lists.append(
            ImportedList(
                key=item["id"],
                name=item.get("name"),
                color=item.get("color"),
                where=where,
                sections=sections,
                parent_key=_key(item.get("parent_id")),
            )
        )
    # The lists in their owner's order (the export's); their tasks by position.
    parsed.lists.sort(key=lambda item: _position(document, item.key))
    known = {item.key: {key for key, _name in item.sections} for item in parsed.lists}
    user = document.get("user")
    exporter = user.get("id") if isinstance(user, dict) else None
    if isinstance(user, dict):
        parsed.language, parsed.theme = user.get("language"), user.get("theme")
        parsed.week_start = user.get("week_start")
    for index, task in enumerate(items(document.get("tasks"))):
        if not isinstance(task, dict):
            errors.add(("index", index), "task", "must be an object")
            continue
        parsed.tasks.append(_task(index, task, known, exporter, parsed.skipped))
    for index, _webhook in enumerate(items(document.get("webhooks"))):
        parsed.skipped.append(
            Skipped(("index", f"webhooks[{index}]"), "webhooks are not imported: make them again")
        )
    for index, _token in enumerate(items(document.get("tokens"))):
        parsed.skipped.append(
            Skipped(("index", f"tokens[{index}]"), "tokens are not imported: make them again")
        )
    for index, subscription in enumerate(items(document.get("push_subscriptions"))):
        parsed.push_subscriptions.append((("index", f"push_subscriptions[{index}]"), subscription))
    for index, file in enumerate(items(document.get("attachments"))):
        parsed.files.append((("index", f"attachments[{index}]"), file))
    errors.raise_any()
    return parsed


def _position(document: dict[str, Any], list_id: str) -> Any:
    for item in items(document.get("lists")):
        if isinstance(item, dict) and item.get("id") == list_id:
            position = item.get("position")
            return position if isinstance(position, int) else 0
    return 0


def _task(
    index: int,
    task: dict[str, Any],
    lists: dict[str, set[str]],
    exporter: Any,
    skipped: list[Skipped],
) -> ImportedTask:
    fields = {name: task[name] for name in TASK_FIELDS if name in task}
    list_key = task.get("list_id")
    if list_key is not None and list_key not in lists:
        skipped.append(Skipped(("index", index), "its list is not in the file: put in the inbox"))
        list_key = None
    section_key = task.get("section_id")
    if section_key is not None and (list_key is None or section_key not in lists[list_key]):
        skipped.append(Skipped(("index", index), "its section is not in the file: none"))
        section_key = None
    assignee = task.get("assignee_id")
    if assignee is not None and assignee != exporter:
        skipped.append(Skipped(("index", index), "assignee left out: someone else"))
    position = task.get("position")
    comments, done = task.get("comments"), task.get("completions")
    return ImportedTask(
        comments=comments if isinstance(comments, list) else [],
        completions=done if isinstance(done, list) else [],
        where=("index", index),
        fields=fields,
        list_key=list_key,
        section_key=section_key,
        key=task.get("id") if isinstance(task.get("id"), str) else None,
        parent_key=task.get("parent_id") if isinstance(task.get("parent_id"), str) else None,
        order=position if isinstance(position, int) else 0,
        assigned_to_importer=assignee is not None and assignee == exporter,
    )
