"""Todoist's filter language, read into a tree of conditions (`GET /api/tasks?filter=`).

    query     := group ("," group)*
    group     := or
    or        := and ("|" and)*
    and       := not ("&" not)*
    not       := "!" not | "(" or ")" | condition
    condition := today | tomorrow | overdue | no date | no due date | recurring
               | next 7 days | due before: DATE | due after: DATE | p1 | p2 | p3 | p4
               | #NAME | ##NAME | /NAME | @NAME | no labels | assigned to: me|others|EMAIL
               | created by: me|EMAIL | shared | subtask | search: TEXT

Words ignore case and the spaces between them, and are read in every language of
`words.LANGUAGES` (`heute | überfällig`, `fällig vor: 1. Dez`, `zugewiesen an: mich`: the
words of `lexicon.FILTER_WORDS`), so a query needs no language to be read, nor the person's
profile before it. A DATE is read as quick add reads one (todo_api.words.read_date, in the
language of the words before it and in English, on the caller's clock when the query runs). A
NAME, TEXT, EMAIL or DATE runs to the next `&`, `|`, `,` or `)` (trimmed), or is written in
double quotes (`#"Work, home"`), where `\"` and `\\` stand for themselves.

Written by hand, as a recursive descent of a few dozen lines: the grammar is small, its
arguments are free text that runs to an operator (a lexer generator wants tokens), and an
error names the position and what was expected there, which is where the descent is.

A tree is made of frozen tuples, so that a query's statement is built once per tree and
cached (`skeleton` leaves the values out: one statement for `#Work` and `#Home`).
"""

import re
from dataclasses import dataclass, field
from typing import Literal, Union, cast

from todo_api import words
from todo_api.kit.ids import utcnow
from todo_api.words.lexicon import FILTER_WORDS

MAX_LENGTH = 1000
# How deep `!` and parentheses may nest (the reader, and what reads its tree, recurse).
MAX_DEPTH = 50

# Conditions that take no value.
Plain = Literal[
    "today",
    "tomorrow",
    "overdue",
    "no_date",
    "recurring",
    "next_7_days",
    "no_labels",
    "shared",
    "subtask",
    "assigned_to_me",
    "assigned_to_others",
    "created_by_me",
]
# Conditions with a value: a date, a priority (1..4), a name, an email or a text.
Valued = Literal[
    "due_before", "due_after", "priority", "list", "list_deep", "tag", "assigned_to", "created_by",
    "search", "section",
]  # fmt: skip


@dataclass(frozen=True)
class Condition:
    kind: Plain | Valued
    value: int | str | None = None  # a date as written: it is read on the day the query runs
    # The language a date is read in (with English): that of the words before it.
    lang: str = field(default="en", compare=False)


@dataclass(frozen=True)
class Not:
    operand: "Node"


@dataclass(frozen=True)
class And:
    operands: tuple["Node", ...]


@dataclass(frozen=True)
class Or:
    operands: tuple["Node", ...]


Node = Union[Condition, Not, And, Or]  # noqa: UP007 (a forward-referenced union)


@dataclass(frozen=True)
class Group:
    text: str  # the group as written, trimmed
    node: Node


class FilterError(ValueError):
    """A query that cannot be read: where (0-based) and what was expected there."""

    def __init__(self, position: int, expected: str) -> None:
        super().__init__(f"at position {position}: expected {expected}")
        self.position = position
        self.expected = expected


_PLAIN_KINDS: tuple[Plain, ...] = (
    "today", "tomorrow", "overdue", "no_date", "recurring", "next_7_days", "no_labels", "shared",
    "subtask",
)  # fmt: skip
_ARGUMENTED_KINDS = ("due_before", "due_after", "assigned_to", "created_by", "search")
# A word ends where a letter or digit does not follow.
_WORD_END = r"(?![\w])"


def _said(phrase: str) -> str:
    """A phrase as the languages of a filter key it: lower case, one space between words."""
    return " ".join(phrase.casefold().replace("\u2019", "'").split())


def _compiled() -> tuple[dict[str, re.Pattern[str]], dict[str, list[str]]]:
    """Each kind's phrases in every language as one pattern (longest first, any spaces
    between the words, a straight or curly apostrophe; those with a value end with `:`),
    and the languages each phrase is in."""
    languages: dict[str, list[str]] = {}
    for lang, kinds in FILTER_WORDS.items():
        for spelled in kinds.values():
            for phrase in spelled.split("|"):
                languages.setdefault(_said(phrase), []).append(lang)
    patterns = {}
    for kind in (*_PLAIN_KINDS, *_ARGUMENTED_KINDS, "me", "others"):
        said = {_said(p) for kinds in FILTER_WORDS.values() for p in kinds[kind].split("|")}
        alternatives = "|".join(
            r"\s+".join(map(re.escape, p.split())) for p in sorted(said, key=len, reverse=True)
        ).replace("'", "['\u2019]")
        end = r"\s*:" if kind in _ARGUMENTED_KINDS else _WORD_END
        patterns[kind] = re.compile(f"(?:{alternatives}){end}", re.IGNORECASE)
    return patterns, languages


_PATTERNS, _LANGUAGES_OF = _compiled()
_ENDS_ARGUMENT = "&|,)"
CONDITIONS = (
    "a condition (today, tomorrow, overdue, no date, recurring, next 7 days, due before:, "
    "due after:, p1-p4, #list, ##list, /section, @tag, no labels, assigned to:, created by:, "
    "shared, subtask, search:), ! or ("
)


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0
        self.depth = 0  # the `!` and `(` around the reader

    def space(self) -> None:
        while self.at < len(self.text) and self.text[self.at].isspace():
            self.at += 1

    def peek(self) -> str:
        self.space()
        return self.text[self.at] if self.at < len(self.text) else ""

    def take(self, char: str) -> bool:
        if self.peek() == char:
            self.at += 1
            return True
        return False

    def match(self, pattern: str) -> bool:
        """Whether `pattern` comes next (taken), ending a word where it ends with one."""
        self.space()
        ending = "" if pattern.endswith(":") else _WORD_END
        found = re.compile(pattern + ending, re.IGNORECASE).match(self.text, self.at)
        if found is None:
            return False
        self.at = found.end()
        return True

    def words(self, kind: str) -> list[str] | None:
        """Whether a phrase of `kind` (in any language) comes next (taken): its languages."""
        self.space()
        found = _PATTERNS[kind].match(self.text, self.at)
        if found is None:
            return None
        self.at = found.end()
        return _LANGUAGES_OF[_said(found.group().rstrip(":"))]

    def groups(self) -> list[Group]:
        found = []
        while True:
            self.space()
            start = self.at
            node = self.either()
            found.append(Group(self.text[start : self.at].strip(), node))
            if self.take(","):
                continue
            if self.peek():
                raise FilterError(self.at, "&, |, , or the end of the query")
            return found

    def either(self) -> Node:
        operands = [self.both()]
        while self.take("|"):
            operands.append(self.both())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def both(self) -> Node:
        operands = [self.negated()]
        while self.take("&"):
            operands.append(self.negated())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def negated(self) -> Node:
        if self.peek() in ("!", "("):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise FilterError(self.at, f"at most {MAX_DEPTH} levels of ! and ( inside another")
        if self.take("!"):
            node: Node = Not(self.negated())
        elif self.take("("):
            node = self.either()
            if not self.take(")"):
                raise FilterError(self.at, "&, | or )")
        else:
            return self.condition()
        self.depth -= 1
        return node

    def condition(self) -> Node:
        self.space()
        start = self.at
        for kind in _PLAIN_KINDS:
            if self.words(kind):
                return Condition(kind)
        if self.match(r"p([1-4])"):
            return Condition("priority", int(self.text[self.at - 1]))
        if self.take("#"):
            deep = self.text.startswith("#", self.at)
            self.at += deep
            return Condition("list_deep" if deep else "list", self.argument("a list's name"))
        if self.take("/"):
            return Condition("section", self.argument("a section's name"))
        if self.take("@"):
            return Condition("tag", self.argument("a tag"))
        for name in _ARGUMENTED_KINDS:
            if (languages := self.words(name)) is not None:
                return self.argumented(name, languages)
        raise FilterError(start, CONDITIONS)

    def argumented(self, kind: str, languages: list[str]) -> Condition:
        self.space()
        start = self.at
        if kind in ("due_before", "due_after"):
            # Kept as written: what it names depends on the day it is read (`today`).
            written = self.argument("a date")
            for lang in languages:
                if words.read_date(written, utcnow(), "UTC", lang) is not None:
                    return Condition(cast(Valued, kind), written, lang)
            raise FilterError(
                start, "a date from 1900 to 2100 (2026-12-24, today, next monday, jan 4, ...)"
            )
        if kind == "search":
            return Condition("search", self.argument("a text to search for"))
        expected = "me, others or an email" if kind == "assigned_to" else "me or an email"
        who = self.argument(expected)
        if _PATTERNS["me"].fullmatch(who):
            return Condition(cast(Plain, f"{kind}_me"))
        if kind == "assigned_to" and _PATTERNS["others"].fullmatch(who):
            return Condition("assigned_to_others")
        if "@" not in who:
            raise FilterError(start, expected)
        return Condition(kind, who.casefold())  # type: ignore[arg-type]

    def argument(self, expected: str) -> str:
        """A value: in double quotes, or up to the next operator (trimmed)."""
        self.space()
        start = self.at
        if self.text.startswith('"', self.at):
            value = []
            self.at += 1
            while self.at < len(self.text) and self.text[self.at] != '"':
                if self.text[self.at] == "\\" and self.at + 1 < len(self.text):
                    self.at += 1
                value.append(self.text[self.at])
                self.at += 1
            if self.at >= len(self.text):
                raise FilterError(self.at, 'a closing "')
            self.at += 1
            text = "".join(value)
        else:
            while self.at < len(self.text) and self.text[self.at] not in _ENDS_ARGUMENT:
                self.at += 1
            text = self.text[start : self.at].strip()
        if not text:
            raise FilterError(start, expected)
        return text


def parse(text: str) -> list[Group]:
    """The query's groups (one without a `,`). Raises FilterError."""
    if len(text) > MAX_LENGTH:
        raise FilterError(MAX_LENGTH, f"at most {MAX_LENGTH} characters")
    return _Reader(text).groups()


def skeleton(node: Node) -> Node:
    """The tree without its values (what the statement is built from; the values are bound)."""
    if isinstance(node, Condition):
        return Condition(node.kind)
    if isinstance(node, Not):
        return Not(skeleton(node.operand))
    return type(node)(tuple(skeleton(operand) for operand in node.operands))


def values(node: Node) -> list[int | str | None]:
    """The conditions' values in the order `skeleton`'s conditions come (depth first)."""
    if isinstance(node, Condition):
        return [node.value]
    if isinstance(node, Not):
        return values(node.operand)
    return [value for operand in node.operands for value in values(operand)]


def searches(node: Node) -> bool:
    """Whether the query searches text (`search:`)."""
    if isinstance(node, Condition):
        return node.kind == "search"
    if isinstance(node, Not):
        return searches(node.operand)
    return any(searches(operand) for operand in node.operands)


def dates(node: Node) -> bool:
    """Whether the query reads the caller's clock (a day on it)."""
    if isinstance(node, Condition):
        return node.kind in ("today", "tomorrow", "next_7_days", "due_before", "due_after")
    if isinstance(node, Not):
        return dates(node.operand)
    return any(dates(operand) for operand in node.operands)
