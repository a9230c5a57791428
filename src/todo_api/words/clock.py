"""The "now" dates are read from: the real clock; tests set another (`monkeypatch`)."""

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)
