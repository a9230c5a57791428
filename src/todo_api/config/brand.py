"""The settings of the product's face: the name people see (`APP_NAME`: the web app's header and
titles, its manifest, the emails, the OAuth pages) and its icon (`APP_ICON`, from which
todo_api.web.common.icons makes every size). A group of its own, which `todo_api.config.Settings`
inherits, as config/attachments.py is.

Both are checked when the settings are read: a service started with a name nobody can show or an
icon it cannot read stops at once, with one line naming the setting."""

import unicodedata
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

NAME_MAX_LENGTH = 60
SVG = ".svg"
# What a name cannot hold: control characters, lone surrogates, line and paragraph separators.
ONE_LINE_BREAKERS = frozenset({"Cc", "Cs", "Zl", "Zp"})


class BrandSettings(BaseSettings):
    # The product's name, wherever a person sees it (never the package's, `todo-api`).
    app_name: str = Field(default="Tasks", max_length=NAME_MAX_LENGTH)
    # A PNG (best square, 512 px or more) or SVG file: the icon in every size the browsers and
    # the manifest want. Unset: the package's own icon.
    app_icon: Path | None = None

    @field_validator("app_name")
    @classmethod
    def _one_line(cls, name: str) -> str:
        name = name.strip()
        if not name:
            raise ValueError("must not be empty")
        if any(unicodedata.category(char) in ONE_LINE_BREAKERS for char in name):
            raise ValueError("must be one line without control characters")
        return name

    @field_validator("app_icon", mode="before")
    @classmethod
    def _readable_image(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        path = Path(str(value).strip())
        if not path.is_file():
            raise ValueError(f"no such file: {path}")
        if path.suffix.lower() == SVG:
            if b"<svg" not in path.read_bytes()[:4096]:
                raise ValueError(f"{path} is not an SVG image")
            return path
        from PIL import Image, UnidentifiedImageError  # imported here: `todo-api token` needs none

        try:
            with Image.open(path) as image:
                image.verify()
        except (
            UnidentifiedImageError,
            Image.DecompressionBombError,
            OSError,
            SyntaxError,
            ValueError,
        ):
            raise ValueError(f"{path} is not a PNG or another image Pillow reads") from None
        return path
