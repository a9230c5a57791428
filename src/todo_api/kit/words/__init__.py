"""Words people write: dates, times, recurrence, `#list`, `@tag` and `p1`..`p4` (see reader.py)."""

from todo_api.kit.words import clock
from todo_api.kit.words.grammar import FIRST_DAY, LAST_DAY
from todo_api.kit.words.lexicon import LANGUAGES
from todo_api.kit.words.reader import (
    OutOfRange,
    Reading,
    Span,
    prepare,
    read,
    read_date,
    read_rule,
    read_tags,
)

__all__ = [
    "FIRST_DAY",
    "LANGUAGES",
    "LAST_DAY",
    "OutOfRange",
    "Reading",
    "Span",
    "clock",
    "prepare",
    "read",
    "read_date",
    "read_rule",
    "read_tags",
]
