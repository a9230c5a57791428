"""The shapes of live updates' answers, for the OpenAPI document."""

from datetime import datetime

from pydantic import BaseModel, Field


class EventTicket(BaseModel):
    ticket: str = Field(
        description="Opens one stream: `GET /api/events?ticket=...`, within 60 s, once",
        examples=["o7s0bqkJ1Yb0QmUu3a2pA4jT0Z7o1c9Kq0m8cFvWl3E"],
    )
    expires_at: datetime = Field(examples=["2026-11-24T09:30:00Z"])
