"""One parser per app a file comes from, each making the same intermediate rows
(todo_api.yourdata.records) of its bytes: `SOURCES[name](body, options)`."""

from collections.abc import Callable

from todo_api.yourdata.records import Parsed
from todo_api.yourdata.sources import (
    google_tasks,
    microsoft_todo,
    ticktick,
    todo_api,
    todoist_json,
    trello,
)

Parser = Callable[[bytes, dict[str, str]], Parsed]


def _ics(body: bytes, options: dict[str, str]) -> Parsed:
    from todo_api.yourdata.sources import ics  # icalendar, with the first .ics file

    return ics.parse(body, options)


SOURCES: dict[str, Parser] = {
    "todo-api": todo_api.parse,
    "ics": _ics,
    "todoist": todoist_json.parse_either,
    "google-tasks": google_tasks.parse,
    "trello": trello.parse,
    "ticktick": ticktick.parse,
    "microsoft-todo": microsoft_todo.parse,
}
# Not a format: the file's own, found from its content (todo_api.yourdata.sources.detect).
AUTO = "auto"
