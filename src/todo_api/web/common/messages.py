"""The web app's words, through the `messages` catalogs (kit/catalogs.py, `todo_api/locale/`):
English source strings, extracted and merged into each language's `.po` by `make messages`.

The languages are those quick add reads; a page speaks the person's setting, else the first
of the browser's `Accept-Language` that is one of them, else English."""

import functools
from collections.abc import Callable, Iterator
from typing import Any, cast

from babel.support import NullTranslations
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from markupsafe import Markup

from todo_api.kit import catalogs

DOMAIN = "messages"

Gettext = Callable[[str], str]


def translations(language: str = "en") -> NullTranslations:
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


# `f ( "..." )`: a call with one text, as the lexer gives it.
_CALL = ("name", "lparen", "string", "rparen")
# The globals whose calls with one text are made when a template is compiled: `_` (a message
# without variables) and `asset` (a static file's hashed name), the same for every page.
FIXED = ("_", "asset")


class FixedTexts(Extension):
    """Each `_("...")` without variables, translated when the template is compiled (each
    language has its environment, whose `_` is template_gettext's), and each `asset("...")`:
    the text is then part of the compiled template (words as markup, what `_()` gives; a file's
    name escaped as any value is), with no call, lookup or escaping at each render. A page says
    some forty words and names ten files."""

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        held: list[Token] = []
        for token in stream:
            held.append(token)
            at = len(held) - 1
            if token.type != _CALL[at] or (at == 0 and token.value not in FIXED):
                yield from held[:-1]
                held = [token] if token.type == "name" and token.value in FIXED else []
                if not held:
                    yield token
            elif at == len(_CALL) - 1:
                yield from self._made(held[0].lineno, held[0].value, held[2].value)
                held = []
        yield from held

    def _made(self, lineno: int, name: str, text: str) -> Iterator[Token]:
        made = cast(Callable[[str], str], self.environment.globals[name])(text)
        yield Token(lineno, "string", str(made))
        if isinstance(made, Markup):
            yield Token(lineno, "pipe", "|")
            yield Token(lineno, "name", "safe")
