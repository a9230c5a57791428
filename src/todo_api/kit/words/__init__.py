"""Words people write: dates, times, recurrence, `#list`, `@tag` and `p1`..`p4` (see reader.py)."""

from todo_api.kit.words.reader import LANGUAGES, Reading, Span, read, read_date, read_rule

__all__ = ["LANGUAGES", "Reading", "Span", "read", "read_date", "read_rule"]
