"""Thumbnails of image attachments (`GET /api/attachments/{id}/thumbnail`), on both databases and
both storages: at most 400 px on the long side, made by Pillow, with an ETag and a long
Cache-Control; 404 for whoever does not see the task; 404 also for a file that is not an
image Pillow reads here, for one of more than THUMBNAIL_MAX_PIXELS pixels (kept and served, with
no thumbnail), and for a decompression bomb or a broken image (never a 500)."""

import io
import struct
import zlib
from collections.abc import Callable

import httpx
from PIL import Image

from tests.files.helpers import new_task, png_of, upload
from tests.support import app_for, assert_error, client_for, token_for
from tests.tasks.helpers import assert_not_found
from todo_api.config import Settings

Person = Callable[[], httpx.AsyncClient]


def image_bytes(width: int, height: int, kind: str = "JPEG", mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), (200, 80, 40) if mode == "RGB" else None).save(out, kind)
    return out.getvalue()


def png_bomb(side: int = 30_000) -> bytes:
    """A PNG of a few hundred bytes whose header says `side` x `side` pixels (900 megapixels for
    the default): decoding it would take gigabytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = zlib.compress(b"\0" * (side + 1) * 16)  # a few of its rows
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def size_of(thumbnail: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(thumbnail)) as image:
        assert image.format == "WEBP"
        return image.size


async def test_an_image_s_thumbnail_is_at_most_400_px(person: Person) -> None:
    async with person() as alice:
        task_id = await new_task(alice)
        wide = await upload(alice, task_id, image_bytes(1200, 800), "wide.jpg", "image/jpeg")
        tall = await upload(alice, task_id, image_bytes(300, 900, "PNG"), "tall.png", "image/png")
        small = await upload(alice, task_id, image_bytes(120, 90, "GIF"), "small.gif", "image/gif")
        made = await alice.get(f"/api/attachments/{wide['id']}/thumbnail")
        assert made.status_code == 200, made.text
        assert made.headers["content-type"] == "image/webp"
        assert made.headers["x-content-type-options"] == "nosniff"
        assert "max-age" in made.headers["cache-control"]
        assert size_of(made.content) == (400, 267)
        tall_made = await alice.get(f"/api/attachments/{tall['id']}/thumbnail")
        assert size_of(tall_made.content) == (133, 400)
        small_made = await alice.get(f"/api/attachments/{small['id']}/thumbnail")
        assert size_of(small_made.content) == (120, 90)  # never made larger
        again = await alice.get(
            f"/api/attachments/{wide['id']}/thumbnail",
            headers={"If-None-Match": made.headers["etag"]},
        )
        assert again.status_code == 304


async def test_a_thumbnail_is_for_those_who_see_the_task(person: Person) -> None:
    async with person() as alice, person() as bob:
        task_id = await new_task(alice)
        image = await upload(alice, task_id, image_bytes(50, 50, "PNG"), "dot.png", "image/png")
        assert_not_found(await bob.get(f"/api/attachments/{image['id']}/thumbnail"))
        unknown = "/api/attachments/00000000-0000-7000-8000-000000000000/thumbnail"
        assert_not_found(await alice.get(unknown))
        assert_not_found(await alice.get("/api/attachments/not-an-id/thumbnail"))


async def test_a_file_that_is_no_image_has_no_thumbnail(person: Person) -> None:
    async with person() as alice:
        task_id = await new_task(alice)
        text = await upload(alice, task_id)
        answer = await alice.get(f"/api/attachments/{text['id']}/thumbnail")
        assert_error(answer, 404, "NOT_FOUND")


async def test_a_decompression_bomb_or_a_broken_image_is_refused(person: Person) -> None:
    async with person() as alice:
        task_id = await new_task(alice)
        bomb = await upload(alice, task_id, png_bomb(), "bomb.png", "image/png")
        assert bomb["content_type"] == "image/png"
        answer = await alice.get(f"/api/attachments/{bomb['id']}/thumbnail")
        assert_error(answer, 404, "NOT_FOUND")
        assert "pixels" in answer.json()["error"]
        broken = image_bytes(800, 600)[:400]  # a JPEG's start, cut off
        cut = await upload(alice, task_id, broken, "cut.jpg", "image/jpeg")
        assert cut["content_type"] == "image/jpeg"
        answer = await alice.get(f"/api/attachments/{cut['id']}/thumbnail")
        assert_error(answer, 404, "NOT_FOUND")


async def test_an_image_of_more_than_thumbnail_max_pixels_is_kept_without_a_thumbnail(
    files_settings: Settings,
) -> None:
    settings = files_settings.model_copy(update={"thumbnail_max_pixels": 10_000})
    async with app_for(settings) as app, client_for(app, token_for(settings)) as alice:
        task_id = await new_task(alice)
        fits = await upload(alice, task_id, png_of(100, 100), "fits.png", "image/png")
        assert (await alice.get(f"/api/attachments/{fits['id']}/thumbnail")).status_code == 200
        data = png_of(101, 100)
        large = await upload(alice, task_id, data, "large.png", "image/png")
        answer = await alice.get(f"/api/attachments/{large['id']}/thumbnail")
        assert_error(answer, 404, "NOT_FOUND")
        assert "10000 pixels" in answer.json()["error"]
        assert (await alice.get(large["url"])).content == data


async def test_a_picture_of_20000_by_20000_pixels_is_kept_without_a_thumbnail(
    person: Person,
) -> None:
    data = png_of(20_000, 20_000)
    assert struct.unpack(">II", data[16:24]) == (20_000, 20_000)  # its header's size
    async with person() as alice:
        task_id = await new_task(alice)
        huge = await upload(alice, task_id, data, "huge.png", "image/png")
        assert huge["content_type"] == "image/png"
        answer = await alice.get(f"/api/attachments/{huge['id']}/thumbnail")
        assert_error(answer, 404, "NOT_FOUND")
        assert (await alice.get(huge["url"])).content == data


async def test_a_photo_is_turned_as_its_exif_says(person: Person) -> None:
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: turned a quarter clockwise to be seen
    Image.new("RGB", (1200, 400), (200, 80, 40)).save(out, "JPEG", exif=exif)
    async with person() as alice:
        task_id = await new_task(alice)
        photo = await upload(alice, task_id, out.getvalue(), "photo.jpg", "image/jpeg")
        made = await alice.get(f"/api/attachments/{photo['id']}/thumbnail")
        assert made.status_code == 200, made.text
        assert size_of(made.content) == (133, 400)
