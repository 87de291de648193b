"""Browser tests: the real app served on 127.0.0.1, driven by Playwright in Debian's chromium.

The server runs in a thread of the test process on a fresh SQLite file with the regions,
the diagrams and the demo accounts. Screenshots go to tests/browser/screenshots/ (git-ignored).
Every screenshot also runs axe-core on the page (WCAG 2.1 A/AA, what GB/T 37668 holds government sites to).
"""

from __future__ import annotations

import functools
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_migrate import upgrade
from werkzeug.serving import make_server

from app import create_app
from app.engine import get_engine
from app.extensions import db
from app.services import demo, regions
from tests.second_factor_login import LIVE_APPS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"
MIGRATIONS = Path(__file__).resolve().parent.parent.parent / "migrations"
# Copied from node_modules by scripts/setup.sh; the pages never load it themselves.
AXE_SCRIPT = Path(__file__).resolve().parent.parent.parent / "app/static/vendor/axe-core/axe.min.js"
# The whole page, bpmn-js drawings included (they pass); details of the passing checks are not collected.
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
BLOCKING_IMPACTS = ("serious", "critical")


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'app.sqlite3'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "browser-tests"})
    with app.app_context():
        upgrade(directory=str(MIGRATIONS), revision="heads")
        regions.load(db.session)
        demo.seed(db.session)
        db.session.commit()
        get_engine().deploy_folder("browser-tests")
    LIVE_APPS.append(app)
    yield app


@pytest.fixture(scope="session")
def base_url(live_app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run scripts/setup.sh (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser: Any, base_url: str) -> Iterator[Any]:
    """A fresh browser context per user; close them all after the test.

    Every page is watched for script errors and Content-Security-Policy violations: a page whose
    script or style the policy blocked fails the test, so the policy and the pages stay in step.
    """
    contexts: list[Any] = []
    problems: list[str] = []

    def open_page() -> Any:
        context = browser.new_context(base_url=base_url, locale="zh-CN", viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda message: _watch(message, page, problems))
        page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert problems == []


def _watch(message: Any, page: Any, problems: list[str]) -> None:
    if message.type == "error" and "Content Security Policy" in message.text:
        problems.append(f"{page.url}: {message.text}")


def accessibility_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line per element.

    axe is evaluated through the DevTools protocol, which the page's Content-Security-Policy does not
    govern (a <script> tag with its text would be an inline script the policy blocks); once per loaded
    document: a later check of the same page (a dialog opened, an error shown) reuses it.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    results = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
    return [
        f"{page.url}: {violation['id']} ({violation['impact']}) {' '.join(map(str, node['target']))}: "
        f"{violation['help']}{_first_finding(node)}"
        for violation in results["violations"]
        if violation["impact"] in BLOCKING_IMPACTS
        for node in violation["nodes"]
    ]


@functools.cache
def _axe_source() -> str:
    if not AXE_SCRIPT.exists():
        pytest.fail("axe-core is not installed: run scripts/setup.sh (npm install copies it to app/static/vendor)")
    return AXE_SCRIPT.read_text(encoding="utf-8")


def _first_finding(node: dict[str, Any]) -> str:
    """axe's own words about the element, e.g. the contrast ratio and the two colours it measured."""
    checks = [*node.get("any", []), *node.get("all", []), *node.get("none", [])]
    return next((f" — {check['message']}" for check in checks if check.get("message")), "")


@pytest.fixture
def check_accessibility() -> Iterator[Any]:
    """Check a page with axe-core; the test fails at its end listing every serious or critical violation
    of every page checked, so one run names them all."""
    found: list[str] = []

    def check(page: Any) -> None:
        found.extend(accessibility_violations(page))

    yield check
    assert found == [], "axe-core found serious or critical violations:\n" + "\n".join(dict.fromkeys(found))


@pytest.fixture
def shot(check_accessibility: Any) -> Any:
    """Screenshot of the whole page, which is checked for accessibility at the same time."""
    SCREENSHOTS.mkdir(exist_ok=True)

    def take(page: Any, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        check_accessibility(page)
        return path

    return take
