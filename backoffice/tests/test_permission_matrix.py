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
from landing.models import FaqEntry, Footer, Review
from moderation.tests.factories import ScreenshotProofFactory

ANON, MEMBER, MODERATOR, MARKETER, ADMIN = "anonymous", "member", "moderator", "marketer", "admin"
ROLES = (ANON, MEMBER, MODERATOR, MARKETER, ADMIN)
NOBODY = frozenset()
EVERYONE = frozenset(ROLES)
SIGNED_IN = frozenset({MEMBER, MODERATOR, MARKETER, ADMIN})
STAFF = frozenset({MODERATOR, MARKETER, ADMIN})
LANDING_EDITORS = frozenset({MARKETER, ADMIN})
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
    own(r"^discounts/<int:pk>/redeem/$", NOBODY, None, "GET confirms, POST redeems (tested in growth)"),
    own(r"^apps/<slug:slug>/buy/confirm/$", NOBODY, None, "POST only (tested in commerce)"),
    own(r"^apps/<slug:slug>/buy/$", SIGNED_IN, "/apps/{app.slug}/buy/"),
    own(r"^plans/$", EVERYONE, "/plans/"),
    own(r"^plans/<int:pk>/subscribe/$", NOBODY, None, "POST only (tested in commerce)"),
    # Uploaded files: public media for everyone; private files for their owner and staff who may see them
    own(r"^\^media/", EVERYONE, "/media/{app.image.name}"),
    own(r"^private-media/", {MODERATOR, ADMIN}, "/private-media/{proof.image.name}"),  # owner: test_media.py
    # API
    own(r"^api/schema/$", EVERYONE, "/api/schema/"),
    own(r"^api/docs/$", EVERYONE, "/api/docs/"),
    own(r"^api/\^apps", EVERYONE, "/api/apps/"),
    own(r"^api/campaigns/available/$", SIGNED_IN, "/api/campaigns/available/?cart_total=10"),
    own(r"^api/campaigns/<int:pk>/redeem/$", NOBODY, None, "POST only (tested in growth)"),
    # The marketers' campaign API: reading needs view_campaign (Marketers and Admins), writing the CRUD permissions
    own(r"^api/\^campaigns/\$$", {MARKETER, ADMIN}, "/api/campaigns/"),
    own(r"^api/\^campaigns/\(", {MARKETER, ADMIN}, "/api/campaigns/{campaign.pk}/"),
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
    # Back-office: store operations (admins)
    own(r"^admin/price-monitoring/$", {ADMIN}, "/admin/price-monitoring/"),
    own(r"^admin/price-monitoring/accept/$", NOBODY, None, "POST only (tested in stores)"),
    own(r"^admin/orders/<int:pk>/status/$", NOBODY, None, "POST only (tested in stores)"),
    own(r"^admin/marketplace_accounts/<int:pk>/rotate/$", NOBODY, None, "POST only (tested in stores)"),
    own(r"^admin/stores_product_chooser/", {ADMIN}, "/admin/stores_product_chooser/"),
    own(
        r"^admin/(sales_points|stock|clients|orders|competitor_shops|competitor_listings|repricing_rules"
        r"|repricing_decisions|marketplace_accounts)/",
        {ADMIN},
        "/admin/repricing_rules/",
    ),
    own(r"^admin/alerts/", STAFF, "/admin/alerts/preferences/"),
    own(r"^staff/alerts/stream/$", NOBODY, None, "a live event stream (tested in stores)"),
    own(r"^marketplace/price-list/", NOBODY, None, "needs the store's secret token (tested in stores)"),
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
    # Back-office: landing content (marketers write it, admins may too; moderators never)
    own(r"^admin/snippets/landing/review/edit/", {MARKETER, ADMIN}, "/admin/snippets/landing/review/edit/{review.pk}/"),
    own(r"^admin/snippets/landing/review/add/", {MARKETER, ADMIN}, "/admin/snippets/landing/review/add/"),
    own(
        r"^admin/snippets/landing/review/history/",
        {MARKETER, ADMIN},
        "/admin/snippets/landing/review/history/{review.pk}/",
    ),
    own(
        r"^admin/snippets/landing/faqentry/edit/", {MARKETER, ADMIN}, "/admin/snippets/landing/faqentry/edit/{faq.pk}/"
    ),
    own(r"^admin/snippets/landing/faqentry/reorder/", NOBODY, None, "POST only (tested in landing)"),
    own(r"^admin/snippets/landing/faqentry/", {MARKETER, ADMIN}, "/admin/snippets/landing/faqentry/"),
    own(r"^admin/snippets/landing/", {MARKETER, ADMIN}, "/admin/snippets/landing/review/"),
    own(r"^admin/settings/<slug:app_name>/<slug:model_name>/$", NOBODY, None, "redirects to the setting's edit page"),
    own(r"^admin/settings/", {MARKETER, ADMIN}, "/admin/settings/landing/footer/{footer.pk}/"),
    # Back-office: integrations (admins manage data API clients)
    own(r"^admin/integrations/clients/<int:pk>/revoke/$", {ADMIN}, "/admin/integrations/clients/{client.pk}/revoke/"),
    own(r"^admin/integration_clients/(edit|delete|copy)/", NOBODY, "/admin/integration_clients/edit/{client.pk}/"),
    own(r"^admin/integration_clients/", {ADMIN}, "/admin/integration_clients/"),
    own(r"^admin/integrations/deliveries/<int:pk>/replay/$", NOBODY, None, "POST only (tested in integrations)"),
    own(r"^admin/webhook_deliveries/(new|edit|delete|copy)/", NOBODY, "/admin/webhook_deliveries/new/"),
    own(r"^admin/(webhook_endpoints|webhook_deliveries)/", {ADMIN}, "/admin/webhook_endpoints/"),
    own(r"^admin/webhook_deliveries/", {ADMIN}, "/admin/webhook_deliveries/"),
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
    own(r"^admin/deliveries/(new|edit|delete|copy)/", NOBODY, "/admin/deliveries/new/"),
    own(r"^admin/deliveries/", {ADMIN}, "/admin/deliveries/"),
    # Back-office: people
    own(r"^admin/users/(new|edit|delete)/", {ADMIN}, "/admin/users/edit/{member.pk}/"),
    own(r"^admin/users/", {MODERATOR, ADMIN}, "/admin/users/"),  # moderators look users up, read-only
    own(r"^admin/groups/", NOBODY, "/admin/groups/"),  # superusers only: see test_privilege_* below
    # Back-office: Wagtail's shell, open to every staff role
    own(r"^admin/$", STAFF, "/admin/"),
    own(r"^admin/account/$", STAFF, "/admin/account/"),
    own(r"^admin/login/$", EVERYONE, None, "redirects signed-in staff; covered by the browser smoke test"),
    own(r"^admin/logout/$", NOBODY, None, "POST only"),
    own(r"^admin/password_reset/", EVERYONE, None, "Wagtail's reset, switched off (WAGTAIL_PASSWORD_RESET_ENABLED)"),
    own(r"^admin/(jsi18n|sprite)/$", EVERYONE, None, "static assets for the admin"),
    wagtail_internal(r"^admin/(pages|choose-|workflows|images|documents|collections|snippets|reports/|bulk/|api/)"),
    wagtail_internal(r"^admin/(tag-autocomplete|editing-sessions|dismissibles|block-preview|test404|failwhale)"),
    wagtail_internal(r"^admin/\^\.\*/\$$"),
    # Django admin fallback: superusers only (backoffice.privilege), so every staff role is turned away
    own(r"^django-admin/", NOBODY, "/django-admin/"),
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
        "review": Review.objects.create(name="Anna", text="Great", rating=5),
        "faq": FaqEntry.objects.create(question="How?", answer="Like this.", sort_order=1),
        "footer": Footer.load(),
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


# Privilege: only a superuser changes who holds power (backoffice.privilege), in both admins.

PRIVILEGE_URLS = [
    # (path, what it does): GET as an Admin is denied, as a superuser allowed
    ("/admin/groups/", "list role groups"),
    ("/admin/groups/new/", "create a role group"),
    ("/admin/groups/edit/{admins.pk}/", "edit a role group's permissions"),
    ("/admin/groups/delete/{admins.pk}/", "delete a role group"),
    ("/admin/users/edit/{other_superuser.pk}/", "edit a superuser"),
    ("/admin/users/delete/{other_superuser.pk}/", "delete a superuser"),
    ("/django-admin/", "the Django admin"),
    ("/django-admin/backoffice/user/{other_superuser.pk}/change/", "edit a superuser in the Django admin"),
    ("/django-admin/backoffice/user/{colleague.pk}/password/", "set another staff account's password"),
    ("/django-admin/backoffice/user/{member.pk}/change/", "edit a member in the Django admin"),
    ("/django-admin/auth/group/", "list role groups in the Django admin"),
    ("/django-admin/auth/group/{admins.pk}/change/", "edit a role group in the Django admin"),
]


@pytest.fixture
def people(db):
    from django.contrib.auth.models import Group

    return {
        "superuser": UserFactory(is_staff=True, is_superuser=True),
        "other_superuser": UserFactory(is_staff=True, is_superuser=True),
        "admin": StaffFactory(role=ADMINS),
        "colleague": StaffFactory(role=MODERATORS),
        "member": UserFactory(verified=True),
        "admins": Group.objects.get(name=ADMINS),
    }


@pytest.mark.parametrize("path, what", PRIVILEGE_URLS)
def test_privilege_urls_are_for_superusers_only(client, people, path, what):
    path = path.format(**people)
    client.force_login(people["admin"])
    assert outcome(client.get(path)) == "denied", f"an Admin can {what}"
    client.force_login(people["superuser"])
    assert outcome(client.get(path)) == "allowed", f"a superuser cannot {what}"


def wagtail_user_form(user, **changes):
    data = {
        "email": user.email,
        "first_name": user.first_name or "A",
        "last_name": user.last_name or "B",
        "phone": user.phone or "",
        "is_active": "on",
        "groups": [group.pk for group in user.groups.all()],
        "password1": "",
        "password2": "",
    }
    data.update(changes)
    return data


def test_an_admin_cannot_make_themselves_or_a_member_superuser_in_wagtail(client, people):
    admin, member = people["admin"], people["member"]
    client.force_login(admin)
    client.post(f"/admin/users/edit/{admin.pk}/", wagtail_user_form(admin, is_superuser="on"))
    client.post(f"/admin/users/edit/{member.pk}/", wagtail_user_form(member, is_superuser="on"))
    form = wagtail_user_form(member, email="new-boss@example.test", is_superuser="on")
    form.update(password1="Another-long-pass-42", password2="Another-long-pass-42")
    client.post("/admin/users/new/", form)
    admin.refresh_from_db()
    member.refresh_from_db()
    assert not admin.is_superuser and not member.is_superuser
    User = type(member)
    assert not User.objects.filter(email="new-boss@example.test", is_superuser=True).exists()


def test_an_admin_cannot_change_another_staff_accounts_email_or_password_in_wagtail(client, people):
    colleague = people["colleague"]
    client.force_login(people["admin"])
    password = "Another-long-pass-42"
    form = wagtail_user_form(colleague, email="taken-over@example.test", password1=password, password2=password)
    client.post(f"/admin/users/edit/{colleague.pk}/", form)
    colleague.refresh_from_db()
    assert colleague.email != "taken-over@example.test"
    assert not colleague.check_password(password)


def test_an_admin_still_edits_a_members_email_and_a_superuser_anyones(client, people):
    member, colleague = people["member"], people["colleague"]
    client.force_login(people["admin"])
    client.post(f"/admin/users/edit/{member.pk}/", wagtail_user_form(member, email="renamed@example.test"))
    member.refresh_from_db()
    assert member.email == "renamed@example.test"
    client.force_login(people["superuser"])
    client.post(f"/admin/users/edit/{colleague.pk}/", wagtail_user_form(colleague, email="moved@example.test"))
    colleague.refresh_from_db()
    assert colleague.email == "moved@example.test"


def test_an_admin_cannot_edit_a_superuser_or_change_role_groups(client, people):
    from django.contrib.auth.models import Permission

    superuser, admins = people["superuser"], people["admins"]
    client.force_login(people["admin"])
    assert client.post(f"/admin/users/edit/{superuser.pk}/", wagtail_user_form(superuser, email="x@example.test"))
    change_campaign = Permission.objects.get(codename="change_campaign")
    response = client.post(f"/admin/groups/edit/{admins.pk}/", {"name": ADMINS, "permissions": [change_campaign.pk]})
    assert outcome(response) == "denied"
    superuser.refresh_from_db()
    assert superuser.email != "x@example.test"
    assert not admins.permissions.filter(codename="change_campaign").exists()
    assert not admins.permissions.filter(content_type__app_label="auth", codename__endswith="_group").exists()


def test_an_admin_cannot_deactivate_a_superuser_in_bulk(client, people):
    superuser = people["superuser"]
    client.force_login(people["admin"])
    url = f"/admin/bulk/backoffice/user/set_active/?id={superuser.pk}"
    response = client.post(url, {"mark_as_active": "False"})
    assert outcome(response) == "denied"
    superuser.refresh_from_db()
    assert superuser.is_active


def test_in_the_django_admin_no_staff_role_changes_anything(client, people):
    admin, colleague = people["admin"], people["colleague"]
    client.force_login(admin)
    client.post(
        f"/django-admin/backoffice/user/{admin.pk}/change/",
        {"email": admin.email, "is_active": "on", "is_staff": "on", "is_superuser": "on"},
    )
    client.post(
        f"/django-admin/backoffice/user/{colleague.pk}/password/",
        {"password1": "Another-long-pass-42", "password2": "Another-long-pass-42"},
    )
    admin.refresh_from_db()
    colleague.refresh_from_db()
    assert not admin.is_superuser and not colleague.check_password("Another-long-pass-42")


def test_a_moderator_posting_the_taggit_merge_view_is_turned_away_and_creates_no_tag(client, people):
    from taggit.models import Tag

    client.force_login(StaffFactory(role=MODERATORS))
    response = client.post("/django-admin/taggit/tag/merge-tags/", {"new_tag_name": "merged"})
    assert outcome(response) == "denied"
    assert not Tag.objects.filter(name="merged").exists()


def test_the_django_admin_user_form_applies_the_same_policy_under_the_site_gate(people, rf):
    from django.contrib import admin as django_admin

    from backoffice.admin import UserAdmin

    admin_user = people["admin"]
    request = rf.get("/")
    request.user = admin_user
    model_admin = UserAdmin(type(admin_user), django_admin.site)
    assert not model_admin.has_change_permission(request, people["superuser"])
    form = model_admin.get_form(request, admin_user)(instance=admin_user)
    assert form.fields["is_superuser"].disabled
