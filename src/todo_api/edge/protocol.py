"""uvicorn's httptools protocol, with bounds on what a client sends: the size of a request's
head, and the time its head and its body take.

httptools parses a request's line and headers whole, however large, before the application
sees any of it, and uvicorn gives a client unlimited time to send a request. Here:

- a request whose line and headers pass MAX_HEADER_BYTES is answered 431 and the connection
  closed, once that many bytes have arrived: the parser never sees the rest;
- a client gets `header_timeout` seconds, from its first byte (or from connecting), to finish
  sending the head; then the connection is closed (with a 408 if it had started);
- and `body_timeout` seconds from the end of the head to finish sending the body; then the
  connection is closed, with a 408 if the application has not answered yet (the application
  then reads a disconnect). A body the application left unread counts too: a client cannot
  keep a connection by trickling what nobody reads.

A request whose head (or body) arrives in the read that began it starts no timer (one per
connection covers it) and costs a few attribute checks. The head of a pipelined request that
starts inside the previous request's last read is counted from the next read on: the bound is
then 64 KiB plus that read.
Error answers have the contract's body.
"""

import asyncio
import json
import logging
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from todo_api.kit.errors import ErrorCode

log = logging.getLogger("todo_api")

MAX_HEADER_BYTES = 64 * 1024
DEFAULT_HEADER_TIMEOUT_SECONDS = 10.0
DEFAULT_BODY_TIMEOUT_SECONDS = 30.0
# How long a refused client may go on sending (dropped, unparsed) before the connection closes.
LINGER_SECONDS = 2.0


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        header_timeout: float = DEFAULT_HEADER_TIMEOUT_SECONDS,
        body_timeout: float = DEFAULT_BODY_TIMEOUT_SECONDS,
        max_header_bytes: int = MAX_HEADER_BYTES,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.max_header_bytes = max_header_bytes
        self._head_bytes = 0  # of the request being read, while its head is incomplete
        self._in_body = False  # from the end of a request's head to the end of the request
        self._in_head = False  # from a request's first byte to the end of its head
        self._heads_completed = 0
        # The head's deadline, the body's, or the linger's: at most one runs at a time.
        self._timer: asyncio.TimerHandle | None = None
        self._draining = False  # refused: what still arrives is dropped until the close

    # --- connection ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()  # a client that connects and says nothing is not kept either

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._draining:
            return
        if self._in_body:
            super().data_received(data)
        else:
            room = self.max_header_bytes - self._head_bytes
            if len(data) <= room:
                self._head_bytes += len(data)
                super().data_received(data)
            else:
                # Parse no more than the head may take; if it has not ended there, refuse it.
                heads_completed = self._heads_completed
                if room > 0:
                    super().data_received(data[:room])
                if self._heads_completed == heads_completed:
                    self._refuse_head(431, "The request's headers are larger than the limit")
                    return
                if not self.transport.is_closing():
                    self.data_received(data[room:])  # counted against the next request's head
                return
        if self._timer is None and not self._draining and not self.transport.is_closing():
            if self._in_body:
                self._timer = self.loop.call_later(self.body_timeout, self._body_timed_out)
            elif self._in_head:
                self._start_head_timer()

    # --- parser callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._in_head = True
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._in_body = True
        self._heads_completed += 1
        if self._timer is not None:
            self._stop_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_body = False
        self._head_bytes = 0
        if self._timer is not None:
            self._stop_timer()
        super().on_message_complete()

    # --- refusals -----------------------------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        """A request httptools cannot parse: the contract's body instead of uvicorn's text."""
        self._refuse_head(400, "The request could not be parsed")

    def _start_head_timer(self) -> None:
        self._timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _head_timed_out(self) -> None:
        self._timer = None
        if self.transport.is_closing() or self._in_body:
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # The previous request is still being answered: let it finish, then close.
            self.cycle.keep_alive = False
            return
        if self._in_head:
            self._refuse_head(408, "The request's headers took too long to arrive")
        else:
            self.transport.close()

    def _body_timed_out(self) -> None:
        self._timer = None
        cycle = self.cycle
        if self.transport.is_closing() or not self._in_body or cycle is None:
            return
        log.info("closed a connection: the request's body took too long to arrive")
        if not cycle.response_started:
            # The application is still waiting for the body, or has not asked yet: it reads
            # a disconnect from now on, and the client gets the answer.
            cycle.disconnected = True
            cycle.message_event.set()
            self._answer_and_close(408, "The request's body took too long to arrive")
        elif not cycle.response_complete:
            cycle.keep_alive = False  # answered; the connection ends with the answer
        else:
            self.transport.close()  # answered already: what still trickles in is unread

    def _refuse_head(self, status: int, message: str) -> None:
        if self._draining or self.transport.is_closing():
            return  # refused already
        self._stop_timer()
        self._in_head = False
        if self.cycle is not None and not self.cycle.response_complete:
            # A response to an earlier request is under way: no room for another one.
            self.transport.close()
            return
        log.info("refused a request with %d: %s", status, message)
        self._answer_and_close(status, message)

    def _answer_and_close(self, status: int, message: str) -> None:
        self.transport.write(_error_response(status, message, self.server_state))
        self._close_after_draining()

    def _close_after_draining(self) -> None:
        """End the connection after the answer without losing it.

        Closing a socket with unread data resets the connection, and the client may never
        read the answer. So: send the end of our side, then drop whatever the client still
        sends (unparsed) until it closes, for at most LINGER_SECONDS.
        """
        self._draining = True
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()
        self._timer = self.loop.call_later(LINGER_SECONDS, self.transport.close)


def _error_response(status: int, message: str, server_state: ServerState) -> bytes:
    code = ErrorCode.INVALID_REQUEST.value
    body = json.dumps({"error": message, "code": code, "details": None}).encode()
    head = [STATUS_LINE[status]]
    for name, value in server_state.default_headers:
        head += [name, b": ", value, b"\r\n"]
    head += [
        b"content-type: application/json\r\n",
        b"content-length: %d\r\n" % len(body),
        b"x-content-type-options: nosniff\r\n",
        b"connection: close\r\n",
        b"\r\n",
    ]
    return b"".join(head) + body
