"""A real browser for tests: Debian's chromium, its headless shell (no browser UI to start),
with a profile of the test's own and nothing that reaches beyond 127.0.0.1 (no sync, updates or
background requests). A test module that needs it calls `require_chromium()` first: skipped
when it is not installed, unless CI=true (scripts/setup-ci.sh installs it there)."""

import asyncio
import contextlib
import os
import shutil
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium-headless-shell")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--mute-audio",
]
# A virtual authenticator (DevTools' WebAuthn domain) as a laptop's: built in, holding passkeys,
# the person verified and present whenever asked.
VIRTUAL_AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


def require_chromium() -> None:
    """Skip the calling test module when chromium is missing (but not in CI)."""
    if CHROMIUM is None and os.environ.get("CI") != "true":
        pytest.skip("chromium is not installed (sh scripts/setup-ci.sh)", allow_module_level=True)


@contextlib.asynccontextmanager
async def chromium(profile: Path, *arguments: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """Headless chromium with `arguments` (a URL to show, more flags), stopped (its whole
    process group) afterwards."""
    assert CHROMIUM is not None, "chromium is required in CI (sh scripts/setup-ci.sh)"
    browser = await asyncio.create_subprocess_exec(
        CHROMIUM,
        *FLAGS,
        f"--user-data-dir={profile}",
        *arguments,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield browser
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(browser.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(browser.wait(), 5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(browser.pid, signal.SIGKILL)
            await browser.wait()
