"""Logging: how lines are written (text for people, JSON for machines), and why a client
cannot forge them.

A request path is percent-decoded before the application sees it, so `%0d%0a` in a URL is a
real CR LF by the time it is logged; written raw, it would start a log line of the client's
making. Text lines escape control characters; JSON lines escape them by being JSON.

A request line never shows a secret that a URL carries (an invitation's or a link's token, a
live updates' ticket, an OAuth code or state, a list's address for tasks by email):
`loggable_path`, `loggable_query` and `loggable_url` (for the `Referer`) write it as `…`, by
route shape (SECRET_PATHS), by the name of a query parameter (SECRET_PARAMETERS) and by the
shape of an address's secret, here and nowhere else.

`python-json-logger` would write the JSON lines: 24.9 µs a request line (13.3 µs with its orjson
formatter) against 5.0 µs for `JsonFormatter`, and it has no way to write a line without a
LogRecord as `RequestLog` does (bench/README.md, `library_choices.py`).
"""

import asyncio
import logging
import re
import sys
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus, urlsplit

import orjson

from todo_api.config import LogFormat
from todo_api.config.inbound import SECRET_PATTERN

# The text lines' format: the time, the level, the logger and the message.
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# logging's own way of adding the milliseconds to the time (`Formatter.default_msec_format`).
_MSEC_FORMAT = "%s,%03d"


def loggable(text: str) -> str:
    """`text` with control and other non-printable characters escaped (`\\r`, `\\x1b`, ...)."""
    if text.isprintable():
        return text
    return repr(text)[1:-1]


# What a log writes in place of a secret.
REDACTED = "…"
# The routes whose path carries a secret after one of these prefixes: all of it is left out
# but a calendar's `.ics` (`/app/invitations/{token}`: a shared list's invitation link;
# `/feeds/{secret}.ics`: a calendar feed's URL, logged as `/feeds/….ics`).
SECRET_PATHS = ("/app/invitations/", "/feeds/")
# Query parameters that carry a secret, on whichever route (a verification or reset link's
# `token`, an invitation carried to sign-in or sign-up, the live updates' `ticket`, OAuth's
# and OpenID Connect's `code` and `state`, and their kin).
SECRET_PARAMETERS = frozenset(
    {
        "token",
        "ticket",
        "invitation",
        "carried",
        "code",
        "state",
        "csrf_token",
        "secret",
        "key",
        "password",
        "access_token",
        "refresh_token",
        "id_token",
        "code_verifier",
        "client_secret",
    }
)
# A list's address for tasks by email (`<secret>@INBOUND_DOMAIN`), wherever a URL carries it:
# its secret as `…`, the `@` and the domain kept.
_INBOUND_SECRET = re.compile(rf"(?<![A-Za-z0-9]){SECRET_PATTERN}(?=@|%40)", re.I)
_SECRET_PATH = re.compile(
    f"^({'|'.join(re.escape(prefix) for prefix in SECRET_PATHS)}).+?(\\.ics)?$", re.S
)


def loggable_path(path: str) -> str:
    """`path` as a log shows it: a secret it carries (SECRET_PATHS, an inbound address) as `…`."""
    if "@" in path or "%40" in path:
        path = _INBOUND_SECRET.sub(REDACTED, path)
    if not path.startswith(SECRET_PATHS):
        return path
    return _SECRET_PATH.sub(rf"\g<1>{REDACTED}\g<2>", path)


def loggable_query(query: str) -> str:
    """A query string as a log shows it: the value of each SECRET_PARAMETERS as `…`, the rest
    as sent."""
    parts = query.split("&")
    for number, part in enumerate(parts):
        name, equals, value = part.partition("=")
        if value and unquote_plus(name).strip().lower() in SECRET_PARAMETERS:
            parts[number] = f"{name}{equals}{REDACTED}"
        elif "@" in value or "%40" in value:
            parts[number] = f"{name}{equals}{_INBOUND_SECRET.sub(REDACTED, value)}"
    return "&".join(parts)


def loggable_url(url: str) -> str:
    """A URL (a `Referer`) as a log shows it: its path and query as above, no password and no
    fragment."""
    try:
        parts = urlsplit(url)
        if parts.password is not None:
            parts = parts._replace(netloc=parts.netloc.rpartition("@")[2])
    except ValueError:  # not a URL at all (a port that is no number, a bad IPv6 address)
        return REDACTED
    path = loggable_path(parts.path)
    query = loggable_query(parts.query) if parts.query else ""
    return parts._replace(path=path, query=query, fragment="").geturl()


# How long request lines may wait to be written together (LineHandler), and how many.
LINES_HELD_SECONDS = 0.1
PENDING_LINES_MAX = 1000


class EscapingFormatter(logging.Formatter):
    """Escapes control characters in each message (a traceback after it stays as it is)."""

    # The text of the current second, made once for all the lines written within it.
    _second: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        return self._time(record.created, record.msecs)

    def _time(self, created: float, msecs: float) -> str:
        text = self._second_text(int(created))
        return self.default_msec_format % (text, msecs) if self.default_msec_format else text

    def _second_text(self, second: int) -> str:
        if second != self._second[0]:
            text = time.strftime(self.default_time_format, self.converter(second))
            self._second = (second, text)
        return self._second[1]

    def info_line(self, name: str, created: float, message: str, fields: dict[str, Any]) -> str:
        """What `format` writes for an INFO record of logger `name` made at `created`, without
        a traceback (`fields` are JSON's only); "" for another format than the service's."""
        if self._fmt != TEXT_FORMAT or self.default_msec_format != _MSEC_FORMAT:
            return ""
        second = int(created)
        # TEXT_FORMAT with logging's time (`_time`: the second, a comma and the milliseconds
        # as a LogRecord counts them), in one f-string.
        milliseconds = int((created - second) * 1000)
        text = self._second_text(second)
        return f"{text},{milliseconds:03d} INFO {name} {loggable(message)}"

    def formatMessage(self, record: logging.LogRecord) -> str:
        message = record.message
        if message.isprintable():
            return super().formatMessage(record)
        record.message = loggable(message)
        try:
            return super().formatMessage(record)
        finally:
            record.message = message


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the record's `fields` (the
    request line's request_id, method, route, status, duration_ms, user_id) and any
    traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line = _json_line(record.created, record.levelname, record.name, record.getMessage())
        fields = record.__dict__.get("fields")
        if fields:
            line.update(fields)
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()

    def info_line(self, name: str, created: float, message: str, fields: dict[str, Any]) -> str:
        """What `format` writes for an INFO record of logger `name` made at `created` with
        these `fields`, without a traceback."""
        line = _json_line(created, "INFO", name, message)
        line.update(fields)
        return orjson.dumps(line, default=str).decode()


def _json_line(created: float, level: str, name: str, message: str) -> dict[str, Any]:
    return {
        "time": datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds"),
        "level": level,
        "logger": name,
        "message": message,
    }


class LineHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The service's handler: logging's StreamHandler, which can also write an INFO line
    without a record (`RequestLog`).

    Such lines are written together, at most LINES_HELD_SECONDS after the first of them (or
    once PENDING_LINES_MAX wait), as web servers buffer their access logs: a write per line
    is a system call per request. Any other record, and `flush` (logging's at exit
    included), writes them first, so the lines keep their order. Without an event loop
    (a command, a thread of its own), a line is written at once."""

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        self._pending: list[str] = []

    def write_info(self, name: str, message: str, fields: dict[str, Any]) -> bool:
        """Writes what a record of `logger.info(message, extra={"fields": fields})` would
        give; False when this handler's formatter is not the service's."""
        formatter = self.formatter
        if not isinstance(formatter, (EscapingFormatter, JsonFormatter)):
            return False
        line = formatter.info_line(name, time.time(), message, fields)
        if not line:
            return False
        with self.lock:  # type: ignore[union-attr]
            pending = self._pending
            pending.append(line + self.terminator)
            if 1 < len(pending) < PENDING_LINES_MAX:
                return True  # a write is on its way
        try:
            if len(pending) == 1:
                asyncio.get_running_loop().call_later(LINES_HELD_SECONDS, self.flush)
                return True
        except RuntimeError:  # no event loop in this thread
            pass
        self.flush()
        return True

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            lines, self._pending = self._pending, []
            if lines:
                try:
                    self.stream.write("".join(lines))
                except Exception:
                    # As logging does for a line it could not write: said on stderr, not raised.
                    self.handleError(logging.makeLogRecord({"msg": lines[0].rstrip()}))
            super().flush()

    def emit(self, record: logging.LogRecord) -> None:
        self.flush()  # the lines before this record go before it
        super().emit(record)


class RequestLog:
    """One INFO line per call, as `logger.info(template, *args, extra={"fields": fields})`
    writes it, without logging's per-line machinery (a LogRecord, the logger's and handler's
    calls) when the service's handler alone would write it, as configure_logging sets it up.
    Anything else (a handler added, a filter, a level above INFO: a test's capture, another
    configuration) goes through `logging` as usual."""

    def __init__(self, name: str) -> None:
        self.logger = logging.getLogger(name)

    def info(self, template: str, args: tuple[Any, ...], fields: dict[str, Any]) -> None:
        handler = self._only_handler()
        if handler is None or not handler.write_info(self.logger.name, template % args, fields):
            self.logger.info(template, *args, extra={"fields": fields})

    def _only_handler(self) -> LineHandler | None:
        """The handler that alone writes this logger's INFO records, if it is a LineHandler."""
        logger = self.logger
        if logger.handlers or logger.filters or not logger.isEnabledFor(logging.INFO):
            return None  # isEnabledFor: the levels, logging.disable(), a disabled logger
        parent = logger.parent
        if parent is None or not logger.propagate or parent.propagate:
            return None
        handlers = parent.handlers
        if len(handlers) != 1:
            return None
        handler = handlers[0]
        if type(handler) is not LineHandler or handler.filters or handler.level > logging.INFO:
            return None
        return handler


def configure_logging(level: str, log_format: LogFormat = "text") -> None:
    handler = LineHandler(sys.stderr)
    formatter = JsonFormatter() if log_format == "json" else EscapingFormatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    # The service's own lines and uvicorn's (start-up, shutdown, errors) in one format.
    for name in ("todo_api", "uvicorn"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
    # Nothing written needs the caller's file and line, the thread or the process: leaving
    # them out makes each record, one per request, cheaper to build.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
