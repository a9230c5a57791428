"""Live updates (GET /api/events) in one process, on both databases: the first message, pages
pushed as changes commit, resuming, reset, tickets, the per-user limit, keep-alives, shared
lists and shutdown. Served by uvicorn in the test's event loop (a stream never ends, and
httpx's ASGI transport waits for the end). Several processes: tests/test_live_server.py."""

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from tests.files.helpers import upload
from tests.lists.helpers import create_list
from tests.lists.sharing import share
from tests.live_helpers import EVENT_WAIT_SECONDS, Events, Message, ended, open_stream, serving
from tests.support import app_for, assert_error, make_settings, token_for, validation_details
from tests.tasks.feed_helpers import FEED_KEYS, database
from tests.tasks.helpers import create_task, user_id_of
from todo_api.config import Settings
from todo_api.db import Database
from todo_api.kit.changes import Position, SyncTokens
from todo_api.kit.deps import held
from todo_api.live import hub as live_hub
from todo_api.live import router as live_router
from todo_api.notifications import making
from todo_api.process.shutdown import Lifecycle
from todo_api.tables.tokens import personal_tokens
from todo_api.tables.users import refresh_tokens

People = Callable[[], httpx.AsyncClient]
# How soon a stream ends once its credential stops working (the contract's bound).
REVOCATION_SECONDS = 5


@pytest.fixture(scope="module")
async def live_url(app: FastAPI) -> AsyncIterator[str]:
    async with serving(app) as url:
        yield url


def _client(url: str, token: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(base_url=url, headers=headers, timeout=EVENT_WAIT_SECONDS)


@contextlib.asynccontextmanager
async def people_of(url: str, settings: Settings) -> AsyncIterator[People]:
    clients: list[httpx.AsyncClient] = []

    def make() -> httpx.AsyncClient:
        clients.append(_client(url, token_for(settings)))
        return clients[-1]

    try:
        yield make
    finally:
        for client in clients:
            await client.aclose()


@pytest.fixture
async def people(live_url: str, settings: Settings) -> AsyncIterator[People]:
    """Makes clients of the served app, each a new user."""
    async with people_of(live_url, settings) as make:
        yield make


async def caught_up(client: httpx.AsyncClient, since: str | None, ids: set[str]) -> str:
    """Syncs the feed from `since` until it has shown every one of `ids` (PostgreSQL holds
    back changes while an older transaction runs); the token after them."""
    deadline = time.monotonic() + EVENT_WAIT_SECONDS
    waiting = set(ids)
    token = since
    while True:
        response = await client.get("/api/tasks/changes", params={"since": token} if token else {})
        assert response.status_code == 200, response.text
        page = response.json()
        waiting -= {task["id"] for task in page["changes"]}
        token = page["next"]
        if not waiting and not page["has_more"]:
            return str(token)
        assert time.monotonic() < deadline, f"the feed did not show {waiting}"
        if not page["has_more"]:
            await asyncio.sleep(0.05)


async def first_message(events: Events) -> str:
    """A new stream's first message: an empty page; its id."""
    first = await events.next_event()
    assert first.event == "changes"
    assert first.id
    assert first.page() == {
        "changes": [],
        "deleted": [],
        "lists": [],
        "deleted_lists": [],
        "comments": [],
        "deleted_comments": [],
        "sections": [],
        "deleted_sections": [],
        "attachments": [],
        "deleted_attachments": [],
        "next": first.id,
        "has_more": False,
    }
    return first.id


def assert_documented(schema: dict[str, Any], message: Message) -> None:
    """The message is an event as the document describes one of GET /api/events."""
    media = schema["paths"]["/api/events"]["get"]["responses"]["200"]["content"]
    event = media["text/event-stream"]["schema"]
    fields = {k: v for k, v in vars(message).items() if k != "comments" and v is not None}
    assert set(event["required"]) <= set(fields) <= set(event["properties"]), fields
    assert fields["event"] in event["properties"]["event"]["enum"]
    assert isinstance(message.page(), dict)  # the data is JSON


async def test_a_new_stream_starts_with_an_empty_page_and_the_current_token(
    people: People,
) -> None:
    alice = people()
    before = await create_task(alice, title="before the stream")
    await caught_up(alice, None, {before["id"]})
    async with open_stream(alice) as (response, events):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-store"
        token = await first_message(events)
    # Where a caught-up client stands: the feed from it does not send the task again.
    feed = await alice.get("/api/tasks/changes", params={"since": token})
    assert feed.status_code == 200, feed.text
    assert before["id"] not in {task["id"] for task in feed.json()["changes"]}


async def test_a_change_arrives_as_the_feed_page_of_the_task(
    people: People, schema: dict[str, Any]
) -> None:
    alice = people()
    async with open_stream(alice) as (_, events):
        token = await first_message(events)
        task = await create_task(alice, title="pushed")
        messages = await events.wait_for({task["id"]})
    page = messages[-1].page()
    assert_documented(schema, messages[-1])
    assert set(page) == FEED_KEYS
    assert page["next"] == messages[-1].id
    shown = await alice.get(f"/api/tasks/{task['id']}")
    assert [change for change in page["changes"] if change["id"] == task["id"]] == [shown.json()]
    # The message's id is a sync token like the feed's: read from it, the task is behind.
    after = await alice.get("/api/tasks/changes", params={"since": messages[-1].id})
    assert task["id"] not in {change["id"] for change in after.json()["changes"]}
    # And the same changes as GET /api/tasks/changes gave from the first token.
    feed = await alice.get("/api/tasks/changes", params={"since": token})
    assert task["id"] in {change["id"] for change in feed.json()["changes"]}


async def test_a_deletion_arrives(people: People) -> None:
    alice = people()
    task = await create_task(alice)
    async with open_stream(alice) as (_, events):
        await first_message(events)
        assert (await alice.delete(f"/api/tasks/{task['id']}")).status_code == 204
        messages = await events.wait_for({task["id"]})
    assert task["id"] in messages[-1].page()["deleted"]


async def test_resuming_sends_every_page_since_the_last_event_id(
    people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = people()
    async with open_stream(alice) as (_, events):
        token = await first_message(events)
    made = [await create_task(alice, title=f"meanwhile {n}") for n in range(3)]
    await caught_up(alice, token, {task["id"] for task in made})
    monkeypatch.setattr(live_router, "PAGE_LIMIT", 2)
    # Last-Event-ID (what a browser sends) wins over a `since` left in the URL.
    headers = {"Last-Event-ID": token}
    async with open_stream(alice, headers=headers, params={"since": "stale"}) as (response, events):
        assert response.status_code == 200
        first = await events.next_event()
        second = await events.next_event()
    pages = [first.page(), second.page()]
    assert [page["has_more"] for page in pages] == [True, False]
    assert [task["id"] for page in pages for task in page["changes"]] == [t["id"] for t in made]
    assert [first.id, second.id] == [page["next"] for page in pages]
    # `?since=` alone resumes the same way.
    async with open_stream(alice, params={"since": token}) as (_, events):
        again = await events.next_event()
    assert [task["id"] for task in again.page()["changes"]] == [t["id"] for t in made[:2]]


async def test_a_token_older_than_the_retention_gets_reset_and_the_stream_ends(
    people: People, settings: Settings, schema: dict[str, Any]
) -> None:
    alice = people()
    retention = settings.sync_retention_days * 86400
    tokens = SyncTokens(settings.signing_secret(), retention)
    old = tokens.issue(await user_id_of(alice), Position(), time.time() - retention - 86400)
    async with open_stream(alice, headers={"Last-Event-ID": old}) as (response, events):
        assert response.status_code == 200
        reset = await events.next_event()
        assert reset.event == "reset"
        assert_documented(schema, reset)
        assert reset.page()["code"] == "SYNC_TOKEN_EXPIRED"
        assert await events.next() is None  # closed


async def test_a_token_not_issued_for_this_user_is_a_reset_on_the_stream(
    people: People,
) -> None:
    # A browser's EventSource cannot see a status: the stream says so itself.
    alice, bob = people(), people()
    async with open_stream(bob) as (_, events):
        bobs = await first_message(events)
    for kwargs in (
        {"params": {"since": "not-a-token"}},
        {"params": {"since": bobs}},
        {"headers": {"Last-Event-ID": bobs}},
    ):
        async with open_stream(alice, **kwargs) as (response, events):
            assert response.status_code == 200
            reset = await events.next_event()
            assert reset.event == "reset"
            assert reset.page()["code"] == "VALIDATION_ERROR"
            assert await events.next() is None  # closed
    # The feed's route, which a script reads, still says which parameter is wrong.
    refused = await alice.get("/api/tasks/changes", params={"since": bobs})
    assert [detail["field"] for detail in validation_details(refused)] == ["since"]


async def test_the_ticket_sets_a_cookie_that_reopens_the_stream_once_the_ticket_is_spent(
    people: People, live_url: str
) -> None:
    alice = people()
    made = await alice.post("/api/events/ticket")
    assert made.status_code == 201, made.text
    set_cookie = made.headers["set-cookie"]
    name, _, rest = set_cookie.partition("=")
    value = rest.split(";")[0]
    attributes = {part.strip().lower() for part in rest.split(";")[1:]}
    assert {"httponly", "secure", "samesite=none", "path=/api/events"} <= attributes
    assert "max-age=43200" in attributes
    ticket = {"ticket": made.json()["ticket"]}
    cookie = {"Cookie": f"{name}={value}"}
    async with _client(live_url, None) as browser:
        async with open_stream(browser, params=ticket) as (response, events):
            opened = await first_message(events)
        # The browser's own reconnect: the same URL (its ticket spent), Last-Event-ID, cookie.
        again = {**cookie, "Last-Event-ID": opened}
        async with open_stream(browser, params=ticket, headers=again) as (response, events):
            assert response.status_code == 200
            task = await create_task(alice, title="after the reconnect")
            await events.wait_for({task["id"]})
        async with open_stream(browser, headers=cookie) as (response, events):
            assert response.status_code == 200  # the cookie alone opens a stream
            await first_message(events)
        forged = {"Cookie": f"{name}={value[:-2]}xx"}
        for kwargs in ({"params": ticket, "headers": forged}, {"headers": forged}):
            async with open_stream(browser, **kwargs) as (response, _):
                await response.aread()
            assert_error(response, 401, "INVALID_TOKEN")
        # Read nowhere else: the cookie is no way into the API.
        assert_error(await browser.get("/api/tasks", headers=cookie), 401, "UNAUTHORIZED")


def _cookie(made: httpx.Response) -> dict[str, str]:
    """The stream cookie a ticket's answer sets, as a browser sends it back."""
    name, _, rest = made.headers["set-cookie"].partition("=")
    return {"Cookie": f"{name}={rest.split(';')[0]}"}


async def _ticket(client: httpx.AsyncClient) -> tuple[dict[str, str], dict[str, str]]:
    """A ticket (as the stream's query) and the stream cookie set with it."""
    made = await client.post("/api/events/ticket")
    assert made.status_code == 201, made.text
    return {"ticket": made.json()["ticket"]}, _cookie(made)


async def _refused(url: str, **kwargs: Any) -> None:
    async with _client(url, None) as browser, open_stream(browser, **kwargs) as (response, _):
        await response.aread()
    assert_error(response, 401, "INVALID_TOKEN")


@contextlib.asynccontextmanager
async def _credentials(
    how: str, url: str, settings: Settings
) -> AsyncIterator[tuple[httpx.AsyncClient, Callable[[], Any]]]:
    """A client whose credential asked for the ticket, and what ends that credential: a
    personal token revoked, a built-in sign-in logged out, an account deleted."""
    async with _client(url, token_for(settings)) as session:
        if how == "token revoked":
            made = (await session.post("/api/tokens", json={"name": "script"})).json()
            async with _client(url, made["token"]) as client:
                yield client, lambda: session.delete(f"/api/tokens/{made['id']}")
        elif how == "signed out":
            account = {"email": f"{uuid.uuid4().hex}@example.com", "password": "p" * 12}
            signed_in = await session.post("/api/auth/register", json=account)
            assert signed_in.status_code == 201, signed_in.text
            tokens = signed_in.json()
            async with _client(url, tokens["access_token"]) as client:
                refresh = {"refresh_token": tokens["refresh_token"]}
                yield client, lambda: client.post("/api/auth/logout", json=refresh)
        else:
            me = (await session.get("/api/auth/me")).json()
            yield (
                session,
                lambda: session.request("DELETE", "/api/auth/me", json={"confirm": me["id"]}),
            )


@pytest.mark.parametrize("how", ["token revoked", "signed out", "account deleted"])
async def test_streams_their_ticket_and_cookie_end_with_what_asked_for_them(
    how: str, live_url: str, settings: Settings
) -> None:
    async with _credentials(how, live_url, settings) as (client, end_it):
        spare, _ = await _ticket(client)
        ticket, cookie = await _ticket(client)
        async with (
            open_stream(client) as (_, by_header),
            _client(live_url, None) as browser,
            open_stream(browser, params=ticket) as (_, by_ticket),
            open_stream(browser, headers=cookie) as (_, by_cookie),
        ):
            for events in (by_header, by_ticket, by_cookie):
                await first_message(events)
            assert (await end_it()).status_code == 204
            for events in (by_header, by_ticket, by_cookie):
                await asyncio.wait_for(ended(events), EVENT_WAIT_SECONDS)
        await _refused(live_url, headers=cookie)
        await _refused(live_url, params=spare)
        if how == "account deleted":
            # The same external token makes a new, empty user; the cookie stays refused.
            assert (await client.get("/api/auth/me")).status_code == 200
            await _refused(live_url, headers=cookie)


async def test_a_stream_ends_within_5_s_of_its_sign_in_ending_unannounced(
    app: FastAPI, live_url: str
) -> None:
    """A sign-in ended behind the processes' backs (its tokens revoked in the database, no
    announcement) still ends its streams within the contract's 5 s, channel or not."""
    async with _client(live_url, None) as anonymous:
        account = {"email": f"{uuid.uuid4().hex}@example.com", "password": "p" * 12}
        signed_in = await anonymous.post("/api/auth/register", json=account)
    assert signed_in.status_code == 201, signed_in.text
    tokens = signed_in.json()
    async with (
        _client(live_url, tokens["access_token"]) as client,
        open_stream(client) as (response, events),
    ):
        assert response.status_code == 200
        await first_message(events)
        # Past the check that follows a process's first stream, to one between others.
        await asyncio.sleep(2 * live_hub.CHECK_SECONDS)
        async with held(app, Database).connection() as conn:
            user_id = uuid.UUID(tokens["user"]["id"])
            ended_now = refresh_tokens.c.user_id == user_id
            await conn.execute(
                update(refresh_tokens).where(ended_now).values(revoked_at=datetime.now(UTC))
            )
        await asyncio.wait_for(ended(events), REVOCATION_SECONDS)


@pytest.mark.parametrize("kind", ["jwt", "personal token"])
async def test_a_stream_and_its_cookie_end_when_its_token_expires(
    kind: str, app: FastAPI, live_url: str, settings: Settings
) -> None:
    now = int(time.time())
    soon = now + 3
    if kind == "jwt":
        claims = {"sub": str(uuid.uuid4()), "iat": now, "exp": soon}
        token = jwt.encode(claims, settings.signing_secret(), algorithm="HS256")
    else:  # a personal token made to expire in a moment (the shortest choice is a day)
        async with _client(live_url, token_for(settings)) as session:
            made = (await session.post("/api/tokens", json={"name": "soon"})).json()
        token = made["token"]
        expiry = datetime.fromtimestamp(soon, UTC)
        async with held(app, Database).connection() as conn:
            expire = update(personal_tokens).where(personal_tokens.c.id == uuid.UUID(made["id"]))
            await conn.execute(expire.values(expires_at=expiry))
    async with _client(live_url, token) as client:
        _, cookie = await _ticket(client)
        async with (
            open_stream(client) as (response, by_header),
            _client(live_url, None) as browser,
            open_stream(browser, headers=cookie) as (by_cookie_response, by_cookie),
        ):
            assert response.status_code == by_cookie_response.status_code == 200
            for events in (by_header, by_cookie):
                await asyncio.wait_for(ended(events), EVENT_WAIT_SECONDS)
    # The cookie ends with the token that asked for it, even one the leeway still takes.
    await _refused(live_url, headers=cookie)


async def test_a_stream_needs_a_token(live_url: str) -> None:
    async with _client(live_url, None) as anonymous, open_stream(anonymous) as (response, _):
        await response.aread()
    assert_error(response, 401, "UNAUTHORIZED")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_ticket_opens_one_stream_once(people: People, live_url: str) -> None:
    alice = people()
    made = await alice.post("/api/events/ticket")
    assert made.status_code == 201, made.text
    body = made.json()
    assert set(body) == {"ticket", "expires_at"}
    assert made.headers["cache-control"] == "no-store"
    async with _client(live_url, None) as browser:
        params = {"ticket": body["ticket"]}
        async with open_stream(browser, params=params) as (response, events):
            assert response.status_code == 200
            await first_message(events)
            task = await create_task(alice, title="for the ticket's user")
            await events.wait_for({task["id"]})
        for ticket in (body["ticket"], "not-a-ticket", "x" * 300):
            async with open_stream(browser, params={"ticket": ticket}) as (response, _):
                await response.aread()
            assert_error(response, 401, "INVALID_TOKEN")
            assert "invalid_token" in response.headers["www-authenticate"]
        refused = await browser.post("/api/events/ticket")
        assert_error(refused, 401, "UNAUTHORIZED")


async def test_the_stream_beyond_the_limit_is_429_until_one_closes(
    people: People, settings: Settings
) -> None:
    alice = people()
    limit = settings.event_streams_per_user
    async with contextlib.AsyncExitStack() as streams:
        opened = [await streams.enter_async_context(open_stream(alice)) for _ in range(limit)]
        for response, events in opened:
            assert response.status_code == 200
            await first_message(events)
        async with open_stream(alice) as (refused, _):
            await refused.aread()
        assert_error(refused, 429, "RATE_LIMITED")
        assert int(refused.headers["retry-after"]) >= 1
        # Another user is not counted with her.
        async with open_stream(people()) as (other, _):
            assert other.status_code == 200
        await opened[0][0].aclose()
        # Her closed stream's place is free once the server has noticed.
        deadline = time.monotonic() + EVENT_WAIT_SECONDS
        while True:
            async with open_stream(alice) as (response, events):
                if response.status_code == 200:
                    await first_message(events)
                    break
                await response.aread()
                assert_error(response, 429, "RATE_LIMITED")
            assert time.monotonic() < deadline, "the closed stream's place was not freed"
            await asyncio.sleep(0.05)


async def test_a_member_gets_the_changes_the_owner_makes(people: People) -> None:
    alice, bob = people(), people()
    shared = await create_list(alice, "Household")
    async with open_stream(bob) as (_, events):
        await first_message(events)
        await share(alice, bob, shared["id"], "viewer")
        joined = await events.next_event()
        assert [item["id"] for item in joined.page()["lists"]] == [shared["id"]]
        task = await create_task(alice, title="Take out the bins", list_id=shared["id"])
        messages = await events.wait_for({task["id"]})
    pushed = [change for m in messages for change in m.page()["changes"]]
    assert [change["title"] for change in pushed if change["id"] == task["id"]] == [
        "Take out the bins"
    ]


async def test_a_members_stream_gets_the_comments_on_the_lists_tasks(people: People) -> None:
    alice, bob = people(), people()
    shared = await create_list(alice, "Talk")
    await share(alice, bob, shared["id"], "viewer")
    task = await create_task(alice, title="Discuss", list_id=shared["id"])
    async with open_stream(bob) as (_, events):
        await first_message(events)
        made = await alice.post(f"/api/tasks/{task['id']}/comments", json={"body": "Hi Bob"})
        assert made.status_code == 201, made.text
        messages = await events.wait_for({made.json()["id"]})
        gone = await alice.delete(f"/api/tasks/{task['id']}/comments/{made.json()['id']}")
        assert gone.status_code == 204
        deleted = await events.wait_for({made.json()["id"]})
    pushed = [c for m in messages for c in m.page()["comments"]]
    assert pushed == [made.json()]
    assert [m for m in deleted if made.json()["id"] in m.page()["deleted_comments"]]


async def test_a_members_stream_gets_the_lists_sections(people: People) -> None:
    alice, bob = people(), people()
    shared = await create_list(alice, "Rooms")
    await share(alice, bob, shared["id"], "viewer")
    async with open_stream(bob) as (_, events):
        await first_message(events)
        made = await alice.post(f"/api/lists/{shared['id']}/sections", json={"name": "Kitchen"})
        assert made.status_code == 201, made.text
        messages = await events.wait_for({made.json()["id"]})
        assert (await alice.delete(f"/api/sections/{made.json()['id']}")).status_code == 204
        deleted = await events.wait_for({made.json()["id"]})
    pushed = [s for m in messages for s in m.page()["sections"]]
    assert pushed == [made.json()]
    assert [m for m in deleted if made.json()["id"] in m.page()["deleted_sections"]]


async def test_a_members_stream_gets_the_files_of_the_lists_tasks(people: People) -> None:
    alice, bob = people(), people()
    shared = await create_list(alice, "Papers")
    await share(alice, bob, shared["id"], "viewer")
    task = await create_task(alice, list_id=shared["id"])
    async with open_stream(bob) as (_, events):
        await first_message(events)
        made = await upload(alice, task["id"])
        messages = await events.wait_for({made["id"]})
        assert (await alice.delete(f"/api/attachments/{made['id']}")).status_code == 204
        deleted = await events.wait_for({made["id"]})
    pushed = [a for m in messages for a in m.page()["attachments"]]
    assert pushed == [made]
    assert [m for m in deleted if made["id"] in m.page()["deleted_attachments"]]


async def test_a_notification_arrives_as_its_own_event(people: People, settings: Settings) -> None:
    alice, bob = people(), people()
    shared = await create_list(alice, "Tell me")
    async with open_stream(alice) as (_, events):
        await first_message(events)
        await share(alice, bob, shared["id"], "viewer")
        async with database(settings) as db:  # the activity so far, a batch at a time
            while await making.make(db, settings) >= making.BATCH:
                pass
        async with asyncio.timeout(EVENT_WAIT_SECONDS):
            while (message := await events.next_event()).event != "notification":
                pass
        assert message.id is None
    item = message.page()
    assert item["kind"] == "member_joined"
    assert item["list_id"] == shared["id"]
    assert item["actor_id"] == str(await user_id_of(bob))
    listed = await alice.get("/api/notifications")
    assert [n["id"] for n in listed.json()["items"]] == [item["id"]]


def latest(messages: list[Any]) -> dict[str, dict[str, Any]]:
    """The tasks the messages' pages changed, each as its last page showed it."""
    return {task["id"]: task for m in messages for task in m.page()["changes"]}


async def test_subtasks_completed_or_moved_with_their_parent_reach_a_members_stream(
    people: People,
) -> None:
    alice, bob = people(), people()
    shared = await create_list(alice, "Party")
    await share(alice, bob, shared["id"], "viewer")
    parent = await create_task(alice, title="Party", list_id=shared["id"])
    cake = await create_task(alice, title="Cake", parent_id=parent["id"])
    async with open_stream(bob) as (_, events):
        await first_message(events)
        completed = await alice.post(f"/api/tasks/{parent['id']}/complete")
        assert completed.status_code == 200, completed.text
        shown = latest(await events.wait_for({parent["id"], cake["id"]}))
        assert shown[cake["id"]] == (await bob.get(f"/api/tasks/{cake['id']}")).json()
        assert shown[cake["id"]]["is_completed"] is True
        # Moved to Alice's inbox, the subtask with it: gone from what Bob sees.
        moved = await alice.post(f"/api/tasks/{parent['id']}/move", json={"list_id": None})
        assert moved.status_code == 200, moved.text
        messages = await events.wait_for({parent["id"], cake["id"]})
    deleted = {task_id for m in messages for task_id in m.page()["deleted"]}
    assert deleted == {parent["id"], cake["id"]}


async def test_a_task_unassigned_when_its_assignee_leaves_reaches_the_others_streams(
    people: People,
) -> None:
    alice, bob, carol = people(), people(), people()
    shared = await create_list(alice, "Home")
    await share(alice, bob, shared["id"], "editor")
    await share(alice, carol, shared["id"], "viewer")
    bob_id = (await bob.get("/api/auth/me")).json()["id"]
    tap = await create_task(alice, title="Fix tap", list_id=shared["id"], assignee_id=bob_id)
    async with open_stream(carol) as (_, events):
        await first_message(events)
        left = await bob.delete(f"/api/lists/{shared['id']}/members/{bob_id}")
        assert left.status_code == 204, left.text
        shown = latest(await events.wait_for({tap["id"]}))
    assert shown[tap["id"]] == (await carol.get(f"/api/tasks/{tap['id']}")).json()
    assert shown[tap["id"]]["assignee_id"] is None


@pytest.fixture
def feed_reads(monkeypatch: pytest.MonkeyPatch) -> list[uuid.UUID]:
    """Whose feed each read of the live streams was (the real read, counted)."""
    reads: list[uuid.UUID] = []
    real_read = live_hub.read_page

    async def counted(conn: Any, tokens: Any, user: uuid.UUID, *args: Any) -> Any:
        reads.append(user)
        return await real_read(conn, tokens, user, *args)

    monkeypatch.setattr(live_hub, "read_page", counted)
    return reads


async def test_the_streams_of_one_user_share_their_reads_and_each_resumes_on_its_own(
    people: People, feed_reads: list[uuid.UUID]
) -> None:
    alice = people()
    me = await user_id_of(alice)
    async with contextlib.AsyncExitStack() as stack:
        streams = [await stack.enter_async_context(open_stream(alice)) for _ in range(8)]
        for _, events in streams:
            await first_message(events)
        # The first change brings them all to the same place (they opened at different ones
        # when anything was written meanwhile); the second is read once for all of them, or
        # once per wake-up that reached them together (this process's write, the clock, which
        # on a loaded machine can tick more than once before all eight have taken the page):
        # fewer reads than streams, where unshared streams would read once each at least.
        pages = []
        for title in ("first", "second"):
            feed_reads.clear()
            task = await create_task(alice, title=title)
            pages.append([(await events.wait_for({task["id"]}))[-1] for _, events in streams])
    assert 1 <= feed_reads.count(me) <= len(streams) // 2, feed_reads
    # Each stream's id is a token of its own to resume from: nothing after the second task.
    for message in pages[1]:
        after = await alice.get("/api/tasks/changes", params={"since": message.id})
        assert after.status_code == 200, after.text
        assert after.json()["changes"] == []


async def reads_settle(feed_reads: list[uuid.UUID], user: uuid.UUID) -> None:
    """Until the clock has woken `user`'s streams (one read at least), and two polls of the
    clock have passed with no read more."""
    quiet = 2 * live_hub.POLL_SECONDS
    deadline = time.monotonic() + EVENT_WAIT_SECONDS
    seen, last_read = 0, time.monotonic()
    while seen == 0 or time.monotonic() - last_read < quiet:
        assert time.monotonic() < deadline, "the clock did not wake the streams"
        if feed_reads.count(user) > seen:
            seen, last_read = feed_reads.count(user), time.monotonic()
        await asyncio.sleep(0.05)


async def test_streams_opened_at_different_places_come_together_when_the_clock_moves(
    people: People, feed_reads: list[uuid.UUID]
) -> None:
    alice, bob = people(), people()
    me = await user_id_of(alice)
    async with contextlib.AsyncExitStack() as stack:
        streams = []
        for n in range(6):  # each opened at another place: Bob writes in between
            streams.append(await stack.enter_async_context(open_stream(alice)))
            await first_message(streams[-1][1])
            await create_task(bob, title=f"Bob's {n}")
        # Nothing of Alice's changes: the clock wakes her streams, each reads nothing, and each
        # then stands where the clock was. (On PostgreSQL the clock is held back while any
        # transaction of the server runs, so it may take more than one move.) Some may have
        # come together already, woken by a poll while the others opened, and share their
        # reads: what is awaited is the clock's reads, then quiet.
        for _ in range(2):
            feed_reads.clear()
            await create_task(bob, title="Bob's again")
            await reads_settle(feed_reads, me)
        # Together, they read Alice's task once (or once per wake-up: her write, the clock).
        feed_reads.clear()
        task = await create_task(alice, title="Alice's")
        for _, events in streams:
            await events.wait_for({task["id"]})
    assert 1 <= feed_reads.count(me) <= len(streams) // 2, feed_reads


@contextlib.asynccontextmanager
async def own_app(settings: Settings, tmp_path: Path, **overrides: Any) -> AsyncIterator[FastAPI]:
    """An app of its own on the test's database, with these settings."""
    assert settings.database_url is not None
    custom = make_settings(settings.database_url, tmp_path, **overrides)
    async with app_for(custom) as app:
        yield app


async def test_an_idle_stream_gets_keep_alive_comments(settings: Settings, tmp_path: Path) -> None:
    async with (
        own_app(settings, tmp_path, event_keepalive_seconds=0.2) as app,
        serving(app) as url,
        people_of(url, settings) as people,
    ):
        alice = people()
        async with open_stream(alice) as (_, events):
            await first_message(events)
            comment = await events.next()
            assert comment is not None
            assert comment.comments == ["keep-alive"]
            assert (comment.event, comment.data, comment.id) == (None, None, None)


async def test_idle_streams_hold_no_database_connection(settings: Settings, tmp_path: Path) -> None:
    async with (
        own_app(settings, tmp_path) as app,
        serving(app) as url,
        people_of(url, settings) as people,
        contextlib.AsyncExitStack() as streams,
    ):
        for client in (people(), people(), people()):
            _, events = await streams.enter_async_context(open_stream(client))
            await first_message(events)
        # Each read takes a connection for its statements only (the process's poll of the
        # feed's clock too): with the streams idle, none is in use.
        deadline = time.monotonic() + EVENT_WAIT_SECONDS
        while held(app, Database).pool_stats()[1] != 0:
            assert time.monotonic() < deadline, "idle streams hold connections"
            await asyncio.sleep(0.01)


async def test_streams_end_with_a_retry_hint_when_the_server_stops(
    settings: Settings, tmp_path: Path
) -> None:
    async with (
        own_app(settings, tmp_path) as app,
        serving(app) as url,
        people_of(url, settings) as people,
    ):
        alice = people()
        async with open_stream(alice) as (_, events):
            await first_message(events)
            held(app, Lifecycle).stopping.set()  # what SIGTERM does (process/shutdown.py)
            last = await events.next_event()
            assert last.retry is not None
            assert last.retry >= 1000
            assert await events.next() is None


def test_the_stream_and_its_ticket_are_documented(schema: dict[str, Any]) -> None:
    stream = schema["paths"]["/api/events"]["get"]
    ok = stream["responses"]["200"]
    assert set(ok["content"]) == {"text/event-stream"}
    assert "event: changes" in ok["content"]["text/event-stream"]["example"]
    assert {"400", "401", "429", "500", "503"} <= set(stream["responses"])
    names = {parameter["name"] for parameter in stream["parameters"]}
    assert {"since", "ticket", "Last-Event-ID"} <= names
    ticket = schema["paths"]["/api/events/ticket"]["post"]
    assert "201" in ticket["responses"]
    assert ticket["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/EventTicket"
    }
