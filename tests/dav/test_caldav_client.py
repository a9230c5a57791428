"""A real CalDAV client, the `caldav` library, against the service on 127.0.0.1: discovery,
making a calendar, saving, searching, completing, changing with ETags and syncing by token,
on both databases. What it does shows in /api, and /api's changes in its next sync."""

import asyncio
import datetime as dt
import zoneinfo
from typing import Any

import caldav
from fastapi import FastAPI

from tests.dav.helpers import dav_user
from tests.live_helpers import serving
from tests.tasks.feed_helpers import read_feed
from todo_api.config import Settings


def _client(base: str, token: str) -> caldav.DAVClient:
    # Apps are given the service's address only: discovery finds the rest.
    return caldav.DAVClient(url=f"{base}/.well-known/caldav", username="me", password=token)


async def test_the_caldav_library_syncs_two_ways(app: FastAPI, settings: Settings) -> None:
    async with dav_user(app, settings, "ada@example.com") as ada, serving(app) as base:

        def first_session() -> dict[str, Any]:
            client = _client(base, ada.token)
            principal = client.principal()
            calendars = principal.calendars()
            assert [c.get_display_name() for c in calendars] == ["Inbox"]
            groceries = principal.make_calendar(
                name="Groceries", cal_id="groceries", supported_calendar_component_set=["VTODO"]
            )
            berlin = zoneinfo.ZoneInfo("Europe/Berlin")
            groceries.save_todo(
                summary="Milk",
                uid="milk-uid",
                due=dt.datetime(2026, 12, 24, 9, tzinfo=berlin),
                priority=1,
                categories=["dairy"],
            )
            groceries.save_todo(summary="Eggs", uid="eggs-uid", description="A dozen")
            found = groceries.search(todo=True, summary="Milk")
            assert [str(t.icalendar_component["SUMMARY"]) for t in found] == ["Milk"]
            eggs = groceries.search(todo=True, summary="Eggs")[0]
            eggs.complete()
            assert sorted(str(t.icalendar_component["SUMMARY"]) for t in groceries.todos()) == [
                "Milk"
            ]
            return {"url": str(groceries.url)}

        state = await asyncio.to_thread(first_session)
        titles = {t["id"]: t["title"] for t in (await ada.api.get("/api/tasks")).json()}
        first_feed = await read_feed(ada.api, wait_for=titles)  # past PostgreSQL's bound
        state["api_token"] = first_feed["next"]

        def first_sync() -> str:
            groceries = _client(base, ada.token).calendar(url=state["url"])
            everything = groceries.objects_by_sync_token(load_objects=True)
            assert len(list(everything)) == 2
            token: str = everything.sync_token
            return token

        state["token"] = await asyncio.to_thread(first_sync)

        # What the client did is in /api.
        lists = (await ada.api.get("/api/lists")).json()
        assert [item["name"] for item in lists] == ["Groceries"]
        tasks = {t["title"]: t for t in (await ada.api.get("/api/tasks")).json()}
        milk, eggs = tasks["Milk"], tasks["Eggs"]
        assert milk["list_id"] == lists[0]["id"]
        assert milk["priority"] == "high"
        assert milk["tags"] == ["dairy"]
        assert milk["timezone"] == "Europe/Berlin"
        assert milk["due_at"] == "2026-12-24T08:00:00Z"
        assert eggs["is_completed"]
        assert eggs["description"] == "A dozen"

        # A change through /api is in the client's next sync; a deletion too.
        changed = await ada.api.patch(f"/api/tasks/{milk['id']}", json={"title": "Oat milk"})
        assert changed.status_code == 200
        assert (await ada.api.delete(f"/api/tasks/{eggs['id']}")).status_code == 204
        await read_feed(ada.api, state["api_token"], wait_for=titles)

        def second_session() -> None:
            client = _client(base, ada.token)
            groceries = client.calendar(url=state["url"])
            changes = groceries.objects_by_sync_token(sync_token=state["token"], load_objects=True)
            objects = list(changes)
            by_name = {str(o.url).rsplit("/", 1)[1]: o for o in objects}
            assert set(by_name) == {"milk-uid.ics", "eggs-uid.ics"}
            milk_object = by_name["milk-uid.ics"]
            assert str(milk_object.icalendar_component["SUMMARY"]) == "Oat milk"
            assert str(milk_object.icalendar_component["UID"]) == "milk-uid"
            # Nothing changed since: an empty sync.
            again = groceries.objects_by_sync_token(sync_token=changes.sync_token)
            assert list(again) == []
            # The client edits the object it read (its ETag in If-Match).
            milk_object.icalendar_component["SUMMARY"] = "Soy milk"
            milk_object.save()
            assert [str(t.icalendar_component["SUMMARY"]) for t in groceries.todos()] == [
                "Soy milk"
            ]

        await asyncio.to_thread(second_session)
        milk_now = (await ada.api.get(f"/api/tasks/{milk['id']}")).json()
        assert milk_now["title"] == "Soy milk"


async def test_the_caldav_library_completing_a_repeating_todo_keeps_one_object(
    app: FastAPI, settings: Settings
) -> None:
    """The library's `complete()` PUTs the series with STATUS:COMPLETED: the same object (its
    UID, its own X- property) comes back open at its next DUE, and /api has one task."""
    async with dav_user(app, settings, "ada@example.com") as ada, serving(app) as base:

        def session() -> dict[str, Any]:
            inbox = _client(base, ada.token).principal().calendars()[0]
            inbox.save_todo(
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VTODO\r\n"
                "UID:water-uid\r\nDTSTAMP:20261201T000000Z\r\nSUMMARY:Water\r\n"
                "DUE:20261207T090000Z\r\nRRULE:FREQ=WEEKLY\r\nX-GARDEN:balcony\r\n"
                "END:VTODO\r\nEND:VCALENDAR\r\n"
            )
            [todo] = inbox.search(todo=True, summary="Water")
            todo.complete(completion_timestamp=dt.datetime(2026, 11, 28, 10, tzinfo=dt.UTC))
            [again] = inbox.todos()  # open again: still listed as a todo to do
            again.load()
            component = again.icalendar_component
            return {name: str(component.get(name)) for name in ("UID", "STATUS", "X-GARDEN")} | {
                "DUE": component["DUE"].dt,
                "RRULE": component["RRULE"].to_ical().decode(),
            }

        got = await asyncio.to_thread(session)
        assert got["UID"] == "water-uid"
        assert got["STATUS"] in ("None", "NEEDS-ACTION")
        assert got["DUE"] == dt.datetime(2026, 12, 14, 9, tzinfo=dt.UTC)
        assert (got["RRULE"], got["X-GARDEN"]) == ("FREQ=WEEKLY", "balcony")
        [task] = (await ada.api.get("/api/tasks")).json()
        [done] = (await ada.api.get(f"/api/tasks/{task['id']}/completions")).json()
        assert (done["occurrence"], done["completed_at"]) == (
            "2026-12-07T09:00:00Z",
            "2026-11-28T10:00:00Z",
        )
