"""The service's own HTML pages (an account link's page, the OAuth sign-in page): each room's
templates extend one base (kit/templates/base.html), so every page looks and is headed alike."""

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jinja2 import Environment, Template

BASE = Path(__file__).parent / "templates"


class Templates:
    """A room's templates (in `folder`), with the base they extend; everything escaped. Their
    environment (and Jinja2) is made by the first page rendered, not at start."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._environment: Environment | None = None

    def get_template(self, name: str) -> "Template":
        if self._environment is None:
            from jinja2 import Environment, FileSystemLoader, select_autoescape

            self._environment = Environment(
                loader=FileSystemLoader([self._folder, BASE]),
                autoescape=select_autoescape(default=True),
            )
        return self._environment.get_template(name)


def templates(folder: Path) -> Templates:
    """A room's templates (in `folder`), with the base they extend; everything escaped."""
    return Templates(folder)
