"""Calendar feeds: `POST /api/feeds` makes a URL (its secret shown once, kept hashed) that a
calendar app subscribes to with no other credential; `GET /api/feeds` lists them without it,
`DELETE` ends it. The feed is iCalendar with a VEVENT per dated open task its maker may read
now (all-day as dates, timed with their zone, a repeating task with its RRULE and its completed
occurrences as EXDATE, the task's page as URL, never comments), with ETag, 304 and a few minutes
of Cache-Control; at most 20 a person."""

import base64
import hashlib
import re
import uuid
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI
from icalendar import Calendar
from sqlalchemy import select

from tests.calendar_feeds.helpers import calendar_of, events, fetch, make_feed, todos
from tests.collaboration.helpers import comment
from tests.lists.sharing import remove, share, user_id
from tests.support import assert_error, validation_details
from tests.tasks.helpers import create_task
from todo_api.db import Database
from todo_api.kit.deps import held
from todo_api.tables.calendar_feeds import calendar_feeds

BERLIN = ZoneInfo("Europe/Berlin")
URL = re.compile(r"^http://test/feeds/([A-Za-z0-9_-]+)\.ics$")


def secret_of(feed: dict[str, str]) -> str:
    match = URL.match(feed["url"])
    assert match is not None, feed["url"]
    return match[1]


async def test_a_feed_is_made_with_a_secret_shown_once_listed_without_it_and_deleted(
    app: FastAPI, alice: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    response = await alice.post("/api/feeds", json={})
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    feed = response.json()
    assert set(feed) == {"id", "list_id", "filter_id", "include", "created_at", "url", "webcal_url"}
    assert (feed["list_id"], feed["filter_id"], feed["include"]) == (None, None, "dated")
    secret = secret_of(feed)
    assert len(base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))) * 8 >= 128
    assert feed["webcal_url"] == f"webcal://test/feeds/{secret}.ics"

    listed = await alice.get("/api/feeds")
    assert listed.status_code == 200
    assert listed.json() == [{k: v for k, v in feed.items() if k not in {"url", "webcal_url"}}]
    assert secret not in listed.text
    async with held(app, Database).connection() as conn:
        stored = (
            await conn.execute(
                select(calendar_feeds).where(calendar_feeds.c.id == uuid.UUID(feed["id"]))
            )
        ).one()
    assert stored["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in repr(dict(stored))

    assert (await fetch(anonymous, feed["url"])).status_code == 200
    deleted = await alice.delete(f"/api/feeds/{feed['id']}")
    assert deleted.status_code == 204, deleted.text
    assert_error(await fetch(anonymous, feed["url"]), 404, "NOT_FOUND")
    assert (await alice.get("/api/feeds")).json() == []
    assert_error(await alice.delete(f"/api/feeds/{feed['id']}"), 404, "NOT_FOUND")
    assert_error(await alice.delete("/api/feeds/not-a-uuid"), 404, "NOT_FOUND")


async def test_the_feed_has_an_event_per_dated_open_task_on_its_day_or_at_its_time(
    alice: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    all_day = await create_task(alice, title="Pay rent; now, please", due_date="2026-12-24")
    timed = await create_task(
        alice,
        title="Call Anna",
        description="About the trip\nand the tickets",
        tags=["phone", "family"],
        due_at="2026-07-01T07:30:00Z",
        timezone="Europe/Berlin",
    )
    span = await create_task(alice, title="Holiday", start_date="2026-08-01", due_date="2026-08-14")
    undated = await create_task(alice, title="Someday")
    done = await create_task(alice, title="Done", due_date="2026-01-01", is_completed=True)
    await comment(alice, timed["id"], "the door code is 4711")
    feed = await make_feed(alice)

    calendar = await calendar_of(anonymous, feed["url"])
    found = events(calendar)
    assert set(found) == {all_day["id"], timed["id"], span["id"]}
    assert undated["id"] not in found
    assert done["id"] not in found
    assert todos(calendar) == {}

    day = found[all_day["id"]]
    assert day["DTSTART"].dt == date(2026, 12, 24)
    assert str(day["SUMMARY"]) == "Pay rent; now, please"
    assert str(day["URL"]) == f"http://test/app/tasks/{all_day['id']}"

    moment = found[timed["id"]]
    start = moment["DTSTART"].dt
    assert start.tzinfo is not None
    assert str(moment["DTSTART"].params["TZID"]) == "Europe/Berlin"
    assert start == datetime(2026, 7, 1, 9, 30, tzinfo=BERLIN)
    assert start.astimezone(UTC) == datetime(2026, 7, 1, 7, 30, tzinfo=UTC)
    assert str(moment["DESCRIPTION"]) == "About the trip\nand the tickets"
    assert [str(tag) for tag in moment["CATEGORIES"].cats] == ["phone", "family"]
    assert [str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]

    holiday = found[span["id"]]
    assert (holiday["DTSTART"].dt, holiday["DTEND"].dt) == (date(2026, 8, 1), date(2026, 8, 15))

    text = (await fetch(anonymous, feed["url"])).text
    assert "4711" not in text  # nothing of the comments
    assert "COMMENT" not in text


async def test_everything_includes_undated_tasks_as_todos(
    alice: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    dated = await create_task(alice, title="Dentist", due_date="2026-05-04")
    undated = await create_task(alice, title="Read a book")
    feed = await make_feed(alice, include="all")
    assert feed["include"] == "all"
    calendar = await calendar_of(anonymous, feed["url"])
    assert set(events(calendar)) == {dated["id"]}
    [todo] = todos(calendar).values()
    assert str(todo["UID"]) == undated["id"]
    assert "DUE" not in todo
    assert "DTSTART" not in todo
    assert str(todo["URL"]) == f"http://test/app/tasks/{undated['id']}"


async def test_a_repeating_task_is_one_event_with_its_rule_and_its_completed_occurrences_excluded(
    alice: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    daily = await create_task(
        alice,
        title="Stretch",
        due_at="2026-03-02T07:00:00Z",
        timezone="Europe/Berlin",
        recurrence="FREQ=DAILY;COUNT=10",
    )
    weekly = await create_task(
        alice, title="Bins", due_date="2026-03-02", recurrence="FREQ=WEEKLY;BYDAY=MO"
    )
    for task in (daily, daily, weekly):
        response = await alice.post(f"/api/tasks/{task['id']}/complete")
        assert response.status_code == 200, response.text
    feed = await make_feed(alice)
    found = events(await calendar_of(anonymous, feed["url"]))

    stretch = found[daily["id"]]
    assert stretch["DTSTART"].dt == datetime(2026, 3, 2, 8, 0, tzinfo=BERLIN)
    assert stretch["RRULE"]["FREQ"] == ["DAILY"]
    assert stretch["RRULE"]["COUNT"] == [10]
    excluded = sorted(d.dt for exdate in _list(stretch["EXDATE"]) for d in exdate.dts)
    assert excluded == [
        datetime(2026, 3, 2, 8, 0, tzinfo=BERLIN),
        datetime(2026, 3, 3, 8, 0, tzinfo=BERLIN),
    ]
    bins = found[weekly["id"]]
    assert bins["DTSTART"].dt == date(2026, 3, 2)
    assert [d.dt for exdate in _list(bins["EXDATE"]) for d in exdate.dts] == [date(2026, 3, 2)]


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else [value]


async def test_the_feed_answers_an_etag_and_304_and_may_be_kept_a_few_minutes(
    alice: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    task = await create_task(alice, title="Gym", due_date="2026-04-01")
    feed = await make_feed(alice)
    first = await fetch(anonymous, feed["url"])
    etag = first.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    max_age = re.search(r"max-age=(\d+)", first.headers["cache-control"])
    assert max_age is not None
    assert 60 <= int(max_age[1]) <= 900
    again = await fetch(anonymous, feed["url"], **{"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert (
        await fetch(anonymous, feed["url"], **{"If-None-Match": f"W/{etag}"})
    ).status_code == 304
    assert (await fetch(anonymous, feed["url"], **{"If-None-Match": '"0"'})).status_code == 200

    await alice.patch(f"/api/tasks/{task['id']}", json={"title": "Gym at six"})
    changed = await fetch(anonymous, feed["url"], **{"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert "Gym at six" in changed.text


async def test_a_feed_of_a_list_or_a_filter_shows_only_its_tasks(
    alice: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    made = await alice.post("/api/lists", json={"name": "Garden"})
    garden = made.json()
    inside = await create_task(alice, title="Mow", list_id=garden["id"], due_date="2026-06-01")
    outside = await create_task(alice, title="Tax", due_date="2026-06-02", tags=["money"])
    made = await alice.post("/api/filters", json={"name": "Money", "query": "@money"})
    money = made.json()

    of_list = await make_feed(alice, list_id=garden["id"])
    assert of_list["list_id"] == garden["id"]
    calendar = await calendar_of(anonymous, of_list["url"])
    assert set(events(calendar)) == {inside["id"]}
    assert str(calendar["X-WR-CALNAME"]) == "Garden"

    of_filter = await make_feed(alice, filter_id=money["id"])
    assert set(events(await calendar_of(anonymous, of_filter["url"]))) == {outside["id"]}

    # A filter deleted takes its feeds with it; so does a list.
    assert (await alice.delete(f"/api/filters/{money['id']}")).status_code == 204
    assert_error(await fetch(anonymous, of_filter["url"]), 404, "NOT_FOUND")
    assert (await alice.delete(f"/api/lists/{garden['id']}")).status_code == 204
    assert_error(await fetch(anonymous, of_list["url"]), 404, "NOT_FOUND")


async def test_a_list_unshared_from_its_maker_leaves_their_feeds(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    shared = (await alice.post("/api/lists", json={"name": "Family"})).json()
    task = await create_task(alice, title="Plan trip", list_id=shared["id"], due_date="2026-09-01")
    await share(alice, bob, shared["id"])
    own = await create_task(bob, title="Bob's", due_date="2026-09-02")
    of_list = await make_feed(bob, list_id=shared["id"])
    everything = await make_feed(bob)
    assert set(events(await calendar_of(anonymous, of_list["url"]))) == {task["id"]}
    assert set(events(await calendar_of(anonymous, everything["url"]))) == {task["id"], own["id"]}

    await remove(alice, shared["id"], await user_id(bob))
    gone = await calendar_of(anonymous, of_list["url"])
    assert events(gone) == {}
    assert "Family" not in (await fetch(anonymous, of_list["url"])).text
    assert set(events(await calendar_of(anonymous, everything["url"]))) == {own["id"]}


async def test_an_attacker_gets_404_for_wrong_secrets_and_others_lists_filters_and_feeds(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    secret_list = (await alice.post("/api/lists", json={"name": "Private"})).json()
    secret_filter = (await alice.post("/api/filters", json={"name": "F", "query": "p1"})).json()
    feed = await make_feed(alice)
    secret = secret_of(feed)

    wrong = [
        f"http://test/feeds/{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}.ics",
        f"http://test/feeds/{secret.upper()}.ics",
        "http://test/feeds/x.ics",
        f"http://test/feeds/{hashlib.sha256(secret.encode()).hexdigest()}.ics",  # the stored hash
    ]
    answers = [await fetch(anonymous, url) for url in wrong]
    for answer in answers:
        assert_error(answer, 404, "NOT_FOUND")
    assert len({answer.content for answer in answers}) == 1  # nothing tells them apart
    # A bearer token does not stand in for the secret, nor a secret for a token.
    assert (await bob.get(wrong[0])).status_code == 404
    assert_error(
        await anonymous.get("/api/feeds", headers={"Authorization": f"Bearer {secret}"}),
        401,
        "INVALID_TOKEN",
    )

    assert_error(
        await bob.post("/api/feeds", json={"list_id": secret_list["id"]}), 404, "NOT_FOUND"
    )
    assert_error(
        await bob.post("/api/feeds", json={"filter_id": secret_filter["id"]}), 404, "NOT_FOUND"
    )
    assert_error(
        await bob.post("/api/feeds", json={"list_id": str(uuid.uuid4())}), 404, "NOT_FOUND"
    )
    assert_error(await bob.delete(f"/api/feeds/{feed['id']}"), 404, "NOT_FOUND")
    assert (await bob.get("/api/feeds")).json() == []
    assert (await fetch(anonymous, feed["url"])).status_code == 200  # still alice's
    assert_error(await anonymous.get("/api/feeds"), 401, "UNAUTHORIZED")
    assert_error(await anonymous.post("/api/feeds", json={}), 401, "UNAUTHORIZED")


async def test_a_feed_asks_for_a_list_or_a_filter_or_neither_and_what_to_include(
    alice: httpx.AsyncClient,
) -> None:
    listed = (await alice.post("/api/lists", json={"name": "L"})).json()
    filtered = (await alice.post("/api/filters", json={"name": "F", "query": "p1"})).json()
    both = await alice.post(
        "/api/feeds", json={"list_id": listed["id"], "filter_id": filtered["id"]}
    )
    assert_error(both, 400, "VALIDATION_ERROR")
    bad = await alice.post("/api/feeds", json={"include": "undated", "colour": "red"})
    assert {d["field"] for d in validation_details(bad)} == {"include", "colour"}
    assert_error(await alice.post("/api/feeds", json={"list_id": "nope"}), 400, "VALIDATION_ERROR")


async def test_a_person_has_at_most_20_feeds(alice: httpx.AsyncClient) -> None:
    for _ in range(20):
        await make_feed(alice)
    refused = await alice.post("/api/feeds", json={})
    assert_error(refused, 409, "CONFLICT")
    assert "20" in refused.json()["error"]
    assert len((await alice.get("/api/feeds")).json()) == 20


async def test_a_filter_of_several_groups_shows_each_task_once(
    alice: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    both = await create_task(
        alice, title="Both", priority="high", tags=["home"], due_date="2026-02-01"
    )
    top = await create_task(alice, title="Top", priority="high", due_date="2026-02-02")
    home = await create_task(alice, title="Home", tags=["home"], due_date="2026-02-03")
    await create_task(alice, title="Neither", due_date="2026-02-04")
    saved = (await alice.post("/api/filters", json={"name": "Mine", "query": "p1, @home"})).json()
    feed = await make_feed(alice, filter_id=saved["id"])
    text = (await fetch(anonymous, feed["url"])).text
    assert set(events(Calendar.from_ical(text))) == {both["id"], top["id"], home["id"]}
    assert text.count(f"UID:{both['id']}") == 1


async def test_an_account_deleted_takes_its_feeds(
    new_user_client: Any, anonymous: httpx.AsyncClient
) -> None:
    email = f"{uuid.uuid4().hex}@example.com"
    async with new_user_client(email=email) as leaving:
        await create_task(leaving, title="Mine", due_date="2026-02-01")
        feed = await make_feed(leaving)
        assert (await fetch(anonymous, feed["url"])).status_code == 200
        gone = await leaving.request("DELETE", "/api/auth/me", json={"confirm": email})
        assert gone.status_code == 204, gone.text
    assert_error(await fetch(anonymous, feed["url"]), 404, "NOT_FOUND")
