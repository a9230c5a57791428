"""The settings of what a request, a connection or a live stream may take: a body's bytes, the
time to send a request or read an answer, streams per person and their keep-alives, and the
time a stopping server gives. A group of its own, which `todo_api.config.Settings` inherits."""

from pydantic import Field
from pydantic_settings import BaseSettings


class LimitSettings(BaseSettings):
    # A request body over this many bytes is refused with 413 before the rest is read.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    # ... except on POST /api/import, whose body is a file exported from another app.
    import_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    # A client gets this long to send a request's line and headers, from its first byte (or
    # from connecting); then the connection is closed.
    request_header_timeout_seconds: float = Field(default=10, gt=0, le=300)
    # ... and this long, from the end of the headers, to send the body; then the connection
    # is closed (with a 408 if the request has not been answered).
    request_body_timeout_seconds: float = Field(default=30, gt=0, le=3600)
    # An answer the client does not read for this long (the socket's buffers stay full) drops
    # the connection.
    response_send_timeout_seconds: float = Field(default=30, gt=0, le=3600)
    # Live updates (GET /api/events): open streams per user in each process (the next one is
    # 429), and the seconds between two `: keep-alive` comments on an idle stream.
    event_streams_per_user: int = Field(default=10, ge=1, le=1000)
    event_keepalive_seconds: float = Field(default=15, gt=0, le=300)
    # On SIGTERM, /ready answers 503 at once; the server goes on accepting requests for
    # SHUTDOWN_DELAY_SECONDS (time for a load balancer to notice), then stops accepting and
    # gives the requests under way up to SHUTDOWN_GRACE_SECONDS to finish.
    shutdown_delay_seconds: float = Field(default=0, ge=0, le=300)
    shutdown_grace_seconds: int = Field(default=30, ge=0, le=3600)
