"""Markdown that people write (task descriptions, comments) as HTML that cannot run: raw HTML
is left as text, links go to http, https or mailto only, images are not shown (markdown-it-py
in its CommonMark mode, its HTML switched off). Mentions are typed and shown as `@Name`; the
comments API reads them as `@[Name](user id)` (`marked`)."""

import functools
import re
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from markupsafe import Markup

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

_SCHEMES = ("http://", "https://", "mailto:")
# A mention as the comments API writes it, `@[Name](user id)`: shown as `@Name`.
_MENTION = re.compile(r"@\[([^\]\n]{0,200})\]\([0-9A-Fa-f-]{32,36}\)")


@functools.cache
def _md() -> "MarkdownIt":
    """The renderer, made (with markdown-it) by the first description or comment shown."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False}).disable("image")
    md.validateLink = lambda url: url.strip().lower().startswith(_SCHEMES)  # type: ignore[method-assign]
    return md


def rendered(text: str | None) -> Markup:
    """`text` as safe HTML (its mentions as names)."""
    if not text:
        return Markup("")
    return Markup(_md().render(_MENTION.sub(r"@\1", text)))  # noqa: S704 - rendered with HTML off


def marked(text: str, people: Iterable[tuple[str, str]]) -> str:
    """`text` with each `@Name` of a person (name, id) written as the comments API reads a
    mention, `@[Name](id)`: the longest name first ("@Anna Weber" before "@Anna"); a name two
    people share, or one a mention cannot hold, is left as typed."""
    people = list(people)
    counts = Counter(name for name, _ in people)
    ids = {
        name: person_id
        for name, person_id in people
        if counts[name] == 1 and name and not set(name) & set("[]()\n")
    }
    if not ids:
        return text
    names = "|".join(re.escape(name) for name in sorted(ids, key=len, reverse=True))
    typed = re.compile(rf"(?<![\w@])@({names})(?![\w@])")
    return typed.sub(lambda found: f"@[{found[1]}]({ids[found[1]]})", text)
