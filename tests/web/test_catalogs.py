"""Every word of the web app and of the emails in each of the seven languages: each string
their code and templates give gettext has a reviewed translation in every language's catalog
of its domain (no English in a German page or email), with the same placeholders; and a page
speaks the person's language."""

import re
from functools import cache
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from jinja2 import Environment

import todo_api
from todo_api.kit.catalogs import LOCALE_DIR
from todo_api.web.common.messages import template_gettext, translations
from todo_api.words import LANGUAGES

PACKAGE = Path(todo_api.__file__).parent
TRANSLATED = [language for language in LANGUAGES if language != "en"]
# Each domain: where `make messages` extracts its msgids from, with which mapping.
DOMAINS = {"messages": (PACKAGE / "web", "web.cfg"), "emails": (PACKAGE, "emails.cfg")}


@cache
def _source_strings(domain: str) -> set[str]:
    """The msgids `make messages` extracts for `domain` (the same directory and mapping)."""
    directory, mapping = DOMAINS[domain]
    with (LOCALE_DIR / mapping).open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        directory, method_map, options_map
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _placeholders(text: str) -> set[str]:

    return set(re.findall(r"%\([a-z_]+\)s", text))


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("language", TRANSLATED)
def test_every_string_is_translated(language: str, domain: str) -> None:
    source = LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po"
    assert source.is_file(), f"{language} has no {domain} catalog: make messages"
    with source.open("rb") as po:
        catalog = read_po(po, locale=language)
    missing, fuzzy, mismatched = [], [], []
    strings = _source_strings(domain)
    assert strings, f"no string found for {domain}: its mapping names no module"
    for msgid in sorted(strings):
        entry = catalog.get(msgid)
        if entry is None or not entry.string:
            missing.append(msgid)
        elif entry.fuzzy:
            fuzzy.append(msgid)
        elif _placeholders(msgid) != _placeholders(str(entry.string)):
            mismatched.append(msgid)
    assert (missing, fuzzy, mismatched) == ([], [], []), (domain, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_templates_quick_gettext_says_what_jinjas_says(language: str) -> None:
    """The pages' `_()` (messages.template_gettext) gives what Jinja's i18n extension gives
    for every message of the web app: the same words, `%%` as `%`, and each variable escaped
    into them."""
    jinjas = Environment(autoescape=True, extensions=["jinja2.ext.i18n"])
    jinjas.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    ours = template_gettext(language)
    messages = sorted(_source_strings("messages"))
    assert len(messages) > 300
    for message in messages:
        found = re.findall(r"%\((\w+)\)([a-z])", message)
        variables = {name: 3 if kind == "d" else f'<b id="{name}">&' for name, kind in found}
        said = jinjas.from_string("{{ _(message, **variables) }}").render(
            message=message, variables=variables
        )
        assert str(ours(message, **variables)) == said, message
        assert str(ours(message, **variables)) == said  # again, made once
