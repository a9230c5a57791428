"""Schemathesis hooks for bench/schemathesis.sh (loaded through SCHEMATHESIS_HOOKS).

Drops the schema-valid cases whose fate no schema can tell, because it depends on what the
server holds; every other case, and every schema-violating one, is sent as drawn:

- a drawn `cursor` or `since`: these are signed by the server (X-Next-Cursor, the feed's
  `next`), so no drawn string is one and the service rightly answers 400;
- an update that sets a recurrence and leaves `due_at` out: taken when the stored task has a
  due date, 400 when it has none (the document says so: a recurrence needs a due date).
"""

from typing import Any

import schemathesis

SIGNED_PARAMETERS = ("cursor", "since")


def _is_positive(case: Any) -> bool:
    meta = getattr(case, "meta", None)
    return meta is not None and meta.generation.mode.is_positive


def _recurrence_without_due_at(data: Any) -> bool:
    if not isinstance(data, dict):
        return False
    return isinstance(data.get("recurrence"), str) and "due_at" not in data


def _depends_on_stored_task(method: str, body: Any) -> bool:
    if method in ("PUT", "PATCH"):
        return _recurrence_without_due_at(body)
    if method == "POST" and isinstance(body, dict) and isinstance(body.get("operations"), list):
        updates = [i for i in body["operations"] if isinstance(i, dict) and i.get("op") == "update"]
        return any(_recurrence_without_due_at(item.get("data")) for item in updates)
    return False


@schemathesis.hook
def filter_case(context: schemathesis.HookContext, case: Any) -> bool:
    if not _is_positive(case):
        return True
    query = case.query or {}
    if any(name in query for name in SIGNED_PARAMETERS):
        return False
    return not _depends_on_stored_task(case.method.upper(), case.body)
