"""`todo-api inbound-smtp`, started by the test on a free port, on both databases: mail sent
with smtplib to a list's address is a task (its subject read as quick add, its body the
description, its files attached); a recipient that is no list's address (a guess, an address
rotated away) is refused at RCPT; a message past INBOUND_MAX_MESSAGE_BYTES is refused at DATA;
a stranger's mail and a repeated Message-ID make nothing."""

import asyncio
import os
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.helpers_server import free_port
from tests.inbound.helpers import (
    DOMAIN,
    Make,
    inbound_settings,
    list_tasks,
    new_address,
    verified_person,
)
from tests.lists.helpers import create_list
from tests.reminders.smtp import Mailbox
from tests.support import TEST_SECRET, app_factory
from todo_api.config import Settings

MAX_MESSAGE_BYTES = 300_000


@pytest.fixture
async def make_app(settings: Settings, tmp_path: Path) -> AsyncIterator[Make]:
    async with app_factory(settings.database_url, tmp_path) as make:
        yield make


@pytest.fixture
def listener(settings: Settings, tmp_path: Path) -> Iterator[int]:
    """The real command, as an operator runs it behind their MX."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": str(settings.database_url),
        "DATA_DIR": str(tmp_path),
        "JWT_SECRET": TEST_SECRET,
        "INBOUND_DOMAIN": DOMAIN,
        "INBOUND_SMTP_PORT": str(port),
        "INBOUND_MAX_MESSAGE_BYTES": str(MAX_MESSAGE_BYTES),
        "ATTACHMENT_STORAGE": f"file://{tmp_path / 'files'}",
        "LOG_LEVEL": "INFO",
    }
    log = tmp_path / "inbound-smtp.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "todo_api", "inbound-smtp"],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"inbound-smtp did not start: {log.read_text(errors='replace')}")
            time.sleep(0.1)
    yield port
    process.terminate()
    assert process.wait(timeout=15) == 0, log.read_text(errors="replace")
    assert "Traceback" not in log.read_text(errors="replace")


def message(to: str, sender: str, subject: str, body: str, **headers: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = f"Someone <{sender}>"
    mail["To"] = to
    mail["Subject"] = subject
    mail["Message-ID"] = headers.get("message_id", f"<{time.time_ns()}@mail.example>")
    mail.set_content(body)
    return mail


async def send(port: int, mail: EmailMessage, to: list[str] | None = None) -> Any:
    def sync() -> Any:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            return client.send_message(mail, to_addrs=to)

    return await asyncio.to_thread(sync)


async def test_mail_sent_by_smtp_is_a_task_and_the_rest_is_refused(
    make_app: Make, box: Mailbox, tmp_path: Path, listener: int
) -> None:
    app = make_app(**inbound_settings(box, tmp_path / "files"))
    owner = await verified_person(app, box)
    listed = await create_list(owner.client, "Groceries")
    list_id = listed["id"]
    old = await new_address(owner.client, list_id)
    address = await new_address(owner.client, list_id)  # the first stops working

    mail = message(address, owner.email, "Call the plumber friday 9am p2 @home", "The sink leaks.")
    mail.add_attachment(
        b"%PDF-1.4 quote", maintype="application", subtype="pdf", filename="quote.pdf"
    )
    assert await send(listener, mail) == {}
    (task,) = await list_tasks(owner.client, list_id)
    assert task["title"] == "Call the plumber"
    assert task["priority"] == "medium"
    assert task["tags"] == ["home"]
    assert task["due_at"] is not None
    assert task["description"] == "The sink leaks."
    (file,) = (await owner.client.get(f"/api/tasks/{task['id']}/attachments")).json()
    assert file["name"] == "quote.pdf"
    assert (await owner.client.get(file["url"])).content == b"%PDF-1.4 quote"

    # The same message again: taken once.
    assert await send(listener, mail) == {}
    # A guessed address, the rotated one, another domain: refused at RCPT.
    for wrong in (f"{'b' * 32}@{DOMAIN}", old, "postmaster@elsewhere.example"):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            await send(listener, message(wrong, owner.email, "Guess", "x"))
        assert refused.value.recipients[wrong][0] == 550
    # A stranger's mail is accepted by the server and makes nothing.
    assert await send(listener, message(address, "stranger@elsewhere.example", "Spam", "x")) == {}
    # A message past the size limit is refused at DATA.
    huge = message(address, owner.email, "Huge", "x" * (MAX_MESSAGE_BYTES + 10))
    with pytest.raises(smtplib.SMTPException) as too_large:
        await send(listener, huge)
    assert "552" in str(too_large.value) or getattr(too_large.value, "smtp_code", 0) == 552
    assert [t["title"] for t in await list_tasks(owner.client, list_id)] == ["Call the plumber"]
