"""Notifications through HTTP on both databases: the kinds and who gets them (never the actor,
never an outsider), the inbox and its read state, settings, and emails: instant ones, the
daily digest sent once by two instances, and nothing about what the recipient lost meanwhile.
The jobs are run here as a server's runner runs them."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from tests.collaboration.helpers import comment
from tests.lists.helpers import create_list
from tests.lists.sharing import remove, share, user_id
from tests.reminders.smtp import Mailbox
from tests.support import (
    app_for,
    assert_error,
    captured_logs,
    client_for,
    make_settings,
    token_for,
)
from tests.tasks.feed_helpers import database
from tests.tasks.helpers import assert_validation_error, create_task
from todo_api.config import Settings
from todo_api.db import Database
from todo_api.kit.deps import held
from todo_api.kit.ids import utcnow
from todo_api.notifications import mail, making, scheduled
from todo_api.tables.notifications import notification_emails, notifications
from todo_api.tables.users import users

Clients = Callable[..., httpx.AsyncClient]
FIELDS = {"id", "kind", "at", "read", "actor_id", "task_id", "list_id", "comment_id"}


@pytest.fixture
def mail_settings(settings: Settings, tmp_path: Path, box: Mailbox) -> Settings:
    return make_settings(settings.database_url or "", tmp_path, smtp_url=box.url)


@pytest.fixture
async def mail_app(mail_settings: Settings) -> AsyncIterator[FastAPI]:
    async with app_for(mail_settings) as app:
        yield app


@pytest.fixture
def person(mail_app: FastAPI, mail_settings: Settings) -> Callable[..., httpx.AsyncClient]:
    def make(email: str | None = None) -> httpx.AsyncClient:
        address = email or f"p{uuid.uuid4().hex[:10]}@example.test"
        return client_for(mail_app, token_for(mail_settings, str(uuid.uuid4()), address))

    return make


async def made(settings: Settings) -> None:
    """The job that makes notifications, until it has read everything (PostgreSQL's feed
    bound may hold a moment)."""
    async with database(settings) as db:
        for _ in range(50):
            if not await making.make(db, settings):
                return
        await asyncio.sleep(0)


async def inbox(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/notifications", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"items", "next", "unread_count"}
    for item in body["items"]:
        assert set(item) == FIELDS
    return body


def kinds(page: dict[str, Any]) -> list[str]:
    return [item["kind"] for item in page["items"]]


async def test_each_kind_reaches_its_people_and_never_the_actor(
    alice: httpx.AsyncClient, new_user_client: Clients, settings: Settings
) -> None:
    emails = [f"n{uuid.uuid4().hex[:10]}@example.test" for _ in range(3)]
    async with (
        new_user_client(email=emails[0]) as bob,
        new_user_client(email=emails[1]) as viewer,
        new_user_client(email=emails[2]) as outsider,
    ):
        listed = await create_list(alice, f"Team {uuid.uuid4().hex[:6]}")
        await share(alice, bob, listed["id"], "editor")
        await share(alice, viewer, listed["id"], "viewer")
        bob_id, alice_id = await user_id(bob), await user_id(alice)
        await made(settings)
        joined = await inbox(alice)
        assert kinds(joined) == ["member_joined", "member_joined"]
        assert joined["items"][0]["list_id"] == listed["id"]
        assert joined["items"][0]["task_id"] is None

        task = await create_task(alice, title="Report", list_id=listed["id"], assignee_id=bob_id)
        mine = await create_task(alice, title="Self", list_id=listed["id"], assignee_id=alice_id)
        await comment(bob, task["id"], f"Started, @{emails[1]} and @{emails[2]} see it")
        done = await bob.post(f"/api/tasks/{task['id']}/complete")
        assert done.status_code == 200, done.text
        await comment(alice, mine["id"], "Note to self")
        await made(settings)

        got = await inbox(bob)
        assert kinds(got) == ["assigned"]
        assert got["items"][0]["actor_id"] == alice_id
        assert got["items"][0]["task_id"] == task["id"]
        assert kinds(await inbox(viewer)) == ["mentioned"]
        assert kinds(await inbox(outsider)) == []
        alices = await inbox(alice)
        assert kinds(alices)[:2] == ["completed", "commented"]
        assert {i["actor_id"] for i in alices["items"][:2]} == {bob_id}
        assert alices["items"][1]["comment_id"] is not None
        assert alices["unread_count"] == 4


async def test_a_completion_reaches_the_creator_and_the_assignee_who_did_not_complete_it(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, settings: Settings
) -> None:
    """Completing one's own task tells nobody; completing a task someone else made, or one
    assigned to someone else, tells them."""
    listed = await create_list(alice, f"Done {uuid.uuid4().hex[:6]}")
    await share(alice, bob, listed["id"], "editor")
    await made(settings)
    bob_id = await user_id(bob)
    own = await create_task(alice, title="Own", list_id=listed["id"])
    assigned = await create_task(alice, title="For Bob", list_id=listed["id"], assignee_id=bob_id)
    bobs = await create_task(bob, title="Bob's", list_id=listed["id"])
    daily = {"due_at": "2030-01-01T09:00:00Z", "recurrence": "FREQ=DAILY"}  # an occurrence
    bobs_daily = await create_task(bob, title="Bob's daily", list_id=listed["id"], **daily)
    await made(settings)
    alices_before = len((await inbox(alice))["items"])
    for task in (own, assigned, bobs, bobs_daily):
        done = await alice.post(f"/api/tasks/{task['id']}/complete")
        assert done.status_code == 200, done.text
    await made(settings)

    assert len((await inbox(alice))["items"]) == alices_before
    completed = [i for i in (await inbox(bob))["items"] if i["kind"] == "completed"]
    assert sorted(i["task_id"] for i in completed) == sorted(
        [assigned["id"], bobs["id"], bobs_daily["id"]]
    )
    assert {i["actor_id"] for i in completed} == {await user_id(alice)}


async def test_read_state_unread_filter_and_paging(
    alice: httpx.AsyncClient, new_user_client: Clients, settings: Settings
) -> None:
    listed = await create_list(alice, f"Read {uuid.uuid4().hex[:6]}")
    people = [new_user_client() for _ in range(3)]
    for person in people:
        await share(alice, person, listed["id"], "viewer")
    await made(settings)
    first = await inbox(alice, limit=2)
    assert len(first["items"]) == 2
    assert first["next"] is not None
    rest = await inbox(alice, limit=2, cursor=first["next"])
    assert len(rest["items"]) == 1
    assert rest["next"] is None
    assert first["unread_count"] == 3
    one = first["items"][0]["id"]
    marked = await alice.post("/api/notifications/read", json={"ids": [one]})
    assert marked.status_code == 204
    unread = await inbox(alice, unread="true")
    assert one not in [item["id"] for item in unread["items"]]
    assert unread["unread_count"] == 2
    assert (await alice.post("/api/notifications/read", json={"all": True})).status_code == 204
    assert (await inbox(alice, unread="true"))["items"] == []
    assert (await inbox(alice))["items"][0]["read"] is True
    for bad in ({}, {"ids": [one], "all": True}, {"all": False}, {"ids": ["x"]}):
        response = await alice.post("/api/notifications/read", json=bad)
        assert response.status_code == 400, (bad, response.text)
    assert_validation_error(await alice.get("/api/notifications", params={"cursor": "x"}), "cursor")
    for person in people:
        await person.aclose()


async def test_settings_default_and_change(alice: httpx.AsyncClient) -> None:
    got = await alice.get("/api/notifications/settings")
    assert got.json() == {
        "email": "instant",
        "kinds": {
            "assigned": True,
            "mentioned": True,
            "commented": False,
            "completed": False,
            "member_joined": False,
        },
    }
    changed = await alice.patch(
        "/api/notifications/settings", json={"email": "daily", "kinds": {"completed": True}}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["email"] == "daily"
    assert changed.json()["kinds"]["completed"] is True
    assert changed.json()["kinds"]["assigned"] is True
    assert (await alice.get("/api/notifications/settings")).json() == changed.json()
    for bad in ({"email": "weekly"}, {"kinds": {"nope": True}}, {}, {"email": None, "x": 1}):
        response = await alice.patch("/api/notifications/settings", json=bad)
        assert response.status_code == 400, (bad, response.text)


async def test_a_member_removed_before_delivery_is_told_nothing(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, settings: Settings
) -> None:
    listed = await create_list(alice, f"Gone {uuid.uuid4().hex[:6]}")
    await share(alice, bob, listed["id"], "editor")
    bob_id = await user_id(bob)
    await create_task(alice, title="Secret", list_id=listed["id"], assignee_id=bob_id)
    await made(settings)
    assert kinds(await inbox(bob)) == ["assigned"]
    await remove(alice, listed["id"], bob_id)
    assert (await inbox(bob))["items"] == []
    assert (await inbox(bob))["unread_count"] == 0
    assert_error(await bob.get(f"/api/lists/{listed['id']}/activity"), 404, "NOT_FOUND")


async def test_notifications_go_with_the_activitys_retention(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, settings: Settings
) -> None:
    listed = await create_list(alice, f"Old {uuid.uuid4().hex[:6]}")
    await share(alice, bob, listed["id"], "editor")
    bob_id = await user_id(bob)
    old = await create_task(alice, title="Old", list_id=listed["id"], assignee_id=bob_id)
    await made(settings)
    new = await create_task(alice, title="New", list_id=listed["id"], assignee_id=bob_id)
    await made(settings)
    assert [i["task_id"] for i in (await inbox(bob))["items"]] == [new["id"], old["id"]]
    long_ago = utcnow() - timedelta(days=settings.activity_retention_days + 1)
    async with database(settings) as db:
        [waiting] = await _emails(db, bob_id)  # no mail server here: it waits
        async with db.transaction() as conn:
            await conn.execute(
                update(notifications)
                .where(notifications.c.task_id == uuid.UUID(old["id"]))
                .values(at=long_ago)
            )
            await conn.execute(
                update(notification_emails)
                .where(notification_emails.c.id == waiting.id)
                .values(created_at=long_ago)
            )
        await scheduled.housekeeping(db, settings)
        # A waiting email stays, however old; one done with goes.
        assert [row.id for row in await _emails(db, bob_id)] == [waiting.id]
        async with db.transaction() as conn:
            await conn.execute(
                update(notification_emails)
                .where(notification_emails.c.id == waiting.id)
                .values(status="sent")
            )
        await scheduled.housekeeping(db, settings)
        assert await _emails(db, bob_id) == []
        async with db.connection() as conn:
            kept = await conn.execute(
                select(notifications.c.task_id).where(notifications.c.user_id == uuid.UUID(bob_id))
            )
    assert [row.task_id for row in kept.rows] == [uuid.UUID(new["id"])]
    assert [i["task_id"] for i in (await inbox(bob))["items"]] == [new["id"]]


async def test_a_notification_email_speaks_its_recipients_language(
    person: Clients, mail_settings: Settings, box: Mailbox
) -> None:
    bob_email = f"b{uuid.uuid4().hex[:10]}@example.test"
    async with person() as alice, person(bob_email) as bob:
        named = await alice.patch("/api/auth/me", json={"name": "Alice"})
        assert named.status_code == 200, named.text
        french = await bob.patch("/api/auth/me", json={"language": "fr"})
        assert french.status_code == 200, french.text
        listed = await create_list(alice, "Bureau")
        await share(alice, bob, listed["id"], "editor")
        bob_id = await user_id(bob)
        await create_task(
            alice, title="Rapport trimestriel", list_id=listed["id"], assignee_id=bob_id
        )
        await made(mail_settings)
        async with database(mail_settings) as db:
            await mail.send_due(db, mail_settings)
    [message] = [m for m in box.messages() if m["To"] == bob_email]
    assert message["Subject"] == "Alice vous a assigné « Rapport trimestriel » · Tasks"
    assert message.get_content() == "- Alice vous a assigné « Rapport trimestriel »\n\n-- \nTasks\n"


async def test_an_instant_email_names_the_task_and_who_and_later_ones_wait_a_minute(
    person: Clients, mail_settings: Settings, box: Mailbox
) -> None:
    bob_email = f"b{uuid.uuid4().hex[:10]}@example.test"
    async with person() as alice, person(bob_email) as bob:
        listed = await create_list(alice, "Mail")
        await share(alice, bob, listed["id"], "editor")
        bob_id = await user_id(bob)
        await create_task(alice, title="Quarterly report", list_id=listed["id"], assignee_id=bob_id)
        await made(mail_settings)
        async with database(mail_settings) as db:
            await mail.send_due(db, mail_settings)
            [message] = [m for m in box.messages() if m["To"] == bob_email]
            assert "Quarterly report" in message["Subject"]
            assert "assigned you" in message.get_content()
            assert message["Auto-Submitted"] == "auto-generated"
            # A Message-ID of its own, not a reminder's.
            assert str(message["Message-ID"]).strip().startswith("<notification-")
            # Another within the minute: gathered into an email a minute after the first.
            await create_task(alice, title="Slides", list_id=listed["id"], assignee_id=bob_id)
            await made(mail_settings)
            await mail.send_due(db, mail_settings)
            assert len([m for m in box.messages() if m["To"] == bob_email]) == 1
            rows = await _emails(db, bob_id)
            sent = [r for r in rows if r.status == "sent"]
            waiting = [r for r in rows if r.status == "pending"]
            assert len(sent) == 1
            assert len(waiting) == 1
            assert (waiting[0].next_attempt_at - sent[0].sent_at).total_seconds() >= 59


async def test_the_daily_digest_goes_once_from_two_instances_and_skips_what_was_lost(
    person: Clients, mail_settings: Settings, box: Mailbox
) -> None:
    bob_email = f"d{uuid.uuid4().hex[:10]}@example.test"
    async with person() as alice, person(bob_email) as bob:
        settings_set = await bob.patch(
            "/api/notifications/settings", json={"email": "daily", "kinds": {"member_joined": True}}
        )
        assert settings_set.status_code == 200
        kept = await create_list(alice, "Kept")
        lost = await create_list(alice, "Lost")
        await share(alice, bob, kept["id"], "editor")
        await share(alice, bob, lost["id"], "editor")
        bob_id = await user_id(bob)
        await create_task(alice, title="Stays", list_id=kept["id"], assignee_id=bob_id)
        await create_task(alice, title="Hidden", list_id=lost["id"], assignee_id=bob_id)
        await made(mail_settings)
        await remove(alice, lost["id"], bob_id)
        async with database(mail_settings) as first, database(mail_settings) as second:
            [waiting] = await _emails(first, bob_id)
            assert waiting.digest is True
            assert waiting.next_attempt_at > utcnow()
            await mail.send_due(first, mail_settings)  # not due yet
            assert [m for m in box.messages() if m["To"] == bob_email] == []
            async with first.transaction() as conn:
                await conn.execute(
                    update(notification_emails)
                    .where(notification_emails.c.id == waiting.id)
                    .values(next_attempt_at=utcnow())
                )
            await asyncio.gather(
                mail.send_due(first, mail_settings), mail.send_due(second, mail_settings)
            )
            await mail.send_due(second, mail_settings)
        [digest] = [m for m in box.messages() if m["To"] == bob_email]
        text = digest.get_content()
        assert "Stays" in text
        assert "Hidden" not in text


async def _emails(db: Database, user: str) -> list[Any]:
    async with db.connection() as conn:
        result = await conn.execute(
            select(notification_emails)
            .where(notification_emails.c.user_id == uuid.UUID(user))
            .order_by(notification_emails.c.created_at)
        )
    return list(result.rows)


async def test_an_item_that_cannot_be_put_in_words_is_left_out_and_logged_once(
    person: Clients,
    mail_settings: Settings,
    box: Mailbox,
    mail_app: FastAPI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A name stored before names were one line (written here behind the service) would break
    the subject: that item is left out, logged once, and the others are sent."""
    bob_email = f"o{uuid.uuid4().hex[:10]}@example.test"
    async with person() as alice, person() as carol, person(bob_email) as bob:
        daily = await bob.patch("/api/notifications/settings", json={"email": "daily"})
        assert daily.status_code == 200, daily.text
        bob_id = await user_id(bob)
        theirs = await create_list(alice, "Alice's")
        ours = await create_list(carol, "Carol's")
        await share(alice, bob, theirs["id"], "editor")
        await share(carol, bob, ours["id"], "editor")
        async with held(mail_app, Database).transaction() as conn:
            await conn.execute(
                update(users)
                .where(users.c.id == uuid.UUID(await user_id(alice)))
                .values(name="Eve\r\nBcc: victim@example.test")
            )
        first = await create_task(alice, title="First", list_id=theirs["id"], assignee_id=bob_id)
        await create_task(carol, title="Second", list_id=ours["id"], assignee_id=bob_id)
        await made(mail_settings)
        with captured_logs(caplog):
            async with database(mail_settings) as db:
                async with db.transaction() as conn:
                    await conn.execute(
                        update(notification_emails)
                        .where(notification_emails.c.user_id == uuid.UUID(bob_id))
                        .values(next_attempt_at=utcnow())
                    )
                await mail.send_due(db, mail_settings)
                await mail.send_due(db, mail_settings)
                [sent] = [row for row in await _emails(db, bob_id) if row.status == "sent"]
        # Still in the inbox: only its email could not be made.
        assert first["id"] in [i["task_id"] for i in (await inbox(bob))["items"]]
    [message] = [m for m in box.messages() if m["To"] == bob_email]
    assert "Second" in message["Subject"]
    items = [line for line in message.get_content().splitlines() if line.startswith("- ")]
    assert len(items) == 1  # one item: Carol's
    assert "First" not in message.get_content()
    assert "Bcc" not in str(message)
    assert sent.error is None
    left_out = [r for r in caplog.records if "left out of its email" in r.getMessage()]
    assert len(left_out) == 1, [r.getMessage() for r in caplog.records]
