"""Words people write: dates, times, recurrence, `#list`, `@tag` and `p1`..`p4` (see reader.py).

A room of its own below the kit: it imports nothing of the service, and the kit's catalogs speak
the languages it reads (`LANGUAGES`)."""

from todo_api.words import clock
from todo_api.words.grammar import FIRST_DAY, LAST_DAY
from todo_api.words.lexicon import LANGUAGES
from todo_api.words.reader import (
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
