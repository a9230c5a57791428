"""What a file is called and what it is: its name made safe to keep and to send back, its type
taken from its bytes (puremagic: signatures of many hundreds of formats, pure Python), and how
it may be shown.

- The name: NFC; only its last path part (`../../etc/passwd` is `passwd`, `C:\\x\\y.txt` is
  `y.txt`); control, format and separator characters removed; at most 255 characters, the
  extension kept; `file` when nothing is left.
- The type: what the client declared, if the bytes agree. Bytes whose signature is known and
  differ from the declared type are kept as `application/octet-stream`; bytes with no signature
  keep a declared text type only when they read as UTF-8 text. A client that declared nothing
  (or `application/octet-stream`) gets the type the bytes show.
- Shown in the browser (`inline`) only for images a browser draws without running anything
  (not SVG), PDFs and plain text; everything else is a download (`attachment`)."""

import re
import unicodedata
from urllib.parse import quote

from todo_api.tables.attachments import ATTACHMENT_NAME_MAX_LENGTH

OCTET_STREAM = "application/octet-stream"
INLINE_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/avif",
        "image/bmp",
        "application/pdf",
        "text/plain",
    }
)
TEXT_TYPES = frozenset(
    {"application/json", "application/xml", "application/x-ndjson", "application/yaml"}
)
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
# The same kind by other names (what clients send, what the signatures say).
_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "application/x-pdf": "application/pdf",
    "application/x-zip-compressed": "application/zip",
    "text/xml": "application/xml",
}
_UNWANTED = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def clean_name(raw: str | None) -> str:
    """The name kept for a file (see above)."""
    text = unicodedata.normalize("NFC", raw or "")
    text = re.split(r"[/\\]", text)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch) not in _UNWANTED)
    text = text.strip().strip(".").strip()
    if len(text) > ATTACHMENT_NAME_MAX_LENGTH:
        stem, dot, extension = text.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            text = stem[: ATTACHMENT_NAME_MAX_LENGTH - len(extension) - 1] + "." + extension
        else:
            text = text[:ATTACHMENT_NAME_MAX_LENGTH]
    return text or "file"


def media_type(declared: str | None) -> str | None:
    """The declared type without its parameters, lower-cased, if it is one."""
    if not declared:
        return None
    base = declared.split(";", 1)[0].strip().lower()
    base = _ALIASES.get(base, base)
    return base if _MEDIA_TYPE.match(base) else None


def _sniffed(head: bytes) -> list[str]:
    import puremagic  # its signatures (1 MB) are loaded by the first upload, not at start

    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        return []
    found = []
    for match in matches:
        kind = media_type(match.mime_type)
        if kind and kind not in found:
            found.append(kind)
    return found


def _is_text(head: bytes, whole: bool) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode()
    except UnicodeDecodeError as exc:
        # A character cut at the end of the head is still text.
        return not whole and exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
    return True


def _texty(kind: str) -> bool:
    return kind.startswith("text/") or kind in TEXT_TYPES or kind.endswith(("+xml", "+json"))


def content_type(declared: str | None, head: bytes, size: int) -> str:
    """The type kept for a file whose first bytes are `head` (see above)."""
    kind = media_type(declared)
    sniffed = _sniffed(head)
    text = _is_text(head, whole=size <= len(head))
    if kind is None or kind == OCTET_STREAM:
        if sniffed:
            # A zip's signature is shared by every zip-based format: only a zip for certain.
            return "application/zip" if "application/zip" in sniffed else sniffed[0]
        return "text/plain" if text and size else OCTET_STREAM
    if sniffed:
        return kind if kind in sniffed else OCTET_STREAM
    return kind if _texty(kind) and text else OCTET_STREAM


def is_inline(kind: str) -> bool:
    return kind in INLINE_TYPES


def disposition(kind: str, name: str) -> str:
    """`Content-Disposition` for a file: inline when the browser may show it, else a download;
    the name in ASCII for old clients and in full (RFC 6266's `filename*`)."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in name)
    kind_word = "inline" if is_inline(kind) else "attachment"
    return f"{kind_word}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
