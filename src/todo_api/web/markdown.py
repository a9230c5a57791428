"""Markdown that people write (task descriptions, comments) as HTML that cannot run: raw HTML
is left as text, links go to http, https or mailto only, images are not shown (markdown-it-py
in its CommonMark mode, its HTML switched off)."""

import re

from markdown_it import MarkdownIt
from markupsafe import Markup

_SCHEMES = ("http://", "https://", "mailto:")
# A mention as the comments API writes it, `@[Name](user id)`: shown as `@Name`.
_MENTION = re.compile(r"@\[([^\]\n]{0,200})\]\([0-9A-Fa-f-]{32,36}\)")

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).disable("image")
_md.validateLink = lambda url: url.strip().lower().startswith(_SCHEMES)  # type: ignore[method-assign]


def rendered(text: str | None) -> Markup:
    """`text` as safe HTML (its mentions as names)."""
    if not text:
        return Markup("")
    return Markup(_md.render(_MENTION.sub(r"@\1", text)))  # noqa: S704 - rendered with HTML off
