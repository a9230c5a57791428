"""Retry schedules (WEBHOOK_RETRY_SCHEDULE, REMINDER_EMAIL_RETRY_SCHEDULE): the delays before
each retry, as seconds separated by commas, a week each at most and twenty in all."""

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ValidationInfo
from pydantic_settings import NoDecode

# Bounds of a schedule: a week per delay, twenty retries.
MAX_RETRY_DELAY_SECONDS, MAX_RETRIES = 7 * 86400, 20


def _split(value: Any, info: ValidationInfo) -> Any:
    name = (info.field_name or "").upper()
    if isinstance(value, str):
        items = [item.strip() for item in value.split(",")]
        if items == [""]:
            return ()
        try:
            return tuple(float(item) for item in items)
        except ValueError:
            raise ValueError(
                f"{name} must be seconds separated by commas (e.g. 5,300,1800)"
            ) from None
    return value


def _sensible(delays: tuple[float, ...], info: ValidationInfo) -> tuple[float, ...]:
    name = (info.field_name or "").upper()
    if len(delays) > MAX_RETRIES:
        raise ValueError(f"{name} has at most {MAX_RETRIES} delays")
    for delay in delays:
        if not 0 <= delay <= MAX_RETRY_DELAY_SECONDS:  # NaN fails too
            raise ValueError(f"{name} delays are seconds from 0 to {MAX_RETRY_DELAY_SECONDS}")
    return delays


RetrySchedule = Annotated[
    tuple[float, ...], NoDecode, BeforeValidator(_split), AfterValidator(_sensible)
]
