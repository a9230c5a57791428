"""The web app's words, through the `messages` catalogs (kit/catalogs.py, `todo_api/locale/`):
English source strings, extracted and merged into each language's `.po` by `make messages`.

The languages are those quick add reads; a page speaks the person's setting, else the first
of the browser's `Accept-Language` that is one of them, else English."""

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from todo_api.kit import catalogs

if TYPE_CHECKING:
    from babel.support import NullTranslations

DOMAIN = "messages"

Gettext = Callable[[str], str]


def translations(language: str = "en") -> "NullTranslations":
    """The catalog of `language`, else the English source strings as they are."""
    return catalogs.translations(DOMAIN, language)


# The language a page speaks: the person's setting, else their browser's, else English (the
# emails decide the same way).
language_of = catalogs.language_of


def template_gettext(language: str) -> Callable[..., Markup]:
    """The templates' `_()` in `language`, as Jinja's i18n extension makes it with
    `newstyle=True` and autoescaping (the translation is markup, its variables are escaped into
    it, and it is always a format string: `%%` is `%`), without going through the template's
    context on each call; and a message without variables is made once. A page says some
    forty of them."""
    gettext = translations(language).gettext

    @functools.cache
    def fixed(message: str) -> Markup:
        return Markup(gettext(message)) % {}  # noqa: S704 - the catalog's own text

    def say(message: str, **variables: Any) -> Markup:
        if not variables:
            return fixed(message)
        return Markup(gettext(message)) % variables  # noqa: S704 - variables escaped by %

    return say
