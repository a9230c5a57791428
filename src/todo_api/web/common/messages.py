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


# The globals whose calls with texts alone are made when a template is compiled: `_` (a
# message, its variables given as texts: `_("Added %(title)s", title="{title}")`, the
# placeholders static/*.js fill in) and `asset` (a static file's hashed name), the same for
# every page.
FIXED = ("_", "asset")


class FixedTexts(Extension):
    """Each `_("...")` whose variables, if any, are texts (`title="{title}"`), translated when
    the template is compiled (each language has its environment, whose `_` is
    template_gettext's), and each `asset("...")`: the text is then part of the compiled template
    (words as markup, what `_()` gives; a file's name escaped as any value is), with no call,
    lookup or escaping at each render, and an expression of such texts alone (a `data-` dict
    of them `|tojson`) is made once too, as Jinja folds constants. A page says some forty words
    and names ten files."""

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        tokens = list(stream)
        at = 0
        while at < len(tokens):
            call = _fixed_call(tokens, at)
            if call is None:
                yield tokens[at]
                at += 1
                continue
            end, text, variables = call
            yield from self._made(tokens[at].lineno, tokens[at].value, text, variables)
            at = end

    def _made(
        self, lineno: int, name: str, text: str, variables: dict[str, str]
    ) -> Iterator[Token]:
        made = cast(Callable[..., str], self.environment.globals[name])(text, **variables)
        yield Token(lineno, "string", str(made))
        if isinstance(made, Markup):
            yield Token(lineno, "pipe", "|")
            yield Token(lineno, "name", "safe")


def _fixed_call(tokens: list[Token], at: int) -> tuple[int, str, dict[str, str]] | None:
    """`f ( "..." )`, or `_ ( "..." , name = "..." , ... )`, at `at`: where it ends, its
    text and its variables; None for anything else."""
    kinds = [token.type for token in tokens[at : at + 3]]
    if kinds != ["name", "lparen", "string"] or tokens[at].value not in FIXED:
        return None
    variables: dict[str, str] = {}
    end = at + 3
    while [token.type for token in tokens[end : end + 4]] == ["comma", "name", "assign", "string"]:
        variables[tokens[end + 1].value] = tokens[end + 3].value
        end += 4
    if end >= len(tokens) or tokens[end].type != "rparen":
        return None
    if variables and tokens[at].value != "_":
        return None
    return end + 1, tokens[at + 2].value, variables
