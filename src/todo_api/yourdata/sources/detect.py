"""Which app's file this is, read from its first bytes (`source=auto`)."""

import json
import zipfile
from io import BytesIO

from todo_api.yourdata.sources import microsoft_todo, ticktick, trello

# How far into a file its kind shows (a CSV's column row, an iCalendar file's first line).
HEAD = 4096


def source_of(body: bytes) -> str | None:
    """The `source` that reads the file, or None when none can tell."""
    if body[:4] == b"PK\x03\x04" and zipfile.is_zipfile(BytesIO(body)):
        return "todo-api"  # this service's zip of the export and its files
    text = body[:HEAD].decode("utf-8-sig", errors="replace").lstrip()
    if text.startswith("BEGIN:VCALENDAR"):
        return "ics"
    if text[:1] in ("{", "["):
        return _json_source(body)
    first_line = text.split("\n", 1)[0].upper()
    if "TYPE" in first_line and "CONTENT" in first_line:
        return "todoist"
    if ticktick.looks_like(text):
        return "ticktick"
    return None


def _json_source(body: bytes) -> str | None:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if isinstance(document, dict):
        if document.get("format") == "todo-api":
            return "todo-api"
        if document.get("kind") == "tasks#taskLists":
            return "google-tasks"
        if trello.looks_like(document):
            return "trello"
        if "projects" in document or "items" in document:
            return "todoist"
    if microsoft_todo.looks_like(document):
        return "microsoft-todo"
    return None
