"""Logging: how lines are written (text for people, JSON for machines), and why a client
cannot forge them.

A request path is percent-decoded before the application sees it, so `%0d%0a` in a URL is a
real CR LF by the time it is logged; written raw, it would start a log line of the client's
making. Text lines escape control characters; JSON lines escape them by being JSON.
"""

import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any

import orjson

from todo_api.config import LogFormat


def loggable(text: str) -> str:
    """`text` with control and other non-printable characters escaped (`\\r`, `\\x1b`, ...)."""
    if text.isprintable():
        return text
    return repr(text)[1:-1]


class EscapingFormatter(logging.Formatter):
    """Escapes control characters in each message (a traceback after it stays as it is)."""

    # The text of the current second, made once for all the lines written within it.
    _second: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        if second != self._second[0]:
            text = time.strftime(self.default_time_format, self.converter(second))
            self._second = (second, text)
        text = self._second[1]
        return self.default_msec_format % (text, record.msecs) if self.default_msec_format else text

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
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = record.__dict__.get("fields")
        if fields:
            line.update(fields)
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def configure_logging(level: str, log_format: LogFormat = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if log_format == "json"
        else EscapingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
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
