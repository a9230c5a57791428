"""Lists inside lists stay flat in CalDAV: each calendar is named `Parent / Child`, read by a
real client (the `caldav` library), and a name a client sets back is the list's own. On both
databases."""

import asyncio

import caldav
from fastapi import FastAPI

from tests.dav.helpers import dav_user
from tests.live_helpers import serving
from todo_api.config import Settings


async def test_calendars_of_lists_inside_lists_are_named_after_their_parents(
    app: FastAPI, settings: Settings
) -> None:
    async with dav_user(app, settings, "ada@example.com") as ada, serving(app) as base:
        made: dict[str, str] = {}
        for name, parent in (("Work", None), ("Client", "Work"), ("Project", "Client")):
            body = {"name": name, "parent_id": made.get(parent or "")}
            response = await ada.api.post("/api/lists", json=body)
            assert response.status_code == 201, response.text
            made[name] = response.json()["id"]

        def names() -> list[str]:
            client = caldav.DAVClient(
                url=f"{base}/.well-known/caldav", username="me", password=ada.token
            )
            calendars = client.principal().calendars()
            found = [str(calendar.get_display_name()) for calendar in calendars]
            project = next(c for c in calendars if c.get_display_name().endswith("Project"))
            project.set_properties([caldav.dav.DisplayName("Work / Client / Plans")])
            return found

        found = await asyncio.to_thread(names)
        assert found == ["Inbox", "Work", "Work / Client", "Work / Client / Project"]
        renamed = await ada.api.get(f"/api/lists/{made['Project']}")
        assert renamed.json()["name"] == "Plans"
        assert renamed.json()["parent_id"] == made["Client"]
