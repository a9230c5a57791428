"""Schemathesis hooks for bench/schemathesis.sh (loaded through SCHEMATHESIS_HOOKS).

Drops the schema-valid cases whose fate no schema can tell, because it depends on what the
server holds or on the world outside the request; every other case, and every
schema-violating one, is sent as drawn:

- a drawn `cursor`, `since` or `Last-Event-ID`: these are signed by the server (X-Next-Cursor,
  the feed's `next`, a stream event's id), so no drawn string is one and the service rightly
  answers 400;
- an update that sets a recurrence (or a reminder before the due time) and gives no due time,
  or clears one and leaves the recurrence out: taken or refused by what the stored task holds
  (a recurrence needs a due date, as the document says);
- a date-time on the first or last day with an offset that takes it outside years 1 to 9999
  once in UTC (refused, as the document says in words; JSON Schema's `date-time` cannot);
- a body naming a list, task or person by a drawn id (`list_id`, `parent_id`, `before`,
  `after`, `assignee_id`): it names none the user may use, which is 400 naming the field (a
  filter naming nothing in a query is only an empty page, and is sent);
- a reminders window whose `to` comes before its `from` (by default now).

Some schema-valid values the service refuses are replaced rather than dropped (dropped, they
would be most of what is drawn): a `timezone` the machine's time-zone database does not hold
(the document says an IANA name; which names exist is the database's), a reminder's
`before_due` outside a minute to 30 days and a webhook URL whose port is out of range (the
document says both in words).

And one kind of schema-violating case: a string with white space around it. The service trims
text before its length is counted (the document's lengths are those of the stored text), so
one made too long with padding may be taken.

Every webhook URL the service would take is sent as a local address that refuses connections
(with WEBHOOK_ALLOW_PRIVATE_URLS set by the script): no host name is looked up and no delivery
leaves this machine.
"""

import json
import re
import zoneinfo
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import schemathesis

from todo_api.kit.reminders import parse_duration
from todo_api.kit.targets import url_problem
from todo_api.tables.webhooks import URL_MAX_LENGTH

SIGNED_PARAMETERS = ("cursor", "since")
REFERENCES = ("list_id", "parent_id", "before", "after", "assignee_id")
LOCAL_TARGET = "http://127.0.0.1:9/hooks"
ZONES = zoneinfo.available_timezones()


def _is_positive(case: Any) -> bool:
    meta = getattr(case, "meta", None)
    return meta is not None and meta.generation.mode.is_positive


def _rule_apart_from_its_due_date(data: Any) -> bool:
    """A recurrence, or a reminder before the due time, whose due time is the stored task's;
    or a due time cleared beside the stored task's recurrence."""
    if not isinstance(data, dict):
        return False
    if any(isinstance(data.get(name), str) for name in ("due_at", "due_date")):
        return False
    reminders = data.get("reminders")
    before_due = isinstance(reminders, list) and any(
        isinstance(r, dict) and r.get("before_due") is not None for r in reminders
    )
    cleared = any(name in data for name in ("due_at", "due_date"))
    return (
        isinstance(data.get("recurrence"), str)
        or before_due
        or (cleared and "recurrence" not in data)
    )


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


def _objects(value: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in `value`, nested ones too."""
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _objects(item)
    elif isinstance(value, list):
        for item in value:
            yield from _objects(item)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _duration_taken(text: str) -> bool:
    try:
        parse_duration(text)
    except ValueError:
        return False
    return True


def _taken_by_words(body: Any) -> None:
    """Values the document refuses in words only (see the module's docstring) replaced, in
    place, by ones it takes: filtered out instead, they would be most of what is drawn."""
    for item in _objects(body):
        zone = item.get("timezone")
        if isinstance(zone, str) and zone not in ZONES:
            item["timezone"] = "Europe/Berlin"
        before_due = item.get("before_due")
        if isinstance(before_due, str) and not _duration_taken(before_due):
            item["before_due"] = "PT15M"
        url = item.get("url")
        if isinstance(url, str) and url_problem(url.strip()) is not None:
            item["url"] = LOCAL_TARGET


def _instant(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _window_backwards(query: dict[str, Any]) -> bool:
    end = _instant(query.get("to"))
    start = _instant(query.get("from")) or datetime.now(UTC)
    return end is not None and end.tzinfo is not None and end < start


@schemathesis.hook
def filter_case(context: schemathesis.HookContext, case: Any) -> bool:
    if not _is_positive(case):
        return not any(text != text.strip() for text in _strings(case.body))
    query = case.query or {}
    headers = {name.lower() for name in case.headers or {}}
    if any(name in query for name in SIGNED_PARAMETERS) or "last-event-id" in headers:
        return False
    if _EDGE_INSTANT.search(json.dumps([case.body, query], default=str)):
        return False
    if case.path.endswith("/reminders") and _window_backwards(query):
        return False
    return not _depends_on_stored_rows(case.method.upper(), case.body)


@schemathesis.hook
def map_case(context: schemathesis.HookContext, case: Any) -> Any:
    if _is_positive(case):
        _taken_by_words(case.body)
    return case


@schemathesis.hook
def before_call(context: schemathesis.HookContext, case: Any, **kwargs: Any) -> None:
    # The examples phase is not filtered: an id it made up names nobody the service knows.
    if _is_positive(case):
        for item in _objects(case.body):
            for name in REFERENCES:
                if item.get(name) is not None:
                    item[name] = None
    for item in _objects(case.body):
        url = item.get("url")
        if isinstance(url, str) and len(url) <= URL_MAX_LENGTH and url_problem(url.strip()) is None:
            item["url"] = LOCAL_TARGET
