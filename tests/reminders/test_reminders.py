"""Reminders on tasks, through HTTP on both databases: the list on every view of a task,
validation, GET /api/reminders, and firing (webhook, live stream, email) with the scheduler
running in this process. Several processes: test_reminders_server.py."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.helpers_server import free_port
from tests.live_helpers import open_stream, serving
from tests.reminders.helpers import FAST, scheduling, soon, upcoming
from tests.reminders.smtp import Mailbox, mailbox
from tests.support import app_for, client_for, make_settings, token_for
from tests.tasks.helpers import assert_validation_error, create_task
from tests.webhooks.helpers import create_webhook, wait_until
from tests.webhooks.receiver import Receiver, receiving
from todo_api.config import Settings
from todo_api.db import Database

# --- the list on a task ---------------------------------------------------------------------


async def test_reminders_show_wherever_the_task_does(alice: httpx.AsyncClient) -> None:
    at = "2030-05-01T08:00:00Z"
    task = await create_task(
        alice,
        due_at="2030-05-01T09:00:00Z",
        reminders=[{"at": at}, {"before_due": "PT15M"}],
    )
    first, second = task["reminders"]
    assert first == {"id": first["id"], "at": at}
    assert second == {"id": second["id"], "before_due": "PT15M"}
    assert first["id"] != second["id"]
    assert (await alice.get(f"/api/tasks/{task['id']}")).json()["reminders"] == task["reminders"]
    listed = (await alice.get("/api/tasks")).json()
    assert [t["reminders"] for t in listed if t["id"] == task["id"]] == [task["reminders"]]
    # PostgreSQL's feed holds back changes while an older transaction runs: asked again.
    in_feed = await wait_until(
        lambda: _in_feed(alice, task["id"]), seconds=30, what="the task in the feed"
    )
    assert in_feed["reminders"] == task["reminders"]
    # PATCH sets the whole list; a reminder sent back with its id keeps it.
    patched = await alice.patch(
        f"/api/tasks/{task['id']}", json={"reminders": [second, {"before_due": "P1D"}]}
    )
    assert patched.status_code == 200, patched.text
    kept, new = patched.json()["reminders"]
    assert kept == second
    assert new == {"id": new["id"], "before_due": "P1D"}
    assert new["id"] != first["id"]
    twice = await alice.patch(f"/api/tasks/{task['id']}", json={"reminders": [kept, kept]})
    assert twice.status_code == 200, twice.text
    once, again = twice.json()["reminders"]
    assert once == kept
    assert again["id"] != kept["id"]
    cleared = await alice.put(f"/api/tasks/{task['id']}", json={"reminders": []})
    assert cleared.json()["reminders"] == []
    assert await upcoming(alice, **{"from": "2030-01-01T00:00:00Z"}) == []
    bulk = await alice.post(
        "/api/tasks/bulk",
        json={"operations": [{"op": "create", "data": {"title": "b", "reminders": [{"at": at}]}}]},
    )
    assert bulk.status_code == 200, bulk.text
    [result] = bulk.json()["results"]
    assert result["task"]["reminders"][0]["at"] == at
    plain = await create_task(alice)
    assert plain["reminders"] == []


async def _in_feed(client: httpx.AsyncClient, task_id: str) -> dict[str, Any] | None:
    feed = (await client.get("/api/tasks/changes")).json()
    return next((t for t in feed["changes"] if t["id"] == task_id), None)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"reminders": [{"before_due": "PT59S"}]}, "below a minute"),
        ({"reminders": [{"before_due": "PT30S"}]}, "below a minute"),
        ({"reminders": [{"before_due": "P30DT1S"}]}, "above 30 days"),
        ({"reminders": [{"before_due": "P5W"}]}, "above 30 days"),
        ({"reminders": [{"before_due": "15 minutes"}]}, "malformed"),
        ({"reminders": [{"before_due": "PT"}]}, "malformed"),
        ({"reminders": [{"before_due": "P1M"}]}, "months have no fixed length"),
        ({"reminders": [{"before_due": 900}]}, "not text"),
        ({"reminders": [{"at": "10000-01-01T00:00:00Z"}]}, "beyond year 9999"),
        ({"reminders": [{"at": "0001-01-01T00:30:00+01:00"}]}, "before year 1 in UTC"),
        ({"reminders": [{"at": "tomorrow"}]}, "malformed time"),
        ({"reminders": [{"at": "2030-01-01T00:00:00Z"}] * 6}, "a sixth"),
        ({"reminders": [{"at": "2030-01-01T00:00:00Z", "when": 1}]}, "unknown key"),
        ({"reminders": [{"at": "2030-01-01T00:00:00Z", "before_due": "PT5M"}]}, "both"),
        ({"reminders": [{}]}, "neither"),
        ({"reminders": ["PT5M"]}, "not an object"),
        ({"reminders": {"at": "2030-01-01T00:00:00Z"}}, "not a list"),
        ({"reminders": [{"before_due": "PT15M"}]}, "before_due without a due date"),
    ],
)
async def test_bad_reminders_are_400_naming_reminders(
    alice: httpx.AsyncClient, body: dict[str, Any], why: str
) -> None:
    response = await alice.post("/api/tasks", json={"title": "t", **body})
    details = assert_validation_error(response, *_fields(response))
    assert all(d["field"].startswith("reminders") for d in details), (why, details)


def _fields(response: httpx.Response) -> list[str]:
    return [detail["field"] for detail in response.json().get("details") or []]


async def test_a_write_that_leaves_before_due_without_a_due_date_is_refused(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(alice, due_date="2030-01-02", reminders=[{"before_due": "PT1H"}])
    cleared = await alice.patch(f"/api/tasks/{task['id']}", json={"due_date": None})
    assert_validation_error(cleared, "reminders")
    assert (await alice.get(f"/api/tasks/{task['id']}")).json()["due_date"] == "2030-01-02"
    null = await alice.patch(f"/api/tasks/{task['id']}", json={"reminders": None})
    assert_validation_error(null, "reminders")
    undated = await create_task(alice)
    refused = await alice.patch(
        f"/api/tasks/{undated['id']}", json={"reminders": [{"before_due": "PT1H"}]}
    )
    assert_validation_error(refused, "reminders")


# --- GET /api/reminders -----------------------------------------------------------------------


async def test_upcoming_reminders_between_two_times_soonest_first(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    berlin = await create_task(
        alice,
        due_date="2031-03-10",
        timezone="Europe/Berlin",
        reminders=[{"before_due": "PT1H"}, {"at": "2031-03-01T12:00:00Z"}],
    )
    timed = await create_task(
        alice, due_at="2031-03-05T10:00:00Z", reminders=[{"before_due": "P1D"}]
    )
    done = await create_task(alice, reminders=[{"at": "2031-03-02T00:00:00Z"}])
    await alice.post(f"/api/tasks/{done['id']}/complete")
    await create_task(bob, reminders=[{"at": "2031-03-03T00:00:00Z"}])
    rows = await upcoming(alice, **{"from": "2031-03-01T12:00:00Z", "to": "2031-04-01T00:00:00Z"})
    # An all-day task's before_due counts back from 09:00 of its date in its zone (08:00 UTC).
    assert rows == [
        {
            "task_id": berlin["id"],
            "reminder_id": berlin["reminders"][1]["id"],
            "fires_at": "2031-03-01T12:00:00Z",
        },
        {
            "task_id": timed["id"],
            "reminder_id": timed["reminders"][0]["id"],
            "fires_at": "2031-03-04T10:00:00Z",
        },
        {
            "task_id": berlin["id"],
            "reminder_id": berlin["reminders"][0]["id"],
            "fires_at": "2031-03-10T07:00:00Z",
        },
    ]
    # `from` included, `to` excluded.
    narrow = await upcoming(alice, **{"from": "2031-03-01T12:00:00Z", "to": "2031-03-04T10:00:00Z"})
    assert [row["fires_at"] for row in narrow] == ["2031-03-01T12:00:00Z"]
    # By default: from now, for 30 days.
    assert await upcoming(alice) == []
    bad = await alice.get("/api/reminders", params={"from": "yesterday"})
    assert_validation_error(bad, "from")


# --- firing, with the scheduler running in this process ---------------------------------------


@pytest.fixture
def fire_settings(settings: Settings, tmp_path: Path, box: Mailbox) -> Settings:
    return make_settings(
        settings.database_url or "",
        tmp_path,
        **FAST,
        smtp_url=box.url,
        public_url="https://todo.example.test",
    )


@pytest.fixture
async def fire_app(fire_settings: Settings) -> AsyncIterator[FastAPI]:
    async with app_for(fire_settings) as app:
        yield app


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as receiver:
        yield receiver


async def _user(app: FastAPI, settings: Settings, email: str) -> httpx.AsyncClient:
    return client_for(app, token_for(settings, str(uuid.uuid4()), email))


def _fired(receiver: Receiver) -> list[dict[str, Any]]:
    return [e for e in receiver.events() if e["type"] == "reminder.fired"]


async def test_a_reminder_fires_once_by_webhook_stream_and_email(
    fire_app: FastAPI, fire_settings: Settings, box: Mailbox, receiver: Receiver
) -> None:
    email = f"{uuid.uuid4().hex[:8]}@example.test"
    token = token_for(fire_settings, str(uuid.uuid4()), email)
    async with (
        serving(fire_app) as url,
        httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}) as alice,
    ):
        me = await alice.patch("/api/auth/me", json={"timezone": "Europe/Berlin"})
        assert me.status_code == 200, me.text
        hook = await create_webhook(alice, receiver.url(), ["reminder.fired"])
        async with open_stream(alice) as (_, events), scheduling(fire_settings):
            await events.next_event()  # the stream's first, empty page
            task = await create_task(
                alice,
                title="Water the plants",
                due_at="2026-12-24T08:00:00Z",
                reminders=[{"at": soon(1.5)}],
            )
            message = await events.next_event()
            while message.event != "reminder":
                message = await events.next_event()
            await wait_until(lambda: _fired(receiver) and _to(box, email), what="the reminder")
            await asyncio.sleep(1.5)  # time to fire twice, were it to
    assert message.id is None
    [fired] = _fired(receiver)
    assert message.page() == fired
    assert fired["actor_id"] is None
    assert fired["data"]["task"]["id"] == task["id"]
    assert fired["data"]["reminder"]["id"] == task["reminders"][0]["id"]
    receiver.requests()[0].verified(hook["secret"])
    [mail] = _to(box, email)
    assert mail["From"] == "Tasks <reminders@example.test>"  # APP_NAME, the sender's name
    assert mail["Subject"] == "Reminder: Water the plants · Tasks"
    body = mail.get_payload(decode=True).decode()
    assert "Thursday 24 December 2026, 09:00 (Europe/Berlin)" in body
    assert f"https://todo.example.test/api/tasks/{task['id']}" in body
    rows = await upcoming_from(fire_app, token, task["reminders"][0]["at"])
    assert [row["reminder_id"] for row in rows] == [task["reminders"][0]["id"]]  # fired, listed


async def test_a_reminder_whose_time_comes_while_its_create_waits_fires(
    fire_app: FastAPI, fire_settings: Settings, receiver: Receiver
) -> None:
    # The answer shows the reminder set before its time (its `created_at`): it fires, however
    # long the write took after that (a loaded server; here, a lock held elsewhere).
    async with client_for(fire_app, token_for(fire_settings)) as alice:
        await create_webhook(alice, receiver.url(), ["reminder.fired"])
        db = Database(fire_settings)
        try:
            # SQLite: its write lock; PostgreSQL: one that holds up every insert of a task.
            async with db.transaction() as holding:
                if not db.is_sqlite:
                    await holding.run_sql("LOCK TABLE tasks IN SHARE MODE")
                at = soon(3)
                reminded = {"title": "Held up", "reminders": [{"at": at}]}
                creating = asyncio.create_task(create_task(alice, **reminded))
                left = datetime.fromisoformat(at) - datetime.now(UTC)
                await asyncio.sleep(left.total_seconds() + 0.5)  # its time passes meanwhile
                assert not creating.done(), creating
        finally:
            await db.close()
        task = await creating
        assert datetime.fromisoformat(task["created_at"]) < datetime.fromisoformat(at)
        async with scheduling(fire_settings):
            fired = await wait_until(
                lambda: [e for e in _fired(receiver) if e["data"]["task"]["id"] == task["id"]],
                what="the reminder",
            )
    assert [e["data"]["reminder"]["id"] for e in fired] == [task["reminders"][0]["id"]]


async def test_a_reminder_email_speaks_its_recipients_language_on_their_clock(
    fire_app: FastAPI, fire_settings: Settings, box: Mailbox
) -> None:
    email = f"fr-{uuid.uuid4().hex[:8]}@example.test"
    async with await _user(fire_app, fire_settings, email) as marie:
        me = await marie.patch(
            "/api/auth/me", json={"language": "fr", "timezone": "America/Montreal"}
        )
        assert me.status_code == 200, me.text
        async with scheduling(fire_settings):
            await create_task(
                marie,
                title="Arroser les plantes",
                due_at="2026-12-24T08:00:00Z",
                reminders=[{"at": soon(2)}],
            )
            await create_task(
                marie, title="Réveillon", due_date="2026-12-25", reminders=[{"at": soon(2)}]
            )
            await wait_until(lambda: len(_to(box, email)) == 2, 30, "both reminders")
    by_subject = {str(m["Subject"]): m.get_content() for m in _to(box, email)}
    assert set(by_subject) == {"Rappel : Arroser les plantes · Tasks", "Rappel : Réveillon · Tasks"}
    # The day and time in French, on her clock (08:00 UTC is 03:00 in Montreal).
    timed = by_subject["Rappel : Arroser les plantes · Tasks"]
    assert "Échéance : jeudi 24 décembre 2026 à 03:00 (America/Montreal)" in timed
    assert "Échéance : vendredi 25 décembre 2026\n" in by_subject["Rappel : Réveillon · Tasks"]


async def upcoming_from(app: FastAPI, token: str, start: str) -> list[dict[str, Any]]:
    async with client_for(app, token) as client:
        return await upcoming(client, **{"from": start})


async def test_due_changes_move_relative_reminders_and_completion_or_deletion_cancels(
    fire_app: FastAPI, fire_settings: Settings, receiver: Receiver
) -> None:
    async with client_for(fire_app, token_for(fire_settings)) as alice:
        await create_webhook(alice, receiver.url(), ["reminder.fired"])
        # Due in a minute and a second, reminded a minute before: in a second.
        moved = await create_task(alice, due_at=soon(61), reminders=[{"before_due": "PT1M"}])
        completed = await create_task(alice, reminders=[{"at": soon(1.5)}])
        deleted = await create_task(alice, reminders=[{"at": soon(1.5)}])
        later = await alice.patch(f"/api/tasks/{moved['id']}", json={"due_at": soon(3600)})
        assert later.status_code == 200
        [row] = [r for r in await upcoming(alice) if r["task_id"] == moved["id"]]
        await alice.post(f"/api/tasks/{completed['id']}/complete")
        await alice.delete(f"/api/tasks/{deleted['id']}")
        async with scheduling(fire_settings):
            await asyncio.sleep(2.5)
            assert _fired(receiver) == []
            # Back to a due time a minute and two seconds away: fires in two seconds.
            await alice.patch(f"/api/tasks/{moved['id']}", json={"due_at": soon(62)})
            await wait_until(lambda: _fired(receiver), what="the moved reminder")
            # Reopened after its time passed while completed: does not fire late.
            await alice.post(f"/api/tasks/{completed['id']}/reopen")
            await asyncio.sleep(1.5)
    [fired] = _fired(receiver)
    assert fired["data"]["task"]["id"] == moved["id"]
    assert datetime.fromisoformat(row["fires_at"]) > datetime.now(UTC) + timedelta(minutes=50)


async def test_a_reminder_missed_while_its_task_was_deleted_fires_once_it_is_restored(
    fire_app: FastAPI, fire_settings: Settings, receiver: Receiver
) -> None:
    async with client_for(fire_app, token_for(fire_settings)) as alice:
        await create_webhook(alice, receiver.url(), ["reminder.fired"])
        async with scheduling(fire_settings):
            # One that fired before its task was deleted: not again when it comes back.
            spent = await create_task(alice, title="Spent", reminders=[{"at": soon(0.5)}])
            await wait_until(lambda: _fired(receiver), what="the first reminder")
            assert (await alice.delete(f"/api/tasks/{spent['id']}")).status_code == 204
            missed = await create_task(alice, title="Missed", reminders=[{"at": soon(1)}])
            assert (await alice.delete(f"/api/tasks/{missed['id']}")).status_code == 204
            await asyncio.sleep(2)  # its time passes while it is deleted
            assert len(_fired(receiver)) == 1
            for task in (spent, missed):
                restored = await alice.post(f"/api/tasks/{task['id']}/restore")
                assert restored.status_code == 200, restored.text
            await wait_until(lambda: len(_fired(receiver)) == 2, what="the missed reminder")
            await asyncio.sleep(1.5)  # time to fire twice, were it to
    assert [f["data"]["task"]["title"] for f in _fired(receiver)] == ["Spent", "Missed"]


async def test_completing_a_recurring_task_moves_its_reminders_with_its_due(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(
        alice,
        due_at="2031-01-06T09:00:00Z",
        recurrence="FREQ=WEEKLY",
        reminders=[
            {"before_due": "PT30M"},
            {"at": "2031-01-05T00:00:00Z"},
            {"at": "2020-01-05T00:00:00Z"},  # passed: spent with the occurrence
        ],
    )
    await alice.post(f"/api/tasks/{task['id']}/complete")
    [following] = (await alice.get("/api/tasks", params={"completed": "false"})).json()
    assert following["due_at"] == "2031-01-13T09:00:00Z"
    assert following["reminders"] == task["reminders"][:2]  # the same ids
    listed = await alice.get("/api/reminders", params={"from": "2031-01-01T00:00:00Z"})
    assert [r["fires_at"] for r in listed.json()] == [
        "2031-01-05T00:00:00Z",
        "2031-01-13T08:30:00Z",
    ]


async def test_missed_reminders_fire_late_unless_later_than_the_limit(
    settings: Settings, tmp_path: Path, receiver: Receiver
) -> None:
    # 7.2 s late at most (0.002 hours): room for a slow start of the scheduler.
    lenient = make_settings(settings.database_url or "", tmp_path, **FAST)
    strict = make_settings(
        settings.database_url or "", tmp_path, **FAST, reminder_max_late_hours=0.002
    )
    async with app_for(lenient) as app, client_for(app, token_for(lenient)) as alice:
        await create_webhook(alice, receiver.url(), ["reminder.fired"])
        early = await create_task(alice, reminders=[{"at": soon(0.3)}])
        await asyncio.sleep(8.5)  # nothing runs: the early one is 8.2 s late now
        recent = await create_task(alice, reminders=[{"at": soon(0.3)}])
        await asyncio.sleep(0.6)
        async with scheduling(strict):
            await wait_until(lambda: _fired(receiver), what="the recent reminder")
            await asyncio.sleep(1)
    [fired] = _fired(receiver)
    assert fired["data"]["task"]["id"] == recent["id"]
    assert early["id"] != recent["id"]


async def test_an_smtp_server_down_or_refusing_is_retried_and_holds_up_no_webhook(
    settings: Settings, tmp_path: Path, receiver: Receiver
) -> None:
    port = free_port()  # nothing listens there until the test says
    retries = {**FAST, "reminder_email_retry_schedule": (0.5,) * 20}  # the box comes up late
    hooked = make_settings(
        settings.database_url or "", tmp_path, **retries, smtp_url=f"smtp://127.0.0.1:{port}"
    )
    email = f"{uuid.uuid4().hex[:8]}@example.test"
    async with app_for(hooked) as app, client_for(app, token_for(hooked, None, email)) as a:
        await create_webhook(a, receiver.url(), ["reminder.fired"])
        await create_task(a, title="Down", reminders=[{"at": soon(2)}])
        async with scheduling(hooked):
            # Nothing listens on the mail port: the webhook comes anyway.
            await wait_until(lambda: _fired(receiver), what="the webhook")
            await asyncio.sleep(0.5)  # an attempt or two find nobody
            with mailbox(port=port, refuse_first=1) as box:
                await wait_until(lambda: _to(box, email), what="the email")
                await asyncio.sleep(1)
    [mail] = _to(box, email)
    assert mail["Subject"] == "Reminder: Down · Tasks"
    assert box.refused.count(str(mail["Message-ID"])) == 1  # refused once, then taken


def _to(box: Mailbox, email: str) -> list[EmailMessage]:
    """The test's own emails: its scheduler also sends any other test's reminder that is due
    in the worker's database."""
    return [mail for mail in box.messages() if mail["To"] == email]


async def test_a_task_reopened_after_its_reminder_passed_is_not_reminded_late_unwatched(
    fire_app: FastAPI, fire_settings: Settings, box: Mailbox
) -> None:
    # No webhook: the reopen is the one-statement kind, which a task with reminders skips.
    email = f"{uuid.uuid4().hex[:8]}@example.test"
    async with client_for(fire_app, token_for(fire_settings, str(uuid.uuid4()), email)) as alice:
        # Seconds for four requests on a loaded machine before the first one's time.
        passed_at = soon(3)
        passed = await create_task(alice, title="Passed", reminders=[{"at": passed_at}])
        coming = await create_task(alice, title="Coming", reminders=[{"at": soon(9)}])
        for task in (passed, coming):
            done = await alice.post(f"/api/tasks/{task['id']}/complete")
            assert done.status_code == 200, done.text
        # The first one's time passes while it is completed.
        left = datetime.fromisoformat(passed_at) - datetime.now(UTC)
        assert left.total_seconds() > 0, "completed after its reminder's time"
        await asyncio.sleep(left.total_seconds() + 0.5)
        for task in (passed, coming):
            reopened = await alice.post(f"/api/tasks/{task['id']}/reopen")
            assert reopened.status_code == 200, reopened.text
        async with scheduling(fire_settings):
            await wait_until(lambda: _to(box, email), what="the coming one")
            await asyncio.sleep(1.0)
    subjects = [m["Subject"] for m in _to(box, email)]
    assert subjects == ["Reminder: Coming · Tasks"]
