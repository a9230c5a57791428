"""A local SMTP server for tests (aiosmtpd, on 127.0.0.1 in a thread of its own): it records
every message it accepts (as a mail client reads it) with its envelope's recipients, and
refuses the first attempts at each message when told to, for now (451) or for good (550)."""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
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
    # Refuse every message for good (550), counting the attempts in `refused`.
    rejecting: bool = False
    # Called with each message the server takes, before it answers (a test may kill there).
    on_accept: Callable[[Message], None] | None = None
    accepted: list[EmailMessage] = field(default_factory=list)
    # Each accepted message's envelope recipients (RCPT TO) and its bytes as they came.
    envelopes: list[list[str]] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return list(self.accepted)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        message_id = str(message["Message-ID"])
        with self.lock:
            if self.rejecting:
                self.refused.append(message_id)
                return "550 No such user here"
            if self.refusing or self.refused.count(message_id) < self.refuse_first:
                self.refused.append(message_id)
                return "451 Try again later"
            self.accepted.append(message)
            self.envelopes.append(list(envelope.rcpt_tos))
            self.raw.append(bytes(envelope.content))
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
