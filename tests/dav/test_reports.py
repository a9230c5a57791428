"""CalDAV's reports through HTTP, on both databases: sync-collection on the change feed (moves
out, deletions, lost access, DAV:limit), calendar-multiget and calendar-query."""

import pytest

from tests.dav.helpers import NS, DavUser, new_list, new_task, sync, sync_body, vtodo, xml
from tests.lists.sharing import remove, share
from tests.tasks.feed_helpers import read_feed


async def test_sync_collection_reports_what_the_feed_reports(ada: DavUser) -> None:
    errands = await new_list(ada, "Errands")
    home = await new_list(ada, "Home")
    coll = f"{ada.home}{errands}/"
    kept = await new_task(ada, "Kept", list_id=errands)
    deleted = await new_task(ada, "Deleted", list_id=errands)
    moved = await new_task(ada, "Moved", list_id=errands)
    await new_task(ada, "Elsewhere", list_id=home)
    first, token = await sync(ada.dav, coll, wait_for={kept, deleted, moved})
    assert set(first) == {f"{coll}{kept}.ics", f"{coll}{deleted}.ics", f"{coll}{moved}.ics"}
    assert all(value.startswith('"') for value in first.values())  # each with its ETag

    nothing, token = await sync(ada.dav, coll, token)
    assert nothing == {}
    await ada.api.patch(f"/api/tasks/{kept}", json={"title": "Kept, changed"})
    await ada.api.delete(f"/api/tasks/{deleted}")
    await ada.api.post(f"/api/tasks/{moved}/move", json={"list_id": home})
    added = await new_task(ada, "Added", list_id=errands)
    changes, token = await sync(ada.dav, coll, token, wait_for={kept, deleted, moved, added})
    assert changes[f"{coll}{kept}.ics"].startswith('"')
    assert changes[f"{coll}{added}.ics"].startswith('"')
    assert "404" in changes[f"{coll}{deleted}.ics"]
    assert "404" in changes[f"{coll}{moved}.ics"]
    assert len(changes) == 4
    there, _ = await sync(ada.dav, f"{ada.home}{home}/", wait_for={moved})
    assert f"{ada.home}{home}/{moved}.ics" in there


async def test_a_move_out_of_the_inbox_is_gone_from_it(ada: DavUser) -> None:
    errands = await new_list(ada, "Errands")
    task = await new_task(ada, "Wander")
    inbox = f"{ada.home}inbox/"
    _, token = await sync(ada.dav, inbox, wait_for={task})
    await ada.api.post(f"/api/tasks/{task}/move", json={"list_id": errands})
    changes, _ = await sync(ada.dav, inbox, token, wait_for={task})
    assert "404" in changes[f"{inbox}{task}.ics"]


async def _follow(user: DavUser, coll: str, token: str, limit: int | None) -> dict[str, str]:
    """Every change from `token` on, page after page as a client follows them: {href: what
    the last page that named it said}."""
    seen: dict[str, str] = {}
    for _ in range(20):
        page, token = await sync(user.dav, coll, token, limit=limit)
        truncated = page.pop(coll, None)
        seen |= page
        if truncated is None:
            return seen
    raise AssertionError("the pages never ended")


async def _changed(user: DavUser, since: str, *changes: tuple[str, dict[str, object]]) -> None:
    """PATCH the tasks as told, then wait until the feed has the last of them (past
    PostgreSQL's bound, see sync)."""
    for task, fields in changes:
        response = await user.api.patch(f"/api/tasks/{task}", json=fields)
        assert response.status_code == 200, response.text
    await read_feed(user.api, since=since, wait_for={task for task, _ in changes})


@pytest.mark.parametrize("limit", [1, None])
async def test_a_move_out_of_the_inbox_is_told_whatever_changed_after(
    ada: DavUser, limit: int | None
) -> None:
    errands = await new_list(ada, "Errands")
    inbox = f"{ada.home}inbox/"
    moved = await new_task(ada, "Moved")
    other = await new_task(ada, "Other")
    _, start = await sync(ada.dav, inbox, wait_for={moved, other})
    feed = await read_feed(ada.api)
    # Moved out, then another inbox task changed, then the moved one again: a page that ends
    # at the other's change must not leave the move behind.
    await _changed(
        ada,
        feed["next"],
        (moved, {"list_id": errands}),
        (other, {"title": "Other, changed"}),
        (moved, {"title": "Moved, changed"}),
    )
    seen = await _follow(ada, inbox, start, limit)
    assert "404" in seen[f"{inbox}{moved}.ics"]
    assert seen[f"{inbox}{other}.ics"].startswith('"')
    assert len(seen) == 2


@pytest.mark.parametrize("limit", [1, None])
async def test_a_task_moved_out_of_the_inbox_and_back_is_there(
    ada: DavUser, limit: int | None
) -> None:
    errands = await new_list(ada, "Errands")
    inbox = f"{ada.home}inbox/"
    back = await new_task(ada, "Back")
    other = await new_task(ada, "Other")
    stays = await new_task(ada, "Stays", list_id=errands)
    _, start = await sync(ada.dav, inbox, wait_for={back, other})
    feed = await read_feed(ada.api)
    await _changed(
        ada,
        feed["next"],
        (back, {"list_id": errands}),
        (other, {"title": "Other, changed"}),
        (back, {"list_id": None}),
    )
    tag = (await ada.dav.get(f"{inbox}{back}.ics")).headers["ETag"]
    seen = await _follow(ada, inbox, start, limit)
    assert seen[f"{inbox}{back}.ics"] == tag
    assert seen[f"{inbox}{other}.ics"].startswith('"')
    assert len(seen) == 2
    # A first sync names what is in the inbox, nothing that left it or is elsewhere.
    everything = await _follow(ada, inbox, "", limit)
    assert set(everything) == {f"{inbox}{back}.ics", f"{inbox}{other}.ics"}
    assert all(value.startswith('"') for value in everything.values())
    assert stays not in "".join(everything)


async def test_a_limit_pages_through_every_change(ada: DavUser) -> None:
    inbox = f"{ada.home}inbox/"
    _, start = await sync(ada.dav, inbox)
    made = {await new_task(ada, f"Task {n}") for n in range(7)}
    await read_feed(ada.api, wait_for=made)  # past PostgreSQL's bound (see sync)
    seen: set[str] = set()
    token = start
    for _ in range(10):
        page, token = await sync(ada.dav, inbox, token, limit=3)
        truncated = page.pop(inbox, None)
        seen |= {href.rsplit("/", 1)[1].removesuffix(".ics") for href in page}
        if truncated is None:
            break
        assert "507" in truncated
    assert seen == made


async def test_unknown_tokens_and_lost_lists_are_refused(ada: DavUser, ben: DavUser) -> None:
    inbox = f"{ada.home}inbox/"
    response = await ada.dav.request(
        "REPORT",
        inbox,
        content=b'<d:sync-collection xmlns:d="DAV:"><d:sync-token>urn:todo-api:sync:nope'
        b"</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop>"
        b"</d:sync-collection>",
    )
    assert response.status_code == 403
    assert xml(response).find("d:valid-sync-token", NS) is not None
    _, bens_token = await sync(ben.dav, f"{ben.home}inbox/")
    refused = await ben.dav.request(
        "REPORT",
        inbox.replace(ada.id, ben.id),
        content=f'<d:sync-collection xmlns:d="DAV:"><d:sync-token>{bens_token}</d:sync-token>'
        "<d:prop><d:getetag/></d:prop></d:sync-collection>".encode(),
    )
    assert refused.status_code == 207
    team = await new_list(ben, "Team")
    shared = await new_task(ben, "Shared", list_id=team)
    await share(ben.api, ada.api, team, "editor")
    seen, _ = await sync(ada.dav, f"{ada.home}{team}/", wait_for={shared})
    assert len(seen) == 1
    await remove(ben.api, team, ada.id)
    lost = await ada.dav.request(
        "REPORT", f"{ada.home}{team}/", content=b'<d:sync-collection xmlns:d="DAV:"/>'
    )
    assert lost.status_code == 404


async def test_a_collections_token_is_refused_by_another(ada: DavUser) -> None:
    """A sync token is a place in one collection's history (RFC 6578 §3.2): another of the
    same user's collections refuses it, so a client mixing them up starts over instead of
    missing what the second one holds."""
    work = await new_list(ada, "Work")
    await new_task(ada, "In work", list_id=work)
    _, inbox_token = await sync(ada.dav, f"{ada.home}inbox/")
    _, work_token = await sync(ada.dav, f"{ada.home}{work}/")
    for path, token in ((f"{ada.home}{work}/", inbox_token), (f"{ada.home}inbox/", work_token)):
        refused = await ada.dav.request("REPORT", path, content=sync_body(token))
        assert refused.status_code == 403, refused.text
        assert xml(refused).find("d:valid-sync-token", NS) is not None
    assert (
        await ada.dav.request("REPORT", f"{ada.home}{work}/", content=sync_body(work_token))
    ).status_code == 207


async def test_multiget_gives_the_objects_asked_for(ada: DavUser) -> None:
    inbox = f"{ada.home}inbox/"
    await ada.dav.put(f"{inbox}one.ics", content=vtodo("one", "One"))
    await ada.dav.put(f"{inbox}two.ics", content=vtodo("two", "Two"))
    body = (
        '<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
        "<d:prop><d:getetag/><c:calendar-data/></d:prop>"
        f"<d:href>{inbox}one.ics</d:href><d:href>{inbox}missing.ics</d:href>"
        f"<d:href>{inbox}two.ics</d:href></c:calendar-multiget>"
    ).encode()
    response = await ada.dav.request("REPORT", inbox, content=body)
    assert response.status_code == 207
    answers = {
        node.findtext("d:href", namespaces=NS): node
        for node in xml(response).iterfind("d:response", NS)
    }
    assert "404" in (answers[f"{inbox}missing.ics"].findtext("d:status", namespaces=NS) or "")
    data = answers[f"{inbox}one.ics"].findtext(".//c:calendar-data", namespaces=NS) or ""
    assert "SUMMARY:One" in data
    assert answers[f"{inbox}two.ics"].findtext(".//d:getetag", namespaces=NS)


def query(inner: str) -> bytes:
    return (
        '<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
        '<d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name="VCALENDAR">'
        f'<c:comp-filter name="VTODO">{inner}</c:comp-filter></c:comp-filter></c:filter>'
        "</c:calendar-query>"
    ).encode()


async def names(user: DavUser, inner: str) -> set[str]:
    response = await user.dav.request("REPORT", f"{user.home}inbox/", content=query(inner))
    assert response.status_code == 207, response.text
    return {
        (node.findtext("d:href", namespaces=NS) or "").rsplit("/", 1)[1]
        for node in xml(response).iterfind("d:response", NS)
    }


async def test_calendar_query_filters_as_rfc_4791_says(ada: DavUser) -> None:
    inbox = f"{ada.home}inbox/"
    await ada.dav.put(f"{inbox}a.ics", content=vtodo("a", "Buy Milk", "DUE:20261201T090000Z"))
    await ada.dav.put(
        f"{inbox}b.ics", content=vtodo("b", "Call mum", "DUE:20261215T090000Z", "CATEGORIES:family")
    )
    await ada.dav.put(
        f"{inbox}c.ics",
        content=vtodo("c", "Old chore", "STATUS:COMPLETED", "COMPLETED:20261101T090000Z"),
    )
    await ada.dav.put(
        f"{inbox}d.ics", content=vtodo("d", "Weekly", "DUE:20261101T090000Z", "RRULE:FREQ=WEEKLY")
    )
    everything = await names(ada, "")
    assert everything == {"a.ics", "b.ics", "c.ics", "d.ics"}
    december = '<c:time-range start="20261210T000000Z" end="20261220T000000Z"/>'
    assert await names(ada, december) == {"b.ics", "d.ics"}
    open_only = '<c:prop-filter name="COMPLETED"><c:is-not-defined/></c:prop-filter>'
    assert await names(ada, open_only) == {"a.ics", "b.ics", "d.ics"}
    milk = '<c:prop-filter name="SUMMARY"><c:text-match>milk</c:text-match></c:prop-filter>'
    assert await names(ada, milk) == {"a.ics"}
    not_milk = (
        '<c:prop-filter name="SUMMARY">'
        '<c:text-match negate-condition="yes" collation="i;unicode-casemap">MILK</c:text-match>'
        "</c:prop-filter>"
    )
    assert await names(ada, not_milk) == {"b.ics", "c.ics", "d.ics"}
    family = '<c:prop-filter name="CATEGORIES"><c:text-match>family</c:text-match></c:prop-filter>'
    assert await names(ada, family) == {"b.ics"}
    unsupported = (
        '<c:prop-filter name="DUE"><c:param-filter name="TZID"><c:is-not-defined/>'
        "</c:param-filter></c:prop-filter>"
    )
    response = await ada.dav.request("REPORT", f"{ada.home}inbox/", content=query(unsupported))
    assert response.status_code == 403
    assert xml(response).find("c:supported-filter", NS) is not None
