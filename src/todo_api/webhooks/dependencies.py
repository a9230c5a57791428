"""What webhook routes take from a request: ids in the path, the deliveries' page."""

import uuid
from typing import Annotated

from fastapi import Path

from todo_api.kit.inputs import UUID_EXAMPLE
from todo_api.webhooks.errors import DeliveryNotFound, WebhookNotFound

WebhookIdPath = Annotated[
    str,
    Path(
        description="The webhook's id",
        json_schema_extra={"format": "uuid"},
        examples=[UUID_EXAMPLE],
    ),
]
DeliveryIdPath = Annotated[
    str,
    Path(
        description="The delivery's id",
        json_schema_extra={"format": "uuid"},
        examples=[UUID_EXAMPLE],
    ),
]


def parse_webhook_id(text: str) -> uuid.UUID:
    """The id in the path; one that does not parse names no webhook, like an unknown one."""
    try:
        return uuid.UUID(text)
    except ValueError:
        raise WebhookNotFound from None


def parse_delivery_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise DeliveryNotFound from None
