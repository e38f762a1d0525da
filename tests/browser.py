"""Live server and headless Chromium for end-to-end tests (imported by tests/conftest.py).

Fixtures:
- ``live_server``: the test ``app`` served on a free localhost port in a thread; ``.url`` is the
  base URL, ``live_server.url_for("/disputes/")`` joins a path.
- ``browser``: one headless Chromium (the Debian /usr/bin/chromium) per test session.
- ``page``: a fresh browser context and page per test (1280×800), bound to the live server;
  ``new_page(width=375, height=800)`` opens another one with a different viewport.

Helpers: ``login(page, live_server, username)`` signs in through the form.

Waiting: ``page.wait_for_url(P)`` returns at once when the page is already at a URL matching P.
After a click that posts a form and comes back to the same page, it waits for nothing, and the test
reads the old page. ``guard_url_waits`` makes every such wait fail the test with the fix in the
message: ``with page.expect_navigation(url=P):`` around the click. (tests/test_e2e_waits.py holds
the other half: a link click that nothing waits for at all.)

Database: the server thread has its own sessions. Like the test client (tests/conftest.py,
IsolatedClient), the test's own session commits whenever the browser sends a request to the live
server: the server sees what the test wrote, no lock or stale read snapshot of the test thread is
held while the server works, and the test's next query sees what the server committed.
"""

from __future__ import annotations

import re
import threading

import pytest
from werkzeug.serving import make_server

from mediation.extensions import db

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMEOUT_MS = 15_000


class LiveServer:
    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="live-server", daemon=True)

    def url_for(self, path: str) -> str:
        return self.url + (path if path.startswith("/") else "/" + path)

    def start(self):
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def release_db() -> None:
    """End the test thread's transaction, keeping what it wrote."""
    session = db.session()
    if session.in_transaction():
        session.commit()


@pytest.fixture
def live_server(app):
    # Whatever the fixtures built must be committed before the server thread can see it.
    db.session.commit()
    server = LiveServer(app)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        release_db()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


def url_matches(pattern, url: str) -> bool:
    """Playwright's URL matching for wait_for_url: a regular expression, a glob or a predicate."""
    if isinstance(pattern, re.Pattern):
        return pattern.search(url) is not None
    if callable(pattern):
        return bool(pattern(url))
    parts = re.split(r"(\*\*|\*)", pattern)
    regex = "".join({"**": ".*", "*": "[^/]*"}.get(part, re.escape(part)) for part in parts)
    return re.fullmatch(regex, url) is not None


class UrlWaitThatCannotWait(AssertionError):
    pass


def guard_url_waits(monkeypatch) -> None:
    """Fail a wait_for_url whose pattern already matched the page's URL when the last click began."""
    from playwright.sync_api import Locator, Page

    before_click: dict[int, str] = {}
    click, wait_for_url = Locator.click, Page.wait_for_url

    def recording_click(self, *args, **kwargs):
        before_click[id(self.page)] = self.page.url
        return click(self, *args, **kwargs)

    def checked_wait_for_url(self, url, *args, **kwargs):
        previous = before_click.get(id(self))
        if previous is not None and url_matches(url, previous):
            raise UrlWaitThatCannotWait(
                f"wait_for_url({getattr(url, 'pattern', url)!r}) returns at once: the page was at {previous} "
                "before the click. Put `with page.expect_navigation(url=...):` around the click."
            )
        return wait_for_url(self, url, *args, **kwargs)

    monkeypatch.setattr(Locator, "click", recording_click)
    monkeypatch.setattr(Page, "wait_for_url", checked_wait_for_url)


@pytest.fixture
def new_page(browser, live_server, monkeypatch):
    """Factory: new_page(width=375, height=800) → a page in its own context."""
    guard_url_waits(monkeypatch)
    contexts = []
    session = db.session()  # the test thread's session object (no app-context lookup in callbacks)

    def _release(request):
        if request.url.startswith(live_server.url) and session.in_transaction():
            session.commit()

    def make(width: int = 1280, height: int = 800, **kwargs):
        kwargs.setdefault("locale", "zh-CN")
        context = browser.new_context(
            viewport={"width": width, "height": height}, timezone_id="Asia/Shanghai", **kwargs
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        pg = context.new_page()
        pg.on("request", _release)
        return pg

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


def login(pg, server: LiveServer, username: str, password: str = "password123") -> None:
    pg.goto(server.url_for("/login"))
    pg.get_by_label("用户名").fill(username)
    pg.get_by_label("密码").fill(password)
    with pg.expect_navigation():
        pg.get_by_role("button", name="登录").click()
    assert "/login" not in pg.url, f"login as {username} failed"


def shot(pg, name: str, full_page: bool = True) -> str:
    """Save a screenshot to /tmp/<name>.png (for looking at the pages; tests don't compare images)."""
    path = f"/tmp/{name}.png"
    pg.screenshot(path=path, full_page=full_page)
    return path


__all__ = ["browser", "live_server", "login", "new_page", "page", "release_db", "shot"]
