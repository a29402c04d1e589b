"""Browser tests: Playwright driving Debian's Chromium (/usr/bin/chromium, installed by
`make test`) against Django's live server on localhost.

Every page is checked as a person would meet it: controls are found by their accessible names,
the Content-Security-Policy stays enforced (a violation is a console error, and console errors
fail the test), and no request may leave the site.
"""

import os
from urllib.parse import urlparse

import pytest

CHROMIUM = "/usr/bin/chromium"
# What TOOLING.md prescribes for this machine: no sandbox as root, and none of Chromium's own
# background traffic to Google (the network is closed; those would be failures, not tests).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage", "--no-first-run"]

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still
# synchronous code, which Django would otherwise refuse inside a running loop.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Visit:
    """One browser context: the pages it opens, the requests it made and the console errors."""

    def __init__(self, browser, base_url: str, **options):
        self.base_url = base_url
        self.context = browser.new_context(base_url=base_url, **options)
        self.context.set_default_timeout(10_000)
        self.requests: list[str] = []
        self.console_errors: list[str] = []
        self.context.on("request", lambda request: self.requests.append(request.url))
        self.context.on("response", self._check_subresource)
        self.page = self.context.new_page()
        self.page.on("console", self._check_console)
        self.page.on("pageerror", lambda error: self.console_errors.append(str(error)))

    def _check_console(self, message) -> None:
        # A page answered 400/404 on purpose (an invalid form, a missing activity) is logged as
        # "Failed to load resource"; failing style sheets, scripts and images are caught below.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.console_errors.append(message.text)

    def _check_subresource(self, response) -> None:
        if response.request.resource_type != "document" and response.status >= 400:
            self.console_errors.append(f"{response.status} for {response.url}")

    def foreign_requests(self) -> list[str]:
        own = urlparse(self.base_url).netloc
        return [url for url in self.requests if urlparse(url).scheme in {"http", "https"}
                and urlparse(url).netloc != own]

    def close(self) -> None:
        # Let every request the page started finish on the server before the test's database is
        # flushed: a request still running there would deadlock with the flush.
        for page in self.context.pages:
            try:
                page.wait_for_load_state("networkidle", timeout=5_000)
            except Exception:  # a page that never goes idle is closed anyway
                continue
        self.context.close()


@pytest.fixture
def visit(chromium, live_server):
    """A fresh browser (no cookies) on the live server; checks what must hold on every page."""
    opened = Visit(chromium, live_server.url, viewport={"width": 1280, "height": 900})
    yield opened
    foreign, errors = opened.foreign_requests(), list(opened.console_errors)
    opened.close()
    assert foreign == [], f"requests left the site: {foreign}"
    assert errors == [], f"console errors (a CSP violation is one): {errors}"


@pytest.fixture
def open_visit(chromium, live_server):
    """Factory of further contexts (other viewports, a bypassed CSP for axe)."""
    opened: list[Visit] = []

    def make(**options) -> Visit:
        opened.append(Visit(chromium, live_server.url, **options))
        return opened[-1]

    yield make
    for each in opened:
        each.close()
