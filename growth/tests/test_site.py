import re

import pytest
from django.core import mail
from django.urls import reverse

from backoffice.images import placeholder_png
from backoffice.models import Notification
from backoffice.tests.factories import PASSWORD, UserFactory
from catalog.tests.factories import AppFactory, CategoryFactory
from growth.models import Referral, ReferralVisit
from growth.sms import ConsoleSMSBackend
from growth.tests.factories import CampaignFactory
from moderation.ledger import post_entry
from moderation.models import Download, RewardEntry, ScreenshotProof
from moderation.tests.factories import DownloadFactory, ScreenshotProofFactory

pytestmark = pytest.mark.django_db

STRONG = "a-long-unusual-passphrase-42"


def signup_data(**overrides):
    return {
        "display_name": "Nova",
        "email": "new@example.test",
        "phone": "+1 555 000 0001",
        "password1": STRONG,
        "password2": STRONG,
        "referral_code": "",
        **overrides,
    }


def test_signing_up_logs_in_and_texts_a_code(client):
    response = client.post(reverse("signup"), signup_data())
    assert response.status_code == 302 and response["Location"] == reverse("verify-phone")
    assert ConsoleSMSBackend.outbox[-1]["to"] == "+15550000001"


def test_a_referral_link_records_a_visit_and_survives_into_the_signup_form(client):
    referrer = UserFactory()
    response = client.get(reverse("referral-link", args=[referrer.referral_code]), follow=True)
    assert ReferralVisit.objects.filter(referrer=referrer).count() == 1
    assert f'value="{referrer.referral_code}"' in response.content.decode()
    client.post(reverse("signup"), signup_data(referral_code=referrer.referral_code))
    assert Referral.objects.get().referrer == referrer


def test_an_unknown_referral_link_records_nothing(client):
    client.get(reverse("referral-link", args=["doesnotexist"]))
    assert not ReferralVisit.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"password1": "password", "password2": "password"}, "password1"),
        ({"password2": "something-else-entirely"}, "password2"),
        ({"phone": "12345"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"referral_code": "unknown-code"}, "referral_code"),
    ],
)
def test_bad_signup_input_is_refused_with_a_field_error(client, overrides, field):
    response = client.post(reverse("signup"), signup_data(**overrides))
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not UserFactory._meta.model.objects.filter(email="new@example.test").exists()


def test_a_duplicate_email_is_refused(client):
    UserFactory(email="new@example.test")
    response = client.post(reverse("signup"), signup_data())
    assert "could not create an account" in str(response.context["form"].errors)


def test_the_phone_page_verifies_with_the_texted_code(client):
    client.post(reverse("signup"), signup_data())
    code = re.search(r"\d{6}", ConsoleSMSBackend.outbox[-1]["body"]).group(0)
    response = client.post(reverse("verify-phone"), {"code": code})
    assert response.status_code == 302
    assert UserFactory._meta.model.objects.get(email="new@example.test").phone_verified


def test_login_is_locked_after_repeated_failures(client):
    user = UserFactory()
    for _ in range(5):
        client.post(reverse("login"), {"username": user.email, "password": "wrong"})
    response = client.post(reverse("login"), {"username": user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_correct_login_works(client):
    user = UserFactory()
    response = client.post(reverse("login"), {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_password_reset_sends_an_email(client):
    user = UserFactory()
    client.post(reverse("password_reset"), {"email": user.email})
    assert len(mail.outbox) == 1 and user.email in mail.outbox[0].to


def test_apps_are_filtered_by_category(client):
    games = CategoryFactory(name="Games")
    AppFactory(name="Chess", category=games)
    AppFactory(name="Notes")
    response = client.get(reverse("apps"), {"category": games.slug})
    assert [app.name for app in response.context["page"].object_list] == ["Chess"]


def test_marking_an_app_downloaded_then_uploading_a_proof(client):
    user, app = UserFactory(verified=True), AppFactory()
    client.force_login(user)
    client.post(reverse("mark-downloaded", args=[app.slug]))
    shot = placeholder_png("ok", size=(90, 160), name="shot.png")
    response = client.post(reverse("upload-proof", args=[app.slug]), {"image": shot})
    assert response.status_code == 302 and response["Location"] == reverse("my-proofs")
    assert ScreenshotProof.objects.get().download == Download.objects.get(user=user, app=app)


def test_a_non_image_upload_is_refused(client):
    user, app = UserFactory(verified=True), AppFactory()
    client.force_login(user)
    client.post(reverse("mark-downloaded", args=[app.slug]))
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.post(reverse("upload-proof", args=[app.slug]), {"image": SimpleUploadedFile("x.png", b"not an image")})
    assert not ScreenshotProof.objects.exists()


def test_an_unverified_user_cannot_upload_a_proof(client):
    user, app = UserFactory(), AppFactory()
    client.force_login(user)
    client.post(reverse("mark-downloaded", args=[app.slug]))
    client.post(reverse("upload-proof", args=[app.slug]), {"image": placeholder_png("ok", name="s.png")})
    assert not ScreenshotProof.objects.exists()


def test_a_user_never_sees_another_users_proof(client):
    proof = ScreenshotProofFactory()
    client.force_login(UserFactory())
    assert client.get(reverse("proof-detail", args=[proof.pk])).status_code == 404


def test_a_user_sees_their_own_proof_status(client):
    proof = ScreenshotProofFactory()
    client.force_login(proof.download.user)
    assert "Pending" in client.get(reverse("proof-detail", args=[proof.pk])).content.decode()


def test_the_proofs_list_queries_do_not_grow_with_proofs(client, django_assert_max_num_queries):
    user = UserFactory(verified=True)
    for _ in range(8):
        ScreenshotProofFactory(download__user=user)
    client.force_login(user)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("my-proofs"))
    assert len(response.context["page"].object_list) == 8


def test_the_points_page_lists_the_ledger(client):
    user = UserFactory()
    post_entry(user=user, amount=40, kind=RewardEntry.Kind.ADJUST, reason="welcome")
    client.force_login(user)
    response = client.get(reverse("my-points"))
    assert "welcome" in response.content.decode() and response.context["user"].points_balance == 40


def test_the_referrals_page_shows_the_link(client):
    user = UserFactory()
    client.force_login(user)
    assert f"/r/{user.referral_code}/" in client.get(reverse("my-referrals")).content.decode()


def test_the_leaderboard_shows_the_own_rank(client):
    from growth import referrals

    top = UserFactory(verified=True)
    for _ in range(2):
        referred = UserFactory(verified=True)
        referrals.credit_referral(referral=Referral.objects.create(referrer=top, referred=referred))
    client.force_login(top)
    response = client.get(reverse("leaderboard"))
    assert response.context["own"] == (1, 2)
    assert [row.referrals for row in response.context["board"]["rows"]] == [2]


def test_notifications_are_listed_for_their_owner_only(client):
    user = UserFactory()
    Notification.objects.create(user=user, subject="Proof approved")
    Notification.objects.create(user=UserFactory(), subject="Someone else's")
    client.force_login(user)
    body = client.get(reverse("notifications")).content.decode()
    assert "Proof approved" in body and "Someone else" not in body


def test_redeeming_from_the_discounts_page_asks_to_confirm_first(client):
    user, campaign = UserFactory(verified=True), CampaignFactory(name="Ten off")
    client.force_login(user)
    page = client.get(reverse("discounts"), {"cart_total": "80", "cart_reference": "order-7"})
    assert "Ten off" in page.content.decode()
    confirm = client.get(reverse("redeem", args=[campaign.pk]), {"cart_total": "80", "cart_reference": "order-7"})
    assert confirm.status_code == 200 and 'id="confirm-redeem"' in confirm.content.decode()
    assert campaign.redemptions.count() == 0
    data = {
        "cart_total": "80",
        "cart_reference": "order-7",
        "expected_points_cost": "0",
        "idempotency_key": confirm.context["idempotency_key"],
    }
    client.post(reverse("redeem", args=[campaign.pk]), data)
    client.post(reverse("redeem", args=[campaign.pk]), data)
    assert campaign.redemptions.count() == 1


def test_the_confirmation_shows_the_points_cost_and_the_balance_after(client):
    user = UserFactory(points_balance=0, verified=True)
    post_entry(user=user, amount=120, kind=RewardEntry.Kind.ADJUST, reason="seed")
    campaign = CampaignFactory(name="Loyal", points_cost=50)
    client.force_login(user)
    body = client.get(reverse("redeem", args=[campaign.pk]), {"cart_total": "80"}).content.decode()
    assert "Spend 50 points" in body and "70 points (now 120)" in body


def test_the_confirmation_of_an_unavailable_campaign_sends_back_to_the_discounts(client):
    client.force_login(UserFactory())
    campaign = CampaignFactory(name="Pricey", min_cart_total=500)
    response = client.get(reverse("redeem", args=[campaign.pk]), {"cart_total": "80"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("discounts")
    assert "not available" in response.content.decode()


def test_my_downloads_lists_own_downloads_with_the_latest_proof_status(client):
    user = UserFactory(verified=True)
    pending = ScreenshotProofFactory(download__user=user, download__app__name="Budget Bee")
    DownloadFactory(user=user, app=AppFactory(name="Run Club"))
    DownloadFactory(app=AppFactory(name="Someone Elses"))
    client.force_login(user)
    body = client.get(reverse("my-downloads")).content.decode()
    assert "Budget Bee" in body and "Run Club" in body and "Someone Elses" not in body
    assert reverse("proof-detail", args=[pending.pk]) in body
    assert "Upload a screenshot" in body  # for Run Club, which has no proof yet


def test_the_signup_form_uses_phone_email_and_new_password_inputs_and_shows_the_rules(client):
    body = client.get(reverse("signup")).content.decode()
    assert re.search(r'<input type="tel"[^>]*autocomplete="tel"|autocomplete="tel"[^>]*type="tel"', body)
    assert 'type="email"' in body and 'autocomplete="email"' in body
    assert body.count('autocomplete="new-password"') == 2
    assert "at least" in body  # the password rules, before any failure


def test_the_phone_page_asks_for_a_one_time_code(client):
    client.post(reverse("signup"), signup_data())
    body = client.get(reverse("verify-phone")).content.decode()
    assert 'autocomplete="one-time-code"' in body and 'inputmode="numeric"' in body


def test_a_code_typed_at_sign_up_counts_as_a_referral_visit(client):
    referrer = UserFactory()
    client.post(reverse("signup"), signup_data(referral_code=referrer.referral_code))
    assert referrer.referral_visits.count() == 1


def test_a_code_carried_from_the_link_is_not_counted_twice(client):
    referrer = UserFactory()
    client.get(reverse("referral-link", args=[referrer.referral_code]))
    client.post(reverse("signup"), signup_data(referral_code=referrer.referral_code))
    assert referrer.referral_visits.count() == 1


@pytest.mark.parametrize("name", ["home", "apps", "leaderboard", "signup", "login", "password_reset"])
def test_public_pages_render_for_visitors(client, name):
    assert client.get(reverse(name)).status_code == 200


@pytest.mark.parametrize(
    "name", ["my-proofs", "my-downloads", "my-points", "my-referrals", "notifications", "discounts", "verify-phone"]
)
def test_member_pages_need_a_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_the_app_page_offers_the_download_button_to_members(client):
    app = AppFactory(name="Chess")
    client.force_login(UserFactory())
    body = client.get(reverse("app-detail", args=[app.slug])).content.decode()
    assert "I downloaded this" in body


def test_an_inactive_app_page_is_not_found(client):
    assert client.get(reverse("app-detail", args=[AppFactory(active=False).slug])).status_code == 404


def test_viewing_the_inbox_marks_only_ones_own_notifications_read(client):
    user = UserFactory()
    mine = Notification.objects.create(user=user, subject="Proof approved")
    theirs = Notification.objects.create(user=UserFactory(), subject="Other")
    client.force_login(user)
    first = client.get(reverse("notifications")).content.decode()
    mine.refresh_from_db(), theirs.refresh_from_db()
    assert 'class="unread"' in first
    assert mine.read_at is not None and theirs.read_at is None


def test_the_phone_page_refuses_a_wrong_code(client):
    client.post(reverse("signup"), signup_data())
    code = re.search(r"\d{6}", ConsoleSMSBackend.outbox[-1]["body"]).group(0)
    wrong = "000000" if code != "000000" else "111111"
    response = client.post(reverse("verify-phone"), {"code": wrong})
    assert response.status_code == 400 and "Wrong code" in response.content.decode()


def test_asking_for_a_second_code_at_once_is_refused_on_the_phone_page(client):
    client.post(reverse("signup"), signup_data())
    response = client.post(reverse("verify-phone"), {"action": "send"}, follow=True)
    assert re.search(r"Please wait (59|60) s before asking for another code", response.content.decode())
    assert len(ConsoleSMSBackend.outbox) == 1


def test_the_login_form_offers_the_saved_email_and_current_password(client):
    body = client.get(reverse("login")).content.decode()
    assert 'autocomplete="username"' in body and 'autocomplete="current-password"' in body
