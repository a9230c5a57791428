"""A query of the filter language that cannot be read, said in the person's language: where
(the position, as a number, as the API gives it) and what was expected there, in the
words of the filter box's example (`filter_query.FilterError` says it in English, for the API)."""

from todo_api.tasks import filter_query
from todo_api.web.common.messages import Gettext


def unreadable(_: Gettext, text: str) -> str | None:
    """Why `text` cannot be read as a filter, in the person's words; None when it can."""
    try:
        filter_query.parse(text)
    except filter_query.FilterError as exc:
        expected = _expected(_).get(exc.expected, exc.expected)
        said = _("Can't read the filter at position %(position)s: expected %(expected)s")
        return said % {"position": exc.position, "expected": expected}
    return None


def _expected(_: Gettext) -> dict[str, str]:
    """What the reader expected, by its English phrase (those a value fills in stay English)."""
    return {
        filter_query.CONDITIONS: _(
            "a condition (today, tomorrow, overdue, no date, recurring, next 7 days, "
            "due before:, due after:, p1-p4, #list, ##list, /section, @tag, no labels, "
            "assigned to:, created by:, shared, subtask, search:), ! or ("
        ),
        "&, |, , or the end of the query": _("&, |, , or the end of the filter"),
        "&, | or )": _("&, | or )"),
        'a closing "': _('a closing "'),
        "a list's name": _("a list's name"),
        "a section's name": _("a section's name"),
        "a tag": _("a tag"),
        "a date": _("a date"),
        "a text to search for": _("a text to search for"),
        "me, others or an email": _("me, others or an email"),
        "me or an email": _("me or an email"),
        "a date from 1900 to 2100 (2026-12-24, today, next monday, jan 4, ...)": _(
            "a date from 1900 to 2100 (2026-12-24, today, next monday, jan 4, ...)"
        ),
    }
