"""The service's own HTML pages (an account link's page, the OAuth sign-in page): each room's
templates extend one base (kit/templates/base.html), so every page looks and is headed alike."""

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

BASE = Path(__file__).parent / "templates"


def templates(folder: Path) -> Environment:
    """A room's templates (in `folder`), with the base they extend; everything escaped."""
    return Environment(
        loader=FileSystemLoader([folder, BASE]), autoescape=select_autoescape(default=True)
    )
