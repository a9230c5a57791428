"""The pages' templates compile each `{% include %}` into the template that includes it
(templates.Inlining): what they render is what Jinja's own include renders."""

import pytest
from jinja2 import DictLoader, Environment, TemplateNotFound

from todo_api.web.common.templates import Inlining

TEMPLATES = {
    "page.html": (
        "{% set shown = 'page' %}<ul>\n"
        "{%- for item in items %}\n  {% include '_row.html' %}{% endfor %}\n</ul>\n"
        "{{ shown }} {{ mark | default('no mark') }}\n"
        "{% with word = 'inside' %}{% include '_word.html' %}{% endwith %}\n"
        "{% if missing_shown %}{% include '_missing.html' %}{% endif %}"
    ),
    # Sets a name of its own (not seen by the page), includes another, trims whitespace.
    "_row.html": (
        "{#- a row -#}\n{% set mark = item ~ '!' %}<li>{{ mark }} {{ shown }}"
        "{% include '_word.html' %}</li>\n"
    ),
    "_word.html": "<b>{{ word | default('') }}</b>{{ '<&>' }}\n",
    # A macro, or a name an include does not pass on, keeps the include as it is.
    "loop.html": "{% for item in items %}{% include '_loop.html' %}{% endfor %}",
    "_loop.html": "{{ loop is defined }}",
    "macro.html": "{% include '_macro.html' %}",
    "_macro.html": "{% macro said(x) %}[{{ x }}]{% endmacro %}{{ said(word) }}",
    "self.html": "{% if deep %}{% include 'self.html' %}{% endif %}end",
}


def _both() -> tuple[Environment, Environment]:
    return (
        Environment(loader=DictLoader(TEMPLATES), autoescape=True),
        Inlining(loader=DictLoader(TEMPLATES), autoescape=True),
    )


@pytest.mark.parametrize("name", ["page.html", "loop.html", "macro.html", "self.html"])
def test_an_inlined_include_renders_what_an_include_renders(name: str) -> None:
    jinjas, ours = _both()
    for context in ({"items": ["a", "<b>"], "word": "w"}, {"items": [], "deep": False}):
        said = jinjas.get_template(name).render(**context)
        assert ours.get_template(name).render(**context) == said


def test_the_included_templates_are_compiled_in() -> None:
    _jinjas, ours = _both()
    code = ours.compile(TEMPLATES["page.html"], "page.html", raw=True)
    assert "_row.html" not in code
    assert "_word.html" not in code
    assert "'_missing.html'" in code  # not there: an include, as Jinja's, if it is ever shown
    with pytest.raises(TemplateNotFound):
        ours.get_template("page.html").render(items=[], missing_shown=True)
    for kept in ("macro", "loop"):
        assert f"'_{kept}.html'" in ours.compile(TEMPLATES[f"{kept}.html"], raw=True)
