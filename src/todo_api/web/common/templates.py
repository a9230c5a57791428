"""The web app's templates, one Jinja2 environment per language, made once: this module (and
Jinja2 with it) is loaded by the first page rendered (`Site.render`), not at start."""

import functools
from collections.abc import Callable, Iterator
from typing import cast

from jinja2 import Environment, FileSystemLoader, select_autoescape
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from markupsafe import Markup

from todo_api.web.common.assets import TEMPLATES_DIR, assets
from todo_api.web.common.messages import template_gettext, translations
from todo_api.web.common.shown import card, lines


@functools.cache
def templates(language: str) -> Environment:
    """The templates, speaking `language` (one environment per language, made once)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True),
        extensions=["jinja2.ext.i18n", FixedTexts],
        auto_reload=False,  # the templates are the package's: no stat per include
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.globals["_"] = template_gettext(language)  # the same words, at a fraction of the cost
    env.globals["asset"] = assets().url  # a static file's hashed name
    env.filters["lines"] = lines
    env.filters["card"] = card
    return env


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
