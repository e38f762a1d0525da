"""Browser tests wait for what a click does before they read it.

Playwright's ``click()`` returns once the click is dispatched, not when the page
it opens has loaded. A test that reads the page straight after clicking a link
reads whichever page is there at that instant: usually the new one, now and then
the old one. ``test_the_lead_unit_names_the_case_mediators_on_the_case_page``
failed in CI that way. This guard reads the browser tests' source and asks
- every link click for ``page.wait_for_url(...)`` as the next statement, or a
  ``with page.expect_navigation()`` / ``expect_download()`` / ``expect_popup()``
  block around it;
- every click for something other than a database read (``db.session``) as the
  next statement, unless such a block is around it: the server may not have
  written yet.
``tests/browser.py`` (``guard_url_waits``) holds the runtime half: a
``wait_for_url`` that could only return at once fails.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.browser import UrlWaitThatCannotWait, url_matches

TESTS = Path(__file__).resolve().parent
WAITING_BLOCKS = {"expect_navigation", "expect_download", "expect_popup"}
WAITING_CALLS = {"wait_for_url"}


def _calls(node: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(node) if isinstance(n, ast.Call)]


def _method(call: ast.Call) -> str | None:
    return call.func.attr if isinstance(call.func, ast.Attribute) else None


def _is_click(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and _method(stmt.value) == "click"


def _is_link_click(stmt: ast.stmt) -> bool:
    """``….get_by_role("link", …)….click()``."""
    return _is_click(stmt) and any(
        _method(call) == "get_by_role" and call.args and getattr(call.args[0], "value", None) == "link"
        for call in _calls(stmt.value.func)
    )


def _reads_database(stmt: ast.stmt | None) -> bool:
    """``db.session…``: what the test reads straight from the database, not from the page."""
    return stmt is not None and any(
        isinstance(n, ast.Attribute)
        and n.attr == "session"
        and isinstance(n.value, ast.Name)
        and n.value.id == "db"
        for n in ast.walk(stmt)
    )


def _waits(stmt: ast.stmt | None) -> bool:
    return stmt is not None and any(_method(c) in WAITING_CALLS for c in _calls(stmt))


def _in_waiting_block(with_stmt: ast.With) -> bool:
    return any(_method(c) in WAITING_BLOCKS for item in with_stmt.items for c in _calls(item.context_expr))


def unwaited_clicks(source: str, filename: str = "<test>") -> list[str]:
    """``file:line`` of every click that nothing waits for before the test reads on."""
    found: list[str] = []

    def visit(body: list[ast.stmt], guarded: bool) -> None:
        for i, stmt in enumerate(body):
            following = body[i + 1] if i + 1 < len(body) else None
            if not guarded and (
                (_is_link_click(stmt) and not _waits(following))
                or (_is_click(stmt) and _reads_database(following))
            ):
                found.append(f"{filename}:{stmt.lineno}")
            inner_guard = guarded or (isinstance(stmt, ast.With) and _in_waiting_block(stmt))
            for field in ("body", "orelse", "finalbody"):
                block = getattr(stmt, field, None)
                if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                    visit(block, inner_guard)
            for handler in getattr(stmt, "handlers", []):
                visit(handler.body, inner_guard)

    visit(ast.parse(source).body, False)
    return found


def test_every_click_in_the_browser_tests_is_waited_for():
    files = sorted(TESTS.glob("test_e2e*.py")) + [TESTS / "browser.py"]
    assert len(files) > 10
    found = [hit for f in files for hit in unwaited_clicks(f.read_text(encoding="utf-8"), f.name)]
    assert found == [], (
        "wait for what the click does (page.wait_for_url, expect_navigation) before reading on"
    )


def test_the_guard_catches_the_race_it_is_for():
    racy = """
def test_x(page):
    page.get_by_test_id("m").get_by_role("link", name="欧阳·晓红").click()
    assert page.get_by_test_id("cases").locator("tbody tr").count() == 1
"""
    assert unwaited_clicks(racy) == ["<test>:3"]
    waited = racy.replace("    assert", "    page.wait_for_url('**/mediators/2')\n    assert")
    assert unwaited_clicks(waited) == []
    in_block = """
def test_x(page):
    with page.expect_navigation():
        page.get_by_role("link", name="返回").click()
    assert page.url
"""
    assert unwaited_clicks(in_block) == []
    button = racy.replace('get_by_role("link"', 'get_by_role("button"')
    assert unwaited_clicks(button) == []
    straight_to_the_database = """
def test_x(page):
    page.get_by_role("button", name="获取验证码").click()
    db.session.expire_all()
"""
    assert unwaited_clicks(straight_to_the_database) == ["<test>:3"]


def test_url_patterns_match_as_playwright_matches_them():
    url = "http://127.0.0.1:5000/mediators/?untrained=1"
    assert url_matches("**untrained=1**", url) and url_matches("**/mediators/*", url)
    assert not url_matches("**/disputes/**", url) and not url_matches("*/mediators/*", url)
    assert url_matches(re.compile(r"/mediators/"), url) and not url_matches(re.compile(r"/mediators/$"), url)
    assert url_matches(lambda u: "untrained" in u, url)


def test_a_wait_for_the_url_the_page_is_already_at_fails(live_server, page):
    """A form that posts and comes back to the same URL: wait_for_url would wait for nothing."""
    page.goto(live_server.url_for("/login"))
    page.get_by_label("用户名").fill("nobody")
    page.get_by_label("密码").fill("wrong-password")
    page.get_by_role("button", name="登录").click()
    with pytest.raises(UrlWaitThatCannotWait, match="expect_navigation"):
        page.wait_for_url("**/login")
    page.get_by_label("密码").fill("wrong-password")  # the form comes back without it
    with page.expect_navigation(url="**/login"):  # the way that waits
        page.get_by_role("button", name="登录").click()
    assert page.get_by_role("alert").count() + page.locator(".flash, .field-error").count() >= 1
