"""Todoist's data as its API gives it (`/api/v1/sync` with `projects`, `sections` and `items`,
or a file of the same keys): each project a new list, inside its parent project as Todoist's
sub-projects are (`parent_id`; as the tree's rules allow), the inbox project's tasks into the
inbox.

A project's sections are the list's; an item is a task (`content` with its `@labels` and
`labels` as tags, `description`, `priority` 4 (p1) high to 1 none, `checked` completed) under
its `parent_id` (a subtask of its top-level ancestor, one level here), due on `due.date` (a
day, a wall-clock time in `due.timezone`, or an instant ending `Z`), a recurring one read from
`due.string` in `due.lang` as the CSV's `DATE` is, its `deadline.date` kept as the CSV's
`DEADLINE` is. Each of `notes` (Todoist's comments) is a comment on its item (`item_id`), at
its `posted_at`, with its file's name and address after its text. Archived and deleted ones
are left out.
"""

from typing import Any

from todo_api import words
from todo_api.kit.errors import InvalidRequest
from todo_api.yourdata.records import FileErrors, ImportedList, ImportedTask, Parsed, Skipped, Where
from todo_api.yourdata.sources import todoist
from todo_api.yourdata.sources.documents import items, json_document

# Todoist's API numbers priorities the other way round from its apps: 4 is p1.
PRIORITIES: dict[Any, str] = {4: "high", 3: "medium", 2: "low", 1: "none"}


def parse_either(body: bytes, options: dict[str, str]) -> Parsed:
    """`source=todoist`: Todoist's data as its API gives it (a JSON object), else its CSV."""
    if body.lstrip()[:1] == b"{":
        return parse(body, options)
    return todoist.parse(body, options)


def parse(body: bytes, _options: dict[str, str]) -> Parsed:
    document = json_document(body, "Todoist's data")
    if "projects" not in document and "items" not in document:  # another app's file
        raise InvalidRequest("The file has neither projects nor items (Todoist's data expected)")
    parsed = Parsed()
    errors = FileErrors()
    inbox: set[str] = set()
    for index, project in enumerate(items(document.get("projects"))):
        where: Where = ("index", f"projects[{index}]")
        if not isinstance(project, dict) or project.get("id") is None:
            errors.add(where, "id", "a project needs its id")
            continue
        if project.get("is_deleted") or project.get("is_archived"):
            parsed.skipped.append(Skipped(where, "archived and deleted projects are not imported"))
            continue
        key = str(project["id"])
        if project.get("inbox_project"):
            inbox.add(key)
            continue
        parent = project.get("parent_id")
        made = ImportedList(key=key, name=project.get("name"), where=where)
        made.parent_key = None if parent is None else str(parent)
        made.section_where = {}
        parsed.lists.append(made)
    orders = {
        str(project.get("id")): project.get("child_order") or 0
        for project in items(document.get("projects"))
        if isinstance(project, dict)
    }
    parsed.lists.sort(key=lambda made: orders.get(made.key, 0))
    by_key = {made.key: made for made in parsed.lists}
    for index, section in enumerate(items(document.get("sections"))):
        if isinstance(section, dict) and str(section.get("project_id")) in by_key:
            owner = by_key[str(section["project_id"])]
            owner.sections.append((str(section.get("id")), section.get("name")))
            owner.section_where[str(section.get("id"))] = ("index", f"sections[{index}]")
    for index, item in enumerate(items(document.get("items"))):
        task = _task(("index", f"items[{index}]"), item, inbox, by_key, errors, parsed.skipped)
        if task is not None:
            parsed.tasks.append(task)
    _notes(document, parsed)
    errors.raise_any()
    return parsed


def _task(
    where: Where,
    item: Any,
    inbox: set[str],
    lists: dict[str, ImportedList],
    errors: FileErrors,
    skipped: list[Skipped],
) -> ImportedTask | None:
    if not isinstance(item, dict) or item.get("id") is None:
        errors.add(where, "id", "an item needs its id")
        return None
    if item.get("is_deleted"):
        skipped.append(Skipped(where, "deleted items are not imported"))
        return None
    project = str(item.get("project_id"))
    if project not in inbox and project not in lists:
        skipped.append(Skipped(where, "its project is not in the file: in the inbox"))
    title, labels = words.read_tags(str(item.get("content") or ""))
    tags = [*labels, *(label for label in items(item.get("labels")) if isinstance(label, str))]
    fields: dict[str, Any] = {
        "title": title,
        "priority": PRIORITIES.get(item.get("priority"), "none"),
    }
    if item.get("description"):
        fields["description"] = item["description"]
    if tags:
        fields["tags"] = list(dict.fromkeys(tags))
    if item.get("checked"):
        fields["is_completed"] = True
    section = item.get("section_id")
    task = ImportedTask(
        where=where,
        fields=fields,
        list_key=project if project in lists else None,
        section_key=None if section is None else str(section),
        key=str(item["id"]),
        parent_key=None if item.get("parent_id") is None else str(item["parent_id"]),
        order=item.get("child_order") or 0,
    )
    deadline = item.get("deadline")
    due = item.get("due")
    if isinstance(due, dict) and isinstance(due.get("date"), str):
        if due.get("timezone"):
            fields["timezone"] = due["timezone"]
        if due.get("is_recurring") and isinstance(due.get("string"), str):
            lang = str(due.get("lang")) if due.get("lang") in words.LANGUAGES else "en"
            task.spoken_due = (str(due["string"]), lang)
        elif due["date"].endswith("Z"):
            fields["due_at"] = due["date"]
        else:
            todoist.read_date(task, due["date"].replace("T", " ")[:16], "en", errors)
    if isinstance(deadline, dict) and isinstance(deadline.get("date"), str):
        todoist.keep_deadline(task, deadline["date"])
    return task


def _notes(document: dict[str, Any], parsed: Parsed) -> None:
    """Todoist's comments (`notes`), each on its item's task, oldest first."""
    by_key = {task.key: task for task in parsed.tasks}
    for index, note in enumerate(items(document.get("notes"))):
        where: Where = ("index", f"notes[{index}]")
        if not isinstance(note, dict) or note.get("is_deleted"):
            continue
        task = by_key.get(str(note.get("item_id")))
        if task is None:
            parsed.skipped.append(Skipped(where, "a comment whose item is not imported"))
        elif not note.get("content"):
            parsed.skipped.append(Skipped(where, "a comment without text (a file) left out"))
        else:
            text = str(note["content"])
            attached = note.get("file_attachment")
            if isinstance(attached, dict) and isinstance(attached.get("file_url"), str):
                name = attached.get("file_name") or attached["file_url"]
                text = f"{text}\n\n{name}: {attached['file_url']}"
            body = {"body": text, "created_at": note.get("posted_at")}
            task.comments.append({**body, "where": where, "field": "content"})
