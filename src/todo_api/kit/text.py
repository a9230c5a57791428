"""Rules every stored string keeps, whichever domain it belongs to."""

# The same rules for OpenAPI: no NUL anywhere; and, for text that is trimmed and may not be
# blank, a character other than white space.
NO_NUL_PATTERN = r"^[^\x00]*$"
TEXT_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"


def storable(text: str) -> str:
    """Refuse what a database cannot keep: PostgreSQL rejects NUL, and a lone surrogate cannot
    be encoded at all (both would otherwise surface as a 500)."""
    if "\x00" in text:
        raise ValueError("must not contain the NUL character")
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise ValueError("must be valid Unicode text")
    return text


def not_blank(value: str) -> str:
    """For text that is trimmed first: something must be left."""
    if not value:
        raise ValueError("must not be blank")
    return value
