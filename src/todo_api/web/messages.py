"""The web app's words, through the `messages` catalogs (kit/catalogs.py, `todo_api/locale/`):
English source strings, extracted and merged into each language's `.po` by `make messages`.

The languages are those quick add reads; a page speaks the person's setting, else the first
of the browser's `Accept-Language` that is one of them, else English."""

from collections.abc import Callable

from babel.support import NullTranslations

from todo_api.kit import catalogs
from todo_api.kit.words import LANGUAGES
from todo_api.tasks import quick

DOMAIN = "messages"

Gettext = Callable[[str], str]


def translations(language: str = "en") -> NullTranslations:
    """The catalog of `language`, else the English source strings as they are."""
    return catalogs.translations(DOMAIN, language)


def language_of(setting: str | None, accept_language: str | None) -> str:
    """The language a page speaks: `setting` if it is one of ours, else the browser's first
    that is (`de-CH;q=0.9` is German), else English."""
    if setting in LANGUAGES:
        return setting
    return quick.language(accept_language)
