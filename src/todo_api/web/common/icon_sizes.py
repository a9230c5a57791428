"""The sizes of the app's icon made from APP_ICON's picture with Pillow (web/common/icons.py serves
them): the favicon, iOS's touch icon on a background, the manifest's 192 and 512 px icons and
its maskable one. A module of its own so that Pillow loads only where APP_ICON is a picture."""

import io
from pathlib import Path

from PIL import Image

FAVICON, TOUCH, SMALL, LARGE = 32, 180, 192, 512
# A maskable icon's picture stays within the middle 80 % (the circle every mask keeps).
MASKABLE_SAFE = 0.8
# What iOS and the masks show behind a transparent icon (black otherwise).
BACKGROUND = (255, 255, 255, 255)


def made_from(source: Path) -> dict[int | str, bytes]:
    """The PNG of each size (FAVICON, TOUCH, SMALL, LARGE) and the maskable one ("maskable")."""
    picture = _square(source)
    made: dict[int | str, bytes] = {size: _png(picture, size) for size in (FAVICON, SMALL, LARGE)}
    # iOS shows a transparent icon's see-through parts black: it gets a background.
    made[TOUCH] = _png(_on_background(picture), TOUCH)
    made["maskable"] = _maskable(picture)
    return made


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
