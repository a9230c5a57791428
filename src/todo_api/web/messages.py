"""The web app's words, through gettext catalogs (Babel) from web/locale: English source
strings, translated per language by `make web-messages` (extract, update, compile)."""

from pathlib import Path

from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"


def translations(language: str = "en") -> NullTranslations:
    """The catalog of `language`, else the English source strings as they are."""
    return Translations.load(LOCALE_DIR, [language], DOMAIN)
