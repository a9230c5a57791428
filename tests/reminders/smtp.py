"""A local SMTP server for tests (aiosmtpd, on 127.0.0.1 in a thread of its own): it records
every message it accepts, and refuses the first attempts at each message when told to."""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller

from tests.helpers_server import free_port


@dataclass
class Mailbox:
    port: int
    # Attempts refused (451) per Message-ID before one is accepted; or every one, while
    # `refusing`.
    refuse_first: int = 0
    refusing: bool = False
    # Called with each message the server takes, before it answers (a test may kill there).
    on_accept: Callable[[Message], None] | None = None
    accepted: list[Message] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def messages(self) -> list[Message]:
        with self.lock:
            return list(self.accepted)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content)
        message_id = str(message["Message-ID"])
        with self.lock:
            if self.refusing or self.refused.count(message_id) < self.refuse_first:
                self.refused.append(message_id)
                return "451 Try again later"
            self.accepted.append(message)
        if self.on_accept is not None:
            self.on_accept(message)
        return "250 OK"


@contextmanager
def mailbox(port: int | None = None, **options: Any) -> Iterator[Mailbox]:
    """A mailbox listening on `port` (default: a free one) until the block ends."""
    box = Mailbox(port=port or free_port(), **options)
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
