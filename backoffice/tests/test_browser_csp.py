"""Under the Content-Security-Policy, the public site, the API docs and the Wagtail admin still work in
headless Chromium: no violation is reported on any page, and nothing is loaded from another origin."""

import pytest

from backoffice.testing.browser import chromium_page, log_in_to_admin, screenshot
from backoffice.tests.factories import PASSWORD, UserFactory
from catalog.tests.factories import AppFactory, ProductFactory
from growth.tests.factories import CampaignFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile || ""}:${e.lineNumber}`);
});
"""

PUBLIC_PAGES = ["/", "/apps/", "/leaderboard/", "/accounts/login/", "/accounts/signup/", "/api/docs/"]
MEMBER_PAGES = ["/me/referrals/", "/discounts/", "/me/points/"]
ADMIN_PAGES = [
    "/admin/",
    "/admin/campaigns/new/",  # Wagtail's date/time pickers
    "/admin/campaigns/edit/{campaign.pk}/",
    "/admin/apps/edit/{app.pk}/",  # the image preview widget
    "/admin/products/",
    "/admin/business-reports/",  # Chart.js
    "/admin/moderation/",
    "/admin/users/",
    "/admin/users/edit/{member.pk}/",
    "/admin/groups/",
    "/admin/account/",
]


def visit(page, url):
    page.goto(url)
    page.wait_for_load_state("networkidle")
    return page.evaluate("window.__cspViolations")


def check_pages(page, base, paths, objects, name):
    foreign = []
    page.on("request", lambda request: foreign.append(request.url) if not request.url.startswith(base) else None)
    page.add_init_script(RECORD_VIOLATIONS)
    violations = {}
    for path in paths:
        url = base + path.format(**objects)
        found = visit(page, url)
        if found:
            violations[url] = found
    screenshot(page, f"csp-{name}")
    assert violations == {}
    assert [url for url in foreign if not url.startswith(("data:", "blob:"))] == []


@pytest.fixture
def objects():
    return {"app": AppFactory(), "campaign": CampaignFactory(), "member": UserFactory(), "product": ProductFactory()}


def test_the_public_site_and_api_docs_render_without_csp_violations(live_server, objects):
    with chromium_page() as page:
        check_pages(page, live_server.url, PUBLIC_PAGES, objects, "public")
        assert "swagger-ui" in page.content()
        page.goto(live_server.url + "/api/docs/")
        page.wait_for_selector(".swagger-ui .info", timeout=15_000)


def test_member_pages_render_without_csp_violations(live_server, objects):
    member = UserFactory(verified=True)
    with chromium_page() as page:
        page.goto(live_server.url + "/accounts/login/")
        page.fill("input[name=username]", member.email)
        page.fill("input[name=password]", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(live_server.url + "/")
        check_pages(page, live_server.url, MEMBER_PAGES, objects, "member")


def test_the_wagtail_admin_renders_without_csp_violations(live_server, objects):
    superuser = UserFactory(is_staff=True, is_superuser=True)
    with chromium_page() as page:
        log_in_to_admin(page, live_server.url, superuser.email, PASSWORD)
        check_pages(page, live_server.url, ADMIN_PAGES, objects, "admin")
        page.goto(live_server.url + "/admin/")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("typeof window.wagtail") == "object"  # Wagtail's admin scripts ran


def test_every_response_carries_the_policy(client):
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert "object-src 'none'" in policy and "frame-ancestors 'self'" in policy
