"""Headless Chromium (Debian's package) driven by Playwright, for the dashboard tests.

The browser is the system one (``/usr/bin/chromium``; ``make test`` installs it), run with
a fresh profile and no background traffic. A test that needs it fails, never skips, when
it cannot start.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch(playwright, profile: Path):
    """A persistent context on a fresh profile directory (--user-data-dir)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: run `make test` (it installs the Debian "
            "chromium package) or `apt-get install chromium`"
        )
    try:
        return playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 1280, "height": 900},
        )
    except Exception as exc:  # noqa: BLE001 - any launch failure fails the test
        pytest.fail(f"Chromium could not start: {exc}")


@dataclass
class PageWatch:
    """Console errors, page errors and requests that left the site, for one page."""

    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)


def watch(page, allowed_prefixes: tuple[str, ...]) -> PageWatch:
    seen = PageWatch()
    page.on(
        "console", lambda m: seen.errors.append(m.text) if m.type in ("error", "assert") else None
    )
    page.on("pageerror", lambda e: seen.errors.append(f"page error: {e}"))

    def route(r):
        url = r.request.url
        if url.startswith(allowed_prefixes) or url.startswith("data:"):
            r.continue_()
        else:
            seen.outside.append(url)
            r.abort()

    page.route("**/*", route)
    return seen
