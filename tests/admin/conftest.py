"""A live admin on 127.0.0.1, and Debian's Chromium driven by Playwright.

Chromium starts headless with a fresh profile and with every background
service that would reach beyond this machine turned off; the only address it
is sent to is the live server's.
"""

import os
import re
from pathlib import Path

import pytest
from pytest_django.live_server_helper import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"


@pytest.fixture(scope="session")
def live_server():
    """pytest-django's live server, bound to 127.0.0.1 rather than "localhost"."""
    server = LiveServer("127.0.0.1")
    yield server
    server.stop()


@pytest.fixture
def page(transactional_db, live_server, tmp_path, monkeypatch):
    """A browser tab in a fresh profile; Chromium stops after the test."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; .ci/run installs it")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread while it is
    # started, and Django refuses ORM calls from a thread with a running
    # loop. The test itself runs no async code, and the loop is gone before
    # the database is flushed.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path / "chromium-profile",
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1600, "height": 900},
        )
        context.set_default_timeout(15_000)
        tab = context.pages[0] if context.pages else context.new_page()
        yield tab
        context.close()


@pytest.fixture
def screenshot(page, request):
    """Save the page as test-results/screenshots/<test>-<step>.png; return the path."""
    test_name = re.sub(r"[^\w.-]+", "_", request.node.name)

    def take(step: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{test_name}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")
        return path

    return take


@pytest.fixture
def sign_in(page, live_server):
    """Sign in through the admin's own login form."""

    def submit(username: str, password: str) -> None:
        page.goto(f"{live_server.url}/admin/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("input[type=submit]")
        page.wait_for_load_state()

    return submit
