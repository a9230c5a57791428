"""Google Takeout's `Tasks.json`: `{"kind": "tasks#taskLists", "items": [task lists, each
with its tasks in "items"]}`. One list per task list; `parent` makes a subtask, `position`
the order, `notes` the description, `due` (whose time Google discards) a due date,
`status: "completed"` and `completed` the completion. Deleted tasks are left out; hidden ones
(completed and cleared from view) are imported."""

from typing import Any

from todo_api.kit.errors import InvalidRequest
from todo_api.yourdata.records import TOP as _TOP
from todo_api.yourdata.records import FileErrors, ImportedList, ImportedTask, Parsed, Skipped, Where
from todo_api.yourdata.sources.documents import items, json_document

KIND = "tasks#taskLists"
COLUMNS = {
    "title": "title",
    "description": "notes",
    "due_date": "due",
    "completed_at": "completed",
    "created_at": "updated",
}
UNTITLED = "Untitled list"


def parse(body: bytes, _options: dict[str, str]) -> Parsed:
    document = json_document(body, "Google Takeout's Tasks.json")
    errors = FileErrors()
    if document.get("kind") != KIND:
        errors.add(_TOP, "kind", f'must be "{KIND}" (Google Takeout\'s Tasks.json)')
    errors.raise_any()
    parsed = Parsed()
    for i, task_list in enumerate(_array(document, "items", what="task lists")):
        where: Where = ("index", f"items[{i}]")
        if not isinstance(task_list, dict):
            errors.add(where, "items", "a task list must be an object")
            continue
        key = f"items[{i}]"
        name = task_list.get("title")
        parsed.lists.append(ImportedList(key=key, name=name if name else UNTITLED, where=where))
        for j, task in enumerate(_array(task_list, "items", what=f"items[{i}]'s tasks")):
            task_where: Where = ("index", f"items[{i}].items[{j}]")
            if not isinstance(task, dict):
                errors.add(task_where, "items", "a task must be an object")
            elif task.get("deleted") is True:
                parsed.skipped.append(Skipped(task_where, "deleted in Google Tasks"))
            else:
                parsed.tasks.append(_task(task_where, key, task))
    errors.raise_any()
    return parsed


def _array(document: dict[str, Any], name: str, *, what: str) -> list[Any]:
    """The array a Takeout file gives as `name` (nothing when it leaves it out); anything else
    is not Takeout's format at all: 400 saying what was expected."""
    value = document.get(name)
    if value is not None and not isinstance(value, list):
        raise InvalidRequest(
            f'The file is not Google Takeout\'s Tasks.json: {what} ("{name}") must be an array'
        )
    return items(value)


def _task(where: Where, list_key: str, task: dict[str, Any]) -> ImportedTask:
    fields: dict[str, Any] = {"title": task.get("title")}
    if task.get("notes"):
        fields["description"] = task["notes"]
    due = task.get("due")
    if isinstance(due, str):
        # An RFC 3339 time at midnight UTC whose date is the day: the date, read as written.
        fields["due_date"] = due[:10]
    elif due is not None:
        fields["due_date"] = due  # refused, naming it
    if task.get("status") == "completed":
        fields["is_completed"] = True
        if task.get("completed") is not None:
            fields["completed_at"] = task["completed"]
    task_id, parent = task.get("id"), task.get("parent")
    position = task.get("position")
    return ImportedTask(
        # Takeout gives no creation time: a task's last change is the nearest to it.
        created=task.get("updated"),
        where=where,
        fields=fields,
        list_key=list_key,
        key=f"{list_key}/{task_id}" if isinstance(task_id, str) else None,
        parent_key=f"{list_key}/{parent}" if isinstance(parent, str) else None,
        order=position if isinstance(position, str) else "",
        columns=COLUMNS,
    )
