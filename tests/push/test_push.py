"""Reminders by Web Push, on both databases: the subscription routes (the API's and the web
app's), and each fired reminder pushed to a local push service of the test's own, which
checks the VAPID signature (RFC 8292) and decrypts the message (RFC 8291) with the keys the
test made as a browser does; a push service answering 410 drops the subscription; two
server processes push each reminder once."""

import asyncio
import base64
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import http_ece
import httpx
import jwt
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import FastAPI
from sqlalchemy import func, select

from tests.accounts.helpers import PASSWORD, sign_up
from tests.helpers_server import clean_env, running_server, server_token
from tests.lists.helpers import create_list
from tests.lists.sharing import remove, share, user_id
from tests.oauth.helpers import form_fields
from tests.reminders.helpers import FAST, scheduling, soon
from tests.support import (
    TEST_SECRET,
    app_factory,
    app_for,
    assert_error,
    client_for,
    make_settings,
    token_for,
    validation_details,
)
from tests.tasks.helpers import create_task
from tests.webhooks.helpers import wait_until
from tests.webhooks.receiver import Answer, Received, Receiver, receiving
from todo_api.cli import main
from todo_api.config import ConfigError, Settings, load_settings
from todo_api.db import Database
from todo_api.push.vapid import new_keys
from todo_api.tables.push import push_messages, push_subscriptions

PUBLIC_KEY, PRIVATE_KEY = new_keys()
VAPID = {"vapid_public_key": PUBLIC_KEY, "vapid_private_key": PRIVATE_KEY}
JOBS = {"reminders.fire", "reminders.push"}
DAY = 24 * 3600


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PushClient:
    """What a browser does for Web Push: a P-256 key pair and a 16-byte auth secret of its
    own, the subscription it registers, and reading what its push service was sent."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)

    def subscription(self) -> dict[str, Any]:
        point = self.key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        keys = {"p256dh": b64url(point), "auth": b64url(self.auth)}
        return {"endpoint": self.endpoint, "expirationTime": None, "keys": keys}

    def read(self, received: Received, origin: str) -> Any:
        """The message, once its VAPID header checks out for `origin` and it decrypts."""
        scheme, _, params = received.headers["authorization"].partition(" ")
        assert scheme == "vapid"
        parts = dict(part.strip().split("=", 1) for part in params.split(","))
        assert parts["k"] == PUBLIC_KEY
        signer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(parts["k"]))
        claims = jwt.decode(parts["t"], signer, algorithms=["ES256"], audience=origin)
        assert 0 < claims["exp"] - time.time() <= DAY
        assert claims["sub"].startswith(("mailto:", "https://"))
        assert received.headers["content-encoding"] == "aes128gcm"
        assert 0 < int(received.headers["ttl"]) <= DAY
        plain = http_ece.decrypt(
            received.body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"
        )
        return orjson.loads(plain)


def origin(receiver: Receiver) -> str:
    return f"http://127.0.0.1:{receiver.port}"


async def subscribe(client: httpx.AsyncClient, browser: PushClient, status: int = 201) -> Any:
    answer = await client.post("/api/push-subscriptions", json=browser.subscription())
    assert answer.status_code == status, answer.text
    return answer.json()


# --- the routes ----------------------------------------------------------------------------


async def test_subscribing_is_idempotent_and_unsubscribing_touches_only_ones_own(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    browser = PushClient(f"https://push.example.test/send/{uuid.uuid4().hex}")
    body = await subscribe(alice, browser)
    assert body["endpoint"] == browser.endpoint
    assert body["keys"] == browser.subscription()["keys"]
    assert body["expirationTime"] is None
    await subscribe(alice, browser, 200)  # the same endpoint again: the same subscription
    await subscribe(bob, browser)  # the same browser, another account: theirs
    # Bob removing it removes his; Alice's is still there (her POST is 200 again).
    gone = await bob.delete("/api/push-subscriptions", params={"endpoint": browser.endpoint})
    assert gone.status_code == 204
    await subscribe(alice, browser, 200)
    await subscribe(bob, browser)
    by_body = await alice.request("DELETE", "/api/push-subscriptions", json=browser.subscription())
    assert by_body.status_code == 204
    await subscribe(alice, browser)  # gone, so new
    again = await alice.delete("/api/push-subscriptions", params={"endpoint": "https://x.test/"})
    assert again.status_code == 204  # none of that endpoint: nothing to do


GOOD = PushClient("https://push.example.test/send/1").subscription()
KEYS = GOOD["keys"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"endpoint": "http://push.example.test/send/1"}, "endpoint"),
        ({"endpoint": "https://127.0.0.1/send/1"}, "endpoint"),
        ({"endpoint": "https://10.1.2.3:8443/send/1"}, "endpoint"),
        ({"endpoint": "not a url"}, "endpoint"),
        ({"endpoint": None}, "endpoint"),
        ({"keys": {**KEYS, "p256dh": "AAAA"}}, "keys.p256dh"),
        ({"keys": {**KEYS, "p256dh": "B" * 87}}, "keys.p256dh"),
        ({"keys": {"auth": KEYS["auth"]}}, "keys.p256dh"),
        ({"keys": {**KEYS, "auth": "short"}}, "keys.auth"),
        ({"keys": {**KEYS, "auth": "!!not base64url!!!!!!!"}}, "keys.auth"),
        ({"keys": None}, "keys"),
        ({"expirationTime": "soon"}, "expirationTime"),
    ],
)
async def test_a_bad_subscription_is_400_naming_its_field(
    alice: httpx.AsyncClient, change: dict[str, Any], field: str
) -> None:
    answer = await alice.post("/api/push-subscriptions", json={**GOOD, **change})
    details = validation_details(answer)
    assert [detail["field"] for detail in details] == [field], details


async def test_the_key_route_is_404_until_web_push_is_set_up(
    alice: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    assert_error(await alice.get("/api/push-subscriptions/key"), 404, "NOT_FOUND")
    configured = make_settings(settings.database_url or "", tmp_path, **VAPID)
    async with app_for(configured) as app, client_for(app, token_for(configured)) as client:
        answer = await client.get("/api/push-subscriptions/key")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"public_key": PUBLIC_KEY}


async def test_subscriptions_go_with_the_account(app: FastAPI, settings: Settings) -> None:
    email = f"{uuid.uuid4().hex[:8]}@example.test"
    subject = str(uuid.uuid4())
    async with client_for(app, token_for(settings, subject, email)) as client:
        await subscribe(client, PushClient(f"https://push.example.test/{uuid.uuid4().hex}"))
        assert await _subscriptions_of(settings, subject) == 1
        deleted = await client.request("DELETE", "/api/auth/me", json={"confirm": email})
        assert deleted.status_code == 204, deleted.text
    assert await _subscriptions_of(settings, subject) == 0


async def _subscriptions_of(settings: Settings, user_id: str) -> int:
    db = Database(settings)
    try:
        async with db.connection() as conn:
            statement = select(func.count()).where(
                push_subscriptions.c.user_id == uuid.UUID(user_id)
            )
            return int((await conn.execute(statement)).scalar())
    finally:
        await db.close()


def test_vapid_keys_prints_a_pair_the_settings_take(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vapid-keys"]) == 0
    printed = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    assert len(unb64url(printed["VAPID_PUBLIC_KEY"])) == 65
    assert len(unb64url(printed["VAPID_PRIVATE_KEY"])) == 32
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        vapid_public_key=printed["VAPID_PUBLIC_KEY"],
        vapid_private_key=printed["VAPID_PRIVATE_KEY"],
    )
    assert settings.web_push_enabled


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"VAPID_PUBLIC_KEY": "not a key", "VAPID_PRIVATE_KEY": PRIVATE_KEY}, "VAPID_PUBLIC_KEY"),
        ({"VAPID_PUBLIC_KEY": PUBLIC_KEY, "VAPID_PRIVATE_KEY": "AAAA"}, "VAPID_PRIVATE_KEY"),
        ({"VAPID_PUBLIC_KEY": PUBLIC_KEY}, "VAPID_PRIVATE_KEY"),
        ({"VAPID_PUBLIC_KEY": new_keys()[0], "VAPID_PRIVATE_KEY": PRIVATE_KEY}, "VAPID_PUBLIC_KEY"),
        ({**{k.upper(): v for k, v in VAPID.items()}, "VAPID_SUBJECT": "me"}, "VAPID_SUBJECT"),
    ],
)
def test_bad_vapid_settings_are_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=named):
        load_settings(_env_file=None)


# --- the web app's routes ------------------------------------------------------------------


@pytest.fixture
async def web_app(settings: Settings, tmp_path: Path) -> AsyncIterator[FastAPI]:
    assert settings.database_url is not None
    async with app_factory(
        settings.database_url, tmp_path, email_verification="off", **VAPID
    ) as make:
        yield make()


async def test_the_web_app_subscribes_with_its_cookie_and_form_token(web_app: FastAPI) -> None:
    browser = PushClient(f"https://push.example.test/send/{uuid.uuid4().hex}")
    path = "/app/push-subscriptions"
    async with client_for(web_app) as api, client_for(web_app) as page:
        account = await sign_up(api)
        api.headers["Authorization"] = f"Bearer {account['access_token']}"
        assert (await page.post(path, json=browser.subscription())).status_code == 401
        signin = await page.get("/app/signin")
        fields = {"email": account["user"]["email"], "password": PASSWORD}
        signed = await page.post("/app/signin", data={**form_fields(signin.text), **fields})
        assert signed.status_code == 303, signed.text
        inbox = await page.get("/app/")
        assert re.search(f'<body[^>]* data-vapid-key="{PUBLIC_KEY}"', inbox.text)
        token = re.search(r'name="csrf_token" value="([^"]+)"', inbox.text)
        assert token is not None
        refused = await page.post(path, json=browser.subscription())
        assert_error(refused, 403, "FORBIDDEN")
        headers = {"X-CSRF-Token": token[1]}
        made = await page.post(path, json=browser.subscription(), headers=headers)
        assert made.status_code == 201, made.text
        assert made.json()["endpoint"] == browser.endpoint
        # The same rows as the API's: the API finds it there (200), the page deletes it.
        await subscribe(api, browser, 200)
        bad = {**browser.subscription(), "endpoint": "https://127.0.0.1/send"}
        details = validation_details(await page.post(path, json=bad, headers=headers))
        assert [detail["field"] for detail in details] == ["endpoint"]
        removed = await page.request("DELETE", path, json=browser.subscription(), headers=headers)
        assert removed.status_code == 204
        await subscribe(api, browser, 201)
        by_post = await page.post(
            path + "/delete", json={"endpoint": browser.endpoint, "csrf_token": token[1]}
        )
        assert by_post.status_code == 204
        await subscribe(api, browser, 201)


# --- pushing fired reminders ---------------------------------------------------------------


@pytest.fixture
def push_settings(settings: Settings, tmp_path: Path) -> Settings:
    return make_settings(settings.database_url or "", tmp_path, **FAST, **VAPID)


@pytest.fixture
def push_service() -> Iterator[Receiver]:
    with receiving() as receiver:
        receiver.answer = Answer(status=201)
        yield receiver


async def test_a_fired_reminder_is_pushed_signed_and_encrypted_once(
    push_settings: Settings, push_service: Receiver
) -> None:
    browser = PushClient(push_service.url("/send/alice"))
    async with app_for(push_settings) as app, client_for(app, token_for(push_settings)) as alice:
        me = await alice.patch("/api/auth/me", json={"timezone": "Europe/Berlin"})
        assert me.status_code == 200, me.text
        await subscribe(alice, browser)
        async with scheduling(push_settings, JOBS):
            task = await create_task(
                alice,
                title="Water the plants",
                due_at="2026-12-24T08:00:00Z",
                reminders=[{"at": soon(1.5)}],
            )
            await wait_until(push_service.requests, what="the push")
            await asyncio.sleep(1.5)  # time to push twice, were it to
    [received] = push_service.requests()
    assert received.path == "/send/alice"
    message = browser.read(received, origin(push_service))
    assert message == {
        "type": "reminder",
        "title": "Water the plants",
        "body": "Due: Thursday 24 December 2026, 09:00 (Europe/Berlin)",
        "due": "2026-12-24T08:00:00Z",
        "url": f"/app/tasks/{task['id']}",
        "tag": f"reminder-{task['reminders'][0]['id']}",
        "task_id": task["id"],
        "reminder_id": task["reminders"][0]["id"],
    }


async def test_a_push_service_answering_410_drops_the_subscription(
    push_settings: Settings, push_service: Receiver
) -> None:
    live = PushClient(push_service.url("/send/live"))
    with receiving() as dropped_service:
        dropped_service.answer = Answer(status=410)
        dropped = PushClient(dropped_service.url("/send/dropped"))
        async with (
            app_for(push_settings) as app,
            client_for(app, token_for(push_settings)) as alice,
        ):
            await subscribe(alice, live)
            await subscribe(alice, dropped)
            async with scheduling(push_settings, JOBS):
                await create_task(alice, title="First", reminders=[{"at": soon(1)}])
                await wait_until(
                    lambda: push_service.requests() and dropped_service.requests(),
                    what="the first reminder at both",
                )
                second = await create_task(alice, title="Second", reminders=[{"at": soon(1)}])
                await wait_until(lambda: len(push_service.requests()) == 2, what="the second")
                await asyncio.sleep(1)  # time to push it to the dropped one, were it to
            assert len(dropped_service.requests()) == 1
            await subscribe(alice, dropped, 201)  # it was gone: registered anew
    titles = [live.read(r, origin(push_service))["title"] for r in push_service.requests()]
    assert titles == ["First", "Second"]
    assert dropped.read(dropped_service.requests()[0], origin(dropped_service))["title"] == "First"
    assert second["title"] == "Second"


async def test_two_processes_push_each_reminder_once(
    server_database_url: str, tmp_path: Path, push_service: Receiver
) -> None:
    count = 4
    env = clean_env(
        DATABASE_URL=server_database_url,
        JWT_SECRET=TEST_SECRET,
        WEBHOOK_ALLOW_PRIVATE_URLS="true",
        VAPID_PUBLIC_KEY=PUBLIC_KEY,
        VAPID_PRIVATE_KEY=PRIVATE_KEY,
    )
    token = server_token(env, str(uuid.uuid4()), f"{uuid.uuid4().hex}@example.test")
    browser = PushClient(push_service.url("/send/two"))
    headers = {"Authorization": f"Bearer {token}"}
    with (
        running_server(tmp_path, env, tmp_path / "a.log") as one,
        running_server(tmp_path, env, tmp_path / "b.log") as two,
    ):
        async with (
            httpx.AsyncClient(base_url=one.url, headers=headers, timeout=30) as a,
            httpx.AsyncClient(base_url=two.url, headers=headers, timeout=30) as b,
        ):
            await subscribe(a, browser)
            tasks = [
                await create_task((a, b)[n % 2], title=f"task {n}", reminders=[{"at": soon(2)}])
                for n in range(count)
            ]
            await wait_until(lambda: len(push_service.requests()) >= count, 30, "every push")
            await asyncio.sleep(1.5)  # time to push twice, were it to
    read = [browser.read(r, origin(push_service)) for r in push_service.requests()]
    assert sorted(m["reminder_id"] for m in read) == sorted(t["reminders"][0]["id"] for t in tasks)


# --- when a push service is busy, and when the task is no longer the recipient's ------------


async def _messages(settings: Settings, subscription_endpoint: str) -> list[Any]:
    db = Database(settings)
    try:
        async with db.connection() as conn:
            query = (
                select(push_messages)
                .join(push_subscriptions)
                .where(push_subscriptions.c.endpoint == subscription_endpoint)
            )
            return list((await conn.execute(query)).rows)
    finally:
        await db.close()


@pytest.mark.parametrize(("status", "form"), [(429, "seconds"), (503, "date")])
async def test_a_busy_push_service_is_asked_again_no_sooner_than_it_says(
    push_settings: Settings, push_service: Receiver, status: int, form: str
) -> None:
    # The schedule's retry is 0.3 s: sooner than the push service allows.
    not_before = time.time() + 5  # the date's form: a time, to the second
    value = "2" if form == "seconds" else format_datetime(datetime.fromtimestamp(not_before, UTC))
    push_service.answer = Answer(status=status, headers={"Retry-After": value})
    browser = PushClient(push_service.url("/send/busy"))
    async with app_for(push_settings) as app, client_for(app, token_for(push_settings)) as alice:
        await subscribe(alice, browser)
        async with scheduling(push_settings, JOBS):
            await create_task(alice, title="Water the plants", reminders=[{"at": soon(1)}])
            await wait_until(push_service.requests, what="the first attempt")
            push_service.answer = Answer(status=201)
            await wait_until(lambda: len(push_service.requests()) == 2, 15, "the second")
            wall_clock = time.time() - time.monotonic()

            async def sent() -> list[Any]:
                rows = await _messages(push_settings, browser.endpoint)
                return rows if rows and rows[0]["status"] != "pending" else []

            [message] = await wait_until(sent, what="the message's outcome")
    first, second = push_service.requests()
    if form == "seconds":
        assert second.at - first.at >= 2 - 0.05, second.at - first.at
    else:
        assert second.at + wall_clock >= int(not_before) - 0.05, not_before - second.at
    assert browser.read(second, origin(push_service))["title"] == "Water the plants"
    assert (message["status"], message["attempts"]) == ("sent", 2)


async def test_a_push_waiting_to_be_sent_is_dropped_when_its_recipient_loses_the_task(
    push_settings: Settings, push_service: Receiver
) -> None:
    push_service.answer = Answer(status=503, headers={"Retry-After": "1"})
    async with (
        app_for(push_settings) as app,
        client_for(app, token_for(push_settings)) as alice,
        client_for(app, token_for(push_settings, str(uuid.uuid4()), "b@example.test")) as bob,
    ):
        bob_id = await user_id(bob)
        browser = PushClient(push_service.url("/send/bob"))
        await subscribe(bob, browser)
        shared = (await create_list(alice, f"Shared {uuid.uuid4().hex[:6]}"))["id"]
        await share(alice, bob, shared, "editor")
        await create_task(
            alice, title="For Bob", list_id=shared, assignee_id=bob_id, reminders=[{"at": soon(1)}]
        )
        async with scheduling(push_settings, JOBS):
            await wait_until(push_service.requests, what="a first attempt")
            await remove(alice, shared, bob_id)
            push_service.answer = Answer(status=201)

            async def ended() -> list[Any]:
                rows = await _messages(push_settings, browser.endpoint)
                return rows if rows and rows[0]["status"] != "pending" else []

            [message] = await wait_until(ended, 15, "the message to end")
    assert message["status"] == "failed"
    assert message["error"] == "not sent: the recipient no longer sees the task"
    assert len(push_service.requests()) == 1  # the first, refused; nothing after
