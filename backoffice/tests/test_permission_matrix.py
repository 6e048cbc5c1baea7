"""Every URL × every role: who gets in and who is turned away.

The routes come from the URL conf itself, so a new URL without a rule here fails `test_every_url_has_a_rule`.
Rules are tried in order; the first whose pattern matches a route owns it.
"""

import re
from dataclasses import dataclass

import pytest
from django.urls import URLResolver, get_resolver
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from backoffice.roles import ADMINS, MARKETERS, MODERATORS
from backoffice.tests.factories import StaffFactory, UserFactory
from catalog.tests.factories import AppFactory, CategoryFactory, ProductFactory
from commerce.models import Purchase
from growth.tests.factories import CampaignFactory
from integrations.clients import create_client
from moderation.tests.factories import ScreenshotProofFactory

ANON, MEMBER, MODERATOR, MARKETER, ADMIN = "anonymous", "member", "moderator", "marketer", "admin"
ROLES = (ANON, MEMBER, MODERATOR, MARKETER, ADMIN)
NOBODY = frozenset()
EVERYONE = frozenset(ROLES)
SIGNED_IN = frozenset({MEMBER, MODERATOR, MARKETER, ADMIN})
STAFF = frozenset({MODERATOR, MARKETER, ADMIN})
STAFF_ROLE = {MODERATOR: MODERATORS, MARKETER: MARKETERS, ADMIN: ADMINS}


@dataclass(frozen=True)
class Rule:
    route: str  # regex over the route as the URL conf spells it
    allowed: frozenset  # roles that get a 200
    sample: str | None = None  # a concrete path to GET, formatted with the objects fixture
    why_not_requested: str = ""  # when there is no sample: why (POST-only, Wagtail internals...)
    staff_unchecked: bool = False  # Wagtail's own screens: only check that outsiders are kept out
    redirected: frozenset = frozenset()  # roles sent elsewhere because they have no use for the page


def own(route, allowed, sample=None, why="", redirected=()):
    return Rule(route, frozenset(allowed), sample, why, redirected=frozenset(redirected))


def wagtail_internal(route, sample=None):
    """Wagtail's built-in screens: gated by its own permissions; anonymous users and members must never get in."""
    return Rule(route, NOBODY, sample, "Wagtail built-in, gated by its own permissions", staff_unchecked=True)


RULES = [
    # Public site
    own(r"^$", EVERYONE, "/"),
    own(r"^accounts/login/$", EVERYONE, "/accounts/login/"),
    own(r"^accounts/signup/$", {ANON}, "/accounts/signup/", redirected=SIGNED_IN),
    own(r"^accounts/phone/$", STAFF, "/accounts/phone/", redirected={MEMBER}),  # members here are verified
    own(r"^accounts/logout/$", NOBODY, None, "POST only"),
    own(r"^accounts/password_reset/$", EVERYONE, "/accounts/password_reset/"),
    own(r"^accounts/password_reset/done/$", EVERYONE, "/accounts/password_reset/done/"),
    own(r"^accounts/reset/", EVERYONE, None, "needs a token from an email"),
    own(r"^accounts/password_change/", SIGNED_IN, "/accounts/password_change/"),
    own(r"^r/<str:code>/$", NOBODY, None, "redirects everyone to the sign-up form (tested in growth)"),
    own(r"^apps/$", EVERYONE, "/apps/"),
    own(r"^apps/<slug:slug>/$", EVERYONE, "/apps/{app.slug}/"),
    own(r"^apps/<slug:slug>/(downloaded|proof)/$", NOBODY, None, "POST only (tested in growth)"),
    own(r"^me/proofs/<int:pk>/$", NOBODY, "/me/proofs/{proof.pk}/"),  # someone else's proof: 404 for all
    own(r"^me/", SIGNED_IN, "/me/points/"),
    own(r"^leaderboard/$", EVERYONE, "/leaderboard/"),
    own(r"^discounts/$", SIGNED_IN, "/discounts/"),
    own(r"^discounts/<int:pk>/redeem/$", NOBODY, None, "POST only (tested in growth)"),
    own(r"^apps/<slug:slug>/buy/confirm/$", NOBODY, None, "POST only (tested in commerce)"),
    own(r"^apps/<slug:slug>/buy/$", SIGNED_IN, "/apps/{app.slug}/buy/"),
    own(r"^plans/$", EVERYONE, "/plans/"),
    own(r"^plans/<int:pk>/subscribe/$", NOBODY, None, "POST only (tested in commerce)"),
    # API
    own(r"^api/schema/$", EVERYONE, "/api/schema/"),
    own(r"^api/docs/$", EVERYONE, "/api/docs/"),
    own(r"^api/\^apps", EVERYONE, "/api/apps/"),
    own(r"^api/campaigns/available/$", SIGNED_IN, "/api/campaigns/available/?cart_total=10"),
    own(r"^api/campaigns/<int:pk>/redeem/$", NOBODY, None, "POST only (tested in growth)"),
    own(r"^api/reports/", {MARKETER, ADMIN}, "/api/reports/summary/"),
    own(r"^api/apps/<slug:slug>/purchase/$", NOBODY, None, "POST only (tested in commerce)"),
    own(r"^api/v1/", NOBODY, "/api/v1/apps/"),  # OAuth2 client tokens only, never a session (tested in integrations)
    own(r"^oauth/(token|revoke_token)/$", NOBODY, None, "POST only, client credentials (tested in integrations)"),
    # Back-office: catalog (admins)
    own(r"^admin/apps/edit/", {ADMIN}, "/admin/apps/edit/{app.pk}/"),
    own(r"^admin/apps/", {ADMIN}, "/admin/apps/"),
    own(r"^admin/categories/edit/", {ADMIN}, "/admin/categories/edit/{category.pk}/"),
    own(r"^admin/categories/", {ADMIN}, "/admin/categories/"),
    own(r"^admin/products/edit/", {ADMIN}, "/admin/products/edit/{product.pk}/"),
    own(r"^admin/products/", {ADMIN}, "/admin/products/"),
    own(r"^admin/stores/", {ADMIN}, "/admin/stores/"),
    own(r"^admin/competitors/", {ADMIN}, "/admin/competitors/"),
    own(r"^admin/product_uploads/new/", {ADMIN}, "/admin/product_uploads/new/"),
    own(r"^admin/product_uploads/", {ADMIN}, "/admin/product_uploads/"),
    # Back-office: growth (marketers edit campaigns; admins watch)
    own(r"^admin/campaigns/(new|edit)/", {MARKETER}, "/admin/campaigns/edit/{campaign.pk}/"),
    own(r"^admin/campaigns/", {MARKETER, ADMIN}, "/admin/campaigns/"),
    own(r"^admin/(referrals|redemptions)/(new|edit|delete|copy)/", NOBODY, "/admin/referrals/new/"),
    own(r"^admin/referrals/", {MARKETER, ADMIN}, "/admin/referrals/"),
    own(r"^admin/redemptions/", {MARKETER, ADMIN}, "/admin/redemptions/"),
    # Back-office: commerce (admins refund; marketers edit plans)
    own(r"^admin/commerce/purchases/<int:pk>/refund/$", {ADMIN}, "/admin/commerce/purchases/{purchase.pk}/refund/"),
    own(r"^admin/(purchases|subscriptions)/(new|edit|delete|copy)/", NOBODY, "/admin/purchases/new/"),
    own(r"^admin/(purchases|subscriptions)/", {MARKETER, ADMIN}, "/admin/purchases/"),
    own(r"^admin/subscriptions/", {MARKETER, ADMIN}, "/admin/subscriptions/"),
    own(r"^admin/plans/(new|edit|delete|copy)/", {MARKETER}, "/admin/plans/new/"),
    own(r"^admin/plans/", {MARKETER, ADMIN}, "/admin/plans/"),
    # Back-office: integrations (admins manage data API clients)
    own(r"^admin/integrations/clients/<int:pk>/revoke/$", {ADMIN}, "/admin/integrations/clients/{client.pk}/revoke/"),
    own(r"^admin/integration_clients/(edit|delete|copy)/", NOBODY, "/admin/integration_clients/edit/{client.pk}/"),
    own(r"^admin/integration_clients/", {ADMIN}, "/admin/integration_clients/"),
    # Back-office: moderation
    own(r"^admin/moderation/proofs/<int:pk>/invalidate/$", NOBODY, None, "POST only (tested in moderation)"),
    own(r"^admin/moderation/(<int:pk>/|bulk/)", NOBODY, None, "POST only (tested in moderation)"),
    own(r"^admin/moderation/invalidations/$", {ADMIN}, "/admin/moderation/invalidations/"),
    own(r"^admin/moderation/proofs/<int:pk>/$", {MODERATOR, ADMIN}, "/admin/moderation/proofs/{proof.pk}/"),
    own(r"^admin/moderation/users/<int:pk>/$", {MODERATOR, ADMIN}, "/admin/moderation/users/{member.pk}/"),
    own(r"^admin/moderation/downloads/$", {MODERATOR, ADMIN}, "/admin/moderation/downloads/?app={app.pk}"),
    own(r"^admin/moderation/(proofs/)?$", {MODERATOR, ADMIN}, "/admin/moderation/"),
    # Back-office: reporting and schedules
    own(r"^admin/business-reports/", {MARKETER, ADMIN}, "/admin/business-reports/"),
    own(r"^admin/periodic_tasks/edit/", {ADMIN}, "/admin/periodic_tasks/edit/{periodic_task.pk}/"),
    own(r"^admin/(periodic_tasks|crontab_schedules|interval_schedules)/", {ADMIN}, "/admin/periodic_tasks/"),
    own(r"^admin/crontab_schedules/", {ADMIN}, "/admin/crontab_schedules/"),
    own(r"^admin/(task_runs|daily_list)/(new|edit)/", NOBODY, "/admin/task_runs/new/"),
    own(r"^admin/(task_runs|daily_list)/", {ADMIN}, "/admin/task_runs/"),
    # Back-office: people
    own(r"^admin/users/(new|edit|delete)/", {ADMIN}, "/admin/users/edit/{member.pk}/"),
    own(r"^admin/users/", {MODERATOR, ADMIN}, "/admin/users/"),  # moderators look users up, read-only
    own(r"^admin/groups/", {ADMIN}, "/admin/groups/"),
    # Back-office: Wagtail's shell, open to every staff role
    own(r"^admin/$", STAFF, "/admin/"),
    own(r"^admin/account/$", STAFF, "/admin/account/"),
    own(r"^admin/login/$", EVERYONE, None, "redirects signed-in staff; covered by the browser smoke test"),
    own(r"^admin/logout/$", NOBODY, None, "POST only"),
    own(r"^admin/password_reset/", EVERYONE, None, "Wagtail's own password reset flow"),
    own(r"^admin/(jsi18n|sprite)/$", EVERYONE, None, "static assets for the admin"),
    wagtail_internal(r"^admin/(pages|choose-|workflows|images|documents|collections|snippets|reports/|bulk/|api/)"),
    wagtail_internal(r"^admin/(tag-autocomplete|editing-sessions|dismissibles|block-preview|test404|failwhale)"),
    wagtail_internal(r"^admin/\^\.\*/\$$"),
    # Django admin fallback: staff only, Django's own model permissions inside
    Rule(r"^django-admin/", NOBODY, "/django-admin/", "Django admin fallback", staff_unchecked=True),
]


def iter_routes(patterns=None, prefix=""):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from iter_routes(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern)


def rule_for(route):
    return next((rule for rule in RULES if re.search(rule.route, route)), None)


def test_every_url_has_a_rule():
    uncovered = sorted({route for route in iter_routes() if rule_for(route) is None})
    assert uncovered == [], "add these URLs to RULES in test_permission_matrix.py:\n" + "\n".join(uncovered)


def test_every_rule_still_matches_a_url():
    routes = list(iter_routes())
    stale = [rule.route for rule in RULES if not any(re.search(rule.route, route) for route in routes)]
    assert stale == []


@pytest.fixture
def objects(db):
    category = CategoryFactory()
    purchase = Purchase.objects.create(
        member=UserFactory(), app=AppFactory(), price_paid=0, idempotency_key="matrix", request_hash="-"
    )
    client, _ = create_client(name="matrix", scopes=["apps:read"], created_by=None)
    return {
        "client": client,
        "purchase": purchase,
        "app": AppFactory(category=category),
        "category": category,
        "product": ProductFactory(),
        "proof": ScreenshotProofFactory(),
        "member": UserFactory(verified=True),
        "campaign": CampaignFactory(),
        "periodic_task": PeriodicTask.objects.order_by("pk").first()
        or PeriodicTask.objects.create(
            name="matrix",
            task="reporting.tasks.rollup_daily",
            interval=IntervalSchedule.objects.create(every=1, period="days"),
        ),
    }


def sign_in(client, role):
    if role == ANON:
        return None
    user = UserFactory(verified=True) if role == MEMBER else StaffFactory(role=STAFF_ROLE[role])
    client.force_login(user)
    return user


def outcome(response):
    """'allowed' for a 200; 'denied' for a 401, 403, 404 or a redirect to a login page or the admin home;
    'redirected' for any other redirect."""
    if response.status_code == 200:
        return "allowed"
    location = response.headers.get("Location", "")
    if response.status_code in {401, 403, 404} or (
        response.status_code == 302 and ("login" in location or location.rstrip("/").endswith("/admin"))
    ):
        return "denied"
    if response.status_code == 302:
        return "redirected"
    return f"unexpected {response.status_code} {location}"


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_the_urls_it_should(client, objects, role):
    sign_in(client, role)
    mismatches = []
    for rule in RULES:
        if rule.sample is None or (rule.staff_unchecked and role in STAFF):
            continue
        path = rule.sample.format(**objects)
        expected = "allowed" if role in rule.allowed else "redirected" if role in rule.redirected else "denied"
        got = outcome(client.get(path))
        if got != expected:
            mismatches.append(f"{path}: expected {expected}, got {got}")
    assert mismatches == [], f"{role}:\n" + "\n".join(mismatches)


def test_rules_without_a_sample_say_why():
    assert [rule.route for rule in RULES if rule.sample is None and not rule.why_not_requested] == []
