"""Sending one email (with `aiosmtplib`): what every email of the service has in common, the
reminders' and the accounts' alike.

An email has exactly one recipient and exactly the headers the service means (`From`, `To`,
`Subject`, `Date`, `Message-ID`, `Auto-Submitted: auto-generated`, and the MIME headers of one
`text/plain` part), whatever a title, a name or an address holds: `render` builds it and reads
it back, and refuses it (`Unsendable`) unless it is what was meant. `send` makes one attempt
within SMTP_TIMEOUT_SECONDS and says how it went; what to do about a failure (try again later,
give up) is the caller's. With SMTP_URL=console, `send` writes the email to the log instead,
decoded (headers and text, a line each), for trying the flows that send emails on a laptop.

Every email speaks its recipient's language (kit.catalogs.language_of): its words come from the
`emails` catalogs (`words`), names, titles and links go into them as placeholders.
"""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.message import EmailMessage
from email.mime.text import MIMEText
from email.parser import BytesHeaderParser, BytesParser
from email.policy import compat32, default
from email.utils import format_datetime, formataddr, parseaddr
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from todo_api.config import Settings
from todo_api.kit import catalogs
from todo_api.kit.text import ascii_address, canonical_email

if TYPE_CHECKING:
    import aiosmtplib

log = logging.getLogger("todo_api")


DOMAIN = "emails"


def words(language: str) -> Callable[[str], str]:
    """The `gettext` of the emails' catalog in `language` (the English source when none)."""
    return catalogs.translations(DOMAIN, language).gettext


class Unsendable(ValueError):
    """An email that is not sent as it stands (a recipient that is not one plain address, or
    headers other than those meant): it fails at once, and is never tried again."""


# Every header an email has, each exactly once: nothing a user wrote can add one.
# A job sending emails: its lease outlasts its turn, which outlasts each attempt's time limit
# (SMTP_TIMEOUT_SECONDS), so that a send is never cut short by its own turn's end.
TURN_MARGIN_SECONDS = 2
LEASE_MARGIN_SECONDS = 5

HEADERS = frozenset(
    {
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "auto-submitted",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    }
)


@dataclass(frozen=True, slots=True)
class Email:
    recipient: str
    subject: str
    body: str
    created_at: datetime
    # Unique per email, the same on every attempt (a copy sent again is recognisably the same):
    # `<local@host>` is made of it and PUBLIC_URL's host.
    local_id: str


def message_id(settings: Settings, local_id: str) -> str:
    host = urlsplit(settings.public_url).hostname if settings.public_url else None
    return f"<{local_id}@{host or 'todo-api.invalid'}>"


def render(settings: Settings, email: Email) -> tuple[str, str, bytes]:
    """The envelope's sender and one recipient, and the message as it goes on the wire.

    Built with the `compat32` policy and explicit `Header` objects rather than `EmailMessage`:
    the subject is always written as UTF-8 encoded-words of the text as stored, so a title that
    itself looks like an encoded-word (hiding CR LF) is shown as written and never decoded into
    header lines (CVE-2024-6923 and its kind, on any patch level of Python); the body is one
    base64 `text/plain` part. The result is then read back and refused unless it has exactly
    the headers meant, once each, and the subject as written."""
    recipient = canonical_email(email.recipient)
    if recipient is None:
        raise Unsendable("the recipient is not one plain email address")
    ascii_recipient = ascii_address(recipient)
    if ascii_recipient is None:
        raise Unsendable("the recipient's address needs SMTPUTF8, which is not sent")
    display, sender = parseaddr(settings.reminder_email_from)
    subject, body = branded(settings, email)
    message = MIMEText(body, "plain", "utf-8")
    # The sender is the product (APP_NAME) unless REMINDER_EMAIL_FROM gives a name of its own.
    message["From"] = settings.reminder_email_from if display else _named(settings, sender)
    message["To"] = ascii_recipient
    message["Subject"] = Header(subject, "utf-8")  # type: ignore[assignment]
    message["Date"] = format_datetime(email.created_at)
    message["Message-ID"] = message_id(settings, email.local_id)
    message["Auto-Submitted"] = "auto-generated"
    wire = message.as_bytes(policy=compat32.clone(linesep="\r\n"))
    _check(wire, subject, ascii_recipient)
    return sender, ascii_recipient, wire


def branded(settings: Settings, email: Email) -> tuple[str, str]:
    """The subject and body as sent: each says which product it comes from (APP_NAME), the
    subject after its own words, the body in a signature."""
    name = settings.app_name
    return f"{email.subject} · {name}", f"{email.body.rstrip()}\n\n-- \n{name}\n"


def _named(settings: Settings, address: str) -> str:
    return formataddr((settings.app_name, address), charset="utf-8")


def _check(wire: bytes, subject: str, recipient: str) -> None:
    head = wire.split(b"\r\n\r\n", 1)[0]
    if b"\r" in head.replace(b"\r\n", b"") or b"\n" in head.replace(b"\r\n", b""):
        raise Unsendable("a header holds a bare line break")
    names = [
        line.split(b":", 1)[0].decode("ascii", "replace").lower()
        for line in head.split(b"\r\n")
        if line[:1] not in (b" ", b"\t")
    ]
    if sorted(names) != sorted(HEADERS):
        raise Unsendable("the email's headers are not those meant")
    parsed = BytesHeaderParser(policy=default).parsebytes(wire)
    if str(parsed["Subject"]) != subject or str(parsed["To"]) != recipient:
        raise Unsendable("the email's subject or recipient does not read back as written")


async def send(settings: Settings, email: Email) -> tuple[str | None, bool]:
    """One attempt: the failure as a sentence (None when sent), and whether it is final (a
    permanent refusal, SMTP 5xx, or an email that cannot be sent as it stands). Never raises
    but cancellation."""
    import aiosmtplib  # loaded by the first email, not at start: many processes send none

    assert settings.smtp_url is not None
    url = urlsplit(settings.smtp_url.get_secret_value())
    implicit_tls = url.scheme == "smtps"
    try:
        sender, recipient, wire = render(settings, email)
        if settings.mails_to_log:
            _write_to_log(email.local_id, wire)
            return None, False
        async with asyncio.timeout(settings.smtp_timeout_seconds):
            await aiosmtplib.send(
                wire,
                sender=sender,
                recipients=[recipient],
                hostname=url.hostname,
                port=url.port or (465 if implicit_tls else 25),
                username=unquote(url.username) if url.username else None,
                password=unquote(url.password) if url.password else None,
                use_tls=implicit_tls,
                # smtp://: STARTTLS when the server offers it (None); smtps:// is TLS already.
                start_tls=False if implicit_tls else None,
                timeout=settings.smtp_timeout_seconds,
            )
    except Unsendable as exc:
        return f"not sent: {exc}", True
    except TimeoutError:
        return f"timed out after {settings.smtp_timeout_seconds:g} s", False
    except aiosmtplib.SMTPException as exc:
        return f"{type(exc).__name__}: {exc}", _permanent(exc)
    except OSError as exc:
        return f"could not connect: {exc.strerror or type(exc).__name__}", False
    except Exception as exc:  # whatever else: the caller may try again
        log.warning("email %s: %s", email.local_id, type(exc).__name__)
        return f"could not send: {type(exc).__name__}", False
    return None, False


def _write_to_log(local_id: str, wire: bytes) -> None:
    """The email as its reader sees it: headers decoded, the text part decoded from its base64,
    one log line each (the log escapes what a line may not hold)."""
    message = BytesParser(policy=default).parsebytes(wire)
    assert isinstance(message, EmailMessage)
    log.info("email %s (SMTP_URL=console: written here, not sent):", local_id)
    for name, value in message.items():
        if name.lower() not in ("mime-version", "content-type", "content-transfer-encoding"):
            log.info("email %s | %s: %s", local_id, name, value)
    for line in ["", *message.get_content().splitlines()]:
        log.info("email %s | %s", local_id, line)


def _permanent(exc: "aiosmtplib.SMTPException") -> bool:
    """Whether the server refused for good (a 5xx reply): trying again would not help."""
    import aiosmtplib

    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(500 <= r.code < 600 for r in exc.recipients)
    code = getattr(exc, "code", None)
    return isinstance(code, int) and 500 <= code < 600
