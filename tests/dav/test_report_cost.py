"""What CalDAV's reports cost on a large calendar, through HTTP on both databases: a list's
sync-collection, calendar-multiget and PROPFIND Depth 1 run a few statements a page, each
reading at most a page of rows (none of the user's other tasks); on PostgreSQL each statement
reads the index kept for it. The responses written directly are what lxml writes."""

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from lxml import etree

from tests.dav.helpers import NS, DavUser, dav_user, sync, vtodo, xml
from tests.tasks.feed_helpers import read_feed
from tests.tasks.test_feed_indexes import _indexes
from todo_api.config import Settings
from todo_api.dav import reports, store
from todo_api.db import Database, Query, insert_bound
from todo_api.db.database import Connection
from todo_api.kit.changes import END
from todo_api.kit.deps import held
from todo_api.tables.dav import dav_objects

TASKS = 450  # three pages of PROPFIND's, one of sync-collection's (FEED_PAGE 500) less
OTHERS = 300  # the user's tasks elsewhere, which a list's reports never read


@pytest.fixture
async def ada(app: FastAPI, settings: Settings) -> AsyncIterator[DavUser]:
    async with dav_user(app, settings, "ada@example.com") as user:
        yield user


async def _fill(user: DavUser, list_id: str | None, count: int, title: str) -> set[str]:
    made: set[str] = set()
    for start in range(0, count, 100):
        operations = [
            {"op": "create", "data": {"title": f"{title} {n}", "list_id": list_id}}
            for n in range(start, min(start + 100, count))
        ]
        response = await user.api.post("/api/tasks/bulk", json={"operations": operations})
        assert response.status_code == 200, response.text
        made |= {result["id"] for result in response.json()["results"]}
    return made


async def _big_list(user: DavUser) -> tuple[str, set[str]]:
    """A list of TASKS tasks, its user with OTHERS more in another list and the inbox."""
    made = await user.api.post("/api/lists", json={"name": "Big"})
    other = await user.api.post("/api/lists", json={"name": "Other"})
    assert made.status_code == other.status_code == 201
    ids = await _fill(user, made.json()["id"], TASKS, "Big")
    elsewhere = await _fill(user, other.json()["id"], OTHERS // 2, "Other")
    elsewhere |= await _fill(user, None, OTHERS - OTHERS // 2, "Inbox")
    await read_feed(user.api, wait_for=ids | elsewhere)  # past PostgreSQL's bound
    return f"{user.home}{made.json()['id']}/", ids


@contextmanager
def statements() -> Iterator[list[int]]:
    """The rows each statement the app runs meanwhile returns, in order."""
    seen: list[int] = []
    original = Connection.execute

    async def counted(self: Connection, statement: Any, params: Any = None) -> Any:
        result = await original(self, statement, params)
        seen.append(len(result.rows))
        return result

    Connection.execute = counted  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        Connection.execute = original  # type: ignore[method-assign]


def _pages(count: int, page: int) -> int:
    return count // page + 1


async def test_a_lists_reports_read_a_page_at_a_time(ada: DavUser) -> None:
    coll, _ = await _big_list(ada)
    with statements() as seen:
        found, _ = await sync(ada.dav, coll)
    assert len(found) == TASKS
    # Authentication, the collection, then per feed page the bound and one read of the list.
    assert max(seen) <= TASKS + 1 < OTHERS + TASKS
    assert sum(seen) <= TASKS + 10
    assert len(seen) <= 6

    hrefs = sorted(found)
    with statements() as seen:
        body = (
            '<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
            "<d:prop><d:getetag/><c:calendar-data/></d:prop>"
            + "".join(f"<d:href>{href}</d:href>" for href in hrefs[:100])
            + "</c:calendar-multiget>"
        ).encode()
        response = await ada.dav.request("REPORT", coll, content=body)
    assert response.status_code == 207
    assert len(xml(response).findall(".//c:calendar-data", NS)) == 100
    assert max(seen) <= 100  # the objects named, looked up by name and by id
    assert len(seen) <= 6

    with statements() as seen:
        response = await ada.dav.request(
            "PROPFIND",
            coll,
            content=b'<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>',
            headers={"Depth": "1"},
        )
    assert response.status_code == 207
    assert len(xml(response).findall("d:response", NS)) == 1 + TASKS  # the list, its tasks
    assert max(seen) <= store.PAGE
    assert len(seen) <= 6 + _pages(TASKS, store.PAGE)


@contextmanager
def columns_read() -> Iterator[set[str]]:
    """The columns of the rows the app reads meanwhile."""
    seen: set[str] = set()
    original = Connection.execute

    async def counted(self: Connection, statement: Any, params: Any = None) -> Any:
        result = await original(self, statement, params)
        for row in result.rows:
            seen.update(row)
        return result

    Connection.execute = counted  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        Connection.execute = original  # type: ignore[method-assign]


def _propfind(*props: str) -> bytes:
    inner = "".join(props)
    return (
        '<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
        f"<d:prop>{inner}</d:prop></d:propfind>"
    ).encode()


async def test_propfind_reads_the_tasks_whole_only_for_their_text(ada: DavUser) -> None:
    """A PROPFIND Depth 1 that asks for no calendar-data reads of each task only what its ETag
    and name need (a page of a few columns, not of whole tasks with a client's text); its
    answer names the same objects with the same ETags as one that asks for their text."""
    list_id = (await ada.api.post("/api/lists", json={"name": "Errands"})).json()["id"]
    for coll, where in ((f"{ada.home}inbox/", {}), (f"{ada.home}{list_id}/", {"list_id": list_id})):
        put = await ada.dav.put(f"{coll}a%26b%20c.ics", content=vtodo(f"milk-{where}", "Milk"))
        assert put.status_code == 201, put.text
        made = await ada.api.post("/api/tasks", json={"title": "Eggs", **where})
        assert made.status_code == 201, made.text
        answers = {}
        for props in (("<d:getetag/>",), ("<d:getetag/>", "<c:calendar-data/>")):
            with columns_read() as seen:
                response = await ada.dav.request(
                    "PROPFIND", coll, content=_propfind(*props), headers={"Depth": "1"}
                )
            assert response.status_code == 207, response.text
            assert ("dav_sent" in seen) is (len(props) == 2)
            answers[len(props)] = {
                node.findtext("d:href", namespaces=NS): node.findtext(".//d:getetag", namespaces=NS)
                for node in xml(response).iterfind("d:response", NS)
                if node.findtext("d:href", namespaces=NS) != coll
            }
        assert answers[1] == answers[2]
        assert f"{coll}a%26b%20c.ics" in answers[1]
        assert f"{coll}{made.json()['id']}.ics" in answers[1]
        assert all(answers[1].values())


@contextmanager
def home_reads() -> Iterator[list[None]]:
    """Each read of the caller's lists (the home's collections) meanwhile."""
    seen: list[None] = []
    original = Connection.execute

    async def counted(self: Connection, statement: Any, params: Any = None) -> Any:
        if statement is store.ALL_LISTS:
            seen.append(None)
        return await original(self, statement, params)

    Connection.execute = counted  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        Connection.execute = original  # type: ignore[method-assign]


async def test_a_request_reads_the_homes_lists_once(ada: DavUser) -> None:
    """Which list a path names depends on all of them: a request reads them once, whatever
    its method needs of them (a PUT also looks for the task in the others)."""
    made = await ada.api.post("/api/lists", json={"name": "Errands"})
    assert made.status_code == 201, made.text
    coll = f"{ada.home}{made.json()['id']}/"
    with home_reads() as seen:
        put = await ada.dav.put(
            f"{coll}milk.ics",
            content=vtodo("milk", "Buy milk"),
            headers={"Content-Type": "text/calendar", "If-None-Match": "*"},
        )
    assert put.status_code == 201, put.text
    assert len(seen) == 1
    with home_reads() as seen:
        found = await ada.dav.request(
            "PROPFIND",
            coll,
            content=b'<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>',
            headers={"Depth": "0"},
        )
    assert found.status_code == 207, found.text
    assert len(seen) == 1
    for method in ("GET", "DELETE"):
        with home_reads() as seen:
            answer = await ada.dav.request(method, f"{coll}milk.ics")
        assert answer.status_code in (200, 204), answer.text
        assert len(seen) == 1


async def test_a_lists_statements_read_its_indexes(
    app: FastAPI, settings: Settings, ada: DavUser
) -> None:
    if settings.is_sqlite:
        pytest.skip("plans are PostgreSQL's")
    coll, ids = await _big_list(ada)
    list_id = coll.rstrip("/").rsplit("/", 1)[1]
    async with held(app, Database).connection() as conn:
        for table in ("tasks", "task_tombstones", "task_departures", "dav_objects"):
            await conn.driver.execute(f"VACUUM ANALYZE {table}")
    start = {"txid": 0, "seq": 0, "bound": END, "limit": reports.FEED_PAGE + 1}
    params: dict[str, Any] = {"user_id": uuid.UUID(ada.id), "list_id": uuid.UUID(list_id), **start}
    plans: list[tuple[Query, set[tuple[str, str]]]] = [
        (store._changed_query(False, whole=True), {("tasks", "ix_tasks_list_id_change")}),
        (store._changed_query(False, whole=False), {("tasks", "ix_tasks_list_id_change")}),
        (store._GONE[False][0], {("task_tombstones", "ix_task_tombstones_list_id_change")}),
        (store._GONE[False][1], {("task_departures", "ix_task_departures_list_id_change")}),
        (store._page_query(False), {("tasks", "ix_tasks_list_id_created_at_id")}),
        (store._page_query(False, whole=False), {("tasks", "ix_tasks_list_id_created_at_id")}),
    ]
    page = {"after_at": store.FIRST_PAGE[0], "after_id": store.FIRST_PAGE[1], "limit": 200}
    for query, wanted in plans:
        assert wanted <= await _indexes(app, query, {**params, **page}), query.statement
    # The inbox's moves out since a recent token: the caller's tasks changed since then.
    async with held(app, Database).connection() as conn:
        latest = await conn.driver.fetchrow("SELECT max(change_txid), max(change_seq) FROM tasks")
    recent = {**params, "txid": latest[0], "seq": latest[1] - 10}
    moved_out = await _indexes(app, store._GONE[True][1], recent)
    assert ("tasks", "ix_tasks_user_id_change") in moved_out
    by_id = {"values": [uuid.UUID(task) for task in sorted(ids)[:100]]}
    assert ("tasks", "pk_tasks") in await _indexes(app, store._ids_query("postgresql", 0), by_id)
    by_name = {"values": [f"{task}.ics" for task in sorted(ids)[:100]]}
    named = await _indexes(app, store._names_query("postgresql", 0), by_name)
    assert ("dav_objects", "ix_dav_objects_name") in named


async def test_a_name_many_objects_share_is_found_in_the_collection_alone(
    app: FastAPI, ada: DavUser
) -> None:
    """Clients choose object names, and any number of other objects may carry one: the caller's
    object of that name is found, and only it, with the ids looked up a page a statement (more
    than SQLite's default limit of 32 766 parameters here; Debian's build takes 250 000)."""
    others = [
        {"task_id": uuid.uuid4(), "name": "shared.ics", "uid": f"other-{n}"} for n in range(16_400)
    ]
    async with held(app, Database).transaction() as conn:
        insert = Query(insert_bound(dav_objects, "task_id", "name", "uid"))
        await conn.execute_many(insert, others)
    href = f"{ada.home}inbox/shared.ics"
    assert (await ada.dav.get(href)).status_code == 404
    put = await ada.dav.put(href, content=vtodo("mine", "Mine"))
    assert put.status_code == 201, put.text
    got = await ada.dav.get(href)
    assert got.status_code == 200
    assert "SUMMARY:Mine" in got.text
    body = (
        '<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
        f"<d:prop><d:getetag/><c:calendar-data/></d:prop><d:href>{href}</d:href>"
        "</c:calendar-multiget>"
    ).encode()
    response = await ada.dav.request("REPORT", f"{ada.home}inbox/", content=body)
    assert response.status_code == 207
    [data] = xml(response).findall(".//c:calendar-data", NS)
    assert "SUMMARY:Mine" in (data.text or "")


TRICKY = "Fish & chips <today> ]]> \"quoted\" 'single' ünïcödé ☃ 😀\\,"


async def test_responses_are_what_lxml_writes(ada: DavUser) -> None:
    inbox = f"{ada.home}inbox/"
    sent = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VTODO\r\n"
        f"UID:tricky\r\nDTSTAMP:20261101T000000Z\r\nSUMMARY:{TRICKY}\r\n"
        "X-NOTE:a\tb\r\n  folded line & more\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
    ).encode()
    put = await ada.dav.put(f"{inbox}a%26b%20c.ics", content=sent)
    assert put.status_code == 201, put.text
    made = await ada.api.post("/api/tasks", json={"title": TRICKY, "description": "<&>\n2"})
    assert made.status_code == 201
    await read_feed(ada.api, wait_for={made.json()["id"]})
    task = made.json()["id"]
    missing = f"{inbox}no&ne.ics"
    hrefs = [f"{inbox}a%26b%20c.ics", f"{inbox}{task}.ics", missing.replace("&", "&amp;")]
    multiget = (
        '<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" '
        'xmlns:x="urn:x"><d:prop><d:getetag/><c:calendar-data/><d:getcontenttype/>'
        "<d:resourcetype/><d:displayname/><x:unknown/></d:prop>"
        + "".join(f"<d:href>{href}</d:href>" for href in hrefs)
        + "</c:calendar-multiget>"
    ).encode()
    answers = [
        await ada.dav.request("REPORT", inbox, content=multiget),
        await ada.dav.request(
            "PROPFIND", inbox, headers={"Depth": "1"}, content=b'<d:propfind xmlns:d="DAV:"/>'
        ),
        await ada.dav.request(
            "REPORT",
            inbox,
            content=b'<d:sync-collection xmlns:d="DAV:"><d:sync-token/><d:prop><d:getetag/>'
            b"<c:calendar-data xmlns:c='urn:ietf:params:xml:ns:caldav'/></d:prop>"
            b"</d:sync-collection>",
        ),
    ]
    for response in answers:
        assert response.status_code == 207, response.text
        raw = response.content
        root = etree.fromstring(raw)
        # Written as lxml writes the same document, response by response.
        body = raw.split(b"?>\n", 1)[1]
        head = re.match(rb"<d:multistatus[^>]*>\n", body)
        assert head is not None
        written = b"".join(etree.tostring(node, encoding="utf-8") for node in root)
        assert body == head.group(0) + written + b"</d:multistatus>\n"
    objects = {
        node.findtext("d:href", namespaces=NS): node
        for node in xml(answers[0]).iterfind("d:response", NS)
    }
    kept = objects[f"{inbox}a%26b%20c.ics"]
    assert kept.findtext(".//c:calendar-data", namespaces=NS) == sent.decode()
    assert kept.find(".//x:unknown", {"x": "urn:x"}) is not None  # not found, named as asked
    written = objects[f"{inbox}{task}.ics"].findtext(".//c:calendar-data", namespaces=NS)
    got = await ada.dav.get(f"{inbox}{task}.ics")
    assert written == got.text
    assert "Fish & chips <today>" in written
    assert "404" in (objects[missing].findtext("d:status", namespaces=NS) or "")
