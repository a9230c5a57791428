"""Helpers for the tests of calendar feeds: feeds made through the API, read as a calendar app
reads them (no credential but the URL)."""

from typing import Any

import httpx
from icalendar import Calendar


async def make_feed(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/feeds", json=body)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


async def fetch(anonymous: httpx.AsyncClient, url: str, **headers: str) -> httpx.Response:
    """The feed at `url`, asked with no credential, as a calendar app asks."""
    return await anonymous.get(url, headers=headers)


async def calendar_of(anonymous: httpx.AsyncClient, url: str) -> Calendar:
    response = await fetch(anonymous, url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content)


def events(calendar: Calendar) -> dict[str, Any]:
    """The calendar's VEVENTs by UID (the task's id)."""
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def todos(calendar: Calendar) -> dict[str, Any]:
    return {str(todo["UID"]): todo for todo in calendar.walk("VTODO")}
