"""Deleting an account: everything of the user goes; lists they shared pass to their
longest-standing editor or go for everyone; their traces in others' lists name nobody; a
later request with their token is a new, empty user."""

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from tests.dav.helpers import basic, vtodo
from tests.lists.sharing import share, user_id
from tests.support import app_for, assert_error, client_for, token_for
from tests.tasks.feed_helpers import read_feed
from todo_api.config import Settings
from todo_api.db import create_engine
from todo_api.tables import metadata
from todo_api.tables.dav import dav_objects
from todo_api.tables.reminders import reminder_fires
from todo_api.tables.tasks import tasks
from todo_api.tables.webhooks import webhook_deliveries, webhooks

HOOK = "http://127.0.0.1:1/hook"


async def _post(client: httpx.AsyncClient, path: str, **body: Any) -> dict[str, Any]:
    response = await client.post(path, json=body)
    assert response.status_code in (200, 201), response.text
    made: dict[str, Any] = response.json()
    return made


async def _delete_me(client: httpx.AsyncClient, confirm: str) -> httpx.Response:
    return await client.request("DELETE", "/api/auth/me", json={"confirm": confirm})


async def _types(client: httpx.AsyncClient, hook_id: str) -> list[str]:
    response = await client.get(f"/api/webhooks/{hook_id}/deliveries", params={"limit": 100})
    assert response.status_code == 200, response.text
    return [row["type"] for row in reversed(response.json())]  # oldest first


def _email() -> str:
    return f"ada-{uuid.uuid4().hex[:8]}@example.com"


@pytest.mark.parametrize(
    "body",
    [{"confirm": "someone@example.com"}, {"confirm": ""}, {"confirm": None}, {}, None],
)
async def test_anything_but_the_email_is_refused_naming_confirm(
    person: Callable[..., httpx.AsyncClient], body: dict[str, Any] | None
) -> None:
    email = _email()
    async with person(email=email) as ada:
        task = await _post(ada, "/api/tasks", title="Still here")
        sent = {} if body is None else {"json": body}  # None: no body at all
        answer = await ada.request("DELETE", "/api/auth/me", **sent)
        details = assert_error(answer, 400, "VALIDATION_ERROR")["details"]
        assert [detail["field"] for detail in details] == ["confirm"]
        assert (await ada.get(f"/api/tasks/{task['id']}")).status_code == 200


async def test_tokens_for_apps_cannot_delete_the_account_and_go_with_it(
    person: Callable[..., httpx.AsyncClient], data_app: FastAPI
) -> None:
    email = _email()
    async with person(email=email) as ada:
        made = await ada.post("/api/tokens", json={"name": "a script"})
        assert made.status_code == 201, made.text
        token = made.json()["token"]
        async with client_for(data_app, token) as script:
            assert (await script.get("/api/tasks")).status_code == 200
            assert_error(await _delete_me(script, email), 403, "FORBIDDEN")
            assert (await ada.get("/api/auth/me")).json()["email"] == email  # still there
            deleted = await _delete_me(ada, email)
            assert deleted.status_code == 204, deleted.text
            # The token went with the account: the next request with it is refused.
            assert_error(await script.get("/api/tasks"), 401, "INVALID_TOKEN")


async def test_everything_of_the_user_goes_and_their_token_starts_afresh(
    person: Callable[..., httpx.AsyncClient], data_settings: Settings
) -> None:
    email = _email()
    async with person(email=email) as ada:
        me = (await ada.get("/api/auth/me")).json()
        patched = await ada.patch("/api/auth/me", json={"timezone": "Europe/Paris"})
        assert patched.status_code == 200, patched.text
        home = await _post(ada, "/api/lists", name="Home")
        parent = await _post(
            ada,
            "/api/tasks",
            title="Inbox task",
            due_at="2031-01-01T09:00:00Z",
            reminders=[{"before_due": "PT15M"}, {"at": "2031-01-01T07:00:00Z"}],
        )
        await _post(ada, "/api/tasks", title="Sub", parent_id=parent["id"])
        await _post(ada, "/api/tasks", title="In a list", list_id=home["id"])
        hook = await _post(ada, "/api/webhooks", url=HOOK, events=["*"])
        await _post(ada, "/api/tasks", title="Watched")  # a pending delivery
        assert await _types(ada, hook["id"]) == ["task.created"]
        reminders = await ada.get("/api/reminders", params={"to": "2031-02-01T00:00:00Z"})
        assert len(reminders.json()) == 2
        keyed = await ada.post(
            "/api/tasks", json={"title": "Keyed"}, headers={"Idempotency-Key": "once"}
        )
        assert keyed.status_code == 201, keyed.text

        assert (await _delete_me(ada, email.upper())).status_code == 204
        assert await _rows_of(data_settings, uuid.UUID(me["id"]), hook["id"]) == {}

        # The same token: a new user, with nothing.
        again = (await ada.get("/api/auth/me")).json()
        assert again["id"] == me["id"]
        assert again["email"] == email
        assert again["timezone"] == "UTC"
        assert again["created_at"] > me["created_at"]
        assert (await ada.get("/api/tasks")).json() == []
        assert (await ada.get("/api/lists")).json() == []
        assert (await ada.get("/api/webhooks")).json() == []
        assert (await ada.get("/api/reminders")).json() == []
        assert (await ada.get(f"/api/tasks/{parent['id']}")).status_code == 404
        replayed = await ada.post(
            "/api/tasks", json={"title": "Keyed"}, headers={"Idempotency-Key": "once"}
        )
        assert replayed.status_code == 201, replayed.text
        assert "idempotent-replayed" not in replayed.headers
        assert replayed.json()["id"] != keyed.json()["id"]


async def _rows_of(settings: Settings, user: uuid.UUID, hook_id: str) -> dict[str, int]:
    """The rows left that name the user (or their webhook, or their reminders), by table:
    every table with a `user_id`, and the deliveries and reminders' schedule."""
    engine = create_engine(settings)
    left: dict[str, int] = {}
    try:
        async with engine.connect() as conn:
            for table in metadata.sorted_tables:
                for name in ("user_id", "created_by", "recipient_id"):
                    if name in table.c and not table.name.endswith("tombstones"):
                        query = select(func.count()).where(table.c[name] == user)
                        count = await conn.scalar(query)
                        if count:
                            left[f"{table.name}.{name}"] = count
            for label, query in (
                ("users", select(func.count()).where(metadata.tables["users"].c.id == user)),
                ("webhooks", select(func.count()).where(webhooks.c.id == uuid.UUID(hook_id))),
                (
                    "webhook_deliveries",
                    select(func.count()).where(
                        webhook_deliveries.c.webhook_id == uuid.UUID(hook_id)
                    ),
                ),
                (
                    "reminder_fires",
                    select(func.count())
                    .select_from(reminder_fires.outerjoin(tasks))
                    .where(tasks.c.id.is_(None)),
                ),
            ):
                count = await conn.scalar(query)
                if count:
                    left[label] = count
    finally:
        await engine.dispose()
    return left


async def test_a_shared_list_passes_to_its_longest_standing_editor(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    email = _email()
    async with person(email=email) as ada, person() as bea, person() as cy, person() as dee:
        ada_id, bea_id = await user_id(ada), await user_id(bea)
        team = await _post(ada, "/api/lists", name="Team", color="#00aa00")
        await share(ada, dee, team["id"], "viewer")  # earliest, but a viewer
        await share(ada, bea, team["id"], "editor")
        await share(ada, cy, team["id"], "editor")
        await _post(bea, "/api/lists", name="TEAM")  # Bea has a list of that name
        hook = await _post(bea, "/api/webhooks", url=HOOK, events=["*"])
        mine = await _post(ada, "/api/tasks", title="Ada's", list_id=team["id"])
        await _post(ada, f"/api/tasks/{mine['id']}/complete")
        theirs = await _post(cy, "/api/tasks", title="Cy's", list_id=team["id"], assignee_id=ada_id)
        feed = (await bea.get("/api/tasks/changes")).json()["next"]
        before = await _types(bea, hook["id"])

        assert (await _delete_me(ada, email)).status_code == 204

        handed = (await bea.get(f"/api/lists/{team['id']}")).json()
        assert handed["owner_id"] == bea_id
        assert handed["role"] == "owner"
        assert handed["name"] == "Team (2)"
        assert handed["color"] == "#00aa00"
        assert handed["open_count"] == 1
        members = (await bea.get(f"/api/lists/{team['id']}/members")).json()
        assert [(m["user_id"], m["role"]) for m in members] == [
            (bea_id, "owner"),
            (await user_id(dee), "viewer"),
            (await user_id(cy), "editor"),
        ]
        kept = {
            t["title"]: t
            for t in (await cy.get("/api/tasks", params={"list_id": team["id"]})).json()
        }
        assert kept["Ada's"]["user_id"] == bea_id
        assert kept["Ada's"]["created_by"] is None
        assert kept["Ada's"]["completed_by"] is None
        assert kept["Ada's"]["is_completed"] is True
        assert kept["Cy's"]["assignee_id"] is None
        assert kept["Cy's"]["created_by"] == theirs["created_by"]
        events = (await _types(bea, hook["id"]))[len(before) :]
        assert events == ["list.updated", "list.member_removed", "task.updated", "task.updated"]
        changes = await read_feed(bea, feed, wait_for=[mine["id"], theirs["id"], team["id"]])
        assert {t["title"] for t in changes["changes"]} == {"Ada's", "Cy's"}
        assert [item["id"] for item in changes["lists"]] == [team["id"]]
        # The links Ada made go with her; the new owner manages the list.
        assert (await bea.get(f"/api/lists/{team['id']}/invitations")).json() == []
        renamed = await bea.patch(f"/api/lists/{team['id']}", json={"name": "Ours"})
        assert renamed.status_code == 200, renamed.text


@pytest.mark.parametrize("others", ["viewers", "nobody"])
async def test_a_list_with_no_editor_goes_for_everyone(
    person: Callable[..., httpx.AsyncClient], others: str
) -> None:
    email = _email()
    async with person(email=email) as ada, person() as vic:
        club = await _post(ada, "/api/lists", name="Club")
        if others == "viewers":
            await share(ada, vic, club["id"], "viewer")
        hook = await _post(vic, "/api/webhooks", url=HOOK, events=["*"])
        tasks_made = [
            await _post(ada, "/api/tasks", title=f"Meeting {i}", list_id=club["id"])
            for i in range(2)
        ]
        feed = (await vic.get("/api/tasks/changes")).json()["next"]
        before = await _types(vic, hook["id"])

        assert (await _delete_me(ada, email)).status_code == 204

        assert (await vic.get(f"/api/lists/{club['id']}")).status_code == 404
        assert (await vic.get("/api/lists")).json() == []
        events = (await _types(vic, hook["id"]))[len(before) :]
        if others == "viewers":
            changes = await read_feed(vic, feed, wait_for=[club["id"]])
            assert events == ["list.deleted", "task.deleted", "task.deleted"]
            assert changes["deleted_lists"] == [club["id"]]
            assert sorted(changes["deleted"]) == sorted(t["id"] for t in tasks_made)
        else:
            assert events == []
            changes = await read_feed(vic, feed)
            assert changes["deleted_lists"] == []
            assert changes["deleted"] == []


async def test_their_traces_in_others_lists_name_nobody(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    email = _email()
    async with person(email=email) as ada, person() as olga:
        ada_id = await user_id(ada)
        shop = await _post(olga, "/api/lists", name="Shop")
        await share(olga, ada, shop["id"], "editor")
        hook = await _post(olga, "/api/webhooks", url=HOOK, events=["*"])
        made = await _post(ada, "/api/tasks", title="Ada made it", list_id=shop["id"])
        done = await _post(olga, "/api/tasks", title="Ada did it", list_id=shop["id"])
        await _post(ada, f"/api/tasks/{done['id']}/complete")
        assigned = await _post(
            olga, "/api/tasks", title="For Ada", list_id=shop["id"], assignee_id=ada_id
        )
        untouched = await _post(olga, "/api/tasks", title="Olga's own", list_id=shop["id"])
        before = await _types(olga, hook["id"])

        assert (await _delete_me(ada, email)).status_code == 204

        listed = (await olga.get("/api/tasks", params={"list_id": shop["id"]})).json()
        by_id = {t["id"]: t for t in listed}
        assert by_id[made["id"]]["created_by"] is None
        assert by_id[made["id"]]["user_id"] == await user_id(olga)
        assert by_id[done["id"]]["completed_by"] is None
        assert by_id[done["id"]]["is_completed"] is True
        assert by_id[assigned["id"]]["assignee_id"] is None
        assert by_id[untouched["id"]] == untouched
        members = (await olga.get(f"/api/lists/{shop['id']}/members")).json()
        assert [m["user_id"] for m in members] == [await user_id(olga)]
        events = (await _types(olga, hook["id"]))[len(before) :]
        assert events == ["task.updated"] * 3 + ["list.member_removed"]


async def test_another_process_that_knew_the_user_starts_them_afresh(
    person: Callable[..., httpx.AsyncClient], data_settings: Settings
) -> None:
    subject, email = str(uuid.uuid4()), _email()
    async with app_for(data_settings) as other_app:
        token = token_for(data_settings, subject, email)
        async with person(subject, email) as here, client_for(other_app, token) as there:
            await _post(there, "/api/tasks", title="Known there")
            assert (await _delete_me(here, email)).status_code == 204
            me = await there.get("/api/auth/me")
            assert me.status_code == 200, me.text
            assert (await there.get("/api/tasks")).json() == []
            await _post(there, "/api/lists", name="Fresh start")
            await _post(there, "/api/tasks", title="After")


async def test_a_built_in_accounts_old_tokens_are_refused_and_make_no_user(
    data_app: FastAPI, data_settings: Settings
) -> None:
    """Only an external issuer's token starts a new user: a built-in account's access token
    is 401 once the account is deleted, here and in another process that knew the user, and
    the email is free to register again."""
    email = _email()
    account = {"email": email, "password": "a long enough passphrase"}
    async with client_for(data_app) as anonymous, app_for(data_settings) as other_app:
        registered = await anonymous.post("/api/auth/register", json=account)
        assert registered.status_code == 201, registered.text
        token = registered.json()["access_token"]
        async with client_for(data_app, token) as ada, client_for(other_app, token) as there:
            await _post(there, "/api/tasks", title="Known there")
            assert (await _delete_me(ada, email)).status_code == 204
            for client in (ada, there):
                assert_error(await client.get("/api/auth/me"), 401, "INVALID_TOKEN")
                made = await client.post("/api/tasks", json={"title": "After"})
                assert_error(made, 401, "INVALID_TOKEN")
        again = await anonymous.post("/api/auth/register", json=account)
        assert again.status_code == 201, again.text


async def test_calendar_writes_racing_the_deletion_leave_nothing_behind(
    person: Callable[..., httpx.AsyncClient], data_app: FastAPI, data_settings: Settings
) -> None:
    """CalDAV PUTs in flight while the deletion commits finish before it (and go with the
    rest) or fail; none leaves a task to a "new, empty user"."""
    subject, email = str(uuid.uuid4()), _email()
    async with person(subject, email) as ada, client_for(data_app) as app:
        me = (await ada.get("/api/auth/me")).json()
        app.headers.update(basic((await _post(ada, "/api/tokens", name="calendar"))["token"]))
        inbox = f"/dav/calendars/{me['id']}/inbox/"
        statuses: list[int] = []
        under_way, deleting = asyncio.Event(), asyncio.Event()

        async def put_until_refused(writer: int) -> None:
            for n in itertools.count():
                uid = f"racer-{writer}-{n}"
                answer = await app.put(f"{inbox}{uid}.ics", content=vtodo(uid, "Racing"))
                statuses.append(answer.status_code)
                if statuses.count(201) >= 8:
                    under_way.set()
                if deleting.is_set() and answer.status_code in (401, 404):
                    return

        writers = [asyncio.create_task(put_until_refused(writer)) for writer in range(4)]
        await asyncio.wait_for(under_way.wait(), 60)
        deleting.set()
        assert (await _delete_me(ada, email)).status_code == 204
        await asyncio.wait_for(asyncio.gather(*writers), 60)
        assert set(statuses) <= {201, 401, 404}, statuses
        assert await _rows_of(data_settings, uuid.UUID(me["id"]), str(uuid.uuid4())) == {}
        # The external issuer's token starts a new user, with nothing.
        assert (await ada.get("/api/tasks")).json() == []


async def test_an_import_the_deletion_overtakes_leaves_nothing_behind(
    person: Callable[..., httpx.AsyncClient], data_settings: Settings
) -> None:
    """An import sent with the very sign-in that then deletes the account, its file still
    arriving when the deletion commits, fails rather than storing its tasks in a "new, empty
    user" (a later request with that external token starts one, with nothing)."""
    subject, email = str(uuid.uuid4()), _email()
    todos = "".join(
        f"BEGIN:VTODO\r\nUID:imported-{n}\r\nSUMMARY:Imported {n}\r\nEND:VTODO\r\n"
        for n in range(20)
    )
    reading, deleted = asyncio.Event(), asyncio.Event()

    async def calendar() -> AsyncIterator[bytes]:
        yield b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n"
        reading.set()  # asked for more: the import is under way, its token checked
        await deleted.wait()
        yield f"{todos}END:VCALENDAR\r\n".encode()

    async with person(subject, email) as ada:
        me = (await ada.get("/api/auth/me")).json()
        importing = asyncio.create_task(
            ada.post(
                "/api/import",
                params={"source": "ics"},
                content=calendar(),
                headers={"Content-Type": "text/calendar"},
            )
        )
        await asyncio.wait_for(reading.wait(), 60)
        assert (await _delete_me(ada, email)).status_code == 204
        deleted.set()
        imported = await asyncio.wait_for(importing, 60)
        assert imported.status_code in (401, 404), imported.text
        assert await _rows_of(data_settings, uuid.UUID(me["id"]), str(uuid.uuid4())) == {}
        assert (await ada.get("/api/tasks")).json() == []


async def test_what_calendar_apps_gave_goes_with_the_account(
    person: Callable[..., httpx.AsyncClient], data_app: FastAPI, data_settings: Settings
) -> None:
    """The notes kept of what a calendar app sent (its body, the properties the mapping does
    not hold, a deleted task as it was) hold nothing of the user once the account is deleted:
    the task alive then, one the app deleted, one deleted through the API."""
    subject, email = str(uuid.uuid4()), _email()
    async with person(subject, email) as ada, client_for(data_app) as app:
        me = (await ada.get("/api/auth/me")).json()
        app.headers.update(basic((await _post(ada, "/api/tokens", name="calendar"))["token"]))
        inbox = f"/dav/calendars/{me['id']}/inbox/"
        for uid in ("alive", "deleted-by-app", "deleted-by-api"):
            body = vtodo(uid, f"Secret {uid}", "X-APP-NOTE:a private note")
            assert (await app.put(f"{inbox}{uid}.ics", content=body)).status_code == 201
        ids = {task["title"]: task["id"] for task in (await ada.get("/api/tasks")).json()}
        assert (await app.delete(f"{inbox}deleted-by-app.ics")).status_code == 204
        assert (await ada.delete(f"/api/tasks/{ids['Secret deleted-by-api']}")).status_code == 204
        task_ids = [uuid.UUID(task_id) for task_id in ids.values()]
        assert await _dav_notes(data_settings, task_ids) != []

        assert (await _delete_me(ada, email)).status_code == 204
        assert await _dav_notes(data_settings, task_ids) == []


async def _dav_notes(settings: Settings, task_ids: list[uuid.UUID]) -> list[Any]:
    """What the CalDAV notes of these tasks still hold of their content."""
    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(dav_objects.c.extra, dav_objects.c.sent, dav_objects.c.deleted_task).where(
                    dav_objects.c.task_id.in_(task_ids)
                )
            )
            return [value for row in rows for value in row if value is not None]
    finally:
        await engine.dispose()
