"""Read paths of the growth app: campaign facts (rules: growth.campaigns), leaderboard, a member's own pages."""

import operator
from dataclasses import dataclass
from datetime import timedelta
from functools import reduce

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Value
from django.utils import timezone
from wagtail import hooks

from moderation.models import Download, RewardEntry, ScreenshotProof

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


def campaigns_allowing_app(app):
    """Q over campaigns: those whose app/category restrictions let a cart for `app` (None: no app) through."""
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


def live_campaigns(now=None):
    """Active campaigns within their dates, ending soonest first, each with how much of its limits and of its time
    is used (0..1, None when unlimited): the marketer's budget burn at a glance."""
    now = now or timezone.now()
    campaigns = list(Campaign.objects.filter(active=True, starts_at__lte=now, ends_at__gt=now).order_by("ends_at"))
    for campaign in campaigns:
        campaign.budget_used = float(campaign.budget_spent / campaign.budget) if campaign.budget else None
        campaign.uses_used = campaign.uses_count / campaign.max_uses if campaign.max_uses else None
        campaign.time_used = (now - campaign.starts_at) / (campaign.ends_at - campaign.starts_at)
    return campaigns


def audience_of(campaign, now=None):
    """Active members in `campaign`'s audience (the SQL form of `campaign_audience_includes`)."""
    now = now or timezone.now()
    users = get_user_model().objects.filter(is_active=True, is_staff=False)
    if campaign.audience == Campaign.Audience.NEW_USERS:
        users = users.filter(date_joined__gte=now - timedelta(days=campaign.new_user_days))
    elif campaign.audience == Campaign.Audience.MIN_POINTS:
        users = users.filter(points_balance__gte=campaign.min_points)
    elif campaign.audience == Campaign.Audience.MEMBERS:
        users = users.filter(pk__in=get_user_model().objects.filter(plan_members(now)).values("pk"))
    return users


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


def public_name(user):
    """Never any part of the email: the display name chosen at sign-up, else an anonymous label."""
    return user.display_name or f"Member {user.pk}"


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
        rows.append(LeaderboardRow(rank, score.user_id, public_name(score.user), score.credited_referrals))
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


def downloads_of(user):
    """The member's downloads, newest first, each with its latest proof's status and id (None: no proof yet)."""
    latest = ScreenshotProof.objects.filter(download=OuterRef("pk")).order_by("-submitted_at", "-pk")
    return (
        Download.objects.filter(user=user)
        .select_related("app")
        .annotate(
            proof_status=Subquery(latest.values("status")[:1]),
            proof_id=Subquery(latest.values("pk")[:1]),
            proof_count=Count("proofs"),
        )
        .order_by("-created_at", "-pk")
    )


def referrals_made_by(user):
    return Referral.objects.filter(referrer=user).select_related("referred").order_by("-created_at")


def ledger_of(user):
    return RewardEntry.objects.filter(user=user).order_by("-created_at", "-id")


def redemptions_of(user):
    return Redemption.objects.filter(user=user).select_related("campaign", "app")
