"""Rules every stored string keeps, whichever domain it belongs to.

Text is stored in Unicode NFC (tags also case-folded), and a limit counts characters after
normalising, so nothing passes a limit and then overflows its column. What text is compared
by (list-name and search keys) is todo_api.tables.keys, which the migrations use too.

The character classes are written out rather than read from `unicodedata` at run time so that
the OpenAPI patterns can be the same classes the service checks with.
"""

import re
import unicodedata
from collections.abc import Callable
from typing import Any

from email_validator import EmailNotValidError, validate_email

from todo_api.tables.keys import DEFAULT_IGNORABLE, Ranges, char_class, tag_form

# C0, DEL and C1 (NEL among them), and the line and paragraph separators: each breaks a line
# somewhere (a mail header, a log line, a terminal), so none belongs in a title or a name.
CONTROLS: Ranges = ((0x00, 0x1F), (0x7F, 0x9F), (0x2028, 0x2029))
# A description keeps its line breaks (LF, CR) and tabs.
DESCRIPTION_CONTROLS: Ranges = (
    (0x00, 0x08),
    (0x0B, 0x0C),
    (0x0E, 0x1F),
    (0x7F, 0x9F),
    (0x2028, 0x2029),
)
# Everything that shows no mark of its own: the above, the other format characters (Cf), white
# space (Z*, and what str.isspace() calls space) and the Braille blank.
INVISIBLE: Ranges = (
    *CONTROLS,
    *DEFAULT_IGNORABLE,
    (0x0020, 0x0020),
    (0x00A0, 0x00A0),
    (0x0600, 0x0605),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x1680, 0x1680),
    (0x2000, 0x200A),
    (0x2028, 0x2029),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x2800, 0x2800),
    (0x3000, 0x3000),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
)


# What str.strip() trims.
WHITE_SPACE: Ranges = (
    (0x09, 0x0D),
    (0x1C, 0x20),
    (0x85, 0x85),
    (0xA0, 0xA0),
    (0x1680, 0x1680),
    (0x2000, 0x200A),
    (0x2028, 0x2029),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x3000, 0x3000),
)

_NOT_CONTROL = char_class(CONTROLS, negated=True)
_SPACE = char_class(WHITE_SPACE)
# For OpenAPI, the rules below as patterns: a title, name or tag, once trimmed, has no control
# character and at least one visible one; a description has no control character but tab, LF
# and CR.
LINE_PATTERN = (
    f"^{_SPACE}*{_NOT_CONTROL}*{char_class(INVISIBLE, negated=True)}{_NOT_CONTROL}*{_SPACE}*$"
)
DESCRIPTION_PATTERN = f"^{char_class(DESCRIPTION_CONTROLS, negated=True)}*$"


def _within_bmp(ranges: Ranges) -> Ranges:
    return tuple((a, min(b, 0xFFFF)) for a, b in ranges if a <= 0xFFFF)


# The line pattern for readers that compile it as ECMA-262 with or without the `u` flag (the
# MCP tool schemas; some AI apps compile without it, where a character above U+FFFF is two
# and a class naming one does not compile): the same classes within U+0000-U+FFFF, which both
# modes read alike. Above it every character passes the pattern; the service still checks.
PORTABLE_LINE_PATTERN = (
    f"^{_SPACE}*{_NOT_CONTROL}*{char_class(_within_bmp(INVISIBLE), negated=True)}"
    f"{_NOT_CONTROL}*{_SPACE}*$"
)
# Query parameters: no NUL (PostgreSQL refuses it in text).
NO_NUL_PATTERN = r"^[^\x00]*$"
# A person's name: one line (no control character at all, not even at its ends), not blank.
NAME_PATTERN = f"^{_NOT_CONTROL}*[^\\s{char_class(CONTROLS)[1:-1]}]{_NOT_CONTROL}*$"


def documented(pattern: str, max_length: int, min_length: int | None = None) -> dict[str, Any]:
    """The JSON Schema of a field checked by a rule below. The lengths are documented only:
    pydantic's own length constraints would count the text as sent, the rules count it as
    stored (normalised)."""
    lengths = {"minLength": min_length} if min_length is not None else {}
    return {**lengths, "maxLength": max_length, "pattern": pattern}


_CONTROL = re.compile(char_class(CONTROLS))
_DESCRIPTION_CONTROL = re.compile(char_class(DESCRIPTION_CONTROLS))
_VISIBLE = re.compile(char_class(INVISIBLE, negated=True))


def storable(text: str) -> str:
    """Refuse what a database cannot keep: PostgreSQL rejects NUL, and a lone surrogate cannot
    be encoded at all (both would otherwise surface as a 500)."""
    if "\x00" in text:
        raise ValueError("must not contain the NUL character")
    if not text.isascii() and any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise ValueError("must be valid Unicode text")
    return text


_UNCLEAN = re.compile(f"{char_class(CONTROLS)}|[\ud800-\udfff]")


def without_controls(text: str) -> str:
    """`text` with its control characters (as above) dropped."""
    return _CONTROL.sub("", text)


def is_clean_text(text: str) -> bool:
    """No control character (as above) and no lone surrogate (UTF-8 cannot encode one)."""
    return _UNCLEAN.search(text) is None


def canonical_email(text: str) -> str | None:
    """An email address as it is stored (trimmed, lower case, NFC), or None when the text is
    not one plain address: `email-validator`'s rules (no display name, comment, group, list or
    quoted part), and no RFC 2047 encoded-word, which mail software would decode into other
    addresses. Lower-casing can make it longer (`İ` becomes two characters): limits apply to
    the result."""
    email = unicodedata.normalize("NFC", text.strip().lower())
    if "=?" in email or not is_clean_text(email):
        return None
    try:
        # No DNS look-up (an address is taken as written); `.test` domains are fine.
        validate_email(email, check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        return None
    return email


def ascii_address(email: str) -> str | None:
    """The address as plain ASCII for a mail header and envelope (the domain in IDNA), or None
    when the part before the @ is not ASCII."""
    try:
        checked = validate_email(email, check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        return None
    return checked.ascii_email


def not_blank(value: str) -> str:
    """For text that is trimmed first: something must be left."""
    if not value:
        raise ValueError("must not be blank")
    return value


def _within(text: str, max_length: int) -> str:
    if len(text) > max_length:
        raise ValueError(f"must be at most {max_length} characters (once normalised)")
    return text


def one_line(text: str) -> str:
    """Refuse a control character anywhere, before any trimming (a name with CR or LF)."""
    if not (text.isascii() and text.isprintable()) and _CONTROL.search(text):
        raise ValueError("must be one line, without control characters")
    return text


def _line(text: str) -> str:
    if text.isascii() and text.isprintable():
        # No control character, nothing to normalise, every character but the space visible.
        text = text.strip()
        if not text:
            raise ValueError("must not be blank")
        return text
    text = storable(text).strip()
    if _CONTROL.search(text):
        raise ValueError("must not contain control characters")
    text = unicodedata.normalize("NFC", text)
    if not text:
        raise ValueError("must not be blank")
    if not _VISIBLE.search(text):
        raise ValueError("must contain a visible character")
    return text


def line(max_length: int) -> Callable[[str], str]:
    """A title or a name: trimmed, no control character left, NFC, something visible, and at
    most `max_length` characters as stored."""
    return lambda text: _within(_line(text), max_length)


def tag(max_length: int) -> Callable[[str], str]:
    """A tag: a line, case-folded before the limit is counted."""

    def check(text: str) -> str:
        text = _line(text)
        # An ASCII tag's form is its lower case (the same as case-folding it, quicker).
        return _within(text.lower() if text.isascii() else tag_form(text), max_length)

    return check


def paragraph(max_length: int) -> Callable[[str], str]:
    """A description: control characters refused but tab, LF and CR; NFC; the limit."""

    def check(text: str) -> str:
        if text.isascii() and text.isprintable():  # no control character, already NFC
            return _within(text, max_length)
        storable(text)
        if _DESCRIPTION_CONTROL.search(text):
            raise ValueError("must not contain control characters other than tab and line breaks")
        return _within(unicodedata.normalize("NFC", text), max_length)

    return check
