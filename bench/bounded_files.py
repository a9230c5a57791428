"""The server's memory for hostile pictures and import archives: each picture uploaded and its
thumbnail asked for (as the web app's task page does), and a zip that names one member again
and again imported, each in a server of its own.

    .venv/bin/python bench/bounded_files.py
    BENCH_SRC=/tmp/before/src .venv/bin/python bench/bounded_files.py   # another tree

The contract's budget: one upload raises the server's resident memory by less than 100 MB,
and it returns after; an import archive that would unpack too far is refused before anything
is written. This script creates a PostgreSQL database with a random name on 127.0.0.1, makes
the pictures (JPEGs of noise, PNGs of one colour: small files of many pixels), and for each
case starts `todo-api serve --workers 1` (files in a folder, ATTACHMENT_MAX_BYTES 60 MiB for
the noisy JPEGs, the other settings as they come), warms it (a small picture up with its
thumbnail, a small import), then reads VmRSS and VmHWM (the peak) of the server's processes
(/proc/<pid>/status, the process and its children) before the case, after the upload, after
the thumbnail and a second later; for the zip, before and after the import, with the bytes
it left in the storage. The database is dropped at the end, also on failure.
"""

import argparse
import io
import json
import time
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path

import httpx
from benchlib import (
    free_port,
    log,
    machine_summary,
    migrate,
    new_secret,
    rss_mb,
    running_server,
    scratch_database,
    serve_argv,
    service_env,
    source_summary,
    token_for,
    work_dir,
)
from PIL import Image
from tests.files.helpers import png_of

MIB = 1024 * 1024
TIMEOUT = 300.0
# 40 and 25 megapixels at 3:2, a camera's shape (just under: 40 million was the limit before).
MP40 = (7740, 5160)
MP25 = (6120, 4080)


def noise_jpeg(size: tuple[int, int]) -> bytes:
    """A photo's worth of detail: noise around a grey, each channel its own."""
    channels = [Image.effect_noise(size, 40) for _ in range(3)]
    out = io.BytesIO()
    Image.merge("RGB", channels).save(out, "JPEG", quality=85)
    return out.getvalue()


def flat_png(size: tuple[int, int]) -> bytes:
    """One colour: a PNG of a few hundred kilobytes however many pixels it has."""
    out = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(out, "PNG")
    return out.getvalue()


def repeated_member_zip(export: bytes, times: int, member_bytes: int) -> bytes:
    """The export's zip with its one file made `member_bytes` of zeros and named `times` times
    by the document (one member, read again for each)."""
    with zipfile.ZipFile(io.BytesIO(export)) as archive:
        document = json.loads(archive.read("todo-api-export.json"))
    [file] = [f for f in document["attachments"] if f["name"] == "big.bin"]
    document["attachments"] = [dict(file, sha256=None) for _ in range(times)]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("todo-api-export.json", json.dumps(document))
        archive.writestr(f"files/{file['id']}/{file['name']}", b"\0" * member_bytes)
    return out.getvalue()


def stored_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


# A case's run: the owner's client, another person's (who imports), the server's process id and
# its storage folder; its figures.
Run = Callable[[httpx.Client, httpx.Client, int, Path], dict[str, str]]


class Case:
    def __init__(self, name: str, run: Run) -> None:
        self.name, self.run = name, run


def picture(name: str, data: bytes, kind: str) -> Case:
    def run(client: httpx.Client, _other: httpx.Client, pid: int, files: Path) -> dict[str, str]:
        task = client.post("/api/tasks", json={"title": name}).json()["id"]
        before, peak_before = rss_mb(pid)
        made = client.post(
            f"/api/tasks/{task}/attachments", files={"file": (f"p.{kind}", data, f"image/{kind}")}
        )
        made.raise_for_status()
        after_upload, _ = rss_mb(pid)
        thumbnail = client.get(f"/api/attachments/{made.json()['id']}/thumbnail")
        after_thumbnail, peak = rss_mb(pid)
        time.sleep(1)
        later, _ = rss_mb(pid)
        return {
            "file": f"{len(data) / 1024:,.0f} kB",
            "upload": f"{after_upload - before:+.1f} MB",
            "thumbnail": f"{thumbnail.status_code}, {after_thumbnail - before:+.1f} MB",
            "1 s later": f"{later - before:+.1f} MB",
            "peak": f"{peak - peak_before:+.1f} MB",
        }

    return Case(name, run)


def import_case(times: int, member_bytes: int) -> Case:
    def run(client: httpx.Client, other: httpx.Client, pid: int, files: Path) -> dict[str, str]:
        task = client.post("/api/tasks", json={"title": "With a file"}).json()["id"]
        client.post(
            f"/api/tasks/{task}/attachments", files={"file": ("big.bin", b"x", "text/plain")}
        ).raise_for_status()
        export = client.get("/api/export", params={"with_files": "true"})
        export.raise_for_status()
        body = repeated_member_zip(export.content, times, member_bytes)
        stored, (before, peak_before) = stored_bytes(files), rss_mb(pid)
        answer = other.post(
            "/api/import",
            params={"source": "todo-api"},
            content=body,
            headers={"Content-Type": "application/zip"},
        )
        after, peak = rss_mb(pid)
        time.sleep(1)
        later, _ = rss_mb(pid)
        written = stored_bytes(files) - stored
        return {
            "file": f"{len(body) / 1024:,.0f} kB",
            "upload": f"{answer.status_code}, {after - before:+.1f} MB",
            "thumbnail": f"{written / MIB:,.0f} MiB written",
            "1 s later": f"{later - before:+.1f} MB",
            "peak": f"{peak - peak_before:+.1f} MB",
        }

    return Case(f"zip: one {member_bytes // MIB} MiB member named {times} times", run)


def measure(case: Case, base: dict[str, str], cwd: Path, warm_png: bytes) -> dict[str, str]:
    port = free_port()
    files = cwd / f"files-{port}"
    env = {**base, "ATTACHMENT_STORAGE": f"file://{files}"}
    with running_server("bounded", serve_argv(port), env, cwd, port) as server:
        clients = [
            httpx.Client(
                base_url=server.url,
                headers={"Authorization": f"Bearer {token_for(str(uuid.uuid4()), env, cwd)}"},
                timeout=TIMEOUT,
            )
            for _ in range(2)
        ]
        with clients[0] as client, clients[1] as other:
            task = client.post("/api/tasks", json={"title": "Warm"}).json()["id"]
            warm = client.post(
                f"/api/tasks/{task}/attachments", files={"file": ("w.png", warm_png, "image/png")}
            )
            warm.raise_for_status()
            client.get(f"/api/attachments/{warm.json()['id']}/thumbnail").raise_for_status()
            other.post(
                "/api/import",
                params={"source": "todo-api"},
                content=client.get("/api/export", params={"with_files": "true"}).content,
                headers={"Content-Type": "application/zip"},
            ).raise_for_status()
            figures = case.run(client, other, server.process.pid, files)
    log(f"{case.name}: {figures}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--times", type=int, default=32, help="the zip's member named n times")
    args = parser.parse_args()
    print(machine_summary())
    print(source_summary())
    warm = io.BytesIO()
    Image.new("RGB", (640, 480), (10, 20, 30)).save(warm, "PNG")
    log("making the pictures")
    cases = [
        picture("JPEG 40 MP (noise)", noise_jpeg(MP40), "jpeg"),
        picture("PNG 40 MP (one colour)", flat_png(MP40), "png"),
        picture("JPEG 25 MP (noise)", noise_jpeg(MP25), "jpeg"),
        picture("PNG 25 MP (one colour)", flat_png(MP25), "png"),
        picture("PNG 20000 x 20000 (one bit)", png_of(20_000, 20_000), "png"),
        import_case(args.times, 25 * MIB - 1024),
    ]
    rows = []
    with work_dir() as cwd, scratch_database("bench_bounded") as database:
        base = service_env(database, new_secret(), ATTACHMENT_MAX_BYTES=str(60 * MIB))
        migrate(base, cwd)
        for case in cases:
            rows.append((case.name, measure(case, base, cwd, warm.getvalue())))
    print(
        "\n| case | file | RSS after upload (zip: status) | thumbnail: status, RSS "
        "(zip: bytes written) | RSS 1 s later | peak (VmHWM) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, f in rows:
        print(
            f"| {name} | {f['file']} | {f['upload']} | {f['thumbnail']} | {f['1 s later']} "
            f"| {f['peak']} |"
        )


if __name__ == "__main__":
    main()
