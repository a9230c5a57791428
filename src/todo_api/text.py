"""Rules every stored string keeps, whichever domain it belongs to."""


def storable(text: str) -> str:
    """Refuse what a database cannot keep: PostgreSQL rejects NUL, and a lone surrogate cannot
    be encoded at all (both would otherwise surface as a 500)."""
    if "\x00" in text:
        raise ValueError("must not contain the NUL character")
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise ValueError("must be valid Unicode text")
    return text
