"""A list's rows as the pages show them (`_tasks.html`): each task's line (shown.task_line) with
its subtasks and files counted and its assignee named, trees of them with subtasks under their
parents; and what the rows' own `Due` menus offer (static/rows.js)."""

import functools
import uuid
from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

from babel import dates as babel_dates

from todo_api.accounts.browser import BrowserSignIn
from todo_api.db import Connection
from todo_api.lists import sharing
from todo_api.tasks import counts
from todo_api.web.common.messages import translations
from todo_api.web.common.shown import now_in, task_line
from todo_api.web.common.site import user_id
from todo_api.web.tasks import day_order, task_form


async def task_rows(
    conn: Connection,
    signed_in: BrowserSignIn,
    found: list[dict[str, Any]],
    zone: str,
    language: str,
    viewed_only: Collection[str] = (),
    done_total: dict[uuid.UUID, tuple[int, int]] | None = None,
    parents: Mapping[uuid.UUID, str] | None = None,
    under: Collection[uuid.UUID] = (),
    files: Mapping[uuid.UUID, int] | None = None,
) -> list[dict[str, Any]]:
    """The tasks as the list shows them: with their subtasks and files counted (`done_total`
    and `files`, read with the page; else read here) and their assignee's name (or email);
    those of the lists in `viewed_only` with no checkbox; a subtask with its parent's title
    (from `parents`), the tasks in `under` shown under theirs."""
    owner = user_id(signed_in)
    if done_total is None:
        done_total = await counts.subtask_counts(conn, [task["id"] for task in found])
    if files is None:
        files = await counts.file_counts(conn, [task["id"] for task in found]) if found else {}
    people = {str(owner): signed_in.user.get("name") or signed_in.user["email"]}
    shared = {task["list_id"] for task in found if task["assignee_id"] and task["list_id"]}
    for list_id in shared:
        for member in await sharing.members(conn, owner, list_id):
            people[str(member["user_id"])] = member["name"] or member["email"]
    now = now_in(zone)
    shown = []
    for task in found:
        assignee = people.get(str(task["assignee_id"])) if task["assignee_id"] else None
        line = task_line(
            task,
            zone,
            language,
            now,
            assignee=assignee,
            subtasks=done_total.get(task["id"]),
            files=files.get(task["id"], 0),
            viewed_only=viewed_only,
            parent=(parents or {}).get(task["parent_id"]) if task.get("parent_id") else None,
            under_parent=task["id"] in under,
        )
        shown.append({"id": task["id"], "line": line})
    return shown


def tree_rows(trees: list[day_order.Node], lines: Mapping[uuid.UUID, Any]) -> list[dict[str, Any]]:
    """The rows of `_tasks.html` for trees of tasks: each line, and its subtasks' under it."""
    return [
        {
            "id": node.task["id"],
            "line": lines[node.task["id"]],
            "children": tree_rows(node.children, lines),
        }
        for node in trees
    ]


def due_presets(zone: str, language: str) -> list[tuple[str, str, str]]:
    """The days a row's `Due` menu offers (as the task page's), as (name, ISO day, weekday),
    on the person's clock: read once a day for each zone and language (every list page)."""
    return _due_presets(zone, language, now_in(zone).date())


@functools.lru_cache(maxsize=1024)
def _due_presets(zone: str, language: str, today: date) -> list[tuple[str, str, str]]:
    _ = translations(language).gettext
    names = {
        "today": _("Today"),
        "tomorrow": _("Tomorrow"),
        "next week": _("Next week"),
        "this weekend": _("This weekend"),
    }
    return [
        (names[name], day.isoformat(), babel_dates.format_date(day, "EEE", locale=language))
        for name, day in task_form.due_presets(zone, language).items()
    ]
