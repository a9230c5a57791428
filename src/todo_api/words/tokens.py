"""The token layer of the grammar (grammar.py builds its rules on it): a text's tokens, and
the look-ups of one word or phrase of the lexicon at a token (a number, an ordinal, a
weekday, a month, a unit) that every rule of the grammar asks."""

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from todo_api.words import lexicon
from todo_api.words.lexicon import fold

_TOKEN = re.compile(
    r'(?P<quoted>"[^"]*"?)'
    r"|(?P<escaped>\\\S*)"
    r'|(?P<list>#"[^"]+"|#[^\s,"\\]+)'
    r'|(?P<tag>@[^\s,"\\@]+)'
    r'|(?P<section>/"[^"]+"|/[^\s,"\\]+)'
    r"|(?P<comma>,)"
    r'|(?P<word>[^\s,"\\]+)'
)
_ORDINAL = re.compile(r"^(\d{1,2})(?:st|nd|rd|th|\.|e|er|ème|eme|º|ª|°|o|a|ste|de|te|ten)$")
_NUMBER = re.compile(r"^\d{1,4}$")
_PRIORITY = re.compile(r"^[pP]([1-4])$")
_TRAILING = ".!?;:)"
_AFTER_COMPLETION = frozenset({"every", "ev"})


@dataclass(frozen=True)
class Token:
    start: int
    end: int  # the end of the word without trailing punctuation
    kind: str  # word, comma, list, section, tag, priority, protected
    bare: str  # folded, without a trailing dot
    dotted: str  # folded, with its trailing dot if it had one
    dot_end: int


@functools.lru_cache(maxsize=1024)
def read_tokens(text: str) -> tuple[Token, ...]:
    """The text's words, markers and protected parts (kept: a client sends a text again)."""
    tokens = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "word"
        start, end = match.span()
        raw = match.group()
        if kind in ("quoted", "escaped"):
            tokens.append(Token(start, end, "protected", "", "", end))
            continue
        if kind in ("list", "tag", "section"):
            # "#Home." and "@errands!" end a sentence: the mark is not the name's.
            name = raw if raw.endswith('"') else raw.rstrip(_TRAILING)
            if len(name) > 1:
                end = start + len(name)
                tokens.append(Token(start, end, kind, name, name, end))
            continue
        if kind == "comma":
            tokens.append(Token(start, end, "word", ",", ",", end))
            continue
        stripped = raw.rstrip(_TRAILING)
        dotted = raw.rstrip(_TRAILING.replace(".", ""))
        if dotted.startswith("(") or not stripped:
            tokens.append(Token(start, end, "protected", "", "", end))
            continue
        if _PRIORITY.match(stripped):
            kind = "priority"
        elif raw.endswith("!") and fold(stripped) in _AFTER_COMPLETION:
            # Todoist's `every!`: due again a while after completion, which no RRULE says.
            tokens.append(Token(start, end, "protected", "", "", end))
            continue
        dot_end = start + len(dotted) if dotted.endswith(".") else start + len(stripped)
        tokens.append(
            Token(start, start + len(stripped), kind, fold(stripped), fold(dotted), dot_end)
        )
    return tuple(tokens)


class Words:
    """One text's tokens and the lexicon's words at each of them, each look-up returning
    (what it read, next index)."""

    def __init__(self, tokens: tuple[Token, ...], lang: str, now: datetime) -> None:
        self.tokens = tokens
        self.lang = lang
        self.now = now  # on the user's clock
        self.today = now.date()
        self.table = lexicon.phrases(lang)
        self.longest = lexicon.longest(lang)
        self.first_words = lexicon.first_words(lang)
        self.opening_words = lexicon.opening_words(lang)
        self.dot_ends: set[int] = set()  # token indexes read with their trailing dot
        self.found: dict[int, list[tuple[frozenset[str], int, bool]]] = {}
        self.symbols_at: dict[int, frozenset[str]] = {}
        # Each token's text and number, read once: the rules ask each place many times.
        self.texts = tuple(token.dotted if token.kind == "word" else None for token in tokens)
        self.values = tuple(
            int(text) if text and _NUMBER.match(text) else None for text in self.texts
        )
        # The places a phrase of the lexicon can start at: the rules ask every place for
        # words many times, and most places (numbers, other words) start none.
        self.starts = {
            i
            for i, token in enumerate(tokens)
            if token.kind == "word"
            and (token.bare in self.first_words or token.dotted in self.first_words)
        }

    def opens(self, i: int) -> bool:
        """Whether a phrase of the lexicon can open at token `i`."""
        token = self.tokens[i]
        return token.bare in self.opening_words or token.dotted in self.opening_words

    def word(self, i: int, symbol: str | Callable[[str], bool]) -> tuple[str, int] | None:
        """The longest phrase at `i` with `symbol` (or a symbol `symbol` accepts)."""
        if i not in self.starts:
            return None
        # Most questions find nothing: the symbols of every phrase at `i` answer them at once.
        known = self.symbols_at.get(i)
        if known is None:
            known = self.symbols_at[i] = frozenset().union(*(p[0] for p in self.phrases_at(i)))
        if not (symbol in known if isinstance(symbol, str) else any(map(symbol, known))):
            return None
        for symbols, end, dotted in self.phrases_at(i):
            for found in symbols:
                if found == symbol if isinstance(symbol, str) else symbol(found):
                    if dotted:
                        self.dot_ends.add(end - 1)
                    return found, end
        return None

    def phrases_at(self, i: int) -> list[tuple[frozenset[str], int, bool]]:
        """The lexicon's phrases starting at token `i`, longest first (each token's looked up
        once: the rules ask the same places many times)."""
        if (known := self.found.get(i)) is not None:
            return known
        tokens, table = self.tokens, self.table
        found: list[tuple[frozenset[str], int, bool]] = []
        first = tokens[i] if i < len(tokens) else None
        if first is None or (
            first.bare not in self.first_words and first.dotted not in self.first_words
        ):
            self.found[i] = found
            return found
        for n in range(min(self.longest, len(tokens) - i), 0, -1):
            span = tokens[i : i + n]
            if any(token.kind != "word" for token in span):
                continue
            bare = tuple(token.bare for token in span)
            last = span[-1]
            if last.dotted != last.bare and (symbols := table.get((*bare[:-1], last.dotted))):
                found.append((symbols, i + n, True))
            if symbols := table.get(bare):
                found.append((symbols, i + n, False))
        self.found[i] = found
        return found

    def text(self, i: int) -> str | None:
        return self.texts[i] if i < len(self.texts) else None

    def number(self, i: int, low: int = 1, high: int = 9999) -> tuple[int, int] | None:
        value = self.values[i] if i < len(self.values) else None
        if value is not None and low <= value <= high:
            return value, i + 1
        return None

    def ordinal(self, i: int, *, words: bool = True) -> tuple[int, int] | None:
        """`15th`, `15.`, `15e`, `3rd`, or (`words`) the words for first, second...."""
        text = self.text(i)
        if text and (match := _ORDINAL.match(text)) and 1 <= int(match[1]) <= 31:
            if text.endswith("."):
                self.dot_ends.add(i)
            return int(match[1]), i + 1
        if words and (found := self.word(i, lambda s: s.startswith("ORD"))):
            return int(found[0][3:]), found[1]
        return None

    def weekday(self, i: int) -> tuple[int, int] | None:
        if found := self.word(i, lambda s: s.startswith("WD")):
            return int(found[0][2:]), found[1]
        return None

    def month(self, i: int) -> tuple[int, int] | None:
        if found := self.word(i, lambda s: s.startswith("MON")):
            return int(found[0][3:]), found[1]
        return None

    def unit(self, i: int) -> tuple[str, int] | None:
        if found := self.word(i, lambda s: s.startswith("UNIT")):
            return found[0][4], found[1]
        return None

    def optional(self, i: int, symbol: str) -> int:
        found = self.word(i, symbol)
        return found[1] if found else i
