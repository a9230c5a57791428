"""Words people write: dates, times, recurrence, `#list`, `@tag` and `p1`..`p4` (see reader.py)."""

from todo_api.kit.words import clock
from todo_api.kit.words.reader import (
    LANGUAGES,
    Reading,
    Span,
    read,
    read_date,
    read_rule,
    read_tags,
)

__all__ = ["LANGUAGES", "Reading", "Span", "clock", "read", "read_date", "read_rule", "read_tags"]
