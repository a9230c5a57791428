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

Reading follows the answers. uvicorn queues pipelined requests without limit (one read can
hold thousands), and resumes reading whenever a request asks for its body. Here a read is
parsed PARSE_SLICE_BYTES at a time; once a request waits behind an earlier one's answer, or
the answers wait for the client to read them (the transport's write buffer is full), the rest
is held back unparsed and the socket is not read until the queue drains. An answer that
cannot be written for `send_timeout` seconds (the client reads nothing) drops the connection.
"""

import asyncio
import json
import logging
from typing import Any

from uvicorn._types import ASGI3Application
from uvicorn.config import Config
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)
from uvicorn.server import ServerState

from todo_api.kit.errors import ErrorCode

log = logging.getLogger("todo_api")

MAX_HEADER_BYTES = 64 * 1024
DEFAULT_HEADER_TIMEOUT_SECONDS = 10.0
DEFAULT_BODY_TIMEOUT_SECONDS = 30.0
DEFAULT_SEND_TIMEOUT_SECONDS = 30.0
# At most this many bytes of requests are parsed while an earlier request is answered: what
# waits in the queue per connection stays a few hundred tiny requests at worst.
PARSE_SLICE_BYTES = 4096
# How long a refused client may go on sending (dropped, unparsed) before the connection closes.
LINGER_SECONDS = 2.0


class HoldingFlowControl(FlowControl):
    """uvicorn's flow control, except that reading stays paused while the protocol holds
    back data it has read but not parsed (uvicorn resumes reading when a request reads its
    body, or when an answer completes)."""

    holding = False

    def resume_reading(self) -> None:
        if not self.holding:
            super().resume_reading()


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
        send_timeout: float = DEFAULT_SEND_TIMEOUT_SECONDS,
        max_header_bytes: int = MAX_HEADER_BYTES,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.send_timeout = send_timeout
        self.max_header_bytes = max_header_bytes
        self._head_bytes = 0  # of the request being read, while its head is incomplete
        self._in_body = False  # from the end of a request's head to the end of the request
        self._in_head = False  # from a request's first byte to the end of its head
        self._heads_completed = 0
        # The head's deadline, the body's, or the linger's: at most one runs at a time.
        self._timer: asyncio.TimerHandle | None = None
        self._draining = False  # refused: what still arrives is dropped until the close
        self._held = b""  # read, not parsed yet: the requests before it are still answered
        self._send_timer: asyncio.TimerHandle | None = None  # while writing is paused
        self._answering: RequestResponseCycle | None = None  # the request being answered

    # --- connection ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.flow = self._flow = HoldingFlowControl(transport)
        self._start_head_timer()  # a client that connects and says nothing is not kept either

    def connection_lost(self, exc: Exception | None) -> None:
        # uvicorn tells the newest request (`self.cycle`) of the loss; with requests queued
        # behind it, the one being answered is another.
        self._abandon_answer()
        self._stop_timer()
        self._stop_send_timer()
        self._held = b""
        self.pipeline.clear()  # requests never started: nothing to answer them to
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._draining:
            return
        if self._held:
            self._held += data  # read before the pause took effect: after what is held
            return
        self._parse(data)

    # --- reading follows the answers ----------------------------------------------------

    def _parse(self, data: bytes) -> None:
        """Feeds `data` to the parser a slice at a time while the pipeline is free."""
        for start in range(0, len(data), PARSE_SLICE_BYTES):
            if self._must_wait():
                self._hold(data[start:])
                return
            self._feed(data[start : start + PARSE_SLICE_BYTES])
            if self._draining or self.transport.is_closing():
                return

    def _must_wait(self) -> bool:
        """A request waits for an earlier one's answer, or answers wait for the client."""
        return bool(self.pipeline) or self.flow.write_paused

    def _hold(self, data: bytes) -> None:
        self._held = data
        self.flow.pause_reading()
        self._flow.holding = True
        self._stop_timer()  # the client has sent its bytes: the wait is the server's

    def _release_soon(self) -> None:
        if self._held and not self._must_wait():
            self.loop.call_soon(self._release)

    def _release(self) -> None:
        if not self._held or self._must_wait() or self.transport.is_closing():
            return
        data, self._held = self._held, b""
        self._flow.holding = False
        self._parse(data)
        if not self._held:
            self.flow.resume_reading()

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        self._answering = cycle
        super()._start_asgi_task(cycle, app)

    def _abandon_answer(self) -> None:
        """The answer under way goes nowhere: its application reads a disconnect, and what
        it sends is dropped."""
        cycle = self._answering
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True
            cycle.message_event.set()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._release_soon()

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._send_timer is None:
            self._send_timer = self.loop.call_later(self.send_timeout, self._send_timed_out)

    def resume_writing(self) -> None:
        if self.transport.is_closing():
            # The connection is going (reset, or dropped): the transport resumes writing
            # before it reports the loss, and the answer it wakes must not write to a closed
            # socket (an error logged with a traceback).
            self._abandon_answer()
        super().resume_writing()
        self._stop_send_timer()
        self._release_soon()

    def _stop_send_timer(self) -> None:
        if self._send_timer is not None:
            self._send_timer.cancel()
            self._send_timer = None

    def _send_timed_out(self) -> None:
        self._send_timer = None
        if self.flow.write_paused:
            log.info(
                "dropped a connection: its answer could not be sent for %gs",
                self.send_timeout,
            )
            self.transport.abort()  # close() would wait for the unsendable answer

    def _feed(self, data: bytes) -> None:
        """Parses `data`, with the bounds on the head's size and the head's and body's time."""
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
                    self._feed(data[room:])  # counted against the next request's head
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
        before = self.cycle
        super().on_headers_complete()
        if self.cycle is not before and self.cycle is not None:  # the request's answer
            # The cycle needs write, close and is_closing of it; the rest passes through.
            self.cycle.transport = HeadWithBody(self.transport, self.loop)  # type: ignore[assignment]

    def on_message_complete(self) -> None:
        self._in_body = False
        self._head_bytes = 0
        if self._timer is not None:
            self._stop_timer()
        super().on_message_complete()

    # --- refusals -----------------------------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        """A request httptools cannot parse: the contract's body instead of uvicorn's text."""
        cycle = self.cycle
        if self._in_body and cycle is not None and not cycle.response_started:
            # Refused after its head (an unknown Transfer-Encoding, a malformed chunk): the
            # application, started on the head, reads a disconnect and its answer goes nowhere.
            cycle.disconnected = True
            cycle.message_event.set()
        self._refuse_head(400, "The request could not be parsed")

    def _unsupported_upgrade_warning(self) -> None:
        """An Upgrade (WebSocket, h2c) this service does not speak: the request is answered
        as plain HTTP, and the connection ends with that answer (the parser reads nothing
        after an upgrade request)."""
        if self.cycle is not None:
            self.cycle.keep_alive = False

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
        answering = self._answering
        if answering is not None and not (answering.response_complete or answering.disconnected):
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


class HeadWithBody:
    """The transport as one answer writes to it: the first write (the head: status line and
    headers) is held until the next one (the body) and sent with it, so that an answer whose
    body follows at once (every answer but a stream's) costs one send, not two. Held no
    longer than the loop's turn: a stream's head goes out on its own before its first event.
    What else an answer asks of its transport is the connection's own."""

    __slots__ = ("_held", "_loop", "_transport", "_writes")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held = b""
        self._writes = 0

    def write(self, data: bytes) -> None:
        self._writes += 1
        if self._writes == 1:
            self._held = data
            self._loop.call_soon(self._send_held)
        elif self._held:
            held, self._held = self._held, b""
            self._transport.writelines((held, data))
        else:
            self._transport.write(data)

    def _send_held(self) -> None:
        if self._held:
            data, self._held = self._held, b""
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self._send_held()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


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
