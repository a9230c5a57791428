"""What a client gets back from GET /api/reminders."""

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class UpcomingReminder(BaseModel):
    task_id: uuid.UUID
    reminder_id: uuid.UUID
    fires_at: datetime = Field(description="When it fires (or fired)")
