"""The public site: thin views over growth, moderation and catalog services and selectors."""

import re
import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from wagtail import hooks

from backoffice.cache import cached_anonymous_page, cached_versioned
from backoffice.models import Delivery, Notification
from backoffice.pagination import page_of
from backoffice.services import mark_notifications_read
from catalog.models import Category
from catalog.selectors import active_apps
from moderation.models import Download, ScreenshotProof
from moderation.proofs import ProofRefused, record_download, submit_proof
from moderation.selectors import earning_closed_reason, proof_for_user

from . import campaigns as growth_campaigns
from . import errors, otp, ratelimit, referrals, registration, selectors
from .forms import CartForm, OTPForm, ProofForm, SignupForm
from .identity import canonical_email
from .models import Campaign, Referral

REFERRAL_SESSION_KEY = "referral_code"
REFERRAL_CODE = re.compile(r"[A-Za-z0-9_-]{1,16}")  # what backoffice.models.new_referral_code makes


APP_PAGE_SECTIONS_HOOK = "growth_app_page_sections"
HOME_SECTIONS_HOOK = "growth_home_sections"
HOME_FOOTER_HOOK = "growth_home_footer"  # fn(request) -> the home page's <footer> HTML or None


def _hook_sections(hook_name, *args):
    """HTML sections apps to the left add to a public page (Wagtail hook `fn(request, ...) -> str | None`)."""
    return [html for fn in hooks.get_hooks(hook_name) if (html := fn(*args))]


@cached_anonymous_page("catalog", "plans", "landing")
def home(request):
    """Anonymous visitors share one cached page; members share the cached app list (the rest is theirs)."""
    apps = cached_versioned("home-apps", ["catalog"], (), lambda: list(active_apps()[:12]))
    return render(
        request,
        "growth/home.html",
        {
            "apps": apps,
            "sections": _hook_sections(HOME_SECTIONS_HOOK, request),
            "footer_sections": _hook_sections(HOME_FOOTER_HOOK, request),
        },
    )


# --- accounts -------------------------------------------------------------------------------------------


class RateLimitedPasswordResetView(auth_views.PasswordResetView):
    """Django's password reset with limits per address and per email. The answer is always the same
    "check your inbox" page, so it says nothing about which emails have accounts or were limited."""

    def form_valid(self, form):
        if not ratelimit.allow(ratelimit.PASSWORD_RESET_PER_IP, ratelimit.client_ip(self.request)):
            form.add_error(None, "Too many password reset requests from your network. Try again later.")
            return self.render_to_response(self.get_context_data(form=form), status=429)
        email = canonical_email(form.cleaned_data["email"])
        if not ratelimit.allow(ratelimit.PASSWORD_RESET_PER_EMAIL, email):
            return redirect(self.get_success_url())
        return super().form_valid(form)


def referral_link(request, code):
    """/r/<code>/: count the visit (once per visitor and day) and carry the code to the sign-up form."""
    if not REFERRAL_CODE.fullmatch(code):
        referrer = None
    elif ratelimit.first_visit_today(code, ratelimit.client_ip(request)):
        referrer = referrals.record_referral_visit(code=code)
    else:
        referrer = referrals.find_referrer(code=code)
    if referrer is not None:
        request.session[REFERRAL_SESSION_KEY] = code
    else:
        messages.error(request, "This referral link is not valid; you can still sign up.")
    return redirect(f"{reverse('signup')}?ref={code}" if referrer else reverse("signup"))


def signup(request):
    if request.user.is_authenticated:
        return redirect("home")
    code = request.GET.get("ref") or request.session.get(REFERRAL_SESSION_KEY, "")
    form = SignupForm(request.POST or None, initial={"referral_code": code})
    if request.method == "POST" and not ratelimit.allow(ratelimit.SIGNUP_PER_IP, ratelimit.client_ip(request)):
        form.add_error(None, "Too many sign-ups from your network. Try again later.")
        return render(request, "growth/signup.html", {"form": form}, status=429)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = registration.sign_up_member(
                email=data["email"],
                password=data["password1"],
                phone=data["phone"],
                referral_code=data["referral_code"],
                display_name=data["display_name"],
            )
        except errors.SignupRefused as refused:
            form.add_error(refused.field if refused.field in form.fields else None, str(refused))
        except ValidationError as error:
            form.add_error("password1", error)
        else:
            if data["referral_code"] and request.session.get(REFERRAL_SESSION_KEY) != data["referral_code"]:
                # A code typed in, not a link followed: still a visit, or the funnel shows more sign-ups than visits.
                referrals.record_referral_visit(code=data["referral_code"])
            request.session.pop(REFERRAL_SESSION_KEY, None)
            login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
            _send_code(request, user)
            return redirect("verify-phone")
    return render(request, "growth/signup.html", {"form": form}, status=400 if form.errors else 200)


def _send_code(request, user):
    if not (
        ratelimit.allow(ratelimit.SMS_PER_NUMBER, user.phone)
        and ratelimit.allow(ratelimit.SMS_PER_IP, ratelimit.client_ip(request))
    ):
        messages.error(request, "Too many codes requested. Try again later.")
        return False
    try:
        delivery = otp.send_verification_code(user=user)
    except errors.OTPRefused as refused:
        messages.error(request, str(refused))
        return False
    delivery.refresh_from_db(fields=["status"])
    if delivery.status in (Delivery.Status.RETRYING, Delivery.Status.FAILED):
        messages.warning(
            request,
            f"We could not send the SMS to {user.phone} just now. We will try again shortly; "
            "if no code arrives, ask for a new one in a minute.",
        )
        return False
    sent = "sent" if delivery.status == Delivery.Status.SENT else "are sending"
    messages.success(request, f"We {sent} a code to {user.phone}.")
    return True


@login_required
def verify_phone(request):
    if request.user.phone_verified:
        messages.info(request, "Your phone number is verified.")
        return redirect("home")
    form = OTPForm()
    status = 200
    if request.method == "POST" and request.POST.get("action") == "send":
        _send_code(request, request.user)
        return redirect("verify-phone")
    if request.method == "POST":
        form = OTPForm(request.POST)
        if not ratelimit.allow(ratelimit.OTP_CHECKS_PER_IP, ratelimit.client_ip(request)):
            form.add_error(None, "Too many attempts from your network. Try again later.")
            status = 429
        elif form.is_valid():
            try:
                otp.verify_phone(user=request.user, code=form.cleaned_data["code"])
            except errors.OTPRefused as refused:
                form.add_error("code", str(refused))
            else:
                messages.success(request, "Your phone number is verified. You can now earn points.")
                return redirect("apps")
        if form.errors and status == 200:
            status = 400
    return render(
        request,
        "growth/verify_phone.html",
        {"form": form, "hide_verify_banner": True, "code_life": otp.code_life_text()},
        status=status,
    )


# --- apps and proofs ------------------------------------------------------------------------------------


@cached_anonymous_page("catalog", params=("category", "page"))
def app_list(request):
    apps = active_apps()
    category = request.GET.get("category", "")
    if category:
        apps = apps.filter(Q(category__slug=category) | Q(subcategory__slug=category))
    page = page_of(request, apps, 24)
    categories = cached_versioned(
        "top-categories", ["catalog"], (), lambda: list(Category.objects.filter(parent__isnull=True).order_by("name"))
    )
    return render(request, "growth/app_list.html", {"page": page, "categories": categories, "category": category})


def app_detail(request, slug):
    app = get_object_or_404(active_apps(), slug=slug)
    download = proofs = closed = None
    if request.user.is_authenticated:
        download = Download.objects.filter(user=request.user, app=app).first()
        proofs = download.proofs.order_by("-submitted_at") if download else []
        closed = earning_closed_reason(download)
    return render(
        request,
        "growth/app_detail.html",
        {
            "app": app,
            "download": download,
            "proofs": proofs,
            "proof_form": ProofForm(),
            "closed": closed,
            "sections": _hook_sections(APP_PAGE_SECTIONS_HOOK, request, app),
        },
    )


@login_required
@require_POST
def mark_downloaded(request, slug):
    app = get_object_or_404(active_apps(), slug=slug)
    try:
        record_download(user=request.user, app=app)
    except ProofRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"Marked {app.name} as downloaded. Upload a screenshot to earn points.")
    return redirect("app-detail", slug=slug)


@login_required
@require_POST
def upload_proof(request, slug):
    app = get_object_or_404(active_apps(), slug=slug)
    form = ProofForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            submit_proof(user=request.user, app=app, image=form.cleaned_data["image"])
        except ProofRefused as refused:
            messages.error(request, str(refused))
        else:
            messages.success(request, "Thanks! Your screenshot is waiting for review.")
            return redirect("my-proofs")
    else:
        for error in form.errors.get("image", []):
            messages.error(request, error)
    return redirect("app-detail", slug=slug)


MEMBER_PAGE_SIZE = 25


def _own_records(selector, template):
    """A page listing the logged-in member's own records (`selector(user)`), MEMBER_PAGE_SIZE at a time."""

    @login_required
    def view(request):
        return render(request, template, {"page": page_of(request, selector(request.user), MEMBER_PAGE_SIZE)})

    return view


my_proofs = _own_records(selectors.proofs_of, "growth/my_proofs.html")


@login_required
def my_downloads(request):
    """Every app the member said they installed, with where its proof stands and what to do next."""
    page = page_of(request, selectors.downloads_of(request.user), MEMBER_PAGE_SIZE)
    labels = dict(ScreenshotProof.Status.choices)
    for download in page.object_list:
        download.proof_label = labels.get(download.proof_status, "")
    return render(request, "growth/my_downloads.html", {"page": page})


@login_required
def proof_detail(request, pk):
    proof = proof_for_user(request.user, pk)
    return render(request, "growth/proof_detail.html", {"proof": proof})


# --- points, referrals, leaderboard, notifications ------------------------------------------------------


my_points = _own_records(selectors.ledger_of, "growth/my_points.html")


@login_required
def my_referrals(request):
    link = request.build_absolute_uri(reverse("referral-link", args=[request.user.referral_code]))
    referrals = Referral.objects.filter(referrer=request.user).select_related("referred")[:50]
    return render(
        request,
        "growth/my_referrals.html",
        {"link": link, "summary": selectors.referral_summary(request.user), "referrals": referrals},
    )


@cached_anonymous_page("leaderboard", params=("cursor",))
def leaderboard(request):
    """Pages follow signed keyset cursors (?cursor=); a cursor we did not sign gets the top of the board and a 400."""
    status, invalid = 200, False
    try:
        board = selectors.leaderboard_page(request.GET.get("cursor") or None)
    except selectors.InvalidLeaderboardCursor:
        board, status, invalid = selectors.leaderboard_page(), 400, True
    own = selectors.own_rank(request.user) if request.user.is_authenticated else None
    return render(
        request, "growth/leaderboard.html", {"board": board, "own": own, "invalid_cursor": invalid}, status=status
    )


@login_required
def notifications(request):
    items = Notification.objects.filter(user=request.user).order_by("-created_at")
    page = page_of(request, items, MEMBER_PAGE_SIZE)
    response = render(request, "growth/notifications.html", {"page": page})
    mark_notifications_read(user=request.user, notification_ids=[n.pk for n in page.object_list if n.read_at is None])
    return response


# --- discounts ------------------------------------------------------------------------------------------


@login_required
def discounts(request):
    form = CartForm(request.GET or None, apps=active_apps())
    cart_total, app = Decimal("50"), None
    if form.is_bound and form.is_valid():
        cart_total, app = form.cleaned_data["cart_total"], form.cleaned_data["app"]
    campaigns = growth_campaigns.available_campaigns(request.user, cart_total, app)
    offers = [(c, growth_campaigns.discount_for(c, cart_total)) for c in campaigns]
    return render(
        request,
        "growth/discounts.html",
        {
            "form": form,
            "offers": offers,
            "cart_total": cart_total,
            "app": app,
            "cart_reference": form.cleaned_data.get("cart_reference", "") if form.is_bound and form.is_valid() else "",
            "redemptions": selectors.redemptions_of(request.user)[:20],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def redeem(request, pk):
    """GET asks the member to confirm (what they get, what it costs, the balance after); POST redeems."""
    campaign = get_object_or_404(Campaign, pk=pk)
    form = CartForm(request.POST if request.method == "POST" else request.GET, apps=active_apps())
    if not form.is_valid():
        messages.error(request, "Enter a valid cart total.")
        return redirect("discounts")
    if request.method == "GET":
        return _confirm_redemption(request, campaign, form.cleaned_data)
    try:
        result = growth_campaigns.redeem_campaign(
            user=request.user,
            campaign=campaign,
            cart_total=form.cleaned_data["cart_total"],
            app=form.cleaned_data["app"],
            cart_reference=form.cleaned_data["cart_reference"],
            expected_points_cost=request.POST.get("expected_points_cost"),
            idempotency_key=request.POST.get("idempotency_key", ""),
        )
    except growth_campaigns.RedemptionRefused as refused:
        messages.error(request, str(refused))
    else:
        redemption = result.redemption
        verb = "Redeemed" if result.created else "Already redeemed"
        messages.success(
            request,
            f"{verb} {campaign.name}: {redemption.discount_amount} off. Voucher code: {redemption.voucher_code}",
        )
    return redirect("discounts")


def _confirm_redemption(request, campaign, cart):
    cart_total, app = cart["cart_total"], cart["app"]
    if campaign.pk not in {c.pk for c in growth_campaigns.available_campaigns(request.user, cart_total, app)}:
        messages.error(request, f"{campaign.name} is not available for this cart.")
        return redirect("discounts")
    return render(
        request,
        "growth/redeem_confirm.html",
        {
            "campaign": campaign,
            "cart_total": cart_total,
            "app": app,
            "cart_reference": cart["cart_reference"],
            "discount": growth_campaigns.discount_for(campaign, cart_total),
            "balance_after": request.user.points_balance - campaign.points_cost,
            "idempotency_key": uuid.uuid4().hex,
        },
    )
