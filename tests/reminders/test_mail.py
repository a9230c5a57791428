"""Reminder emails as a mail server sees them, through HTTP on both databases with a real SMTP
server (aiosmtpd) on 127.0.0.1: exactly the headers meant and one recipient, whatever a title
or description holds; permanent refusals; and a reminder that goes only to someone who sees
the task when it is sent."""

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from tests.lists.helpers import create_list
from tests.lists.sharing import remove, share, user_id
from tests.reminders.helpers import FAST, scheduling, soon
from tests.reminders.smtp import Mailbox
from tests.support import app_for, client_for, make_settings, token_for
from tests.tasks.helpers import assert_validation_error, create_task
from tests.webhooks.helpers import wait_until
from todo_api.config import Settings
from todo_api.db import Database
from todo_api.tables.reminders import reminder_emails

HEADERS = {
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "Auto-Submitted",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
}


def _b(text: str) -> str:
    return f"=?utf-8?b?{base64.b64encode(text.encode()).decode()}?="


# Titles that decode, in a careless mailer, to new header lines and an HTML body.
INJECTED = "x\r\nReply-To: evil@attacker.example\r\nBcc: evil@attacker.example\r\n"
HOSTILE_TITLES = [
    _b(INJECTED + "Content-Type: text/html\r\n\r\n<b>pay here</b>"),
    "=?utf-8?q?x=0D=0ABcc:_evil@attacker.example=0D=0AContent-Type:_text/html?=",
    f"Water {_b(INJECTED)} the plants",
    "=?iso-8859-1?q?=0ABcc=3A_evil=40attacker.example?= and " + "ü" * 120,
]


@pytest.fixture
def mail_settings(settings: Settings, tmp_path: Path, box: Mailbox) -> Settings:
    return make_settings(
        settings.database_url or "",
        tmp_path,
        **FAST,
        smtp_url=box.url,
        public_url="https://todo.example.test",
        task_url_template="https://app.example.test/tasks/{id}",
    )


@pytest.fixture
async def mail_app(mail_settings: Settings) -> AsyncIterator[FastAPI]:
    async with app_for(mail_settings) as app:
        yield app


def _person(app: FastAPI, settings: Settings) -> tuple[httpx.AsyncClient, str]:
    email = f"{uuid.uuid4().hex[:10]}@example.test"
    return client_for(app, token_for(settings, str(uuid.uuid4()), email)), email


def _to(box: Mailbox, email: str) -> list[EmailMessage]:
    return [m for m in box.messages() if m["To"] == email]


async def _emails(settings: Settings, task_id: str) -> list[Any]:
    db = Database(settings)
    try:
        async with db.connection() as conn:
            query = select(reminder_emails).where(reminder_emails.c.task_id == uuid.UUID(task_id))
            return list((await conn.execute(query)).rows)
    finally:
        await db.close()


async def test_no_title_or_description_adds_a_header_a_recipient_or_a_part(
    mail_app: FastAPI, mail_settings: Settings, box: Mailbox
) -> None:
    alice, email = _person(mail_app, mail_settings)
    async with alice:
        made = [
            await create_task(
                alice,
                title=title,
                description=_b(INJECTED) + "\r\nBcc: evil@attacker.example\r\n\r\n<html>",
                reminders=[{"at": soon(1)}],
            )
            for title in HOSTILE_TITLES
        ]
        async with scheduling(mail_settings):
            await wait_until(lambda: len(_to(box, email)) == len(made), what="every email")
            await asyncio.sleep(0.5)
    messages = _to(box, email)
    # Each went to her alone (others' may come too: the worker's database holds other tests'
    # reminders), and nothing went to the address the description slipped in.
    assert [e for e in box.envelopes if email in e] == [[email]] * len(made)
    assert not any("evil@attacker.example" in e for e in box.envelopes)
    by_subject = {str(m["Subject"]): m for m in messages}
    for task in made:
        message = by_subject[f"Reminder: {task['title']} · Tasks"]  # the title as written
        assert set(message.keys()) == HEADERS
        assert len(message.keys()) == len(HEADERS)
        assert message.get_content_type() == "text/plain"
        assert not message.is_multipart()
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["Message-ID"].endswith("@todo.example.test>")
        body = message.get_content()
        assert task["description"] in body
        assert f"https://app.example.test/tasks/{task['id']}" in body
    for raw in box.raw:
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert b"attacker" not in head
        assert b"text/html" not in head


async def test_line_and_paragraph_separators_and_nel_are_refused_as_control_characters(
    alice: httpx.AsyncClient,
) -> None:
    for separator in ("\u2028", "\u2029", "\u0085"):
        titled = await alice.post("/api/tasks", json={"title": f"a{separator}b"})
        assert_validation_error(titled, "title")
        described = await alice.post("/api/tasks", json={"title": "a", "description": separator})
        assert_validation_error(described, "description")
        named = await alice.post("/api/lists", json={"name": f"a{separator}b"})
        assert_validation_error(named, "name")
    kept = await alice.post("/api/tasks", json={"title": "a", "description": "one\r\ntwo\tthree"})
    assert kept.status_code == 201, kept.text


async def test_a_permanent_refusal_fails_the_email_at_once(
    mail_app: FastAPI, mail_settings: Settings, box: Mailbox
) -> None:
    box.rejecting = True
    alice, _ = _person(mail_app, mail_settings)
    async with alice:
        task = await create_task(alice, title="Refused", reminders=[{"at": soon(0.5)}])
        async with scheduling(mail_settings):
            [row] = await wait_until(
                lambda: _ended(mail_settings, task["id"]), what="the email to end"
            )
            await asyncio.sleep(1)  # the schedule's retries would come within this
    assert row["status"] == "failed"
    assert row["attempts"] == 1
    assert "550" in row["error"]
    assert len(box.refused) == 1


async def _ended(settings: Settings, task_id: str) -> list[Any] | None:
    rows = await _emails(settings, task_id)
    return rows if rows and all(r["status"] != "pending" for r in rows) else None


async def test_a_subtasks_reminder_goes_only_to_someone_who_sees_it(
    mail_app: FastAPI, mail_settings: Settings, box: Mailbox
) -> None:
    alice, alice_email = _person(mail_app, mail_settings)
    bob, bob_email = _person(mail_app, mail_settings)
    async with alice, bob:
        bob_id = await user_id(bob)
        shared = (await create_list(alice, f"Shared {uuid.uuid4().hex[:6]}"))["id"]
        private = (await create_list(alice, f"Mine {uuid.uuid4().hex[:6]}"))["id"]
        await share(alice, bob, shared, "editor")
        parent = await create_task(alice, title="Parent", list_id=shared, assignee_id=bob_id)
        subtask = await create_task(
            alice,
            title="Secret subtask",
            description="the combination is 1234",
            parent_id=parent["id"],
            assignee_id=bob_id,
            reminders=[{"at": soon(2)}],
        )
        moved = await alice.post(f"/api/tasks/{parent['id']}/move", json={"list_id": private})
        assert moved.status_code == 200, moved.text
        assert moved.json()["assignee_id"] is None
        assert (await bob.get(f"/api/tasks/{subtask['id']}")).status_code == 404
        assert (await alice.get(f"/api/tasks/{subtask['id']}")).json()["assignee_id"] is None
        async with scheduling(mail_settings):
            await wait_until(lambda: _to(box, alice_email), what="the owner's email")
            await asyncio.sleep(0.5)
    assert _to(box, bob_email) == []
    assert [str(m["Subject"]) for m in _to(box, alice_email)] == [
        "Reminder: Secret subtask · Tasks"
    ]


async def test_an_email_waiting_to_be_sent_is_dropped_when_its_recipient_loses_the_task(
    mail_app: FastAPI, mail_settings: Settings, box: Mailbox
) -> None:
    box.refusing = True  # the first attempts find the server busy
    alice, _ = _person(mail_app, mail_settings)
    bob, bob_email = _person(mail_app, mail_settings)
    async with alice, bob:
        bob_id = await user_id(bob)
        shared = (await create_list(alice, f"Shared {uuid.uuid4().hex[:6]}"))["id"]
        await share(alice, bob, shared, "editor")
        task = await create_task(
            alice, title="For Bob", list_id=shared, assignee_id=bob_id, reminders=[{"at": soon(1)}]
        )
        async with scheduling(mail_settings):
            await wait_until(lambda: box.refused, what="a first attempt")
            await remove(alice, shared, bob_id)
            box.refusing = False
            [row] = await wait_until(
                lambda: _ended(mail_settings, task["id"]), what="the email to end"
            )
    assert row["recipient"] == bob_email
    assert row["status"] == "failed"
    assert row["error"] == "not sent: the recipient no longer sees the task"
    assert _to(box, bob_email) == []


@pytest.mark.parametrize(
    "address",
    [
        "=?utf-8?q?v1=40y.example=2cv2=40z.example=2c?=a@x.example",
        "=?utf-8?b?dkB5LmV4YW1wbGU=?=@x.example",
        "a@x.example, b@y.example",
        "Someone <a@x.example>",
        "a@x.example (comment)",
        "group: a@x.example;",
        '"a b"@x.example',
    ],
)
async def test_an_email_is_one_plain_address(
    alice: httpx.AsyncClient, settings: Settings, app: FastAPI, address: str
) -> None:
    registered = await alice.post(
        "/api/auth/register", json={"email": address, "password": "a long enough password 1"}
    )
    assert_validation_error(registered, "email")
    # As a token's claim: not stored.
    async with client_for(app, token_for(settings, str(uuid.uuid4()), address)) as claimed:
        me = await claimed.get("/api/auth/me")
    assert me.status_code == 200, me.text
    assert me.json()["email"] is None
