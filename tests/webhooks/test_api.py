"""The /api/webhooks routes through HTTP on both databases: each route's success and errors,
one user's webhooks being nobody else's, the limit, validation and the deliveries' pages."""

import base64
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.support import assert_error
from tests.webhooks.helpers import (
    DELIVERY_FIELDS,
    WEBHOOK_FIELDS,
    create_webhook,
    deliveries,
)
from todo_api.kit.events import SUBSCRIBABLE

Clients = Callable[..., httpx.AsyncClient]
# Nothing listens there: a deliverer of a later test finds the port closed. These tests run
# none, on an app that allows private URLs (`owner`, `stranger`); the shared app (`alice`)
# refuses them, and no test looks a name up in DNS (everything stays on 127.0.0.1).
URL = "http://127.0.0.1:1/hook"
# A name whose look-up fails on this machine, without asking DNS (a label over 63 characters).
UNRESOLVABLE = f"https://{'a' * 64}.example/hook"


def field_named(response: httpx.Response, field: str) -> list[str]:
    body = assert_error(response, 400, "VALIDATION_ERROR")
    return [d["message"] for d in body["details"] if d["field"] == field]


async def test_create_answers_the_webhook_with_its_secret_once(
    owner: httpx.AsyncClient,
) -> None:
    response = await owner.post(
        "/api/webhooks", json={"url": URL, "events": ["task.created"], "description": "Bot"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == WEBHOOK_FIELDS | {"secret"}
    assert response.headers["location"] == f"/api/webhooks/{body['id']}"
    assert body["url"] == URL
    assert body["events"] == ["task.created"]
    assert body["description"] == "Bot"
    assert body["active"] is True
    assert body["disabled_reason"] is None
    assert body["secret"].startswith("whsec_")
    assert len(base64.b64decode(body["secret"].removeprefix("whsec_"))) == 32
    listed = (await owner.get("/api/webhooks")).json()
    assert [set(item) for item in listed] == [WEBHOOK_FIELDS]
    one = await owner.get(f"/api/webhooks/{body['id']}")
    assert one.status_code == 200
    assert set(one.json()) == WEBHOOK_FIELDS
    assert one.json() == listed[0]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/x", "events": ["*"]}, "url"),
        ({"url": "not a url", "events": ["*"]}, "url"),
        ({"url": "https://", "events": ["*"]}, "url"),
        ({"url": "https://example.com:99999/", "events": ["*"]}, "url"),
        ({"url": "https://example.com/" + "x" * 2000, "events": ["*"]}, "url"),
        # What the delivery client (httpx) would refuse at every attempt.
        ({"url": "https://xn--zz.example/hook", "events": ["*"]}, "url"),
        ({"url": "https://a\u200b.example/hook", "events": ["*"]}, "url"),
        ({"url": "https://example.com/\u007f", "events": ["*"]}, "url"),
        ({"url": "\r\u000bhTtps://\u0000xn--a.example:9813#x", "events": ["*"]}, "url"),
        ({"url": URL, "events": []}, "events"),
        ({"url": URL, "events": ["task.exploded"]}, "events"),
        ({"url": URL, "events": ["ping"]}, "events"),
        ({"url": URL, "events": ["*", "task.created"]}, "events"),
        ({"url": URL}, "events"),
        ({"events": ["*"]}, "url"),
        ({"url": URL, "events": ["*"], "secret": "mine"}, "secret"),
        ({"url": URL, "events": ["*"], "description": "x" * 501}, "description"),
    ],
)
async def test_create_refuses_a_bad_body_naming_the_field(
    owner: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    assert field_named(await owner.post("/api/webhooks", json=body), field)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://10.1.2.3/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:8080/hook",
        "http://192.168.0.10/hook",
        "http://224.0.0.1/hook",
        "http://localhost:8000/hook",
        # All of the IETF protocol assignments, site-local IPv6, and the IPv6 forms that
        # carry a private IPv4 address: NAT64 (well-known and local-use), 6to4,
        # IPv4-compatible and IPv4-translated.
        "http://192.0.0.8/hook",
        "http://192.0.0.9/hook",
        "http://[fec0::1]/hook",
        "http://[64:ff9b::a00:1]/hook",
        "http://[64:ff9b::7f00:1]/hook",
        "http://[64:ff9b:1::808:808]/hook",
        "http://[2002:7f00:1::]/hook",
        "http://[2002:a9fe:a9fe::1]/hook",
        "http://[::127.0.0.1]/hook",
        "http://[::]/hook",
        "http://[::ffff:0:a00:1]/hook",
    ],
)
async def test_a_host_that_is_or_resolves_to_a_private_address_is_refused(
    alice: httpx.AsyncClient, url: str
) -> None:
    messages = field_named(
        await alice.post("/api/webhooks", json={"url": url, "events": ["*"]}), "url"
    )
    assert "not public" in messages[0]
    assert "WEBHOOK_ALLOW_PRIVATE_URLS=true" in messages[0]
    assert (await alice.get("/api/webhooks")).json() == []
    # And as a change of an existing webhook's URL.
    hook = await create_webhook(alice, UNRESOLVABLE)
    assert field_named(await alice.patch(f"/api/webhooks/{hook['id']}", json={"url": url}), "url")


@pytest.mark.parametrize(
    "url",
    [
        "http://[64:ff9b::808:808]/hook",
        "http://[2002:808:808::1]/hook",
        "http://[::ffff:8.8.8.8]/hook",
        "http://[::8.8.8.8]/hook",
    ],
)
async def test_an_ipv6_form_is_judged_by_the_ipv4_address_it_carries(
    alice: httpx.AsyncClient, url: str
) -> None:
    """A literal address is not looked up, and this app runs no deliverer: nothing is sent."""
    hook = await create_webhook(alice, url)
    assert hook["url"] == url
    assert (await alice.delete(f"/api/webhooks/{hook['id']}")).status_code == 204


async def test_a_name_that_does_not_resolve_is_accepted(alice: httpx.AsyncClient) -> None:
    hook = await create_webhook(alice, UNRESOLVABLE)
    assert hook["url"] == UNRESOLVABLE


async def test_the_twenty_first_webhook_is_a_conflict(owner: httpx.AsyncClient) -> None:
    for _ in range(20):
        await create_webhook(owner, URL)
    response = await owner.post("/api/webhooks", json={"url": URL, "events": ["*"]})
    assert_error(response, 409, "CONFLICT")
    assert len((await owner.get("/api/webhooks")).json()) == 20


async def test_a_webhook_is_its_users_only(
    owner: httpx.AsyncClient, stranger: httpx.AsyncClient
) -> None:
    hook = await create_webhook(owner, URL)
    path = f"/api/webhooks/{hook['id']}"
    assert (await stranger.get("/api/webhooks")).json() == []
    for response in [
        await stranger.get(path),
        await stranger.patch(path, json={"description": "mine now"}),
        await stranger.delete(path),
        await stranger.post(f"{path}/ping"),
        await stranger.post(f"{path}/rotate-secret"),
        await stranger.get(f"{path}/deliveries"),
    ]:
        body = assert_error(response, 404, "NOT_FOUND")
        assert body["error"] == "Webhook not found"
    assert (await owner.get(path)).json()["description"] is None


async def test_unknown_and_malformed_ids_are_not_found(owner: httpx.AsyncClient) -> None:
    hook = await create_webhook(owner, URL)
    for path in [
        "/api/webhooks/not-a-uuid",
        "/api/webhooks/0192f0c1-7a4e-7c3d-9b1a-3f6e2d8c4b5a",
        f"/api/webhooks/{hook['id']}/deliveries/not-a-uuid/retry",
        f"/api/webhooks/{hook['id']}/deliveries/0192f0c1-7a4e-7c3d-9b1a-3f6e2d8c4b5a/retry",
    ]:
        method = owner.post if path.endswith("retry") else owner.get
        assert_error(await method(path), 404, "NOT_FOUND")


async def test_patch_changes_what_it_names_and_active_disables_and_enables(
    owner: httpx.AsyncClient,
) -> None:
    hook = await create_webhook(owner, URL, ["task.created"], description="Bot")
    path = f"/api/webhooks/{hook['id']}"
    changed = await owner.patch(path, json={"events": ["list.created"], "description": None})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert set(body) == WEBHOOK_FIELDS
    assert body["events"] == ["list.created"]
    assert body["description"] is None
    assert body["url"] == URL
    off = (await owner.patch(path, json={"active": False})).json()
    assert off["active"] is False
    assert off["disabled_reason"] == "disabled by its owner"
    on = (await owner.patch(path, json={"active": True})).json()
    assert on["active"] is True
    assert on["disabled_reason"] is None
    for bad, field in [
        ({}, "body"),
        ({"active": None}, "active"),
        ({"active": 0}, "active"),
        ({"active": "true"}, "active"),
        ({"url": None}, "url"),
        ({"events": ["ping"]}, "events"),
        ({"secret": "x"}, "secret"),
    ]:
        response = await owner.patch(path, json=bad)
        error = assert_error(response, 400, "VALIDATION_ERROR")
        if field != "body":
            assert [d["field"] for d in error["details"]] == [field]


async def test_delete_is_204_and_then_not_found(owner: httpx.AsyncClient) -> None:
    hook = await create_webhook(owner, URL)
    await owner.post(f"/api/webhooks/{hook['id']}/ping")
    response = await owner.delete(f"/api/webhooks/{hook['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert_error(await owner.delete(f"/api/webhooks/{hook['id']}"), 404, "NOT_FOUND")
    assert (await owner.get("/api/webhooks")).json() == []


async def test_rotate_secret_answers_a_new_secret(owner: httpx.AsyncClient) -> None:
    hook = await create_webhook(owner, URL)
    response = await owner.post(f"/api/webhooks/{hook['id']}/rotate-secret")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == WEBHOOK_FIELDS | {"secret"}
    assert body["secret"].startswith("whsec_")
    assert body["secret"] != hook["secret"]


async def test_deliveries_are_newest_first_in_pages_with_a_link(owner: httpx.AsyncClient) -> None:
    hook = await create_webhook(owner, URL)
    made = []
    for _ in range(5):
        response = await owner.post(f"/api/webhooks/{hook['id']}/ping")
        assert response.status_code == 202
        assert set(response.json()) == DELIVERY_FIELDS
        made.append(response.json()["id"])
    everything = await deliveries(owner, hook["id"])
    assert [row["id"] for row in everything] == made[::-1]
    assert all(row["status"] == "pending" and row["attempts"] == 0 for row in everything)
    seen: list[str] = []
    url: str | None = f"/api/webhooks/{hook['id']}/deliveries?limit=2"
    while url is not None:
        response = await owner.get(url)
        assert response.status_code == 200, response.text
        assert len(response.json()) <= 2
        seen += [row["id"] for row in response.json()]
        link = response.headers.get("link")
        url = link.split(">")[0].lstrip("<") if link else None
    assert seen == made[::-1]


@pytest.mark.parametrize(
    ("query", "field"),
    [("limit=0", "limit"), ("limit=101", "limit"), ("cursor=nonsense", "cursor")],
)
async def test_a_bad_page_is_a_validation_error(
    owner: httpx.AsyncClient, query: str, field: str
) -> None:
    hook = await create_webhook(owner, URL)
    response = await owner.get(f"/api/webhooks/{hook['id']}/deliveries?{query}")
    assert field_named(response, field)


async def test_the_routes_are_documented_with_examples(schema: dict[str, Any]) -> None:
    paths = schema["paths"]
    expected = {
        "/api/webhooks": {"get", "post"},
        "/api/webhooks/{webhook_id}": {"get", "patch", "delete"},
        "/api/webhooks/{webhook_id}/ping": {"post"},
        "/api/webhooks/{webhook_id}/rotate-secret": {"post"},
        "/api/webhooks/{webhook_id}/deliveries": {"get"},
        "/api/webhooks/{webhook_id}/deliveries/{delivery_id}/retry": {"post"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) >= methods, path
    components = schema["components"]["schemas"]
    for name in ["WebhookCreate", "WebhookUpdate", "WebhookRead", "WebhookWithSecret",
                 "DeliveryRead"]:  # fmt: skip
        for field, spec in components[name]["properties"].items():
            branches = [spec, *spec.get("anyOf", [])]
            assert any("examples" in branch for branch in branches), (name, field)
    assert paths["/api/webhooks"]["post"]["responses"]["201"]
    assert paths["/api/webhooks/{webhook_id}/ping"]["post"]["responses"]["202"]
    # Each event a client may subscribe to is named in the document, and only those.
    for name in ["WebhookCreate", "WebhookUpdate"]:
        events = components[name]["properties"]["events"]
        items = next(branch for branch in [events, *events.get("anyOf", [])] if "items" in branch)
        assert items["items"]["enum"] == [*SUBSCRIBABLE, "*"], name


async def test_the_events_are_documented_as_openapi_webhooks(schema: dict[str, Any]) -> None:
    documented = schema["webhooks"]
    assert set(documented) == {
        "task.created", "task.updated", "task.completed", "task.reopened", "task.deleted",
        "list.created", "list.updated", "list.deleted", "list.member_added",
        "list.member_removed", "reminder.fired", "comment.created", "comment.updated",
        "comment.deleted", "ping", "section.created", "section.updated", "section.deleted",
        "attachment.created", "attachment.deleted",
    }  # fmt: skip
    for operation in (item["post"] for item in documented.values()):
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/Event"}
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    event = schema["components"]["schemas"]["Event"]
    assert set(event["properties"]) == {"id", "type", "created_at", "actor_id", "data"}
