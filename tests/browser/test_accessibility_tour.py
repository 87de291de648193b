"""Every page of every role's menu, checked by axe-core like the journeys' pages (tests/browser/conftest.py).

The journeys walk the procedures' pages; this tour adds the pages a person reaches from the menu without
a procedure at hand: the public pages, lists, billing, messages, profiles, the studio and the admin pages.
Each is screenshotted (tour-…) and must pass WCAG 2.1 A/AA with no serious or critical violation.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

from tests.browser.test_site_review_journey import log_in

ACCOUNTS = ("unit1", "bianban", "conac", "zhongxin", "policy", "admin", "secadmin", "auditor")


def visit(page: Page, path: str, shot: Any, name: str) -> None:
    response = page.goto(path)
    assert response is not None and response.ok, (path, response and response.status)
    shot(page, name)


def test_every_menu_page_of_every_role_passes_axe(new_page: Any, shot: Any) -> None:
    visitor = new_page()
    for number, path in enumerate(("/", "/login", "/register")):
        visit(visitor, path, shot, f"tour-public-{number}")

    for username in ACCOUNTS:
        page = new_page()
        log_in(page, username)
        shot(page, f"tour-{username}-home")
        menu = page.locator("#mainnav a[href]").evaluate_all("links => links.map(link => link.getAttribute('href'))")
        for number, path in enumerate(dict.fromkeys(menu)):
            visit(page, path, shot, f"tour-{username}-{number:02d}")
