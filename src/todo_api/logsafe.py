"""Log lines that a client cannot forge: control characters are written as escapes.

A request path is percent-decoded before the application sees it, so `%0d%0a` in a URL is a
real CR LF by the time it is logged; written raw, it would start a log line of the client's
making. Text that is printable already (nearly everything) is returned as it is, at the cost
of one `str.isprintable()`.
"""

import logging


def loggable(text: str) -> str:
    """`text` with control and other non-printable characters escaped (`\\r`, `\\x1b`, ...)."""
    if text.isprintable():
        return text
    return repr(text)[1:-1]


class EscapingFormatter(logging.Formatter):
    """Escapes control characters in each message (a traceback after it stays as it is)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        message = record.message
        if message.isprintable():
            return super().formatMessage(record)
        record.message = loggable(message)
        try:
            return super().formatMessage(record)
        finally:
            record.message = message
