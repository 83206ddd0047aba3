"""Headless Chromium (Debian's, driven by Playwright) against the live server, recording every request the pages
make so that each test can prove that none left 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from mlcloudkg.api import KnowledgeGraph
from mlcloudkg.config import Settings

from ..conftest import PROJECT, LiveServer

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = PROJECT / "test-artifacts"
# Flags for a quiet, reproducible browser: no GPU, no QUIC, and none of Chromium's own background traffic.
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


@dataclass
class Browsing:
    """A page of the site, with every request it made and every script error it had."""

    page: Page
    base: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(self, path: str) -> Page:
        self.page.goto(self.base + path)
        return self.page

    def foreign_requests(self) -> list[str]:
        """Requests to anything but this server (blob: and data: URLs are made by the page itself)."""
        local = (self.base + "/", f"blob:{self.base}/", "data:")
        return [url for url in self.requests if not url.startswith(local)]

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=path, full_page=True)
        return path


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get install chromium)")
    if not (PROJECT / "node_modules" / "@zazuko" / "yasgui").is_dir():
        pytest.fail("node_modules is missing: `make install` installs the web UI's libraries (npm ci)")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """One browser for the session; Playwright gives it a fresh, temporary profile (--user-data-dir)."""
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
    yield launched
    launched.close()


@pytest.fixture(scope="session")
def site(settings: Settings, kg: KnowledgeGraph) -> Iterator[LiveServer]:
    """The server the pages are browsed on, with the default query time limit. The session's `server` stops queries
    after 3 s to test time limits quickly, which a page's first query can exceed while the other test worker builds."""
    live = LiveServer(settings, "--workers", "1", "--evaluators", "2")
    yield live
    live.stop()


@pytest.fixture
def browsing(browser: Browser, site: LiveServer) -> Iterator[Browsing]:
    """A new page in a new context (empty storage: YASGUI starts afresh); after the test, no request may have
    left this server and no script may have failed."""
    # Reduced motion: the query page then scrolls to the editor at once, not smoothly. On a busy machine a smooth
    # scroll can stall between Playwright finding the Run button still and clicking it, and the click misses
    # (test_result_links_lead_to_resource_pages_and_their_explanations failed so, sending no query at all).
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, accept_downloads=True, reduced_motion="reduce"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    session = Browsing(page, site.url)
    page.on("request", lambda request: session.requests.append(request.url))
    page.on("pageerror", lambda error: session.errors.append(str(error)))
    yield session
    context.close()
    assert session.requests, "the test made no request at all"
    assert session.foreign_requests() == [], "requests left 127.0.0.1"
    assert session.errors == [], "scripts failed on the page"
