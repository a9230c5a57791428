"""Invitations sent by email beside the link to copy: `email` in POST
/api/lists/{id}/invitations (and the web app's sharing page) makes the link as ever and sends
one email with it, from the person who invited, naming the list, in the recipient's language,
with APP_NAME as every email has it; the link in it joins the list. At most 20 such emails a
person an hour (429, nothing made); without email, 503 and nothing made. Through a real SMTP
server (aiosmtpd), on SQLite and PostgreSQL."""

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.accounts.helpers import PASSWORD, bearer, sign_up, unique_email
from tests.reminders.smtp import Mailbox
from tests.support import app_factory, assert_error, client_for
from tests.tasks.helpers import assert_validation_error
from todo_api.config import Settings
from todo_api.lists.invitation_mail import INVITE_EMAILS_PER_HOUR

PUBLIC = "https://todo.example.test"
LINK = re.compile(rf"{re.escape(PUBLIC)}/app/invitations/([A-Za-z0-9_-]+)")


@pytest.fixture
async def apps(settings: Settings, tmp_path: Path, box: Mailbox) -> AsyncIterator[Any]:
    assert settings.database_url is not None
    async with app_factory(
        settings.database_url,
        tmp_path,
        email_verification="off",
        smtp_url=box.url,
        public_url=PUBLIC,
        app_name="Chores",
    ) as make:
        yield make


@asynccontextmanager
async def person(
    app: FastAPI, *, name: str | None = None, language: str | None = None
) -> AsyncIterator[Any]:
    """A new account's API client (signed up, its name and language set), its `email`."""
    async with client_for(app) as api:
        body = await sign_up(api)
        api.headers.update(bearer(body["access_token"]))
        changes = {k: v for k, v in {"name": name, "language": language}.items() if v}
        if changes:
            assert (await api.patch("/api/auth/me", json=changes)).status_code == 200
        api.email = body["user"]["email"]
        yield api


async def new_list(client: httpx.AsyncClient, name: str) -> str:
    made = await client.post("/api/lists", json={"name": name})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def to(box: Mailbox, recipient: str) -> list[EmailMessage]:
    return [m for m in box.messages() if str(m["To"]) == recipient]


def text_of(message: EmailMessage) -> str:
    return str(message.get_content())


async def test_an_invitation_emailed_carries_its_link_which_joins_the_list(
    apps: Any, box: Mailbox
) -> None:
    app = apps()
    async with person(app, name="Anna Weber") as anna, person(app) as ben:
        garden = await new_list(anna, "Garden")
        answer = await anna.post(
            f"/api/lists/{garden}/invitations",
            json={"role": "viewer", "email": f"  {ben.email.upper()} "},
        )
        assert answer.status_code == 201, answer.text
        made = answer.json()
        assert made["emailed"] is True
        [mail] = to(box, ben.email)  # the address as stored: trimmed, lower case
        assert mail["Subject"] == "Anna Weber invites you to “Garden” · Chores"
        assert str(mail["From"]).startswith("Chores <")
        body = text_of(mail)
        assert "You can read its tasks." in body
        assert body.rstrip().endswith("Chores")  # the signature
        [token] = LINK.findall(body)
        assert token == made["token"]
        joined = await ben.post("/api/invitations/accept", json={"token": token})
        assert joined.status_code == 200, joined.text
        assert joined.json()["role"] == "viewer"

        # Without `email` nothing is sent, and the answer is as it always was.
        plain = await anna.post(f"/api/lists/{garden}/invitations", json={"role": "editor"})
        assert plain.status_code == 201
        assert "emailed" not in plain.json()
        assert len(box.messages()) == 1


async def test_it_speaks_the_recipient_s_language_else_the_inviter_s(
    apps: Any, box: Mailbox
) -> None:
    app = apps()
    async with (
        person(app, name="Anna", language="fr") as anna,
        person(app, language="de") as ben,
    ):
        garden = await new_list(anna, "Jardin")
        for email in (ben.email, "nobody-yet@example.test"):
            answer = await anna.post(
                f"/api/lists/{garden}/invitations", json={"role": "editor", "email": email}
            )
            assert answer.status_code == 201, answer.text
        [german] = to(box, ben.email)
        assert german["Subject"] == "Anna lädt dich zu „Jardin“ ein · Chores"
        assert "Du kannst ihre Aufgaben lesen und ändern." in text_of(german)
        [french] = to(box, "nobody-yet@example.test")  # no account: the inviter's language
        assert french["Subject"] == "Anna vous invite à « Jardin » · Chores"


async def test_a_person_sends_a_bounded_number_an_hour(apps: Any, box: Mailbox) -> None:
    app = apps()
    async with person(app) as anna:
        garden = await new_list(anna, "Garden")
        url = f"/api/lists/{garden}/invitations"
        for n in range(INVITE_EMAILS_PER_HOUR):
            sent = await anna.post(url, json={"role": "editor", "email": f"p{n}@example.test"})
            assert sent.status_code == 201, sent.text
        refused = await anna.post(url, json={"role": "editor", "email": "more@example.test"})
        assert_error(refused, 429, "RATE_LIMITED")
        assert int(refused.headers["Retry-After"]) > 0
        assert len(box.messages()) == INVITE_EMAILS_PER_HOUR
        listed = (await anna.get(url)).json()
        assert len(listed) == INVITE_EMAILS_PER_HOUR  # the refused one made no link
        # A link to copy is no email: still made.
        assert (await anna.post(url, json={"role": "editor"})).status_code == 201


async def test_without_email_or_with_a_bad_address_nothing_is_made(apps: Any, box: Mailbox) -> None:
    quiet = apps(smtp_url=None)
    async with person(quiet) as anna:
        garden = await new_list(anna, "Garden")
        url = f"/api/lists/{garden}/invitations"
        no_mail = await anna.post(url, json={"role": "editor", "email": "ben@example.test"})
        assert_error(no_mail, 503, "EMAIL_UNAVAILABLE")
        bad = await anna.post(url, json={"role": "editor", "email": "Ben <ben@example.test>"})
        assert_validation_error(bad, "email")
        assert (await anna.get(url)).json() == []
    assert box.messages() == []


async def test_the_sharing_page_sends_it_from_the_form(apps: Any, box: Mailbox) -> None:
    app = apps()
    # On the public (https) address: the sign-in's cookies are Secure there.
    browser = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PUBLIC)
    async with person(app, name="Anna") as anna, browser:
        garden = await new_list(anna, "Garden")
        page = await browser.get("/app/signin")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf is not None
        signed = await browser.post(
            "/app/signin",
            data={"csrf_token": csrf.group(1), "email": anna.email, "password": PASSWORD},
        )
        assert signed.status_code == 303, signed.text
        sharing = await browser.get(f"/app/lists/{garden}/sharing")
        assert 'id="invite-email"' in sharing.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', sharing.text)
        assert csrf is not None
        ben = unique_email()
        answer = await browser.post(
            f"/app/lists/{garden}/invitations",
            data={"csrf_token": csrf.group(1), "role": "editor", "email": ben},
        )
        assert answer.status_code == 200, answer.text
        assert f"Sent to {ben}." in answer.text
        [mail] = to(box, ben)
        [token] = LINK.findall(text_of(mail))
        assert token in answer.text  # the same link as the one to copy
