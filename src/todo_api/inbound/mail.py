"""A message as the three ways in bring it (SMTP's bytes, Postmark's JSON, Mailgun's form),
read into one `Mail`: its recipients, sender, subject, `Message-ID`, body as text and files.

SMTP's bytes are parsed by Python's `email` package (`policy=default`); an HTML-only body is
made text by inscriptis, which parses it with lxml and fetches nothing (no image, no style
sheet, no entity)."""

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from typing import Any


@dataclass
class File:
    name: str
    content_type: str | None
    data: bytes


@dataclass
class Mail:
    recipients: list[str]
    sender: str  # the From header's address, lower case ("" when there is none)
    subject: str
    # What makes the message the same message again: its Message-ID, else its bytes' hash.
    identity: str
    text: str
    files: list[File] = field(default_factory=list)

    @property
    def identity_hash(self) -> str:
        return hashlib.sha256(self.identity.encode("utf-8", "surrogatepass")).hexdigest()


def _address(header: str | None) -> str:
    return parseaddr(header or "")[1].strip().lower()


def as_text(plain: str | None, html: str | None) -> str:
    """The body: the plain text, else the HTML's text."""
    if plain and plain.strip():
        return plain.strip()
    if html and html.strip():
        # Loaded by the first HTML-only mail, not at start: inscriptis brings lxml's HTML parser.
        from inscriptis import get_text

        return str(get_text(html)).strip()
    return ""


def from_bytes(raw: bytes, recipients: Iterable[str]) -> Mail:
    """A message as SMTP's DATA gave it, for the envelope's recipients."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    plain = _body(message, "plain")
    html = _body(message, "html") if not plain else None
    files = []
    for part in message.iter_attachments():
        assert isinstance(part, EmailMessage)
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            files.append(
                File(part.get_filename() or "attachment", part.get_content_type(), payload)
            )
    message_id = str(message.get("Message-ID") or "").strip()
    return Mail(
        recipients=list(recipients),
        sender=_address(str(message.get("From") or "")),
        subject=str(message.get("Subject") or ""),
        identity=message_id or "sha256:" + hashlib.sha256(raw).hexdigest(),
        text=as_text(plain, html),
        files=files,
    )


def _body(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    if part is None:
        return None
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset: its bytes as best we can
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def from_postmark(body: Mapping[str, Any]) -> Mail:
    """Postmark's inbound webhook JSON (`From`, `FromFull`, `ToFull`, `CcFull`, `BccFull`,
    `OriginalRecipient`, `Subject`, `MessageID`, `TextBody`, `HtmlBody`, `Headers`,
    `Attachments` with base64 `Content`)."""
    recipients = []
    for name in ("ToFull", "CcFull", "BccFull"):
        for person in body.get(name) or []:
            if isinstance(person, Mapping):
                recipients.append(_text(person.get("Email")))
    recipients.append(_text(body.get("OriginalRecipient")))
    sender = body.get("FromFull")
    address = _text(sender.get("Email")) if isinstance(sender, Mapping) else ""
    headers = {
        _text(h.get("Name")).lower(): _text(h.get("Value"))
        for h in body.get("Headers") or []
        if isinstance(h, Mapping)
    }
    # The sender's own Message-ID (Postmark's MessageID is Postmark's, new at each delivery).
    identity = headers.get("message-id") or "postmark:" + _text(body.get("MessageID"))
    files = []
    for item in body.get("Attachments") or []:
        if not isinstance(item, Mapping):
            continue
        try:
            data = base64.b64decode(_text(item.get("Content")), validate=True)
        except (binascii.Error, ValueError):
            continue
        kind = _text(item.get("ContentType")) or None
        files.append(File(_text(item.get("Name")) or "attachment", kind, data))
    return Mail(
        recipients=[r for r in recipients if r],
        sender=(address or _address(_text(body.get("From")))).lower(),
        subject=_text(body.get("Subject")),
        identity=identity,
        text=as_text(_text(body.get("TextBody")), _text(body.get("HtmlBody"))),
        files=files,
    )


def from_mailgun(form: Mapping[str, str], files: list[File]) -> Mail:
    """Mailgun's parsed inbound post (`recipient`, `from`, `subject`, `body-plain`,
    `body-html`, `Message-Id`, `message-headers`, and `attachment-N` files)."""
    identity = form.get("Message-Id") or ""
    if not identity:
        try:
            pairs = json.loads(form.get("message-headers") or "[]")
        except ValueError:
            pairs = []
        identity = next(
            (
                str(p[1])
                for p in pairs
                if isinstance(p, list) and len(p) == 2 and str(p[0]).lower() == "message-id"
            ),
            "",
        )
    recipients = [a for _, a in getaddresses([form.get("recipient") or ""]) if a]
    return Mail(
        recipients=recipients,
        sender=_address(form.get("from") or form.get("sender")),
        subject=form.get("subject") or "",
        identity=identity or "mailgun:" + (form.get("token") or ""),
        text=as_text(form.get("body-plain"), form.get("body-html")),
        files=files,
    )
