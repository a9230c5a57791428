"""The web app's light and dark schemes differ in colours only: what app.css gives a scheme (a
`prefers-color-scheme` query, the `data-theme` the person chose) is `color-scheme` and new
values, all of them colours, for the colour properties the light scheme sets, and nothing else
of the app (templates, scripts) asks which scheme is shown. The browser tests rely on it:
axe-core judges a page whole in one scheme and by its colour rules only in the other
(tests/web/browsing.py, `accessible_in_both_schemes`)."""

import re
from pathlib import Path

import todo_api.web

WEB = Path(todo_api.web.__file__).resolve().parent
COLOUR = re.compile(r"#[0-9a-f]{6}")


def rules(css: str, media: str = "") -> list[tuple[str, str, dict[str, str]]]:
    """Each rule of `css` as (the media it is in, its selector, its declarations)."""
    found = []
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S).strip()
    while css:
        head, css = css.split("{", 1)
        depth, end = 1, 0
        while depth:
            depth += {"{": 1, "}": -1}.get(css[end], 0)
            end += 1
        body, css = css[: end - 1], css[end:].strip()
        if head.strip().startswith("@"):
            found += rules(body, head.strip())
        else:
            declarations = (part.split(":", 1) for part in body.split(";") if part.strip())
            found.append(
                (media, head.strip(), {name.strip(): value.strip() for name, value in declarations})
            )
    return found


def test_a_scheme_changes_only_colours() -> None:
    every = rules((WEB / "static" / "app.css").read_text())
    (light,) = [declarations for media, selector, declarations in every if selector == ":root"]
    colours = {name for name in light if name.startswith("--")}
    assert light["color-scheme"] == "light"
    assert all(COLOUR.fullmatch(light[name]) for name in colours)
    schemes = [
        declarations
        for media, selector, declarations in every
        if "data-theme" in selector or "color-scheme" in media
    ]
    assert len(schemes) == 2  # the dark chosen, and the dark of the system
    for declarations in schemes:
        assert declarations.pop("color-scheme") == "dark"
        assert set(declarations) == colours
        assert all(COLOUR.fullmatch(value) for value in declarations.values())


def test_nothing_else_asks_for_the_scheme() -> None:
    asked = re.compile(r"prefers-color-scheme|data-theme|colorScheme", re.I)
    for path in [*(WEB / "templates").rglob("*.html"), *(WEB / "static").glob("*.js")]:
        for line in path.read_text().splitlines():
            if asked.search(line):
                # The document's own: the person's choice on <html>, the schemes it offers.
                assert path.name == "base.html", f"{path.name}: {line}"
                assert line.startswith(("<html ", '<meta name="color-scheme"')), line
