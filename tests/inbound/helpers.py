"""A place for tasks by email: an app with an address domain, the providers' credentials and a
real SMTP server catching the account emails (so that members verify their addresses as people
do), and what the tests ask of it."""

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from tests.accounts.helpers import TEMPLATE, link_token, mail_to, sign_up, unique_email
from tests.reminders.smtp import Mailbox
from tests.support import client_for

DOMAIN = "tasks.test"
POSTMARK_USER, POSTMARK_PASSWORD = "postmark", "Zq-inbound-password-9f2b"
MAILGUN_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
FIXTURES = Path(__file__).parent.parent / "fixtures"


def inbound_settings(box: Mailbox, files: Path) -> dict[str, Any]:
    return {
        "smtp_url": box.url,
        "account_url_template": TEMPLATE,
        "inbound_domain": DOMAIN,
        "inbound_postmark_user": POSTMARK_USER,
        "inbound_postmark_password": POSTMARK_PASSWORD,
        "inbound_mailgun_signing_key": MAILGUN_KEY,
        "attachment_storage": f"file://{files}",
    }


@dataclass
class Person:
    client: httpx.AsyncClient
    email: str
    id: str


async def verified_person(app: FastAPI, box: Mailbox) -> Person:
    """An account whose email is verified through the link mailed to it."""
    async with client_for(app) as anonymous:
        email = unique_email()
        signed_in = await sign_up(anonymous, email)
        (message,) = await mail_to(box, email)
        verified = await anonymous.post(
            "/api/auth/email/verify", json={"token": link_token(message, "verify-email")}
        )
        assert verified.status_code == 200, verified.text
    client = client_for(app, signed_in["access_token"])
    return Person(client, email, signed_in["user"]["id"])


async def new_address(client: httpx.AsyncClient, list_id: str) -> str:
    response = await client.post(f"/api/lists/{list_id}/inbound-address")
    assert response.status_code == 201, response.text
    address: str = response.json()["address"]
    return address


async def list_tasks(client: httpx.AsyncClient, list_id: str) -> list[dict[str, Any]]:
    response = await client.get("/api/tasks", params={"list_id": list_id, "limit": 200})
    assert response.status_code == 200, response.text
    tasks: list[dict[str, Any]] = response.json()
    return tasks


def postmark_payload(to: str, sender: str, **changes: Any) -> dict[str, Any]:
    """Postmark's documented sample, sent to `to` from `sender`, with its own Message-ID."""
    body: dict[str, Any] = json.loads((FIXTURES / "postmark-inbound.json").read_text())
    body["ToFull"] = [{"Email": to, "Name": "", "MailboxHash": ""}]
    body["To"] = body["OriginalRecipient"] = to
    body["From"] = sender
    body["FromFull"] = {"Email": sender, "Name": "Sender", "MailboxHash": ""}
    body["Headers"].append({"Name": "Message-ID", "Value": f"<{uuid.uuid4()}@mail.example>"})
    body.update(changes)
    return body


def postmark_credentials(
    user: str = POSTMARK_USER, password: str = POSTMARK_PASSWORD
) -> dict[str, str]:
    pair = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def mailgun_form(
    to: str, sender: str, *, key: str = MAILGUN_KEY, at: float | None = None, **changes: str
) -> dict[str, str]:
    """Mailgun's documented fields, sent to `to` from `sender`, freshly signed."""
    form: dict[str, str] = json.loads((FIXTURES / "mailgun-inbound.json").read_text())
    form["recipient"] = to
    form["sender"] = sender
    form["from"] = f"Sender <{sender}>"
    form["Message-Id"] = f"<{uuid.uuid4()}@mail.example>"
    form["timestamp"] = str(int(time.time() if at is None else at))
    form["token"] = hashlib.sha256(uuid.uuid4().bytes).hexdigest()[:50]
    form.update(changes)
    signed = (form["timestamp"] + form["token"]).encode()
    form["signature"] = hmac.new(key.encode(), signed, "sha256").hexdigest()
    return form


Make = Callable[..., FastAPI]
