"""A 25 MiB attachment up and down: the server's memory and the throughput, in a folder and in
S3 (moto's server mode on 127.0.0.1), beside a plain copy of the same file on the same disk.

    .venv/bin/python bench/attachments.py                 # 3 rounds, 25 MiB
    .venv/bin/python bench/attachments.py --rounds 5 --mib 25

The contract's budget: a 25 MiB upload raises the server's memory by less than 5 MB. This
script creates a PostgreSQL database with a random name on 127.0.0.1, starts moto's S3 server
on a free port, and for each storage starts `todo-api serve --workers 1` (the default
settings, ATTACHMENT_STORAGE set), warms it with a small upload and download, then per round
uploads a file of --mib MiB (multipart, streamed from the disk by httpx) and downloads it,
reading the server's VmRSS (the process and its children) before and after each and its VmHWM
(the peak). The plain copy is `shutil.copyfile` of the same file, the lower bound of what any
upload to the same disk costs. The database is dropped at the end, also on failure.
"""

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
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
    token_for,
    work_dir,
)

MIB = 1024 * 1024


def moto(cwd: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    program = Path(sys.executable).parent / "moto_server"
    with (cwd / "moto.log").open("wb") as out:
        process = subprocess.Popen(
            [str(program), "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(url + "/moto-api/", timeout=1)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("moto_server did not start")


def make_file(path: Path, mib: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for _ in range(mib):
            block = os.urandom(MIB)
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def measure(
    name: str, env: dict[str, str], cwd: Path, source: Path, sha: str, rounds: int
) -> dict[str, list[float]]:
    port = free_port()
    figures: dict[str, list[float]] = {
        k: [] for k in ("up_s", "down_s", "up_mb", "down_mb", "peak_mb")
    }
    with running_server(name, serve_argv(port), env, cwd, port) as server:
        token = token_for(str(uuid.uuid4()), env, cwd)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=300) as client:
            task = client.post("/api/tasks", json={"title": "Files"}).json()["id"]
            warm = client.post(
                f"/api/tasks/{task}/attachments", files={"file": ("w.txt", b"warm", "text/plain")}
            )
            warm.raise_for_status()
            client.get(warm.json()["url"]).raise_for_status()
            for n in range(rounds):
                before, peak_before = rss_mb(server.process.pid)
                started = time.perf_counter()
                with source.open("rb") as body:
                    made = client.post(
                        f"/api/tasks/{task}/attachments",
                        files={"file": ("big.bin", body, "application/octet-stream")},
                    )
                up = time.perf_counter() - started
                made.raise_for_status()
                assert made.json()["sha256"] == sha
                after_up, _ = rss_mb(server.process.pid)
                started = time.perf_counter()
                digest = hashlib.sha256()
                with client.stream("GET", made.json()["url"]) as answer:
                    answer.raise_for_status()
                    for chunk in answer.iter_bytes():
                        digest.update(chunk)
                down = time.perf_counter() - started
                assert digest.hexdigest() == sha
                after_down, peak_down = rss_mb(server.process.pid)
                figures["up_s"].append(up)
                figures["down_s"].append(down)
                figures["up_mb"].append(after_up - before)
                figures["down_mb"].append(after_down - after_up)
                figures["peak_mb"].append(peak_down - peak_before)
                log(
                    f"{name} round {n + 1}: up {up:.2f} s (+{after_up - before:.1f} MB), "
                    f"down {down:.2f} s (+{after_down - after_up:.1f} MB), "
                    f"peak +{peak_down - peak_before:.1f} MB"
                )
                client.delete(f"/api/attachments/{made.json()['id']}").raise_for_status()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mib", type=int, default=25)
    args = parser.parse_args()
    print(machine_summary())
    with work_dir() as cwd, scratch_database("bench_files") as database:
        source = cwd / "source.bin"
        sha = make_file(source, args.mib)
        copies = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            shutil.copyfile(source, cwd / "copy.bin")
            os.sync()
            copies.append(time.perf_counter() - started)
        moto_process, endpoint = moto(cwd)
        try:
            boto3.client(
                "s3",
                endpoint_url=endpoint,
                region_name="us-east-1",
                aws_access_key_id="bench",
                aws_secret_access_key="bench",  # noqa: S106 (moto's, any will do)
            ).create_bucket(Bucket="bench")
            secret = new_secret()
            base = service_env(database, secret, ATTACHMENT_MAX_BYTES=str((args.mib + 1) * MIB))
            migrate(base, cwd)
            runs = {
                "folder": measure(
                    "folder",
                    {**base, "ATTACHMENT_STORAGE": f"file://{cwd}/files"},
                    cwd,
                    source,
                    sha,
                    args.rounds,
                ),
                "s3 (moto)": measure(
                    "s3",
                    {
                        **base,
                        "ATTACHMENT_STORAGE": "s3://bench/files",
                        "S3_ENDPOINT_URL": endpoint,
                        "S3_REGION": "us-east-1",
                        "S3_ACCESS_KEY_ID": "bench",
                        "S3_SECRET_ACCESS_KEY": "bench",
                    },
                    cwd,
                    source,
                    sha,
                    args.rounds,
                ),
            }
        finally:
            moto_process.terminate()
            moto_process.wait(timeout=10)
    size = args.mib
    copy = statistics.median(copies)
    print(f"\nplain copy of {size} MiB (copyfile + sync): {copy:.3f} s, {size / copy:.0f} MiB/s")
    print(
        "\n| storage | upload MiB/s | download MiB/s | RSS after upload | RSS after download "
        "| peak (VmHWM) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, f in runs.items():
        up, down = statistics.median(f["up_s"]), statistics.median(f["down_s"])
        print(
            f"| {name} | {size / up:.0f} | {size / down:.0f} | {max(f['up_mb']):+.1f} MB | "
            f"{max(f['down_mb']):+.1f} MB | {max(f['peak_mb']):+.1f} MB |"
        )


if __name__ == "__main__":
    main()
