"""`todo-api inbound-smtp`: an SMTP server (aiosmtpd) that takes mail for the lists' addresses,
behind the operator's MX (or as it), on INBOUND_SMTP_PORT.

A recipient that is no list's address is refused at RCPT (550), so mail for anyone else is
never taken, and a message past INBOUND_MAX_MESSAGE_BYTES at DATA (552, announced by `SIZE`).
What is taken goes through `taking.take`, as the webhooks' messages do; a message that fails
there is answered 451, for the sending server to try again later."""

import asyncio
import logging
import signal

from aiosmtpd.smtp import SMTP, Envelope, Session

from todo_api.config import Settings
from todo_api.db import Database
from todo_api.files.storage import Files
from todo_api.inbound import mail, taking

log = logging.getLogger("todo_api")

# Recipients of one message: more is a sender spraying guesses.
MAX_RECIPIENTS = 20
# How long a connection may say nothing.
IDLE_SECONDS = 60


class Handler:
    def __init__(self, db: Database, files: Files, domain: str) -> None:
        self.db, self.files, self.domain = db, files, domain

    async def handle_RCPT(
        self,
        _server: SMTP,
        _session: Session,
        envelope: Envelope,
        address: str,
        _options: list[str],
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        if not await taking.known(self.db, address, self.domain):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        try:
            message = mail.from_bytes(raw, envelope.rcpt_tos)
        except Exception:  # sending it again would not help
            log.warning("inbound-smtp: a message that could not be read was refused")
            return "554 5.6.0 The message could not be read"
        try:
            await taking.take(self.db, self.files, self.domain, message)
        except Exception:
            log.exception("inbound-smtp: a message could not be taken")
            return "451 4.3.0 Try again later"
        return "250 OK"


async def serve(settings: Settings, host: str, port: int) -> None:
    """Listen until SIGTERM or SIGINT, then close."""
    assert settings.inbound_domain is not None
    db = Database(settings)
    files = Files(settings)
    handler = Handler(db, files, settings.inbound_domain)
    loop = asyncio.get_running_loop()

    def session() -> SMTP:
        return SMTP(
            handler,
            data_size_limit=settings.inbound_max_message_bytes,
            hostname=settings.inbound_domain,
            ident="todo-api",
            timeout=IDLE_SECONDS,
        )

    server = await loop.create_server(session, host=host, port=port)
    stop = asyncio.Event()
    for sign in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sign, stop.set)
    log.info(
        "inbound-smtp: listening on %s:%d for mail to @%s", host, port, settings.inbound_domain
    )
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()
        await files.close()
        await db.close()
    log.info("inbound-smtp: stopped")
