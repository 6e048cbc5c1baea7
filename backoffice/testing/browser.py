"""Headless Chromium for end-to-end tests: Debian's chromium driven by Playwright."""

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from django.urls import reverse

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"


def chromium_path():
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def chromium_page():
    """A fresh browser page; the test is skipped, loudly, only when no Chromium is installed."""
    executable = chromium_path()
    if not executable:
        pytest.skip("BROWSER TESTS SKIPPED: no chromium on PATH (make test installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright runs an event loop in this thread; the test's own ORM calls are still synchronous.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            try:
                page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
                page.set_default_timeout(15_000)
                yield page
            finally:
                browser.close()
                # ORM calls made while Playwright's loop runs get a connection of their own; close it here, where
                # it is reachable, or it outlives the test and blocks dropping the test database.
                connections.close_all()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def screenshot(page, name):
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def _submit_login_form(page, login_url, email, password, *, button):
    """Fill a Django login form (username = the email) at `login_url` and press its `button`."""
    page.goto(login_url)
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click(button)


def log_in_to_admin(page, live_server_url, email, password):
    _submit_login_form(page, f"{live_server_url}/admin/login/", email, password, button="button[type=submit]")
    page.wait_for_url(f"{live_server_url}/admin/")


def upload_product_file(page, live_server_url, path):
    """On the admin's product upload page, send the file at `path` (what follows, a preview or progress, is the
    test's to check)."""
    page.goto(f"{live_server_url}{reverse('product_uploads:add')}")
    page.set_input_files("input[type=file]", str(path))
    page.click("[data-upload-submit]")


# --- every main screen at both widths: screenshot, overflow, broken images, accessibility ----------------------

WIDTHS = [(1440, 900), (390, 844)]  # desktop, phone
AXE_SCRIPT = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")

_WAIT_FOR_IMAGES = """async () => {
    window.scrollTo(0, document.documentElement.scrollHeight);
    await Promise.all([...document.images].map((img) => img.complete ? null : new Promise((done) => {
        img.addEventListener("load", done); img.addEventListener("error", done); setTimeout(done, 3000);
    })));
    window.scrollTo(0, 0);
}"""
_LAYOUT_PROBLEMS = """() => ({
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    widest: [...document.querySelectorAll("body *")]
        .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
        .slice(0, 3).map((el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + "." + el.className),
    broken: [...document.images].filter((img) => !(img.complete && img.naturalWidth > 0)).map((img) => img.src),
})"""
_AXE_RUN = """async () => {
    const results = await axe.run(document, {resultTypes: ["violations"]});
    return results.violations.filter((v) => ["serious", "critical"].includes(v.impact)).map((v) => ({
        id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
    }));
}"""


def check_accessibility(page):
    """axe-core's serious and critical violations on the current page (vendored, test-only copy of axe)."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, not as a <script> tag: the page's Content-Security-Policy
        # (no inline scripts) rightly refuses injected tags, and the audit must not need the policy loosened.
        page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8") + "\n;window.axe = axe;")
    return page.evaluate(_AXE_RUN)


def check_screen(page, url, name, problems, *, axe=True):
    """Open `url` at desktop and phone widths: screenshot each into test-artifacts/ as `<name>-<width>.png` and
    add to `problems` any horizontal overflow, broken image or serious accessibility violation found."""
    for width, height in WIDTHS:
        page.set_viewport_size({"width": width, "height": height})
        page.goto(url)
        page.wait_for_load_state("networkidle")
        page.evaluate(_WAIT_FOR_IMAGES)
        found = page.evaluate(_LAYOUT_PROBLEMS)
        screenshot(page, f"{name}-{width}")
        where = f"{name} at {width}px ({page.url})"
        if found["overflow"] > 0:
            problems.append(f"{where}: {found['overflow']}px horizontal overflow, e.g. {found['widest']}")
        if found["broken"]:
            problems.append(f"{where}: broken images {found['broken']}")
        if axe:
            problems.extend(
                f"{where}: axe {v['impact']} {v['id']} ({v['help']}) at {v['nodes']}" for v in check_accessibility(page)
            )
    return page


def log_in_to_site(page, live_server_url, email, password):
    _submit_login_form(page, f"{live_server_url}/accounts/login/", email, password, button="main button[type=submit]")
    page.wait_for_load_state("networkidle")
