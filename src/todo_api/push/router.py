"""The push subscription routes: parse, check the endpoint (outside any database connection:
a lookup may take seconds), call the service, shape the answer."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status

from todo_api.auth import caller
from todo_api.config import Settings
from todo_api.db import Row
from todo_api.kit.deps import held
from todo_api.kit.errors import InvalidField, NotFound, error_responses
from todo_api.kit.http import NO_CONTENT, documented, json_response, no_content, read_json
from todo_api.push import service
from todo_api.push.schemas import EndpointIn, SubscriptionIn, VapidKey
from todo_api.tables.push import ENDPOINT_MAX_LENGTH

PREFIX = "/api/push-subscriptions"
router = APIRouter(prefix=PREFIX, tags=["push"], responses=error_responses(401, 500, 503))


def subscription_body(row: Row) -> dict[str, Any]:
    """A subscription as the browser gave it, and when it was first registered."""
    expires = row["expires_at"]
    return {
        "endpoint": row["endpoint"],
        "expirationTime": int(expires.timestamp() * 1000) if expires is not None else None,
        "keys": {"p256dh": row["p256dh"], "auth": row["auth"]},
        "created_at": row["created_at"],
    }


async def checked(settings: Settings, data: SubscriptionIn) -> None:
    """400 naming `endpoint` when the push service is not one reminders may be sent to."""
    problem = await service.endpoint_problem(settings, data.endpoint)
    if problem is not None:
        raise InvalidField("endpoint", problem)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        **error_responses(400, 409, 413),
        200: {"description": "This endpoint was already yours: its keys are updated"},
        201: {"description": "Subscribed: fired reminders are pushed to it"},
    },
    summary=f"Register a browser's push subscription (at most "
    f"{service.MAX_SUBSCRIPTIONS_PER_USER} per user: the next is 409 CONFLICT)",
    description="The body is the browser's `PushSubscription.toJSON()`. The endpoint must be "
    "https:// on a public address, as a webhook's URL (unless the service allows private "
    "ones). Each reminder of yours that fires is pushed to every subscription of yours; a "
    "push service answering 404 or 410 drops it.",
    openapi_extra=documented(body=SubscriptionIn),
)
async def subscribe(request: Request) -> Response:
    call = await caller(request)
    data = await read_json(request, SubscriptionIn)
    await checked(held(request.app, Settings), data)
    row, created = await call.create(service.save, data)
    code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return json_response(subscription_body(row), code)


@router.delete(
    "",
    **NO_CONTENT,
    responses=error_responses(400),
    summary="Remove a push subscription of yours (none of that endpoint: 204 all the same)",
    description='The endpoint in the body (`{"endpoint": ...}`, or the whole '
    "`PushSubscription.toJSON()`) or in `?endpoint=`.",
)
async def unsubscribe(
    request: Request,
    endpoint: Annotated[
        str | None,
        Query(max_length=ENDPOINT_MAX_LENGTH, description="The subscription's endpoint"),
    ] = None,
) -> Response:
    call = await caller(request)
    if endpoint is None:
        if not await request.body():
            raise InvalidField("endpoint", "is required, in the body or the query")
        endpoint = (await read_json(request, EndpointIn)).endpoint
    await call.run(service.remove, endpoint.strip())
    return no_content()


@router.get(
    "/key",
    response_model=VapidKey,
    responses=error_responses(404),
    summary="The VAPID public key a browser subscribes with (404: Web Push is not set up)",
)
async def vapid_key(request: Request) -> Response:
    await caller(request)
    public_key = held(request.app, Settings).vapid_public_key
    if public_key is None:
        raise NotFound("Web Push is not set up on this service (VAPID_PUBLIC_KEY)")
    return json_response({"public_key": public_key})
