"""Debian's Chromium through Playwright, one browser per test module, for
the console's browser tests: launched headless with what this closed
network needs, skipped where Chromium or Playwright is missing, except in
CI, where a missing browser fails the run."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    # Without these Chromium keeps trying to reach Google's services, and
    # this network is closed.
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def unavailable(why: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{why}; CI must run the browser tests", pytrace=False)
    pytest.skip(why)


def launched_browser() -> Iterator[Any]:
    """A module fixture's body: ``yield from launched_browser()``."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[test]')")
    executable = os.environ.get("SEALBOX_CHROMIUM") or shutil.which("chromium")
    if executable is None:
        unavailable("Debian's chromium is not installed (bash scripts/install-test-deps.sh)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
