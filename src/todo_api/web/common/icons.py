"""The app's icon in every size a browser and the manifest want: the favicon, the home screen's
icon on iOS (`apple-touch-icon`), the manifest's 192 and 512 px icons and its maskable one.

Made once, when the app starts, from APP_ICON (a PNG or any image Pillow reads; config/brand.py
checked it) with Pillow, and served as the static files are (web/common/assets.py): under names
holding their content's hash, kept by the browser for a year. Without APP_ICON, the package's
own files (static/icon.svg and its PNGs). Pillow does not read SVG: an SVG given is the
favicon and the manifest's icon of `any` size as it is, and the sizes only a picture of pixels
gives (iOS's home screen, Android's maskable icon) are left out (docs/web-app.md)."""

import hashlib
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from todo_api.config import brand
from todo_api.web.common.assets import IMMUTABLE, PREFIX, Assets

PNG, SVG = "image/png", "image/svg+xml"


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
            self.touch: Icon | None = Icon(assets.url("icon-192.png"), PNG, _size(192))
            self.manifest = [
                Icon(assets.url("icon-192.png"), PNG, _size(192)),
                Icon(assets.url("icon-512.png"), PNG, _size(512)),
                Icon(assets.url("icon-maskable.png"), PNG, _size(512), "maskable"),
            ]
        elif source.suffix.lower() == brand.SVG:
            self.favicon = self._add("icon.svg", source.read_bytes(), SVG, "any")
            self.touch = None
            self.manifest = [self.favicon]
        else:
            # Pillow is loaded here only: without a picture to make the sizes from, no process
            # needs it at start.
            from todo_api.web.common.icon_sizes import FAVICON, LARGE, SMALL, TOUCH, made_from

            made = made_from(source)
            self.favicon = self._add(f"icon-{FAVICON}.png", made[FAVICON], PNG, _size(FAVICON))
            self.touch = self._add(f"icon-{TOUCH}.png", made[TOUCH], PNG, _size(TOUCH))
            self.manifest = [
                self._add(f"icon-{SMALL}.png", made[SMALL], PNG, _size(SMALL)),
                self._add(f"icon-{LARGE}.png", made[LARGE], PNG, _size(LARGE)),
                self._add("icon-maskable.png", made["maskable"], PNG, _size(LARGE), "maskable"),
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
