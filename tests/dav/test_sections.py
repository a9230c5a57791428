"""A task's section over CalDAV: written as `X-TODO-API-SECTION:<name>`, kept through a
client's round trip (the `caldav` library's, Thunderbird's requests), named by a client to put
the task in another section of its list; `CATEGORIES` stay tags, whatever they name. A rename
is a new version of each of the section's tasks, so clients fetch them again. Both databases."""

import asyncio

import caldav
from fastapi import FastAPI

from tests.dav import thunderbird
from tests.dav.helpers import DavUser, dav_user, new_list, new_task
from tests.lists.sharing import share
from tests.live_helpers import serving
from todo_api.config import Settings

UID = "9b0e4c2a-1d3f-4e5a-8b6c-7d8e9f0a1b2c"


async def _section(user: DavUser, list_id: str, name: str) -> str:
    made = await user.api.post(f"/api/lists/{list_id}/sections", json={"name": name})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


async def test_the_section_is_written_and_a_rename_is_a_new_version(ada: DavUser) -> None:
    home = await new_list(ada, "Home")
    dairy = await _section(ada, home, "Dairy, cold")
    task_id = await new_task(ada, "Milk", list_id=home, section_id=dairy, tags=["dairy"])
    href = f"{ada.home}{home}/{task_id}.ics"
    got = await ada.dav.get(href)
    assert got.status_code == 200, got.text
    assert b"\r\nX-TODO-API-SECTION:Dairy\\, cold\r\n" in got.content
    assert b"\r\nCATEGORIES:dairy\r\n" in got.content
    renamed = await ada.api.patch(f"/api/sections/{dairy}", json={"name": "Fridge"})
    assert renamed.status_code == 200, renamed.text
    again = await ada.dav.get(href)
    assert again.headers["ETag"] != got.headers["ETag"]
    assert b"\r\nX-TODO-API-SECTION:Fridge\r\n" in again.content
    # Out of its section: the property goes.
    moved = await ada.api.patch(f"/api/tasks/{task_id}", json={"section_id": None})
    assert moved.status_code == 200, moved.text
    assert b"X-TODO-API-SECTION" not in (await ada.dav.get(href)).content


async def test_thunderbird_keeps_the_section_and_categories_stay_tags(ada: DavUser) -> None:
    home = await new_list(ada, "Home")
    dairy = await _section(ada, home, "Dairy")
    bakery = await _section(ada, home, "Bakery")
    collection = f"{ada.home}{home}/"
    # A new object naming a section of the list is in it; one naming none the list has, not.
    body = thunderbird.calendar(thunderbird.todo(UID, "Milk", "X-TODO-API-SECTION:dairy"))
    href = await thunderbird.create(ada.dav, collection, UID, body)
    other = thunderbird.calendar(thunderbird.todo("other-uid", "Jam", "X-TODO-API-SECTION:Pantry"))
    await thunderbird.create(ada.dav, collection, "other-uid", other)
    tasks = {t["title"]: t for t in (await ada.api.get("/api/tasks")).json()}
    assert tasks["Milk"]["section_id"] == dairy
    assert tasks["Jam"]["section_id"] is None
    # Thunderbird writes the object back as it has it, with a category naming another section:
    # the task stays in its section, the category is a tag.
    etag = await thunderbird.etag_of(ada.dav, href)
    changed = thunderbird.calendar(
        thunderbird.todo(
            UID, "Whole milk", "CATEGORIES:Bakery", "X-TODO-API-SECTION:dairy", generation=2
        )
    )
    answer = await thunderbird.modify(ada.dav, href, etag, changed)
    assert answer.status_code == 204, answer.text
    milk = (await ada.api.get(f"/api/tasks/{tasks['Milk']['id']}")).json()
    assert (milk["title"], milk["section_id"], milk["tags"]) == ("Whole milk", dairy, ["bakery"])
    # Without the property (a client that drops what it does not know): the section stays.
    etag = await thunderbird.etag_of(ada.dav, href)
    dropped = thunderbird.calendar(thunderbird.todo(UID, "Whole milk", generation=3))
    assert (await thunderbird.modify(ada.dav, href, etag, dropped)).status_code == 204
    assert (await ada.api.get(f"/api/tasks/{milk['id']}")).json()["section_id"] == dairy
    # Naming another section of the list moves it there.
    etag = await thunderbird.etag_of(ada.dav, href)
    there = thunderbird.calendar(
        thunderbird.todo(UID, "Whole milk", "X-TODO-API-SECTION:BAKERY", generation=4)
    )
    assert (await thunderbird.modify(ada.dav, href, etag, there)).status_code == 204
    assert (await ada.api.get(f"/api/tasks/{milk['id']}")).json()["section_id"] == bakery
    got = await ada.dav.get(href)
    assert b"X-TODO-API-SECTION:BAKERY" in got.content  # as Thunderbird sent it


async def test_a_moved_task_takes_the_section_of_its_name_in_the_new_list(
    ada: DavUser, ben: DavUser
) -> None:
    home = await new_list(ada, "Home")
    work = await new_list(ada, "Work")
    await _section(ada, home, "Later")
    later_at_work = await _section(ada, work, "Later")
    await share(ada.api, ben.api, work, "viewer")
    body = thunderbird.calendar(thunderbird.todo(UID, "Report", "X-TODO-API-SECTION:Later"))
    await thunderbird.create(ada.dav, f"{ada.home}{home}/", UID, body)
    # Thunderbird's move: PUT into the other calendar (the old object's DELETE comes after).
    moved_body = thunderbird.calendar(
        thunderbird.todo(UID, "Report", "X-TODO-API-SECTION:Later", generation=2)
    )
    await thunderbird.create(ada.dav, f"{ada.home}{work}/", UID, moved_body)
    [task] = (await ada.api.get("/api/tasks")).json()
    assert (task["list_id"], task["section_id"]) == (work, later_at_work)
    # A viewer of the list sees the section written, and may not change it.
    seen = await ben.dav.get(f"{ben.home}{work}/{UID}.ics")
    assert seen.status_code == 200, seen.text
    assert b"X-TODO-API-SECTION:Later" in seen.content
    refused = await thunderbird.modify(
        ben.dav, f"{ben.home}{work}/{UID}.ics", seen.headers["ETag"], moved_body
    )
    assert refused.status_code == 403


async def test_the_caldav_library_keeps_the_section_through_its_round_trip(
    app: FastAPI, settings: Settings
) -> None:
    async with dav_user(app, settings, "ada@example.com") as ada, serving(app) as base:
        home = await new_list(ada, "Groceries")
        dairy = await _section(ada, home, "Dairy")
        task_id = await new_task(ada, "Milk", list_id=home, section_id=dairy)

        def edit() -> str:
            client = caldav.DAVClient(
                url=f"{base}/.well-known/caldav", username="me", password=ada.token
            )
            [groceries] = [
                c for c in client.principal().calendars() if c.get_display_name() == "Groceries"
            ]
            [milk] = groceries.todos()
            component = milk.icalendar_component
            section = str(component["X-TODO-API-SECTION"])
            component["SUMMARY"] = "Oat milk"
            component["CATEGORIES"] = "Dairy"  # a category of the section's name: a tag
            milk.save()
            return section

        assert await asyncio.to_thread(edit) == "Dairy"
        milk = (await ada.api.get(f"/api/tasks/{task_id}")).json()
        assert (milk["title"], milk["section_id"], milk["tags"]) == ("Oat milk", dairy, ["dairy"])
