"""Helpers for the account tests: signing up through HTTP, and reading account emails that a
real SMTP server (tests.reminders.smtp) caught."""

import re
import secrets
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote

import httpx
import pyotp

from tests.reminders.smtp import Mailbox
from tests.webhooks.helpers import wait_until

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a new password, long enough"
TEMPLATE = "https://app.example.com/account/{action}?token={token}"
MAIL_WAIT_SECONDS = 15.0
_TOKEN = re.compile(r"[?&]token=([A-Za-z0-9_%-]+)")


def unique_email() -> str:
    return f"acct-{secrets.token_hex(6)}@example.com"


async def sign_up(
    client: httpx.AsyncClient, email: str | None = None, password: str = PASSWORD, **headers: str
) -> dict[str, Any]:
    response = await client.post(
        "/api/auth/register",
        json={"email": email or unique_email(), "password": password},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def log_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, **headers: str
) -> httpx.Response:
    return await client.post(
        "/api/auth/login", json={"email": email, "password": password}, headers=headers
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def two_factor_on(client: httpx.AsyncClient, password: str = PASSWORD, **headers: str) -> str:
    """Two-factor sign-in set up and turned on through the API for the account the client (or
    `headers`) signs in as: its secret, for the codes to come."""
    setup = await client.post("/api/auth/2fa/setup", json={"password": password}, headers=headers)
    assert setup.status_code == 200, setup.text
    secret: str = setup.json()["secret"]
    code = pyotp.TOTP(secret).now()
    enabled = await client.post("/api/auth/2fa/enable", json={"code": code}, headers=headers)
    assert enabled.status_code == 200, enabled.text
    return secret


def to(box: Mailbox, recipient: str) -> list[EmailMessage]:
    return [m for m in box.messages() if str(m["To"]) == recipient]


async def mail_to(box: Mailbox, recipient: str, count: int = 1) -> list[EmailMessage]:
    """The first `count` emails to `recipient`, waiting for them to come."""

    def arrived() -> list[EmailMessage]:
        found = to(box, recipient)
        return found if len(found) >= count else []

    found: list[EmailMessage] = await wait_until(arrived, MAIL_WAIT_SECONDS, f"mail to {recipient}")
    return found[:count]


def body_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    text: str = part.get_content()
    return text


def link_token(message: EmailMessage, action: str) -> str:
    """The token of the email's link to `action` (ACCOUNT_URL_TEMPLATE's page, or the
    service's own)."""
    body = body_of(message)
    lines = [line for line in body.splitlines() if f"/account/{action}?token=" in line]
    assert len(lines) == 1, body
    match = _TOKEN.search(lines[0])
    assert match is not None
    return unquote(match.group(1))
