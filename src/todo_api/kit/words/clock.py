"""The "now" dates are read from: the real clock; tests set another (`monkeypatch`)."""

from datetime import datetime

from todo_api.kit.ids import utcnow


def now() -> datetime:
    return utcnow()
