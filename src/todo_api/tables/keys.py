"""The keys stored beside text so that both databases compare it alike: computed in Python
when the text is written (the services) and for rows written before (the migrations).

- A list name's key, which uniqueness compares: NFKC, case-folded, default-ignorable
  characters removed (`Straße` = `STRASSE`, full-width `abc` = `abc`).
- A search key, which `q` compares: NFKD, marks and default-ignorable characters dropped,
  case-folded (`istanbul` finds `İstanbul`, `cafe` finds `Café`).
- A tag as stored and as a filter compares it: trimmed, case-folded, NFC.
"""

import hashlib
import re
import unicodedata
from collections.abc import Iterable

# Code point ranges, inclusive.
Ranges = tuple[tuple[int, int], ...]

# Default_Ignorable_Code_Point, from Unicode's DerivedCoreProperties.txt: zero-width and bidi
# controls, variation selectors, fillers; drawn as nothing.
DEFAULT_IGNORABLE: Ranges = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)


def _char(code: int) -> str:
    # Escapes both Python's re and ECMA-262 read; above U+FFFF the character itself (ECMA
    # has no \U escape, and reads a literal one as one character under the `u` flag).
    return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)


def char_class(ranges: Iterable[tuple[int, int]], *, negated: bool = False) -> str:
    """A regular-expression character class of `ranges`, for `re` and for OpenAPI alike."""
    body = "".join(_char(a) if a == b else f"{_char(a)}-{_char(b)}" for a, b in ranges)
    return f"[{'^' if negated else ''}{body}]"


_IGNORABLE = re.compile(char_class(DEFAULT_IGNORABLE))


def tag_form(text: str) -> str:
    """A tag as stored and as a filter compares it: trimmed, case-folded, NFC."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).strip().casefold())


# The longest key kept as it is (the column's length). NFKC can make a name of 100 characters
# 18 times longer (U+FDFA), more than a column or an index entry should hold: a longer key is
# kept as its digest, behind a control character that no name can hold, so it can equal no
# key kept as it is.
NAME_KEY_MAX_LENGTH = 400
_DIGEST_MARK = "\x1f"


def name_key(name: str) -> str:
    """What list-name uniqueness compares: NFKC, case-folded, default-ignorable characters
    removed (`Straße` = `STRASSE`, full-width `abc` = `abc`, `Work` = `Work` with a zero-width
    space inside); a key longer than NAME_KEY_MAX_LENGTH, as its SHA-256 digest."""
    folded = unicodedata.normalize("NFKC", _IGNORABLE.sub("", name)).casefold()
    key = _IGNORABLE.sub("", unicodedata.normalize("NFKC", folded))
    if len(key) <= NAME_KEY_MAX_LENGTH:
        return key
    return _DIGEST_MARK + hashlib.sha256(key.encode()).hexdigest()


def search_key(text: str) -> str:
    """What a search compares, the stored text's and the query's alike: NFKD, marks and
    default-ignorable characters dropped, case-folded (`istanbul` finds `İstanbul`, `cafe`
    finds `Café`). Folding can bring marks back (`İ` folds to `i` and a dot), hence twice."""
    if text.isascii():  # nothing to decompose, drop or fold but the case (most text)
        return text.lower()
    folded = _unmarked(unicodedata.normalize("NFKD", text)).casefold()
    return _IGNORABLE.sub("", _unmarked(unicodedata.normalize("NFKD", folded)))


def _unmarked(text: str) -> str:
    if text.isascii():  # no marks to drop (most titles): no look-up per character
        return text
    return "".join(ch for ch in text if not unicodedata.category(ch).startswith("M"))
