"""Schemathesis hooks for bench/schemathesis.sh (loaded through SCHEMATHESIS_HOOKS).

Drops the schema-valid cases whose fate no schema can tell, because it depends on what the
server holds; every other case, and every schema-violating one, is sent as drawn:

- a drawn `cursor` or `since`: these are signed by the server (X-Next-Cursor, the feed's
  `next`), so no drawn string is one and the service rightly answers 400;
- an update that sets a recurrence and leaves `due_at` out, or clears `due_at` and leaves the
  recurrence out: taken or refused by what the stored task holds (a recurrence needs a due
  date, as the document says);
- a date-time on the first or last day with an offset that takes it outside years 1 to 9999
  once in UTC (refused, as the document says in words; JSON Schema's `date-time` cannot);
- a body naming a list or task by a drawn id (`list_id`, `parent_id`, `before`, `after`):
  it names none of the user's, which is 400 naming the field (a filter naming nothing in a
  query is only an empty page, and is sent).
"""

import json
import re
from typing import Any

import schemathesis

SIGNED_PARAMETERS = ("cursor", "since")
REFERENCES = ("list_id", "parent_id", "before", "after")


def _is_positive(case: Any) -> bool:
    meta = getattr(case, "meta", None)
    return meta is not None and meta.generation.mode.is_positive


def _rule_apart_from_its_due_date(data: Any) -> bool:
    if not isinstance(data, dict):
        return False
    if "due_at" in data and data["due_at"] is None:
        return "recurrence" not in data
    return isinstance(data.get("recurrence"), str) and "due_at" not in data


# 0001-01-01 with a positive offset, 9999-12-31 with a negative one: outside the years in UTC.
_EDGE_INSTANT = re.compile(r'"(0001-01-01T[^"]*\+(?!00:00)|9999-12-31T[^"]*-(?!00:00))')


def _names_a_stored_row(data: Any) -> bool:
    return isinstance(data, dict) and any(data.get(name) is not None for name in REFERENCES)


def _depends_on_stored_rows(method: str, body: Any) -> bool:
    if _names_a_stored_row(body):
        return True
    if method in ("PUT", "PATCH"):
        return _rule_apart_from_its_due_date(body)
    if method == "POST" and isinstance(body, dict) and isinstance(body.get("operations"), list):
        items = [i for i in body["operations"] if isinstance(i, dict)]
        if any(_names_a_stored_row(item.get("data")) for item in items):
            return True
        updates = [item for item in items if item.get("op") == "update"]
        return any(_rule_apart_from_its_due_date(item.get("data")) for item in updates)
    return False


@schemathesis.hook
def filter_case(context: schemathesis.HookContext, case: Any) -> bool:
    if not _is_positive(case):
        return True
    query = case.query or {}
    if any(name in query for name in SIGNED_PARAMETERS):
        return False
    if _EDGE_INSTANT.search(json.dumps([case.body, query], default=str)):
        return False
    return not _depends_on_stored_rows(case.method.upper(), case.body)
