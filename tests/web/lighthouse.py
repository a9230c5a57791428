"""Lighthouse 12.2.3 (npm, pinned by bench/lighthouse/package-lock.json, installed once per
machine into bench/lighthouse/node_modules, which git ignores) on a page of a Chromium the
caller started with a DevTools port: its cookies, service worker and caches are the caller's
(`--disable-storage-reset`), so the page is read signed in, as a person with the app installed
reads it. Its default: a phone, simulated throttling. Used by tests/web/test_lighthouse_browser.py
and bench/web_page.py."""

import asyncio
import fcntl
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

DIRECTORY = Path(__file__).resolve().parents[2] / "bench" / "lighthouse"
BINARY = DIRECTORY / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices")
TIMINGS = (
    "first-contentful-paint",
    "largest-contentful-paint",
    "total-blocking-time",
    "speed-index",
    "cumulative-layout-shift",
)


def install() -> str | None:
    """Install it once (one process at a time); None, or why it cannot be."""
    if shutil.which("npm") is None:
        return "npm is not installed"
    with (DIRECTORY / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not BINARY.exists():
            done = subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund"],
                cwd=DIRECTORY,
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
            if done.returncode != 0:
                return f"npm could not install Lighthouse: {done.stderr[-2000:]}"
    return None


async def scores(url: str, port: int, report: Path) -> dict[str, Any]:
    """Lighthouse's category scores (0 to 100) for `url` in the Chromium of DevTools `port`,
    its timings (`displayValue`s) and, under `failing`, each audit of accessibility and best
    practices that counts and did not pass, with a few of the things it found. The whole
    report is left in `report`."""
    await asyncio.to_thread(
        subprocess.run,
        [
            str(BINARY),
            url,
            "--quiet",
            "--output=json",
            f"--output-path={report}",
            f"--port={port}",
            "--disable-storage-reset",  # the sign-in's cookies, the worker and its caches
            f"--only-categories={','.join(CATEGORIES)}",
        ],
        check=True,
        timeout=300,
    )
    found = json.loads(await asyncio.to_thread(report.read_text))
    audits = found["audits"]
    result: dict[str, Any] = {
        key: round(100 * found["categories"][key]["score"]) for key in CATEGORIES
    }
    for timing in TIMINGS:
        result[timing] = audits[timing]["displayValue"]
    result["failing"] = {
        ref["id"]: [
            json.dumps(item)[:300]
            for item in audits[ref["id"]].get("details", {}).get("items", [])[:3]
        ]
        for key in ("accessibility", "best-practices")
        for ref in found["categories"][key]["auditRefs"]
        if ref["weight"] and (audits[ref["id"]]["score"] or 0) < 1
    }
    return result


def _items(audit: dict[str, Any]) -> list[Any]:
    items: list[Any] = audit.get("details", {}).get("items", [])
    return items
