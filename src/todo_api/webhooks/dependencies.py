"""What webhook routes take from a request: ids in the path, the deliveries' page."""

import uuid
from typing import Annotated

from todo_api.kit.inputs import id_in_path, parse_id
from todo_api.webhooks.errors import DeliveryNotFound, WebhookNotFound

WebhookIdPath = Annotated[str, id_in_path("The webhook's id")]
DeliveryIdPath = Annotated[str, id_in_path("The delivery's id")]


def parse_webhook_id(text: str) -> uuid.UUID:
    return parse_id(text, WebhookNotFound)


def parse_delivery_id(text: str) -> uuid.UUID:
    return parse_id(text, DeliveryNotFound)
