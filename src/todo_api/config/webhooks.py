"""The settings of webhooks (todo_api.webhooks): an attempt's time limit, the delays before each
retry, when a failing webhook is disabled, which addresses a URL may point at, how often due
deliveries are looked for and how long ended ones are kept. A group of its own, which
`todo_api.config.Settings` inherits."""

from pydantic import Field
from pydantic_settings import BaseSettings

from todo_api.config.schedules import RetrySchedule


class WebhookSettings(BaseSettings):
    # An attempt's time limit; the delays before each retry, counted from the end of the failed
    # attempt (comma-separated seconds: a delivery makes at most 1 + len attempts, then is
    # `failed`); failed deliveries in a row that disable a webhook; whether a URL may point at
    # a loopback, private or otherwise non-global address (development, tests, a private
    # network); how often each process looks for due deliveries when nothing woke it; and how
    # long ended deliveries are kept.
    webhook_timeout_seconds: float = Field(default=10, gt=0, le=50)
    webhook_retry_schedule: RetrySchedule = (5, 300, 1800, 7200, 18000, 36000)
    webhook_disable_after: int = Field(default=10, ge=1, le=1000)
    webhook_allow_private_urls: bool = False
    webhook_poll_seconds: float = Field(default=1, gt=0, le=60)
    webhook_retention_days: int = Field(default=30, ge=1, le=3650)
