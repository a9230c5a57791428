"""Every word of the web app in each of its seven languages: each string its code and
templates give gettext has a reviewed translation in every language's catalog (no English in a
German page), with the same placeholders; and a page speaks the person's language."""

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

import todo_api.web
from todo_api.kit.catalogs import LOCALE_DIR
from todo_api.kit.words import LANGUAGES

WEB = Path(todo_api.web.__file__).parent
TRANSLATED = [language for language in LANGUAGES if language != "en"]


def _source_strings() -> set[str]:
    """The msgids `make messages` extracts (the same mapping: locale/web.cfg)."""
    with (LOCALE_DIR / "web.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        WEB, method_map, options_map
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _placeholders(text: str) -> set[str]:

    return set(re.findall(r"%\([a-z_]+\)s", text))


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_string_is_translated(language: str) -> None:
    source = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    assert source.is_file(), f"{language} has no catalog: make messages"
    with source.open("rb") as po:
        catalog = read_po(po, locale=language)
    missing, fuzzy, mismatched = [], [], []
    for msgid in sorted(_source_strings()):
        entry = catalog.get(msgid)
        if entry is None or not entry.string:
            missing.append(msgid)
        elif entry.fuzzy:
            fuzzy.append(msgid)
        elif _placeholders(msgid) != _placeholders(str(entry.string)):
            mismatched.append(msgid)
    assert (missing, fuzzy, mismatched) == ([], [], []), language
