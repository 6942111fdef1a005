"""Browser tests: Debian's Chromium driven by Playwright for Python, against a twin.

* Chromium is the Debian package at /usr/bin/chromium (`make system-deps` installs it; CI
  runs that). `playwright install` is never needed: the browser is launched through
  `executable_path`. A missing Chromium fails the run (it is not skipped).
* The pages are served by the twin's gateway at its SITE_URL (http://localhost:<port>),
  the origin the API's 303s and CORS settings name: rendered on request from the API by
  infra/site's templates (infra/local/pages.py), and the files of web/.
  test_static_site.py serves the generator's output from a plain file server instead.
* Every test here is marked `browser`. Screenshots go to tests/browser/screenshots/
  (git-ignored); with UPDATE_DOCS_SCREENSHOTS=1 the key screens are also written to
  docs/screenshots/ for the README.
* The `twin` fixture is the integration suite's (tests/integration/conftest.py): a twin
  started for the session, or the one at CONVENE_TWIN_URL.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.integration.conftest import twin  # noqa: F401 - the session's twin, shared
from tests.integration.twin import Twin

HERE = Path(__file__).resolve().parent
CHROMIUM = Path(os.environ.get("CONVENE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1000, "height": 800}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: run `make system-deps` (Debian's "
            "chromium package), or set CONVENE_CHROMIUM to a Chromium binary.",
            pytrace=False,
        )
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    chromium = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )
    yield chromium
    chromium.close()


@pytest.fixture(scope="session")
def site(twin: Twin) -> str:  # noqa: F811 - the fixture imported above
    """Where the pages are: the twin's SITE_URL (the API's 303s and CORS name it)."""
    return str(twin.config.get("site_url") or twin.base_url).rstrip("/")


class Pages:
    """Opens browser contexts on the site and checks that no page threw."""

    def __init__(self, browser: Browser, site: str) -> None:
        self.browser, self.site = browser, site
        self.contexts: list[BrowserContext] = []
        self.errors: list[str] = []

    def context(self, *, javascript: bool = True, **kw: Any) -> BrowserContext:
        context = self.browser.new_context(
            base_url=self.site, viewport=VIEWPORT, java_script_enabled=javascript, **kw
        )
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        return context

    def new(self, path: str = "/", *, javascript: bool = True) -> Page:
        page = self.context(javascript=javascript).new_page()
        self.watch(page)
        if path:
            page.goto(path)
        return page

    def watch(self, page: Page) -> Page:
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(browser: Browser, site: str) -> Iterator[Pages]:
    opened = Pages(browser, site)
    yield opened
    opened.close()
    assert not opened.errors, "a page threw: " + "; ".join(opened.errors)


@pytest.fixture
def page(pages: Pages) -> Page:
    """A JavaScript-on page in its own context, not yet navigated."""
    return pages.new("")
