"""The routes of tasks by email: a list's address (`/api/lists/{list_id}/inbound-address`),
and the providers' inbound webhooks (`/inbound/postmark`, `/inbound/mailgun`).

A webhook is there only when its provider's credentials are set (404 otherwise). Postmark's
posts carry Basic credentials (INBOUND_POSTMARK_USER and _PASSWORD, written into the webhook's
URL at Postmark); Mailgun's are signed: HMAC-SHA256 of `timestamp` + `token` with
INBOUND_MAILGUN_SIGNING_KEY, the timestamp within REPLAY_WINDOW_SECONDS of now and each token
taken once. A post that passes is answered 200 whatever became of its message (a refusal is
logged), so that the provider does not send it again."""

import base64
import hmac
import time
import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from todo_api.auth import caller
from todo_api.config import Settings
from todo_api.db import Database
from todo_api.files.storage import Files
from todo_api.inbound import addresses, mail, taking
from todo_api.kit.deps import held
from todo_api.kit.errors import ApiError, ErrorCode, InvalidRequest, NotFound, error_responses
from todo_api.kit.http import NO_CONTENT, documented, json_response, no_content, read_json
from todo_api.kit.inputs import Input
from todo_api.lists.dependencies import ListIdPath, parse_list_id

ADDRESS = "/api/lists/{list_id}/inbound-address"
POSTMARK_PATH = "/inbound/postmark"
MAILGUN_PATH = "/inbound/mailgun"
REPLAY_WINDOW_SECONDS = 300

router = APIRouter(tags=["tasks by email"], responses=error_responses(401, 500, 503))


class InboundAddressRead(BaseModel):
    list_id: uuid.UUID
    enabled: bool = Field(description="Whether the list has an address")
    address: str | None = Field(
        description="`<secret>@INBOUND_DOMAIN`: mail to it makes a task in the list; null when "
        "turned off (or made before the service's signing secret changed: make a new one)",
        examples=["k3q5x7...@tasks.example.com"],
    )
    allow_others: bool = Field(
        description="Whether mail from people who are not the list's members makes tasks"
    )
    updated_at: datetime | None


class InboundSettingsUpdate(Input):
    allow_others: bool


def _shown(request: Request, list_id: uuid.UUID, row: Any) -> Response:
    settings = held(request.app, Settings)
    body = addresses.shown(row, list_id, settings.signing_secret(), settings.inbound_domain)
    return json_response(body, headers={"Cache-Control": "no-store"})


@router.get(
    ADDRESS,
    response_model=InboundAddressRead,
    responses=error_responses(403, 404),
    summary="The list's address for tasks by email, if it has one (its owner and editors)",
)
async def get_address(list_id: ListIdPath, request: Request) -> Response:
    call = await caller(request)
    list_uuid = parse_list_id(list_id)
    return _shown(request, list_uuid, await call.run(addresses.settings_of, list_uuid))


@router.post(
    ADDRESS,
    response_model=InboundAddressRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(403, 404),
    summary="Give the list a new address for tasks by email; the one it had stops working "
    "(503 EMAIL_UNAVAILABLE without INBOUND_DOMAIN)",
)
async def make_address(list_id: ListIdPath, request: Request) -> Response:
    call = await caller(request)
    list_uuid = parse_list_id(list_id)
    settings = held(request.app, Settings)
    if settings.inbound_domain is None:
        raise addresses.InboundUnavailable
    row = await call.run(addresses.make_address, list_uuid, settings.signing_secret())
    response = _shown(request, list_uuid, row)
    response.status_code = status.HTTP_201_CREATED
    return response


@router.patch(
    ADDRESS,
    response_model=InboundAddressRead,
    responses=error_responses(400, 403, 404),
    summary="Whether mail from people who are not the list's members makes tasks",
    openapi_extra=documented(body=InboundSettingsUpdate),
)
async def change_settings(list_id: ListIdPath, request: Request) -> Response:
    call = await caller(request)
    list_uuid = parse_list_id(list_id)
    data = await read_json(request, InboundSettingsUpdate)
    row = await call.run(addresses.allow_others, list_uuid, data.allow_others)
    return _shown(request, list_uuid, row)


@router.delete(
    ADDRESS,
    **NO_CONTENT,
    responses=error_responses(403, 404),
    summary="Turn the list's address off: mail to it is refused from now on",
)
async def turn_off(list_id: ListIdPath, request: Request) -> Response:
    call = await caller(request)
    await call.run(addresses.turn_off, parse_list_id(list_id))
    return no_content()


# --- the providers' webhooks ------------------------------------------------------------------


_NOT_SET_UP = "This provider's inbound webhook is not set up on this service"


class WebhookRefused(ApiError):
    status, code = 401, ErrorCode.UNAUTHORIZED


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


async def _take(request: Request, message: mail.Mail) -> Response:
    settings = held(request.app, Settings)
    if settings.inbound_domain is None:
        raise NotFound(_NOT_SET_UP)
    db, files = held(request.app, Database), held(request.app, Files)
    results = await taking.take(db, files, settings.inbound_domain, message)
    return json_response(
        {"results": [{"outcome": r.outcome, "task_id": r.task_id} for r in results]}
    )


@router.post(POSTMARK_PATH, include_in_schema=False)
async def postmark(request: Request) -> Response:
    settings = held(request.app, Settings)
    password = settings.inbound_postmark_password
    if settings.inbound_postmark_user is None or password is None:
        raise NotFound(_NOT_SET_UP)
    scheme, _, encoded = (request.headers.get("authorization") or "").partition(" ")
    try:
        user, _, given = base64.b64decode(encoded, validate=True).decode().partition(":")
    except ValueError:
        user = given = ""
    good_user = _same(user, settings.inbound_postmark_user)
    if not (scheme.lower() == "basic" and _same(given, password.get_secret_value()) and good_user):
        raise WebhookRefused(
            "Postmark's credentials are missing or wrong",
            headers={"WWW-Authenticate": 'Basic realm="inbound"'},
        )
    try:
        body = await request.json()
    except ValueError:
        raise InvalidRequest("The body is not JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The body is not a JSON object")
    return await _take(request, mail.from_postmark(body))


class _SeenTokens:
    """Mailgun tokens taken within the replay window, in this process."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    def first_time(self, token: str, now: float) -> bool:
        self._until = {t: until for t, until in self._until.items() if until > now}
        if token in self._until:
            return False
        self._until[token] = now + 2 * REPLAY_WINDOW_SECONDS
        return True


_SEEN = _SeenTokens()


@router.post(MAILGUN_PATH, include_in_schema=False)
async def mailgun(request: Request) -> Response:
    settings = held(request.app, Settings)
    key = settings.inbound_mailgun_signing_key
    if key is None:
        raise NotFound(_NOT_SET_UP)
    form = await request.form(
        max_files=taking.FILES_PER_MESSAGE * 2, max_part_size=settings.inbound_max_message_bytes
    )
    fields = {name: value for name, value in form.items() if isinstance(value, str)}
    timestamp, token = fields.get("timestamp", ""), fields.get("token", "")
    expected = hmac.new(key.get_secret_value().encode(), (timestamp + token).encode(), "sha256")
    now = time.time()
    if not _same(fields.get("signature", ""), expected.hexdigest()):
        raise WebhookRefused("Mailgun's signature is missing or wrong")
    if not timestamp.isdigit() or abs(now - int(timestamp)) > REPLAY_WINDOW_SECONDS:
        raise WebhookRefused("Mailgun's timestamp is too old (or in the future)")
    if not _SEEN.first_time(token, now):
        raise WebhookRefused("Mailgun's token was used already")
    files = []
    for name, value in form.multi_items():
        if isinstance(value, UploadFile) and name.startswith("attachment-"):
            data = await value.read()
            files.append(mail.File(value.filename or "attachment", value.content_type, data))
    await form.close()
    return await _take(request, mail.from_mailgun(fields, files))
