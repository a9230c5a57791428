"""The web app's words, through the `messages` catalogs (kit/catalogs.py, `todo_api/locale/`):
English source strings, extracted and merged into each language's `.po` by `make messages`.

The languages are those quick add reads; a page speaks the person's setting, else the first
of the browser's `Accept-Language` that is one of them, else English."""

from collections.abc import Callable

from babel.support import NullTranslations

from todo_api.kit import catalogs

DOMAIN = "messages"

Gettext = Callable[[str], str]


def translations(language: str = "en") -> NullTranslations:
    """The catalog of `language`, else the English source strings as they are."""
    return catalogs.translations(DOMAIN, language)


# The language a page speaks: the person's setting, else their browser's, else English (the
# emails decide the same way).
language_of = catalogs.language_of
