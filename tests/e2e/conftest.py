"""Browser tests: Playwright for Python driving Debian's Chromium (never a downloaded one)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from psa.devtools.services import chromium_path

SCREENSHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"

# The flags the machine's notes give for a closed network: no background connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        pytest.fail("Debian's chromium is required for the browser tests: apt-get install chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(15_000)
    # The pages need nothing the Content-Security-Policy refuses (psa.kernel.csp): a refused
    # script, style or handler is a console error, and fails the test that met it.
    refused: list[str] = []
    page.on(
        "console",
        lambda msg: (
            refused.append(f"{page.url}: {msg.text}")
            if "Content Security Policy" in msg.text
            else None
        ),
    )
    yield page
    context.close()
    assert refused == [], refused


@pytest.fixture
def screenshot(request):
    """Save a full-page screenshot under artifacts/screenshots/ (git-ignored)."""

    def take(page, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
