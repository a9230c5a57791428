"""Push subscriptions in the export and the `todo-api` import: each browser that takes the
person's reminders, with its keys, so that an account restored on a service with the same
VAPID keys goes on getting them; the same checks as `POST /api/push-subscriptions`."""

import base64
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.support import app_for, assert_error, client_for, make_settings, token_for
from tests.yourdata.helpers import export, import_file
from todo_api.config import Settings
from todo_api.push.service import MAX_SUBSCRIPTIONS_PER_USER


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _subscription(endpoint: str, expires: int | None = None) -> dict[str, Any]:
    """A browser's `PushSubscription.toJSON()`: its own P-256 key and auth secret."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    keys = {"p256dh": _b64url(point), "auth": _b64url(os.urandom(16))}
    return {"endpoint": endpoint, "expirationTime": expires, "keys": keys}


async def _subscribe(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    answer = await client.post("/api/push-subscriptions", json=body)
    assert answer.status_code == 201, answer.text


def _without_times(subscriptions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in s.items() if k != "created_at"} for s in subscriptions]


async def test_a_round_trip_keeps_the_push_subscriptions_with_their_keys(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    phone = _subscription("https://push.example.test/send/phone", 1_900_000_000_000)
    laptop = _subscription(f"https://push.example.test/send/{uuid.uuid4().hex}")
    async with person() as first, person() as second:
        await _subscribe(first, phone)
        await _subscribe(first, laptop)
        exported = await export(first)
        assert _without_times(exported["push_subscriptions"]) == [phone, laptop]
        file = orjson.dumps(exported)
        # A second import, asked for, finds them there: the same two, not four.
        for again in ("false", "true"):
            answer = await import_file(second, "todo-api", file, again=again)
            assert answer.status_code == 200, answer.text
            assert answer.json()["skipped"] == []
        again = await export(second)
        assert _without_times(again["push_subscriptions"]) == [phone, laptop]
        # They are the importer's: the API finds them there (200: already theirs).
        renewed = await second.post("/api/push-subscriptions", json=laptop)
        assert renewed.status_code == 200, renewed.text
        # And still the exporter's.
        assert _without_times((await export(first))["push_subscriptions"]) == [phone, laptop]


async def test_a_bad_push_subscription_refuses_the_file_naming_it(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    good = _subscription("https://push.example.test/send/1")
    async with person() as client:
        document = await export(client)
        document["push_subscriptions"] = [
            good,
            {**good, "keys": {**good["keys"], "p256dh": "AAAA"}},
            {**good, "endpoint": "not a url"},
        ]
        answer = await import_file(client, "todo-api", orjson.dumps(document))
        details = assert_error(answer, 400, "VALIDATION_ERROR")["details"]
        assert [(d.get("index"), d["field"]) for d in details] == [
            ("push_subscriptions[1]", "keys.p256dh"),
            ("push_subscriptions[2]", "endpoint"),
        ]
        assert (await export(client))["push_subscriptions"] == []  # all or nothing


async def test_a_push_service_this_service_would_refuse_is_left_out_and_listed(
    settings: Settings, tmp_path: Path
) -> None:
    strict = make_settings(settings.database_url or "", tmp_path)  # no private addresses
    public = _subscription("https://push.example.test/send/public")
    private = _subscription("https://127.0.0.1/send/private")
    document: dict[str, Any] = {"format": "todo-api", "version": 1, "lists": [], "tasks": []}
    document["push_subscriptions"] = [private, public]
    async with app_for(strict) as app, client_for(app, token_for(strict)) as client:
        answer = await import_file(client, "todo-api", orjson.dumps(document))
        assert answer.status_code == 200, answer.text
        [skipped] = answer.json()["skipped"]
        assert skipped["index"] == "push_subscriptions[0]"
        assert skipped["reason"].startswith("push subscription left out: endpoint")
        exported = await export(client)
    assert [s["endpoint"] for s in exported["push_subscriptions"]] == [public["endpoint"]]


async def test_push_subscriptions_beyond_the_most_a_person_may_have_are_left_out(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    many = [_subscription(f"https://push.example.test/{n}") for n in range(3)]
    document: dict[str, Any] = {"format": "todo-api", "version": 1, "push_subscriptions": many}
    async with person() as client:
        for n in range(MAX_SUBSCRIPTIONS_PER_USER - 1):
            await _subscribe(client, _subscription(f"https://push.example.test/mine/{n}"))
        answer = await import_file(client, "todo-api", orjson.dumps(document))
        assert answer.status_code == 200, answer.text
        skipped = answer.json()["skipped"]
        assert [s["index"] for s in skipped] == ["push_subscriptions[1]", "push_subscriptions[2]"]
        assert skipped[0]["reason"].startswith("push subscription left out: You have 20")
        exported = await export(client)
    assert len(exported["push_subscriptions"]) == MAX_SUBSCRIPTIONS_PER_USER
    assert exported["push_subscriptions"][-1]["endpoint"] == many[0]["endpoint"]
