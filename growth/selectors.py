"""Read paths of the growth app: campaign eligibility, leaderboard, a member's own pages."""

import operator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import reduce

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Count, Exists, F, OuterRef, Q, Value
from django.utils import timezone
from wagtail import hooks

from moderation.models import RewardEntry, ScreenshotProof

from .models import Campaign, Redemption, Referral, ReferrerScore

LEADERBOARD_PAGE_SIZE = 20
LEADERBOARD_TTL = 300
LEADERBOARD_VERSION_KEY = "growth:leaderboard:version"


# --- campaigns ------------------------------------------------------------------------------------------


def campaign_allows_app(campaign, app):
    """A campaign without app or category restrictions applies to any cart; a restricted one only to its apps."""
    AppLink, CategoryLink = Campaign.eligible_apps.through, Campaign.eligible_categories.through
    links = (
        AppLink.objects.filter(campaign_id=campaign.pk)
        .annotate(kind=Value("app"))
        .values_list("kind", "app_id")
        .union(
            CategoryLink.objects.filter(campaign_id=campaign.pk)
            .annotate(kind=Value("category"))
            .values_list("kind", "category_id"),
            all=True,
        )
    )
    links = set(links)
    if not links:
        return True
    if app is None:
        return False
    return ("app", app.pk) in links or bool({("category", app.category_id), ("category", app.subcategory_id)} & links)


MEMBER_AUDIENCE_HOOK = "growth_member_audience"


def plan_members(now=None):
    """A filter on users matching members with member-only campaign access, from the Wagtail hook
    `growth_member_audience` (`fn(now) -> Q` over users; commerce's plans answer it). Nobody without one."""
    now = now or timezone.now()
    filters = [fn(now) for fn in hooks.get_hooks(MEMBER_AUDIENCE_HOOK)]
    return reduce(operator.or_, filters) if filters else Q(pk__in=[])


def campaign_audience_includes(campaign, user, now=None):
    now = now or timezone.now()
    if campaign.audience == Campaign.Audience.MEMBERS:
        return get_user_model().objects.filter(plan_members(now), pk=user.pk).exists()
    if campaign.audience == Campaign.Audience.NEW_USERS:
        return user.date_joined >= now - timedelta(days=campaign.new_user_days)
    if campaign.audience == Campaign.Audience.MIN_POINTS:
        return user.points_balance >= campaign.min_points
    return True


def _app_filter(app):
    unrestricted = ~Exists(Campaign.eligible_apps.through.objects.filter(campaign_id=OuterRef("pk"))) & ~Exists(
        Campaign.eligible_categories.through.objects.filter(campaign_id=OuterRef("pk"))
    )
    if app is None:
        return unrestricted
    categories = [c for c in (app.category_id, app.subcategory_id) if c]
    return (
        unrestricted
        | Exists(Campaign.eligible_apps.through.objects.filter(campaign_id=OuterRef("pk"), app_id=app.pk))
        | Exists(
            Campaign.eligible_categories.through.objects.filter(campaign_id=OuterRef("pk"), category_id__in=categories)
        )
    )


def running_campaigns(now=None):
    """Active campaigns within their dates with uses and budget left."""
    now = now or timezone.now()
    return Campaign.objects.filter(active=True, starts_at__lte=now, ends_at__gt=now).filter(
        Q(max_uses__isnull=True) | Q(uses_count__lt=F("max_uses")),
        Q(budget__isnull=True) | Q(budget_spent__lt=F("budget")),
    )


def available_campaigns(user, cart_total, app=None):
    """Campaigns `user` can redeem now for a cart of `cart_total` (for `app`, if given)."""
    now = timezone.now()
    joined_days_ago = (now - user.date_joined).total_seconds() / 86400
    audience = (
        Q(audience=Campaign.Audience.ALL)
        | Q(audience=Campaign.Audience.NEW_USERS, new_user_days__gte=joined_days_ago)
        | Q(audience=Campaign.Audience.MIN_POINTS, min_points__lte=user.points_balance)
    )
    if get_user_model().objects.filter(plan_members(now), pk=user.pk).exists():
        audience |= Q(audience=Campaign.Audience.MEMBERS)
    return (
        running_campaigns(now)
        .filter(
            audience, _app_filter(app), min_cart_total__lte=Decimal(cart_total), points_cost__lte=user.points_balance
        )
        .annotate(used_by_user=Count("redemptions", filter=Q(redemptions__user=user)))
        .filter(used_by_user__lt=F("per_user_limit"))
        .order_by("ends_at", "pk")
    )


def eligible_users(campaign, now=None):
    """Members who could redeem `campaign` today (ignoring cart and app), for the marketer's preview."""
    now = now or timezone.now()
    users = get_user_model().objects.filter(is_active=True, is_staff=False)
    if campaign.audience == Campaign.Audience.NEW_USERS:
        users = users.filter(date_joined__gte=now - timedelta(days=campaign.new_user_days))
    elif campaign.audience == Campaign.Audience.MIN_POINTS:
        users = users.filter(points_balance__gte=campaign.min_points)
    elif campaign.audience == Campaign.Audience.MEMBERS:
        users = users.filter(pk__in=get_user_model().objects.filter(plan_members(now)).values("pk"))
    if campaign.points_cost:
        users = users.filter(points_balance__gte=campaign.points_cost)
    if campaign.pk:
        users = users.exclude(pk__in=_users_at_limit(campaign))
    return users.order_by("-date_joined")


def _users_at_limit(campaign):
    return (
        Redemption.objects.filter(campaign=campaign)
        .values("user")
        .annotate(n=Count("pk"))
        .filter(n__gte=campaign.per_user_limit)
        .values("user")
    )


def eligible_users_preview(campaign, sample_size=10):
    users = eligible_users(campaign)
    return {"count": users.count(), "sample": list(users[:sample_size])}


# --- leaderboard ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeaderboardRow:
    rank: int
    user_id: int
    display_name: str
    referrals: int


def _leaderboard_version():
    version = cache.get(LEADERBOARD_VERSION_KEY)
    if version is None:
        cache.add(LEADERBOARD_VERSION_KEY, 1, None)
        version = cache.get(LEADERBOARD_VERSION_KEY, 1)
    return version


def invalidate_leaderboard():
    """Called after a referral credit commits: every cached page and rank becomes stale at once."""
    try:
        cache.incr(LEADERBOARD_VERSION_KEY)
    except ValueError:
        cache.add(LEADERBOARD_VERSION_KEY, 2, None)


def _public_name(user):
    name = (user.first_name or user.email.split("@")[0])[:20]
    return name


def _rank_of_score(score):
    return ReferrerScore.objects.filter(credited_referrals__gt=score).count() + 1


def leaderboard_page_uncached(page=1, per_page=LEADERBOARD_PAGE_SIZE):
    """Rows of one page ranked by credited referrals (ties share a rank) and whether a next page exists.

    No total count: counting every ranked member would cost more than the page itself at a million members.
    """
    page = max(int(page), 1)
    offset = (page - 1) * per_page
    scores = list(
        ReferrerScore.objects.filter(credited_referrals__gt=0)
        .select_related("user")
        .order_by("-credited_referrals", F("last_credited_at").asc(nulls_last=True), "user_id")[
            offset : offset + per_page + 1
        ]
    )
    has_next = len(scores) > per_page
    scores = scores[:per_page]
    rows, rank, previous = [], None, None
    for position, score in enumerate(scores):
        if previous is None:
            rank = _rank_of_score(score.credited_referrals)
        elif score.credited_referrals != previous:
            rank = offset + position + 1
        previous = score.credited_referrals
        rows.append(LeaderboardRow(rank, score.user_id, _public_name(score.user), score.credited_referrals))
    return {"rows": rows, "page": page, "per_page": per_page, "has_next": has_next}


def leaderboard_page(page=1, per_page=LEADERBOARD_PAGE_SIZE):
    page = max(int(page), 1)
    key = f"growth:leaderboard:v{_leaderboard_version()}:{per_page}:{page}"
    cached = cache.get(key)
    if cached is None:
        cached = leaderboard_page_uncached(page, per_page)
        cache.set(key, cached, LEADERBOARD_TTL)
    return cached


def own_rank_uncached(user):
    """(rank, credited referrals); rank is None for a user with no credited referral yet."""
    score = ReferrerScore.objects.filter(pk=user.pk).values_list("credited_referrals", flat=True).first() or 0
    if score == 0:
        return None, 0
    return _rank_of_score(score), score


def own_rank(user):
    key = f"growth:leaderboard:v{_leaderboard_version()}:rank:{user.pk}"
    cached = cache.get(key)
    if cached is None:
        cached = own_rank_uncached(user)
        cache.set(key, cached, LEADERBOARD_TTL)
    return cached


# --- a member's own pages -------------------------------------------------------------------------------


def referral_summary(user):
    counts = Referral.objects.filter(referrer=user).aggregate(
        signed_up=Count("pk"), credited=Count("pk", filter=Q(credited_at__isnull=False))
    )
    return {**counts, "visits": user.referral_visits.count()}


def proofs_of(user):
    return (
        ScreenshotProof.objects.filter(download__user=user)
        .select_related("download__app")
        .order_by("-submitted_at", "-pk")
    )


def referrals_made_by(user):
    return Referral.objects.filter(referrer=user).select_related("referred").order_by("-created_at")


def ledger_of(user):
    return RewardEntry.objects.filter(user=user).order_by("-created_at", "-id")


def redemptions_of(user):
    return Redemption.objects.filter(user=user).select_related("campaign", "app")
