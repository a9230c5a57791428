"""The web app's templates, one Jinja2 environment per language, made once: this module (and
Jinja2 with it) is loaded by the first page rendered (`Site.render`), not at start."""

import functools
from collections.abc import Callable, Iterator
from typing import Any, cast

from jinja2 import Environment, FileSystemLoader, TemplateNotFound, meta, nodes, select_autoescape
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from jinja2.visitor import NodeTransformer
from markupsafe import Markup

from todo_api.web.common.assets import TEMPLATES_DIR, assets
from todo_api.web.common.messages import template_gettext, translations
from todo_api.web.common.shown import card, lines


class Inlining(Environment):
    """Jinja's environment, each `{% include "name" %}` of a template compiled into the
    template that includes it, in a scope of its own: it renders what the include renders
    (the same context and local names, nothing it sets seen outside it) without looking the
    template up and copying the context at each render (a list page includes eight)."""

    def compile(
        self,
        source: str | nodes.Template,
        name: str | None = None,
        filename: str | None = None,
        raw: bool = False,
        defer_init: bool = False,
    ) -> Any:
        if isinstance(source, str):
            source = _Inlined(self, (name,)).visit(self.parse(source, name, filename))
        if raw:
            return super().compile(source, name, filename, True, defer_init)
        return super().compile(source, name, filename, False, defer_init)


class _Inlined(NodeTransformer):
    # What a template may hold to be inlined: no definitions that an include keeps to itself,
    # and none of the names an include does not pass on (`loop`: the including loop's).
    KEPT_APART = (nodes.Extends, nodes.Block, nodes.Macro, nodes.Import, nodes.FromImport)
    NOT_PASSED = frozenset(("loop", "self", "super", "caller", "varargs", "kwargs"))

    def __init__(self, env: Environment, chain: tuple[str | None, ...]) -> None:
        self.env, self.chain = env, chain

    def visit_Include(self, node: nodes.Include) -> nodes.Node:
        name = node.template.value if isinstance(node.template, nodes.Const) else None
        if not isinstance(name, str) or name in self.chain or node.ignore_missing:
            return node
        if not node.with_context or self.env.loader is None:
            return node
        try:
            source, filename, _uptodate = self.env.loader.get_source(self.env, name)
        except TemplateNotFound:
            return node  # said when (if ever) it is rendered, as before
        tree = _Inlined(self.env, (*self.chain, name)).visit(self.env.parse(source, name, filename))
        if any(True for _found in tree.find_all(self.KEPT_APART)) or (
            self.NOT_PASSED & meta.find_undeclared_variables(tree)
        ):
            return node
        scope = nodes.Scope(tree.body)
        return scope.set_lineno(node.lineno, override=True)  # errors name the include's line


@functools.cache
def templates(language: str) -> Environment:
    """The templates, speaking `language` (one environment per language, made once)."""
    env = Inlining(
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
