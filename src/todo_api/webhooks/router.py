"""The webhook routes: parse, call the service, shape the response (JSON bytes from the rows).

A URL is checked twice before it is stored: its form by the schema, then its host looked up
here (todo_api.kit.targets), outside any database connection, since a lookup may take
seconds.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from todo_api.auth import caller
from todo_api.config import Settings
from todo_api.kit import targets
from todo_api.kit.deps import held
from todo_api.kit.errors import InvalidField, error_responses
from todo_api.kit.events import EventType
from todo_api.kit.http import (
    NO_CONTENT,
    documented,
    header_parameter,
    json_response,
    no_content,
    read_json,
)
from todo_api.kit.inputs import UUID_EXAMPLE
from todo_api.kit.paging import PAGE_HEADERS, Page, page_headers, page_query
from todo_api.webhooks import service
from todo_api.webhooks.dependencies import (
    DeliveryIdPath,
    WebhookIdPath,
    parse_delivery_id,
    parse_webhook_id,
)
from todo_api.webhooks.schemas import (
    DeliveryRead,
    Event,
    WebhookCreate,
    WebhookRead,
    WebhookUpdate,
    WebhookWithSecret,
    delivery_body,
    webhook_body,
)

PREFIX = "/api/webhooks"
router = APIRouter(prefix=PREFIX, tags=["webhooks"], responses=error_responses(401, 500, 503))


async def _public_enough(request: Request, url: str | None) -> None:
    """400 naming `url` when its host is or resolves to an address that is not public."""
    if url is None or held(request.app, Settings).webhook_allow_private_urls:
        return
    problem = await targets.creation_problem(url)
    if problem is not None:
        raise InvalidField("url", problem)


@router.post(
    "",
    response_model=WebhookWithSecret,
    status_code=status.HTTP_201_CREATED,
    responses={
        **error_responses(400, 409, 413),
        201: {
            "description": "The webhook, with its secret (shown in this answer only)",
            "headers": {
                "Location": {"description": "The webhook's URL", "schema": {"type": "string"}}
            },
        },
    },
    summary="Create a webhook (at most 20 per user: the 21st is 409 CONFLICT)",
    openapi_extra=documented(body=WebhookCreate),
)
async def create_webhook(request: Request) -> Response:
    call = await caller(request)
    data = await read_json(request, WebhookCreate)
    await _public_enough(request, data.url)
    row = await call.create(service.create_webhook, data)
    return json_response(
        webhook_body(row, secret=True),
        status.HTTP_201_CREATED,
        {"Location": f"{PREFIX}/{row['id']}"},
    )


@router.get("", response_model=list[WebhookRead], summary="Your webhooks, oldest first")
async def list_webhooks(request: Request) -> Response:
    call = await caller(request)
    rows = await call.run(service.list_webhooks)
    return json_response([webhook_body(row) for row in rows])


@router.get(
    "/{webhook_id}",
    response_model=WebhookRead,
    responses=error_responses(404),
    summary="Get a webhook",
)
async def get_webhook(webhook_id: WebhookIdPath, request: Request) -> Response:
    call = await caller(request)
    row = await call.run(service.get_webhook, parse_webhook_id(webhook_id))
    return json_response(webhook_body(row))


@router.patch(
    "/{webhook_id}",
    response_model=WebhookRead,
    responses=error_responses(400, 404, 413),
    summary="Change a webhook; `active: true` enables it again, `false` disables it",
    openapi_extra=documented(body=WebhookUpdate),
)
async def update_webhook(webhook_id: WebhookIdPath, request: Request) -> Response:
    call = await caller(request)
    webhook_uuid = parse_webhook_id(webhook_id)
    data = await read_json(request, WebhookUpdate)
    await _public_enough(request, data.url)
    row = await call.run(service.update_webhook, webhook_uuid, data)
    return json_response(webhook_body(row))


@router.delete(
    "/{webhook_id}",
    **NO_CONTENT,
    responses=error_responses(404),
    summary="Delete a webhook and its deliveries",
)
async def delete_webhook(webhook_id: WebhookIdPath, request: Request) -> Response:
    call = await caller(request)
    await call.run(service.delete_webhook, parse_webhook_id(webhook_id))
    return no_content()


@router.post(
    "/{webhook_id}/ping",
    response_model=DeliveryRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses={**error_responses(404), 202: {"description": "The ping's delivery, pending"}},
    summary="Send the webhook a `ping` event (whatever its events)",
)
async def ping(webhook_id: WebhookIdPath, request: Request) -> Response:
    call = await caller(request)
    row = await call.run(service.ping, parse_webhook_id(webhook_id))
    return json_response(delivery_body(row), status.HTTP_202_ACCEPTED)


@router.post(
    "/{webhook_id}/rotate-secret",
    response_model=WebhookWithSecret,
    responses={
        **error_responses(404),
        200: {"description": "The webhook with its new secret (shown in this answer only)"},
    },
    summary="A new secret; for 24 hours deliveries are signed with the old one too",
)
async def rotate_secret(webhook_id: WebhookIdPath, request: Request) -> Response:
    call = await caller(request)
    row = await call.run(service.rotate_secret, parse_webhook_id(webhook_id))
    return json_response(webhook_body(row, secret=True))


deliveries_page = page_query("Deliveries", most=service.MAX_PAGE, default=service.DEFAULT_PAGE)


@router.get(
    "/{webhook_id}/deliveries",
    response_model=list[DeliveryRead],
    responses={
        **error_responses(400, 404),
        200: {"description": "A page of deliveries, newest first", "headers": PAGE_HEADERS},
    },
    summary="The webhook's deliveries, newest first",
)
async def list_deliveries(
    webhook_id: WebhookIdPath,
    request: Request,
    page: Annotated[Page, Depends(deliveries_page)],
) -> Response:
    call = await caller(request)
    webhook_uuid = parse_webhook_id(webhook_id)
    rows, next_cursor = await call.run(
        service.deliveries, webhook_uuid, limit=page.limit, cursor=page.cursor
    )
    headers = page_headers(request, next_cursor)
    return json_response([delivery_body(row) for row in rows], headers=headers)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/retry",
    response_model=DeliveryRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses={**error_responses(404), 202: {"description": "The delivery, pending again"}},
    summary="One more attempt of a delivery, now (outside its schedule)",
)
async def retry_delivery(
    webhook_id: WebhookIdPath, delivery_id: DeliveryIdPath, request: Request
) -> Response:
    call = await caller(request)
    webhook_uuid = parse_webhook_id(webhook_id)
    row = await call.run(service.retry, webhook_uuid, parse_delivery_id(delivery_id))
    return json_response(delivery_body(row), status.HTTP_202_ACCEPTED)


# What a webhook receives, for the OpenAPI document's `webhooks`: one entry per event type.
events_documented = APIRouter(tags=["webhooks"])
SIGNATURE_HEADERS = [
    header_parameter("webhook-id", "The event's id (the same on every attempt)", UUID_EXAMPLE),
    header_parameter("webhook-timestamp", "This attempt's time, in Unix seconds", "1795458600"),
    header_parameter(
        "webhook-signature",
        "`v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` keyed with the "
        "secret's bytes (Standard Webhooks); for 24 h after a rotation, two, space-separated",
        "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
    ),
]


def _document_event(kind: str) -> None:
    async def receive(request: Request) -> Response:  # never served: documentation only
        raise NotImplementedError

    receive.__name__ = f"on_{kind.replace('.', '_')}"
    events_documented.post(
        kind,
        summary=f"`{kind}`, POSTed to your webhook's URL",
        responses={200: {"description": "Any 2xx within the timeout: delivered"}},
        openapi_extra=documented(body=Event, headers=SIGNATURE_HEADERS),
    )(receive)


for _kind in EventType:
    _document_event(_kind)
