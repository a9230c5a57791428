"""Reminders across real `todo-api serve` processes, on SQLite and PostgreSQL, with a local
webhook receiver and a local SMTP server: two processes fire each reminder once (webhook,
stream, email), a mail server that refuses holds up no webhook, a process killed between
handing a mail over and recording it sends it again (at least once), and reminders that came
due while every process was down fire late, once, unless later than the limit."""

import asyncio
import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.helpers_server import Server, clean_env, running_server, server_token, start_server
from tests.live_helpers import open_stream
from tests.reminders.helpers import soon
from tests.reminders.smtp import Mailbox, mailbox
from tests.support import TEST_SECRET
from tests.webhooks.receiver import Receiver, receiving

WAIT_SECONDS = 30.0


def _env(database_url: str, smtp_url: str, **more: str) -> dict[str, str]:
    return clean_env(
        DATABASE_URL=database_url,
        JWT_SECRET=TEST_SECRET,
        WEBHOOK_ALLOW_PRIVATE_URLS="true",
        WEBHOOK_POLL_SECONDS="0.3",
        SMTP_URL=smtp_url,
        REMINDER_EMAIL_FROM="reminders@example.test",
        **more,
    )


async def _wait(condition: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"waited {WAIT_SECONDS} s for {what}"
        await asyncio.sleep(0.05)


def _fired(receiver: Receiver) -> list[dict[str, Any]]:
    return [e for e in receiver.events() if e["type"] == "reminder.fired"]


def _titles(receiver: Receiver) -> set[str]:
    return {e["data"]["task"]["title"] for e in _fired(receiver)}


def _client(server: Server, token: str) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.AsyncClient(base_url=server.url, headers=headers, timeout=WAIT_SECONDS)


async def _post_task(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post("/api/tasks", json={"title": "A task", **fields})
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


def _reminders(box: Mailbox) -> list[Any]:
    """The reminder emails the mail server took: on PostgreSQL the database is the session's,
    and the servers also send what other tests left waiting there (notification emails)."""
    return [mail for mail in box.messages() if str(mail["Subject"]).startswith("Reminder: ")]


async def test_two_processes_fire_each_reminder_once_and_email_waits_for_nothing(
    server_database_url: str, tmp_path: Path
) -> None:
    count = 6
    # The mail server refuses every attempt until the webhooks and streams have had every
    # reminder; then it takes them (each email is tried again every 0.5 s).
    with receiving() as receiver, mailbox(refusing=True) as box:
        retries = ",".join(["1"] * 20)  # as long as the streams and webhooks may take
        env = _env(server_database_url, box.url, REMINDER_EMAIL_RETRY_SCHEDULE=retries)
        token = server_token(env, str(uuid.uuid4()), f"{uuid.uuid4().hex}@example.test")
        with (
            running_server(tmp_path, env, tmp_path / "a.log") as one,
            running_server(tmp_path, env, tmp_path / "b.log") as two,
        ):
            async with _client(one, token) as a, _client(two, token) as b:
                hook = await a.post("/api/webhooks", json={"url": receiver.url(), "events": ["*"]})
                assert hook.status_code == 201, hook.text
                async with open_stream(b) as (_, events):
                    await events.next_event()  # the first, empty page
                    tasks = [
                        await _post_task(
                            (a, b)[n % 2], title=f"task {n}", reminders=[{"at": soon(2)}]
                        )
                        for n in range(count - 1)
                    ]
                    # A relative one: due in 61 s, reminded a minute before.
                    tasks.append(
                        await _post_task(b, due_at=soon(62), reminders=[{"before_due": "PT1M"}])
                    )
                    streamed = []
                    while len(streamed) < count:
                        message = await events.next_event()
                        if message.event == "reminder":
                            streamed.append(message)
                await _wait(lambda: len(_fired(receiver)) >= count, "every webhook")
                assert _reminders(box) == []
                assert box.refused  # tried, and refused
                box.refusing = False
                await _wait(lambda: len(_reminders(box)) >= count, "every email")
                await asyncio.sleep(1)  # time to fire or send twice, were it to
    fired = _fired(receiver)
    reminder_ids = {task["reminders"][0]["id"] for task in tasks}
    assert sorted(e["data"]["reminder"]["id"] for e in fired) == sorted(reminder_ids)
    assert sorted(m.page()["data"]["reminder"]["id"] for m in streamed) == sorted(reminder_ids)
    assert all(message.id is None for message in streamed)
    assert {m.page()["id"] for m in streamed} == {e["id"] for e in fired}
    mails = _reminders(box)
    assert len({mail["Message-ID"] for mail in mails}) == len(mails) == count


async def test_a_kill_at_the_mail_handoff_sends_it_again_and_missed_reminders_fire_late_once(
    server_database_url: str, tmp_path: Path
) -> None:
    killed: list[int] = []
    # An email's claim runs out 7 s after it was taken (SMTP_TIMEOUT_SECONDS + 5); a failed
    # attempt is tried again soon; a reminder fires up to 24.84 s late (0.0069 hours).
    with receiving() as receiver, mailbox() as box:
        env = _env(
            server_database_url,
            box.url,
            SMTP_TIMEOUT_SECONDS="2",
            REMINDER_EMAIL_RETRY_SCHEDULE="0.5,0.5,0.5",
            REMINDER_MAX_LATE_HOURS="0.0069",
            WEBHOOK_TIMEOUT_SECONDS="2",  # a delivery the kill cut is taken over within 12 s
        )
        token = server_token(env, str(uuid.uuid4()), f"{uuid.uuid4().hex}@example.test")
        first = start_server(tmp_path, env, tmp_path / "first.log")

        def kill_the_sender(_message: Any) -> None:
            # The mail server has the message; the sender dies before it hears so.
            if not killed:
                killed.append(first.process.pid)
                os.kill(first.process.pid, signal.SIGKILL)

        box.on_accept = kill_the_sender
        try:
            async with _client(first, token) as client:
                hook = await client.post(
                    "/api/webhooks", json={"url": receiver.url(), "events": ["reminder.fired"]}
                )
                assert hook.status_code == 201, hook.text
                emailed = await _post_task(client, title="Emailed", reminders=[{"at": soon(1.5)}])
                too_late = await _post_task(client, title="Late", reminders=[{"at": soon(5)}])
                on_time = await _post_task(client, title="Missed", reminders=[{"at": soon(29)}])
            created = time.monotonic()
            first.process.wait(timeout=WAIT_SECONDS)  # killed at the handoff
        finally:
            first.stop()
        # Every process is down while "Late" and "Missed" come due; back 30 s after they were
        # set: "Late" is 25 s late and more once it is up, "Missed" one and its start-up (which
        # may take most of the 24.84 s on a loaded machine).
        await asyncio.sleep(max(0.0, created + 30 - time.monotonic()))
        with running_server(tmp_path, env, tmp_path / "second.log"):
            await _wait(lambda: len(_reminders(box)) >= 3, "the email again and the late one")
            await _wait(lambda: {"Emailed", "Missed"} <= _titles(receiver), "both webhooks")
            await asyncio.sleep(1.5)  # time to fire "Late" as well, were it to
    assert killed
    # Webhooks are at least once too: a delivery cut by the kill may come again, same id.
    events = {e["id"]: e for e in _fired(receiver)}.values()
    fired = sorted(e["data"]["task"]["title"] for e in events)
    assert fired == ["Emailed", "Missed"]  # "Late" was more than 24.84 s late
    subjects = sorted(mail["Subject"] for mail in _reminders(box))
    # At least once: the email handed over before the kill is sent again, with its Message-ID.
    assert subjects == [
        "Reminder: Emailed · Tasks",
        "Reminder: Emailed · Tasks",
        "Reminder: Missed · Tasks",
    ]
    assert emailed["id"] != too_late["id"] != on_time["id"]
