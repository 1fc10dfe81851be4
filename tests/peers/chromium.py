"""Chromium for the browser tests: Debian's package, driven by Playwright's async API.

Playwright's own browser downloads are not used (`playwright install` needs the internet);
the tests drive `/usr/bin/chromium` (`apt-get install -y chromium`) with the flags a headless
run on a server needs, and a fresh profile directory per test, so nothing carries over between
tests (cookies, cache, storage).

Only the async API: pytest-playwright's sync fixtures run their own event loop and break every
asyncio test that runs after them in the same process.

A missing Chromium (or Playwright) skips the test with the install hint, unless
`HUB_REQUIRE_PEERS=1` (CI), where a missing peer must fail rather than pass silently.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import NoReturn

import pytest
from playwright.async_api import BrowserContext, ViewportSize, async_playwright

INSTALL_HINT = (
    "Chromium not installed: apt-get install -y chromium "
    "(the tests drive Debian's Chromium; do not run `playwright install`)"
)
CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}


def missing_peer(reason: str) -> NoReturn:
    """Skip the test for a missing peer, or fail it where peers are required (CI)."""
    if os.environ.get("HUB_REQUIRE_PEERS") == "1":
        pytest.fail(f"required peer missing: {reason}", pytrace=False)
    pytest.skip(reason)


def chromium_binary() -> str:
    """`HUB_CHROMIUM`, else Debian's chromium; `missing_peer` with the hint if there is none."""
    configured = os.environ.get("HUB_CHROMIUM")
    candidates = (configured,) if configured else (shutil.which("chromium"), *CANDIDATES)
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    missing_peer(INSTALL_HINT)


@asynccontextmanager
async def chromium(directory: Path) -> AsyncIterator[BrowserContext]:
    """A headless Chromium with a fresh profile in `directory`; closed on exit."""
    binary = chromium_binary()
    profile = directory / "chromium-profile"
    profile.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=binary,
            headless=True,
            args=list(ARGS),
            viewport=VIEWPORT,
        )
        try:
            yield context
        finally:
            await context.close()
