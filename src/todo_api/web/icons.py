"""The app's icon in every size a browser and the manifest want: the favicon, the home screen's
icon on iOS (`apple-touch-icon`), the manifest's 192 and 512 px icons and its maskable one.

Made once, when the app starts, from APP_ICON (a PNG or any image Pillow reads; config_brand.py
checked it) with Pillow, and served as the static files are (web/assets.py): under names
holding their content's hash, kept by the browser for a year. Without APP_ICON, the package's
own files (static/icon.svg and its PNGs). Pillow does not read SVG: an SVG given is the
favicon and the manifest's icon of `any` size as it is, and the sizes only a picture of pixels
gives (iOS's home screen, Android's maskable icon) are left out (docs/web-app.md)."""

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from starlette.requests import Request
from starlette.responses import Response

from todo_api import config_brand
from todo_api.web.assets import IMMUTABLE, PREFIX, Assets

PNG, SVG = "image/png", "image/svg+xml"
FAVICON, TOUCH, SMALL, LARGE = 32, 180, 192, 512
# A maskable icon's picture stays within the middle 80 % (the circle every mask keeps).
MASKABLE_SAFE = 0.8
# What iOS and the masks show behind a transparent icon (black otherwise).
BACKGROUND = (255, 255, 255, 255)


@dataclass(frozen=True, slots=True)
class Icon:
    url: str
    media_type: str
    sizes: str  # "192x192", or "any" for an SVG
    purpose: str = "any"

    def manifest_entry(self) -> dict[str, str]:
        entry = {"src": self.url, "sizes": self.sizes, "type": self.media_type}
        if self.purpose != "any":
            entry["purpose"] = self.purpose
        return entry


class Icons:
    """The favicon, the touch icon (none from an SVG) and the manifest's icons, with the bytes
    of those made here (`serve`: the package's own are the static files')."""

    def __init__(self, source: Path | None, assets: Assets) -> None:
        self._files: dict[str, tuple[bytes, str]] = {}  # hashed name -> body, media type
        if source is None:
            self.favicon = Icon(assets.url("icon.svg"), SVG, "any")
            self.touch: Icon | None = Icon(assets.url("icon-192.png"), PNG, _size(SMALL))
            self.manifest = [
                Icon(assets.url("icon-192.png"), PNG, _size(SMALL)),
                Icon(assets.url("icon-512.png"), PNG, _size(LARGE)),
                Icon(assets.url("icon-maskable.png"), PNG, _size(LARGE), "maskable"),
            ]
        elif source.suffix.lower() == config_brand.SVG:
            self.favicon = self._add("icon.svg", source.read_bytes(), SVG, "any")
            self.touch = None
            self.manifest = [self.favicon]
        else:
            picture = _square(source)
            made = {size: _png(picture, size) for size in (FAVICON, SMALL, LARGE)}
            # iOS shows a transparent icon's see-through parts black: it gets a background.
            made[TOUCH] = _png(_on_background(picture), TOUCH)
            self.favicon = self._add(f"icon-{FAVICON}.png", made[FAVICON], PNG, _size(FAVICON))
            self.touch = self._add(f"icon-{TOUCH}.png", made[TOUCH], PNG, _size(TOUCH))
            self.manifest = [
                self._add(f"icon-{SMALL}.png", made[SMALL], PNG, _size(SMALL)),
                self._add(f"icon-{LARGE}.png", made[LARGE], PNG, _size(LARGE)),
                self._add("icon-maskable.png", _maskable(picture), PNG, _size(LARGE), "maskable"),
            ]

    def _add(
        self, name: str, body: bytes, media_type: str, sizes: str, purpose: str = "any"
    ) -> Icon:
        stem, _, suffix = name.partition(".")
        hashed = f"brand-{stem}.{hashlib.sha256(body).hexdigest()[:12]}.{suffix}"
        self._files[hashed] = (body, media_type)
        return Icon(PREFIX + hashed, media_type, sizes, purpose)

    def serves(self, name: str) -> bool:
        return name in self._files

    async def serve(self, request: Request) -> Response:
        body, media_type = self._files[request.path_params["name"]]
        return Response(body, media_type=media_type, headers={"Cache-Control": IMMUTABLE})


def _size(pixels: int) -> str:
    return f"{pixels}x{pixels}"


def _square(source: Path) -> Image.Image:
    """The picture in RGBA, centred on a transparent square as large as its longer side."""
    with Image.open(source) as opened:
        picture = opened.convert("RGBA")
    side = max(picture.size)
    square = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    square.paste(picture, ((side - picture.width) // 2, (side - picture.height) // 2))
    return square


def _png(picture: Image.Image, size: int) -> bytes:
    return _encoded(picture.resize((size, size), Image.Resampling.LANCZOS))


def _on_background(picture: Image.Image) -> Image.Image:
    canvas = Image.new("RGBA", picture.size, BACKGROUND)
    canvas.alpha_composite(picture)
    return canvas


def _maskable(picture: Image.Image) -> bytes:
    """The picture within the safe middle of a LARGE square filled with BACKGROUND."""
    inner = round(LARGE * MASKABLE_SAFE)
    canvas = Image.new("RGBA", (LARGE, LARGE), BACKGROUND)
    scaled = picture.resize((inner, inner), Image.Resampling.LANCZOS)
    canvas.alpha_composite(scaled, ((LARGE - inner) // 2, (LARGE - inner) // 2))
    return _encoded(canvas)


def _encoded(picture: Image.Image) -> bytes:
    out = io.BytesIO()
    picture.save(out, "PNG", optimize=True)
    return out.getvalue()
