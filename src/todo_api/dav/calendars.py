"""Calendars (the collections of the home, one per list and the inbox): MKCALENDAR (a new
list), PROPPATCH (its name, color and order; all or nothing) and DELETE of a calendar (the
list, by its owner).

Every change goes through the lists service with the caller as actor."""

from typing import Any

from lxml import etree
from pydantic import ValidationError
from starlette.responses import Response

from todo_api.dav import resources, store
from todo_api.dav.call import Call, invalid, multistatus_response, one_answer
from todo_api.dav.errors import DavError, forbidden
from todo_api.dav.resources import (
    CALENDAR_COLOR,
    CALENDAR_ORDER,
    DISPLAYNAME,
    SUPPORTED_COMPONENTS,
    Path,
    text_of,
)
from todo_api.dav.xml import CALDAV, DAV, Name, propstat_response
from todo_api.dav.xml import element as xml_element
from todo_api.lists import service as lists_service
from todo_api.lists.errors import ListNameTaken
from todo_api.lists.schemas import ListCreate, ListUpdate
from todo_api.tables.dav import NAME_MAX_LENGTH


async def delete_calendar(call: Call, path: Path) -> Response:
    async with call.connection() as conn:
        coll = await call.collection(conn, path.segment)
    if coll.list_id is None:
        raise forbidden("The inbox cannot be deleted")
    if not coll.owned:
        raise forbidden("Only the list's owner deletes it")
    await call.caller.run(lists_service.delete_list, coll.list_id)
    return Response(status_code=204)


async def mkcalendar(call: Call, path: Path) -> Response:
    if path.kind != "collection" or not path.segment:
        raise DavError(405, "Calendars are made in the calendar home")
    segment = path.segment
    if len(segment) > NAME_MAX_LENGTH:
        raise DavError(403, f"A calendar's name is at most {NAME_MAX_LENGTH} characters")
    async with call.connection() as conn:
        if await store.segment_taken(conn, await call.collections(conn), segment):
            # No two collections of a home ever share an href (RFC 4791 §5.3.1.2).
            raise DavError(
                405,
                "This path is taken: choose another name for the calendar",
                Name(DAV, "resource-must-be-null"),
            )
    root = await call.xml()
    props = _set_props(root)
    components = props.get(SUPPORTED_COMPONENTS)
    if components is not None and "VTODO" not in {c.get("name") for c in components}:
        # A calendar here holds tasks only: one for events or journals alone is refused,
        # rather than made and then refusing every object put in it (RFC 4791 §5.3.1.1).
        raise DavError(
            403,
            "Calendars here hold tasks (VTODO) only",
            Name(CALDAV, "supported-calendar-component"),
        )
    name = text_of(props.get(DISPLAYNAME)) or segment
    color = _color(text_of(props.get(CALENDAR_COLOR))) if CALENDAR_COLOR in props else None
    try:
        data = ListCreate.model_validate({"name": name, "color": color})
    except ValidationError as exc:
        raise invalid(exc) from None
    try:
        created = await call.caller.create(lists_service.create_list, data)
    except ListNameTaken:
        raise DavError(
            403, f"You have a list named {name} already", Name(DAV, "resource-must-be-null")
        ) from None
    if segment != str(created["id"]):
        async with call.connection() as conn:
            await conn.execute(
                store.SET_COLLECTION_NAME, {"list_id": created["id"], "name": segment}
            )
    return Response(status_code=201)


def _set_props(root: etree._Element | None) -> dict[Name, etree._Element]:
    """The properties a MKCALENDAR or PROPPATCH body sets."""
    found: dict[Name, etree._Element] = {}
    if root is None:
        return found
    for node in root.iter(Name(DAV, "set").tag):
        for prop in node.iter(Name(DAV, "prop").tag):
            for value in prop:
                if isinstance(value.tag, str):
                    found[Name.of(value.tag)] = value
    return found


def _color(text: str) -> str | None:
    """Apple's `#RRGGBBAA` (or `#RRGGBB`) as a list's `#rrggbb`."""
    text = text.strip()
    if not text:
        return None
    return text[:7].lower()


async def proppatch(call: Call, path: Path) -> Response:
    """All or nothing (RFC 4918 §9.2): when one property cannot be set or removed, none is,
    and the others are answered 424 Failed Dependency."""
    if path.kind != "collection":
        raise forbidden("Only a calendar's properties can be changed")
    async with call.connection() as conn:
        coll = await call.collection(conn, path.segment)
    root = await call.xml()
    if root is None or Name.of(root.tag) != Name(DAV, "propertyupdate"):
        raise DavError(400, "A PROPPATCH body is a DAV:propertyupdate")
    props = _set_props(root)
    removed = [
        Name.of(value.tag)
        for node in root.iter(Name(DAV, "remove").tag)
        for prop in node.iter(Name(DAV, "prop").tag)
        for value in prop
        if isinstance(value.tag, str)
    ]
    owner = coll.owned and coll.list_id is not None
    change: dict[str, Any] = {}
    place: int | None = None
    refused: list[Name] = []  # 403: not the caller's to change, or not a property here
    conflicts: list[Name] = []  # 409: a value the property cannot take
    for name, value in props.items():
        if name == DISPLAYNAME and owner:
            change["name"] = coll.own_name(text_of(value))
        elif name == CALENDAR_COLOR and owner:
            change["color"] = _color(text_of(value))
        elif name == CALENDAR_ORDER:
            place = _position(text_of(value))
            if place is None:
                conflicts.append(name)
            elif coll.list_id is None:
                place = None  # the inbox always comes first
        else:
            refused.append(name)
    for name in removed:
        if name == CALENDAR_COLOR and owner:
            change["color"] = None
        else:
            refused.append(name)
    every = [*props, *removed]
    href = resources.collection_path(call.user_id, coll)
    if refused or conflicts:
        failed = [name for name in every if name not in refused and name not in conflicts]
        outcome = {403: refused, 409: conflicts, 424: failed}
        outcome = {status: names for status, names in outcome.items() if names}
        return multistatus_response(one_answer(propstat_response(href, _elements(outcome))))
    try:
        update = ListUpdate.model_validate(change) if change else None
    except ValidationError as exc:
        raise invalid(exc) from None
    if coll.list_id is not None and (update is not None or place is not None):
        try:
            async with call.connection() as conn, conn.transaction():
                if update is not None:
                    await lists_service.update_list(conn, call.user_id, coll.list_id, update)
                if place is not None:
                    await lists_service.set_list_position(conn, call.user_id, coll.list_id, place)
        except ListNameTaken:
            raise DavError(409, "You have a list with that name already") from None
    return multistatus_response(one_answer(propstat_response(href, _elements({200: every}))))


def _elements(outcome: dict[int, list[Name]]) -> dict[int, list[etree._Element]]:
    return {status: [xml_element(name) for name in names] for status, names in outcome.items()}


def _position(text: str) -> int | None:
    """A `calendar-order` as a position (None: not an integer a position can be)."""
    try:
        number = int(text)
    except ValueError:
        return None
    return number if abs(number) < 2**62 else None
