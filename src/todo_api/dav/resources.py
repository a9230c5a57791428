"""The resources under /dav and their properties (RFC 4918, 4791, 5397, 6578; Apple's and
calendarserver.org's extensions that clients read).

Paths: `/dav/` (the root), `/dav/principals/{user_id}/` (the principal),
`/dav/calendars/{user_id}/` (the home), `/dav/calendars/{user_id}/{collection}/` (a list, or
`inbox`) and `/dav/calendars/{user_id}/{collection}/{name}` (a task); the saved filters' read-only
calendars (todo_api.dav.filters) at `/dav/calendars/{user_id}/filters/` (their folder),
`.../filters/{filter_id}/` and `.../filters/{filter_id}/{task_id}.ics`. Another user's paths
are not found, as on /api.
"""

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from lxml import etree

from todo_api import ical
from todo_api.dav import store
from todo_api.dav.store import Collection
from todo_api.dav.xml import (
    APPLE,
    CALDAV,
    CALSERVER,
    DAV,
    Answer,
    Name,
    child,
    element,
    href,
    response_bytes,
)
from todo_api.db import Row
from todo_api.files import in_calendar
from todo_api.kit.conditional import etag

PREFIX = "/dav"
ROOT = f"{PREFIX}/"
MAX_RESOURCE_BYTES = 256 * 1024
CONTENT_TYPE = "text/calendar; charset=utf-8"


def principal_path(user_id: uuid.UUID) -> str:
    return f"{PREFIX}/principals/{user_id}/"


def home_path(user_id: uuid.UUID) -> str:
    return f"{PREFIX}/calendars/{user_id}/"


@functools.lru_cache(maxsize=256)  # a report writes it for each of thousands of objects
def collection_path(user_id: uuid.UUID, coll: Collection) -> str:
    return f"{home_path(user_id)}{quote(coll.segment)}/"


def object_path(user_id: uuid.UUID, coll: Collection, name: str) -> str:
    return f"{collection_path(user_id, coll)}{quote(name)}"


@dataclass(frozen=True)
class Path:
    """What a request path names: `kind` is root, principals, principal, calendars, home,
    collection or object; filters, filter or filter_object (`segment` the filter's id)."""

    kind: str
    user_id: uuid.UUID | None = None
    segment: str | None = None
    name: str | None = None


def parse_path(path: str, user_id: uuid.UUID | None) -> Path | None:
    """The resource `path` names for the caller (None: nothing they can see); with no caller,
    what kind of resource it is, whoever's."""
    parts = [part for part in path.removeprefix(PREFIX).split("/") if part]
    if not parts:
        return Path("root")
    head, rest = parts[0], parts[1:]
    if head not in ("principals", "calendars"):
        return None
    if not rest:
        return Path(head)
    if user_id is not None and rest[0] != str(user_id):
        return None
    if head == "principals":
        return Path("principal", user_id) if len(rest) == 1 else None
    if len(rest) == 1:
        return Path("home", user_id)
    if rest[1] == store.FILTERS:
        kinds = {2: "filters", 3: "filter", 4: "filter_object"}
        kind = kinds.get(len(rest))
        return Path(kind, user_id, *rest[2:]) if kind is not None else None
    if len(rest) == 2:
        return Path("collection", user_id, rest[1])
    if len(rest) == 3:
        return Path("object", user_id, rest[1], rest[2])
    return None


# What each kind of resource answers (any status but 405): GET and HEAD only an object, PUT
# an object, DELETE an object or a calendar; PROPPATCH anywhere (403 but on a calendar);
# MKCALENDAR only where a calendar may be made (`mkcalendar`). A filter's calendar and its
# objects answer what a list's do, writes with 403.
_METHODS = ("OPTIONS", "GET", "HEAD", "PUT", "DELETE", "PROPFIND", "PROPPATCH", "REPORT")
_ANSWERED = {
    "object": frozenset(_METHODS),
    "collection": frozenset(_METHODS) - {"GET", "HEAD", "PUT"},
    "filter_object": frozenset(_METHODS),
    "filter": frozenset(_METHODS) - {"GET", "HEAD", "PUT"},
}
_ELSEWHERE = frozenset(_METHODS) - {"GET", "HEAD", "PUT", "DELETE"}


def allowed(kind: str, *, mkcalendar: bool = False) -> str:
    """`Allow` for a resource of `kind` (RFC 9110 §10.2.1)."""
    answered = _ANSWERED.get(kind, _ELSEWHERE)
    methods = [m for m in _METHODS if m in answered] + (["MKCALENDAR"] if mkcalendar else [])
    return ", ".join(methods)


# --- Properties ------------------------------------------------------------------------------

RESOURCETYPE = Name(DAV, "resourcetype")
DISPLAYNAME = Name(DAV, "displayname")
GETETAG = Name(DAV, "getetag")
GETCONTENTTYPE = Name(DAV, "getcontenttype")
SYNC_TOKEN = Name(DAV, "sync-token")
GETCTAG = Name(CALSERVER, "getctag")
CALENDAR_DATA = Name(CALDAV, "calendar-data")
CALENDAR_COLOR = Name(APPLE, "calendar-color")
CALENDAR_ORDER = Name(APPLE, "calendar-order")
SUPPORTED_COMPONENTS = Name(CALDAV, "supported-calendar-component-set")
CURRENT_USER_PRINCIPAL = Name(DAV, "current-user-principal")
# Properties a client must ask for by name (costly, or large): allprop leaves them out.
NOT_IN_ALLPROP = frozenset({CALENDAR_DATA, SYNC_TOKEN, GETCTAG})

# What a property's value is made of: an element, given the resource.
Value = Callable[[], etree._Element | None]


def _hrefs(name: Name, *paths: str) -> etree._Element:
    return element(name, None, *(href(p) for p in paths))


def _types(*names: Name) -> etree._Element:
    return element(RESOURCETYPE, None, *(element(n) for n in names))


def _privileges(*names: str) -> etree._Element:
    root = element(Name(DAV, "current-user-privilege-set"))
    for name in names:
        child(child(root, Name(DAV, "privilege")), Name(DAV, name))
    return root


_READ = ("read", "read-current-user-privilege-set")
_WRITE_CONTENT = ("write-content", "bind", "unbind")


def _reports(*names: Name) -> etree._Element:
    root = element(Name(DAV, "supported-report-set"))
    for name in names:
        report = child(child(root, Name(DAV, "supported-report")), Name(DAV, "report"))
        child(report, name)
    return root


def user_props(user_id: uuid.UUID, email: str | None) -> dict[Name, Value]:
    """What every resource says of the caller (discovery asks any of them)."""
    principal = principal_path(user_id)
    addresses = [f"mailto:{email}"] if email else []
    return {
        CURRENT_USER_PRINCIPAL: lambda: _hrefs(CURRENT_USER_PRINCIPAL, principal),
        Name(DAV, "principal-URL"): lambda: _hrefs(Name(DAV, "principal-URL"), principal),
        Name(DAV, "principal-collection-set"): lambda: _hrefs(
            Name(DAV, "principal-collection-set"), f"{PREFIX}/principals/"
        ),
        Name(CALDAV, "calendar-home-set"): lambda: _hrefs(
            Name(CALDAV, "calendar-home-set"), home_path(user_id)
        ),
        Name(CALDAV, "calendar-user-address-set"): lambda: _hrefs(
            Name(CALDAV, "calendar-user-address-set"), *addresses
        ),
    }


def root_props(
    user_id: uuid.UUID, email: str | None, kind: str, app_name: str
) -> dict[Name, Value]:
    """A root's, the principal's or the calendar home's properties: named by the person's
    email (the principal) or the app's name (`APP_NAME`), as clients list them."""
    types = [Name(DAV, "collection")]
    if kind == "principal":
        types.append(Name(DAV, "principal"))
    display = email or app_name if kind == "principal" else app_name
    return {
        **user_props(user_id, email),
        RESOURCETYPE: lambda: _types(*types),
        DISPLAYNAME: lambda: element(DISPLAYNAME, display),
        Name(DAV, "owner"): lambda: _hrefs(Name(DAV, "owner"), principal_path(user_id)),
        Name(DAV, "current-user-privilege-set"): lambda: _privileges(*_READ),
    }


def collection_props(
    user_id: uuid.UUID,
    email: str | None,
    coll: Collection,
    order: int,
    *,
    ctag: Callable[[], str],
    sync_token: Callable[[], str],
) -> dict[Name, Value]:
    privileges: tuple[str, ...]
    if coll.owned:
        privileges = (*_READ, "write", "write-properties", *_WRITE_CONTENT)
    elif coll.writable:
        privileges = (*_READ, *_WRITE_CONTENT)
    else:
        privileges = _READ
    components = element(SUPPORTED_COMPONENTS)
    child(components, Name(CALDAV, "comp")).set("name", "VTODO")
    data = element(Name(CALDAV, "supported-calendar-data"))
    kind = child(data, Name(CALDAV, "calendar-data"))
    kind.set("content-type", "text/calendar")
    kind.set("version", "2.0")
    props: dict[Name, Value] = {
        **user_props(user_id, email),
        RESOURCETYPE: lambda: _types(Name(DAV, "collection"), Name(CALDAV, "calendar")),
        DISPLAYNAME: lambda: element(DISPLAYNAME, coll.display_name),
        SUPPORTED_COMPONENTS: lambda: components,
        Name(CALDAV, "supported-calendar-data"): lambda: data,
        Name(CALDAV, "max-resource-size"): lambda: element(
            Name(CALDAV, "max-resource-size"), str(MAX_RESOURCE_BYTES)
        ),
        GETCTAG: lambda: element(GETCTAG, ctag()),
        SYNC_TOKEN: lambda: element(SYNC_TOKEN, sync_token()),
        CALENDAR_ORDER: lambda: element(CALENDAR_ORDER, str(order)),
        Name(DAV, "supported-report-set"): lambda: _reports(
            Name(DAV, "sync-collection"),
            Name(CALDAV, "calendar-multiget"),
            Name(CALDAV, "calendar-query"),
            Name(CALDAV, "free-busy-query"),
        ),
        Name(DAV, "current-user-privilege-set"): lambda: _privileges(*privileges),
        Name(DAV, "owner"): lambda: _hrefs(Name(DAV, "owner"), principal_path(coll.owner_id)),
    }
    if coll.color is not None:
        color = coll.color
        props[CALENDAR_COLOR] = lambda: element(CALENDAR_COLOR, color)
    return props


def object_body(row: Row, base: str) -> bytes:
    """The calendar object of a task: as the client last sent it while the task has not
    changed since, else written from the task, its files as ATTACH under `base`
    (`in_calendar.base_url`). (A file added or deleted is a new version of the task.)"""
    if row.dav_sent is not None and row.dav_sent_version == row.version:
        sent: bytes = row.dav_sent.encode()
        return sent
    return ical.write(
        row,
        uid=store.object_uid(row),
        parent_uid=store.parent_uid(row),
        extra=row.dav_extra,
        files=in_calendar.attached(row, base),
    )


OBJECT_TYPE = f"{CONTENT_TYPE}; component=vtodo"


def object_props(row: Row, body: Callable[[], bytes]) -> dict[Name, Value]:
    return {
        RESOURCETYPE: lambda: element(RESOURCETYPE),
        GETETAG: lambda: element(GETETAG, etag(row.version)),
        GETCONTENTTYPE: lambda: element(GETCONTENTTYPE, OBJECT_TYPE),
        CALENDAR_DATA: lambda: element(CALENDAR_DATA, body().decode()),
    }


_OBJECT_ALLPROP = (RESOURCETYPE, GETETAG, GETCONTENTTYPE)  # object_props less NOT_IN_ALLPROP


def object_answer(
    path: str, row: Row, body: Callable[[], bytes], wanted: list[Name] | None
) -> Answer:
    """`answer(path, object_props(row, body), wanted)`, written directly: a report's
    response per object."""
    found: list[tuple[Name, str | None]] = []
    missing: list[Name] = []
    for name in wanted if wanted is not None else _OBJECT_ALLPROP:
        if name == GETETAG:
            found.append((name, etag(row.version)))
        elif name == CALENDAR_DATA:
            found.append((name, body().decode()))
        elif name == GETCONTENTTYPE:
            found.append((name, OBJECT_TYPE))
        elif name == RESOURCETYPE:
            found.append((name, None))
        else:
            missing.append(name)
    return response_bytes(path, found, missing)


def answer(
    path: str, props: dict[Name, Value], wanted: list[Name] | None, *, names_only: bool = False
) -> etree._Element:
    """The multistatus response for one resource: the properties asked for (`wanted`; None:
    all but the costly ones) found and not found."""
    from todo_api.dav.xml import response

    if names_only:
        return response(path, [element(name) for name in props])
    found: list[etree._Element] = []
    missing: list[Name] = []
    for name in wanted if wanted is not None else [n for n in props if n not in NOT_IN_ALLPROP]:
        make = props.get(name)
        value = make() if make is not None else None
        if value is None:
            missing.append(name)
        else:
            found.append(value)
    return response(path, found, missing)


def requested(root: etree._Element | None) -> tuple[list[Name] | None, bool]:
    """The properties a PROPFIND (or a REPORT's prop) asks for: (names, names_only); None
    names all (allprop, or no body)."""
    if root is None:
        return None, False
    for node in root:
        tag = Name.of(node.tag)
        if tag == Name(DAV, "prop"):
            return [Name.of(p.tag) for p in node if isinstance(p.tag, str)], False
        if tag == Name(DAV, "propname"):
            return None, True
    return None, False


def text_of(node: Any) -> str:
    return "".join(node.itertext()).strip() if node is not None else ""
