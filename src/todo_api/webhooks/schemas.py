"""What a client sends and gets back for webhooks, and the events they deliver."""

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, field_validator

from todo_api.kit import text
from todo_api.kit.events import EVERYTHING, SUBSCRIBABLE, EventType
from todo_api.kit.inputs import UUID_EXAMPLE, Change, Input, change_schema, refuse_null
from todo_api.kit.targets import url_problem
from todo_api.tables.webhooks import DESCRIPTION_MAX_LENGTH, URL_MAX_LENGTH

URL_EXAMPLE = "https://example.com/hooks/todo"
# The form `url_problem` takes, for the document: http(s)://, a host, no white space (around
# it, trimmed) and no control character.
_C = r"\s\x00-\x1f\x7f"
_HOST = rf"(?:\[[^{_C}/?#@\]]+\]|[^{_C}/?#@:\[\]]+)"
URL_PATTERN = (
    rf"^\s*[Hh][Tt][Tt][Pp][Ss]?://(?:[^{_C}/?#@]*@)?{_HOST}(?::\d{{0,5}})?(?:[/?#][^{_C}]*)?\s*$"
)
SECRET_EXAMPLE = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
TIME_EXAMPLE = "2026-11-23T18:30:00Z"


def _checked_url(url: str) -> str:
    url = url.strip()
    problem = url_problem(url)
    if problem is not None:
        raise ValueError(problem)
    return url


def _checked_events(types: list[str]) -> list[str]:
    if EVERYTHING in types:
        if len(types) > 1:
            raise ValueError('"*" stands for every type: give it alone')
        return types
    for kind in types:
        if kind == EventType.ping:
            raise ValueError("ping cannot be subscribed to: POST .../ping reaches any webhook")
        if kind not in SUBSCRIBABLE:
            raise ValueError(f"{kind!r} is not an event type; one of {', '.join(SUBSCRIBABLE)}")
    return list(dict.fromkeys(types))


Url = Annotated[
    str,
    Field(
        max_length=URL_MAX_LENGTH,
        description="Where deliveries are POSTed: http:// or https://, to a host that is and "
        "resolves to public addresses only (unless the service allows private ones)",
        examples=[URL_EXAMPLE],
        json_schema_extra={"pattern": URL_PATTERN},
    ),
    AfterValidator(_checked_url),
]
# Each item documented as one of the types; checked by _checked_events, whose messages say more
# than a failed enum would.
EventName = Annotated[str, Field(json_schema_extra={"enum": [*SUBSCRIBABLE, EVERYTHING]})]
Events = Annotated[
    list[EventName],
    Field(
        min_length=1,
        max_length=len(SUBSCRIBABLE),
        description=f'The event types to deliver, or `["*"]` for all of them (those added '
        f"later included): {', '.join(SUBSCRIBABLE)}. `ping` cannot be subscribed to",
        examples=[["task.created", "task.completed"], ["*"]],
        json_schema_extra={"if": {"contains": {"const": EVERYTHING}}, "then": {"maxItems": 1}},
    ),
    AfterValidator(_checked_events),
]
Description = Annotated[
    str,
    AfterValidator(text.paragraph(DESCRIPTION_MAX_LENGTH)),
    Field(
        description=f"For you: at most {DESCRIPTION_MAX_LENGTH} characters in NFC; no control "
        "characters but tab and line breaks",
        examples=["Slack bot"],
        json_schema_extra=text.documented(text.DESCRIPTION_PATTERN, DESCRIPTION_MAX_LENGTH),
    ),
]


class WebhookCreate(Input):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"url": URL_EXAMPLE, "events": ["*"], "description": "Slack bot"}]
        },
    )

    url: Url
    events: Events
    description: Description | None = None


class WebhookUpdate(Change):
    """A partial change: fields left out stay as they are. `active: true` enables a disabled
    webhook again (its failures in a row start from zero); `false` disables it."""

    model_config = ConfigDict(
        json_schema_extra=change_schema(
            "url", "events", "active", also={"examples": [{"active": True}]}
        )
    )

    url: Url | None = None
    events: Events | None = None
    description: Description | None = None
    active: StrictBool | None = Field(
        default=None,
        description="true: enabled (deliveries resume); false: disabled by its owner",
        examples=[True],
    )

    _not_null = field_validator("url", "events", "active")(refuse_null)


class WebhookRead(BaseModel):
    id: uuid.UUID = Field(examples=[UUID_EXAMPLE])
    url: str = Field(examples=[URL_EXAMPLE])
    events: list[str] = Field(examples=[["*"]])
    description: str | None = Field(examples=["Slack bot"])
    active: bool = Field(
        description="false: no new deliveries; pending ones wait until it is enabled again",
        examples=[True],
    )
    disabled_reason: str | None = Field(
        description="Why it is disabled (null while active)",
        examples=["disabled after 10 failed deliveries in a row"],
    )
    created_at: datetime = Field(examples=[TIME_EXAMPLE])
    updated_at: datetime = Field(examples=[TIME_EXAMPLE])


class WebhookWithSecret(WebhookRead):
    secret: str = Field(
        description="Signs every delivery (Standard Webhooks): `whsec_` and the base64 of 32 "
        "random bytes. Shown in this answer only",
        examples=[SECRET_EXAMPLE],
    )


DeliveryStatus = Literal["pending", "succeeded", "failed"]


class DeliveryRead(BaseModel):
    id: uuid.UUID = Field(examples=[UUID_EXAMPLE])
    event_id: uuid.UUID = Field(
        description="The event's id: `webhook-id` of every attempt", examples=[UUID_EXAMPLE]
    )
    type: str = Field(description="The event's type", examples=["task.completed"])
    status: DeliveryStatus = Field(examples=["succeeded"])
    attempts: int = Field(description="Attempts made so far", examples=[1])
    response_status: int | None = Field(
        description="The HTTP status of the last attempt's answer (null: none came)",
        examples=[200],
    )
    error: str | None = Field(
        description="Why the last attempt failed, as a sentence (null: it did not)",
        examples=[None, "HTTP 500: Internal Server Error", "timed out after 10 s"],
    )
    duration_ms: int | None = Field(description="How long the last attempt took", examples=[42])
    created_at: datetime = Field(examples=[TIME_EXAMPLE])
    next_attempt_at: datetime | None = Field(
        description="When it is attempted next (null: it has ended)", examples=[None]
    )


class Event(BaseModel):
    """What a delivery POSTs (signed per Standard Webhooks: `webhook-id` is the event's id)."""

    id: uuid.UUID = Field(description="The same on every attempt", examples=[UUID_EXAMPLE])
    type: str = Field(examples=["task.created"])
    created_at: datetime = Field(examples=[TIME_EXAMPLE])
    actor_id: uuid.UUID | None = Field(
        description="Who caused it (null: the service)", examples=[UUID_EXAMPLE]
    )
    data: dict[str, Any] = Field(
        description="The task or list as the API returns it; `{id}` for a deletion; "
        "`{list_id, user_id, role}` for a member event; `{webhook_id}` for a ping",
        examples=[{"id": UUID_EXAMPLE}],
    )


WEBHOOK_FIELDS = tuple(WebhookRead.model_fields)


def webhook_body(row: Mapping[str, Any], *, secret: bool = False) -> dict[str, Any]:
    """A stored webhook as the API shows it (its secret only when `secret`)."""
    body = {name: row[name] for name in WEBHOOK_FIELDS}
    if secret:
        body["secret"] = row["secret"]
    return body


def delivery_body(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "event_id": row["event_id"],
        "type": row["event_type"],
        "status": row["status"],
        "attempts": row["attempts"],
        "response_status": row["response_status"],
        "error": row["error"],
        "duration_ms": row["duration_ms"],
        "created_at": row["created_at"],
        "next_attempt_at": row["next_attempt_at"],
    }
