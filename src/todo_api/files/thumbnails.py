"""An image attachment's thumbnail (`GET /api/attachments/{id}/thumbnail`, and the web app's
`/app/attachments/{id}/thumbnail`): at most 400 px on its long side, made by Pillow on demand
in a worker thread, as WebP, answered with the file's SHA-256 in its ETag and cached by the
browser (the bytes of an attachment never change). The last thumbnails made are kept in memory.

Only the types Pillow reads safely here have one (PNG, JPEG, GIF, WebP); any other file is
404 NOT_FOUND (as a file one does not see, with its own sentence). An image is never decoded
unbounded: its header is read first and one of more than THUMBNAIL_MAX_PIXELS pixels (a large
photo, or a decompression bomb: a small file that unpacks into gigabytes) gets no thumbnail
(404 too, as one Pillow cannot read; its file is kept and served). What is decoded is decoded
small: a JPEG at an eighth, a quarter or half of its size (Pillow's `draft`), any other image
reduced by a whole factor (`reduce`) before it is resampled, and turned (EXIF) once small.
At most two are made at once in a process, each in a worker thread, so that the memory they
take is bounded (about 4 bytes a pixel of the largest, while it is made)."""

import io
import os
import tempfile
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import anyio
from fastapi import APIRouter, Request, Response

from todo_api.auth import caller
from todo_api.config.attachments import THUMBNAIL_PIXELS_CEILING
from todo_api.files import service
from todo_api.files.errors import AttachmentNotFound
from todo_api.files.schemas import PREFIX
from todo_api.files.storage import Files
from todo_api.kit.deps import held
from todo_api.kit.errors import NotFound, error_responses
from todo_api.kit.inputs import id_in_path, parse_id
from todo_api.tables.attachments import AttachmentRow

if TYPE_CHECKING:
    from PIL import Image

SIDE = 400  # the long side's most pixels
THUMBNAIL_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
KEPT = 256  # thumbnails kept in memory (each a few kilobytes)
CACHE_CONTROL = "private, max-age=31536000, immutable"
# Reducing by a whole factor first, to within this many times the thumbnail's side, then
# resampling (Pillow's `reducing_gap`): the resampling works on a small image.
REDUCING_GAP = 2.0

router = APIRouter(tags=["attachments"], responses=error_responses(401, 500, 503))


class NoThumbnail(NotFound):
    """No thumbnail for this file: the same 404 as for a file one does not see (the contract
    answers no 415), with its own sentence."""

    message = "This file has no thumbnail: only PNG, JPEG, GIF and WebP images have one"


class ImageUnreadable(NoThumbnail):
    def __init__(self, max_pixels: int) -> None:
        super().__init__(
            f"This image has no thumbnail: it cannot be read, or has more than {max_pixels} pixels"
        )


class Thumbnails:
    """The last thumbnails made, by the SHA-256 of their image; at most two made at once, each
    of an image of at most `max_pixels` (THUMBNAIL_MAX_PIXELS)."""

    def __init__(self, max_pixels: int) -> None:
        self.max_pixels = max_pixels
        self._made: OrderedDict[str, bytes] = OrderedDict()
        self._limiter = anyio.CapacityLimiter(2)

    async def of(self, files: Files, row: AttachmentRow) -> bytes:
        """The thumbnail of `row`'s image. Raises NoThumbnail, ImageUnreadable,
        AttachmentNotFound (its bytes are missing), StorageUnavailable."""
        if row["content_type"] not in THUMBNAIL_TYPES:
            raise NoThumbnail
        made = self._made.get(row["sha256"])
        if made is not None:
            self._made.move_to_end(row["sha256"])
            return made
        spool = await _copied(files, row)
        try:
            made = await anyio.to_thread.run_sync(
                thumbnail, spool, self.max_pixels, limiter=self._limiter
            )
        finally:
            await anyio.to_thread.run_sync(lambda: spool.unlink(missing_ok=True))
        self._made[row["sha256"]] = made
        while len(self._made) > KEPT:
            self._made.popitem(last=False)
        return made


async def _copied(files: Files, row: AttachmentRow) -> Path:
    """The image's bytes in a spool file (Pillow seeks in what it reads)."""
    files.storage.spool_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=files.storage.spool_dir, prefix="thumbnail-")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            if row["size"]:
                async for chunk in await files.opened(row["storage_key"], 0, row["size"] - 1):
                    await anyio.to_thread.run_sync(out.write, chunk)
    except BaseException:
        await anyio.to_thread.run_sync(lambda: path.unlink(missing_ok=True))
        raise
    return path


def thumbnail(path: Path, max_pixels: int) -> bytes:
    """The image at `path` within SIDE x SIDE pixels (turned as its EXIF says; a GIF's first
    frame), as WebP. Raises ImageUnreadable for what Pillow cannot read, or an image of more
    than `max_pixels` pixels (read from its header: nothing of it is decoded)."""
    # Pillow is loaded by the first thumbnail, not at start: most processes make none.
    from PIL import Image, ImageOps, UnidentifiedImageError

    # Pillow's own guard, for whatever opens an image in this process: past it a warning (made
    # an error here), past twice DecompressionBombError. THUMBNAIL_MAX_PIXELS, at most this, is
    # checked from the header before anything is decoded.
    Image.MAX_IMAGE_PIXELS = THUMBNAIL_PIXELS_CEILING
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > max_pixels or width < 1 or height < 1:
                    raise ImageUnreadable(max_pixels)
                # In place: a JPEG decoded at a fraction of its size (draft), any image
                # reduced by a whole factor, then resampled; the full size is let go at once.
                image.thumbnail((SIDE, SIDE), Image.Resampling.LANCZOS, REDUCING_GAP)
                small = ImageOps.exif_transpose(image)  # turned once small (a square bound)
                if small.mode not in ("RGB", "RGBA"):
                    small = small.convert("RGBA" if _has_alpha(small) else "RGB")
                out = io.BytesIO()
                small.save(out, "WEBP", quality=80, method=4)
                return out.getvalue()
    except ImageUnreadable:
        raise
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        SyntaxError,  # some of Pillow's decoders say a broken file so
        ValueError,
        EOFError,
    ) as exc:
        raise ImageUnreadable(max_pixels) from exc


def _has_alpha(image: "Image.Image") -> bool:
    return image.mode in ("LA", "PA", "RGBa", "La") or "transparency" in image.info


def answer(request: Request, made: bytes, row: AttachmentRow) -> Response:
    """The thumbnail, or 304 for the ETag the browser has."""
    etag = f'"thumbnail-{SIDE}-{row["sha256"]}"'
    headers = {
        "ETag": etag,
        "Cache-Control": CACHE_CONTROL,
        "Content-Security-Policy": "sandbox; default-src 'none'",
    }
    asked = request.headers.get("if-none-match") or ""
    if etag in (tag.strip().removeprefix("W/") for tag in asked.split(",")):
        return Response(status_code=304, headers=headers)
    return Response(made, 200, headers, media_type="image/webp")


@router.get(
    PREFIX + "/{attachment_id}/thumbnail",
    response_class=Response,
    responses={
        **error_responses(404),
        200: {
            "description": "The image within 400 x 400 pixels, as WebP (ETag and "
            "Cache-Control: the bytes never change)",
            "content": {"image/webp": {"schema": {"type": "string", "format": "binary"}}},
        },
        304: {"description": "The thumbnail has not changed (If-None-Match)"},
    },
    summary="An image's thumbnail, at most 400 px (404 also for a file that is not a PNG, JPEG, "
    "GIF or WebP image, or an image too large to read)",
)
async def attachment_thumbnail(
    attachment_id: Annotated[str, id_in_path("The attachment's id")], request: Request
) -> Response:
    call = await caller(request)
    found = parse_id(attachment_id, AttachmentNotFound)
    row = await call.run(service.get_attachment, found)
    made = await held(request.app, Thumbnails).of(held(request.app, Files), row)
    return answer(request, made, row)
