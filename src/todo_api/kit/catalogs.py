"""The service's message catalogs (gettext, Babel) in `todo_api/locale/` (a domain per kind of
text: `messages` the web app's, `emails` the emails'), read from their `.po` files and compiled
in memory the first time a language is asked for: the `.po` files are the only ones kept, so
there is no compiled file to commit or to build, and a catalog is what its source says.

Fuzzy entries (a translation not yet reviewed) are left out: their English source shows, and
the catalogs' test names them.

Which language a person gets is decided here too (`language_of`), for the pages and the emails."""

from functools import cache
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING

from todo_api.words import LANGUAGES

if TYPE_CHECKING:
    from babel.support import NullTranslations

LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"


@cache
def translations(domain: str, language: str) -> "NullTranslations":
    """`language`'s catalog of `domain` (`locale/<language>/LC_MESSAGES/<domain>.po`), else the
    source strings as they are."""
    # Babel's catalog reader, loaded by the first page or email (made once per language).
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import NullTranslations, Translations

    source = LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po"
    if not source.is_file():
        return NullTranslations()
    with source.open("rb") as po:
        catalog = read_po(po, locale=language, domain=domain)
    compiled = BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain)


def accepted_language(accept_language: str | None) -> str:
    """The first of our languages an `Accept-Language` header names (`de-CH;q=0.9` is German),
    else English."""
    for item in (accept_language or "").split(","):
        tag = item.split(";")[0].strip().lower()
        primary = tag.split("-")[0]
        if primary in LANGUAGES:
            return primary
    return "en"


def language_of(setting: str | None, accept_language: str | None) -> str:
    """The language to speak to a person: their `setting` if it is one of ours, else their
    browser's (`accepted_language`), else English. The web app's pages and the emails alike."""
    if setting in LANGUAGES:
        return setting
    return accepted_language(accept_language)
