"""Notification emails across real `todo-api serve` processes (SQLite and PostgreSQL) and a
local SMTP server: two processes both running the jobs send an instant email once and the
daily digest once; processes stopped and started again send neither again, and a digest that
was waiting while every process was down goes, once, after they are back."""

import asyncio
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, update

from tests.helpers_server import Server, clean_env, running_server, server_token
from tests.lists.sharing import share, user_id
from tests.reminders.smtp import Mailbox, mailbox
from tests.support import TEST_SECRET, make_settings
from tests.tasks.feed_helpers import database
from tests.tasks.helpers import create_task
from todo_api.config import Settings
from todo_api.kit.ids import utcnow
from todo_api.tables.notifications import notification_emails

WAIT_SECONDS = 30.0
POLL = 1.0
# Long enough for either process to send anything twice, were it to (several polls).
SETTLE_SECONDS = 3.0


async def _wait(condition: Callable[[], Any], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not await condition():
        assert time.monotonic() < deadline, f"waited {WAIT_SECONDS} s for {what}"
        await asyncio.sleep(0.1)


def _client(server: Server, token: str) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.AsyncClient(base_url=server.url, headers=headers, timeout=WAIT_SECONDS)


def _to(box: Mailbox, address: str) -> list[Any]:
    return [message for message in box.messages() if message["To"] == address]


async def _emails(settings: Settings, user: str) -> list[Any]:
    async with database(settings) as db, db.connection() as conn:
        result = await conn.execute(
            select(notification_emails).where(notification_emails.c.user_id == uuid.UUID(user))
        )
    return list(result.rows)


async def _due_now(settings: Settings, email_id: uuid.UUID) -> None:
    """The digest's time come (as NOTIFICATION_DIGEST_TIME would, on the recipient's clock)."""
    async with database(settings) as db, db.transaction() as conn:
        await conn.execute(
            update(notification_emails)
            .where(notification_emails.c.id == email_id)
            .values(next_attempt_at=utcnow())
        )


async def _inbox_size(server: Server, token: str) -> int:
    async with _client(server, token) as client:
        response = await client.get("/api/notifications")
    assert response.status_code == 200, response.text
    return len(response.json()["items"])


async def test_two_processes_and_restarts_send_each_notification_email_once(
    server_database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(server_database_url, tmp_path / "data")
    emails = {name: f"{name}-{uuid.uuid4().hex[:10]}@example.test" for name in ("bob", "cy")}
    with mailbox() as box:
        env = clean_env(
            DATABASE_URL=server_database_url,
            JWT_SECRET=TEST_SECRET,
            SMTP_URL=box.url,
            REMINDER_EMAIL_FROM="notifications@example.test",
            NOTIFICATION_POLL_SECONDS=str(POLL),
        )
        tokens = {
            name: server_token(env, str(uuid.uuid4()), emails.get(name))
            for name in ("alice", "bob", "cy")
        }

        def servers(*names: str) -> list[AbstractContextManager[Server]]:
            return [running_server(tmp_path, env, tmp_path / f"{name}.log") for name in names]

        one_ctx, two_ctx = servers("one", "two")
        with one_ctx as one, two_ctx as two:
            async with (
                _client(one, tokens["alice"]) as alice,
                _client(two, tokens["bob"]) as bob,
                _client(one, tokens["cy"]) as cy,
            ):
                daily = await bob.patch("/api/notifications/settings", json={"email": "daily"})
                assert daily.status_code == 200, daily.text
                listed = (await alice.post("/api/lists", json={"name": "Team"})).json()
                await share(alice, bob, listed["id"], "editor")
                await share(alice, cy, listed["id"], "editor")
                bob_id, cy_id = await user_id(bob), await user_id(cy)
                for title, assignee in (("For Bob", bob_id), ("For Cy", cy_id)):
                    await create_task(
                        alice, title=title, list_id=listed["id"], assignee_id=assignee
                    )

            # Cy's instant email: once, from either process.
            async def cy_mailed() -> bool:
                return bool(_to(box, emails["cy"]))

            await _wait(cy_mailed, "Cy's instant email")

            # Bob's digest: waiting for its time.
            async def digest_waiting() -> bool:
                return bool(await _emails(settings, bob_id))

            await _wait(digest_waiting, "Bob's digest to be queued")
            await asyncio.sleep(SETTLE_SECONDS)
            [digest] = await _emails(settings, bob_id)
            assert (digest.digest, digest.status) == (True, "pending")
            assert _to(box, emails["bob"]) == []
            await _due_now(settings, digest.id)

            async def bob_mailed() -> bool:
                return bool(_to(box, emails["bob"]))

            await _wait(bob_mailed, "Bob's digest")
            await asyncio.sleep(SETTLE_SECONDS)
        # Both stopped once they had sent: each email went once, and is recorded as sent.
        assert len(_to(box, emails["cy"])) == 1
        assert len(_to(box, emails["bob"])) == 1
        assert "For Bob" in _to(box, emails["bob"])[0].get_content()
        assert [row.status for row in await _emails(settings, bob_id)] == ["sent"]
        assert [row.status for row in await _emails(settings, cy_id)] == ["sent"]

        # Started again: nothing is sent again, nor any notification made again.
        one_ctx, two_ctx = servers("one-again", "two-again")
        with one_ctx as one, two_ctx:
            await asyncio.sleep(SETTLE_SECONDS)
            assert await _inbox_size(one, tokens["cy"]) == 1
            assert await _inbox_size(one, tokens["bob"]) == 1
            assert len(_to(box, emails["cy"])) == 1
            assert len(_to(box, emails["bob"])) == 1
            # Another digest, made; then every process is down when it comes due.
            async with _client(one, tokens["alice"]) as alice:
                await create_task(alice, title="Later", list_id=listed["id"], assignee_id=bob_id)

            async def second_digest() -> bool:
                return len(await _emails(settings, bob_id)) == 2

            await _wait(second_digest, "Bob's next digest to be queued")
        [later] = [row for row in await _emails(settings, bob_id) if row.status == "pending"]
        await _due_now(settings, later.id)
        # Back: it goes, once.
        one_ctx, two_ctx = servers("back-one", "back-two")
        with one_ctx, two_ctx:

            async def two_digests() -> bool:
                return len(_to(box, emails["bob"])) >= 2

            await _wait(two_digests, "Bob's next digest")
            await asyncio.sleep(SETTLE_SECONDS)
    bobs = _to(box, emails["bob"])
    assert len(bobs) == 2
    assert "Later" in bobs[1].get_content()
    assert "For Bob" not in bobs[1].get_content()
    assert len(_to(box, emails["cy"])) == 1
    assert len({str(m["Message-ID"]) for m in box.messages()}) == len(box.messages())
