"""The errors of the webhooks domain."""

from todo_api.kit.errors import Conflict, NotFound


class WebhookNotFound(NotFound):
    """No such webhook for this user: the same answer for someone else's."""

    message = "Webhook not found"


class DeliveryNotFound(NotFound):
    message = "Delivery not found"


class TooManyWebhooks(Conflict):
    def __init__(self, limit: int) -> None:
        super().__init__(f"You have {limit} webhooks, the most a user may have")
