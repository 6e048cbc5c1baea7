"""Read paths of the growth app: campaign facts (rules: growth.campaigns), leaderboard, a member's own pages."""

import operator
from dataclasses import dataclass
from datetime import timedelta
from functools import reduce

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, Subquery, Value
from django.utils import timezone
from wagtail import hooks

from backoffice.cache import bump_cache_version, cache_version, cache_versions, cached_versioned
from moderation.models import Download, RewardEntry, ScreenshotProof

from .models import Campaign, Redemption, Referral, ReferrerScore

LEADERBOARD_PAGE_SIZE = 20
LEADERBOARD_CACHE_GROUP = "leaderboard"  # backoffice.cache versions


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
    campaigns = list(
        Campaign.objects.with_counters().filter(active=True, starts_at__lte=now, ends_at__gt=now).order_by("ends_at")
    )
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
#
# Ranked by credited referrals (desc), then user id: one B-tree (referrer_score_keyset) serves every page by a
# keyset seek, so a page deep in the board costs what page 1 costs (OFFSET read every row ahead of it). Ties share
# a rank (1, 2, 2, 4). A page's ranks come from its cursor: the cursor names the row the page starts after (or
# ends before), that row's score's rank and how many rows lie ahead of it, signed so nobody can forge a rank.
# A cursor minted before the last referral credit (the leaderboard version) or older than
# LEADERBOARD_CACHE_SECONDS is recounted (COUNT over the index ahead of it) instead of trusted.


@dataclass(frozen=True)
class LeaderboardRow:
    rank: int
    user_id: int
    display_name: str
    referrals: int
    position: int = 0


class InvalidLeaderboardCursor(ValueError):
    """A cursor that is not one this site signed (edited, truncated): the caller shows the top of the board."""


_AFTER, _BEFORE = "a", "b"
_CURSOR_SALT = "growth.leaderboard.cursor"


def _leaderboard_version():
    """The current version, or None while the cache is unreachable: then nothing is cached or trusted."""
    return cache_version(LEADERBOARD_CACHE_GROUP)


def invalidate_leaderboard():
    """Called after a referral credit commits: every cached page and rank, and every cursor, becomes stale at once."""
    bump_cache_version(LEADERBOARD_CACHE_GROUP)


def public_name(user):
    """Never any part of the email: the display name chosen at sign-up, else an anonymous label."""
    return user.display_name or f"Member {user.pk}"


def _ranked():
    return ReferrerScore.objects.filter(credited_referrals__gt=0)


def _rank_of_score(score):
    return _ranked().filter(credited_referrals__gt=score).count() + 1


def _sign_cursor(direction, score, user_id, rank, ahead, version):
    return signing.dumps([direction, score, user_id, rank, ahead, version], salt=_CURSOR_SALT, compress=False)


def _counted_place(direction, score, user_id):
    """(rank of `score`, rows ahead of the page): the slow path, a COUNT over the index ahead of the row."""
    rank = _rank_of_score(score)
    ties = _ranked().filter(credited_referrals=score)
    ties = ties.filter(user_id__lte=user_id) if direction == _AFTER else ties.filter(user_id__lt=user_id)
    return rank, rank - 1 + ties.count()


def leaderboard_cursor(direction, score, user_id, version=None):
    """A cursor counted from the database: the page after (direction "a") or before ("b") the place that
    (score, user_id) has on the board (a member's own place, a bench's middle of the board)."""
    return _sign_cursor(direction, score, user_id, *_counted_place(direction, score, user_id), version)


def _read_cursor(token, version):
    """(direction, score, user_id, rank, ahead): `ahead` counts the rows before the page. Recounted when stale."""
    try:
        payload = signing.loads(token, salt=_CURSOR_SALT, max_age=settings.LEADERBOARD_CACHE_SECONDS)
        fresh = True
    except signing.SignatureExpired:
        payload, fresh = signing.loads(token, salt=_CURSOR_SALT), False
    except signing.BadSignature as error:
        raise InvalidLeaderboardCursor("not a leaderboard cursor") from error
    try:
        direction, score, user_id, rank, ahead, minted_version = payload
        score, user_id, rank, ahead = int(score), int(user_id), int(rank), int(ahead)
    except (TypeError, ValueError) as error:
        raise InvalidLeaderboardCursor("not a leaderboard cursor") from error
    if direction not in (_AFTER, _BEFORE):
        raise InvalidLeaderboardCursor("not a leaderboard cursor")
    if not fresh or version is None or minted_version != version:
        rank, ahead = _counted_place(direction, score, user_id)
    return direction, score, user_id, rank, ahead


# The two seeks of a keyset page as one statement (one round trip; works on PostgreSQL and SQLite): the rest of the
# cursor's tie group, then the rows beyond it, each an index range scan on referrer_score_keyset with a LIMIT.
# Written out because the ORM's compile of the same UNION costs more than running it.
_SEEK_SQL = """
SELECT * FROM (SELECT s.credited_referrals, s.user_id, u.display_name FROM {scores} s JOIN {users} u ON u.id = s.user_id
               WHERE s.credited_referrals = %s AND s.user_id {tie_op} %s
               ORDER BY s.credited_referrals {tie_dir}, s.user_id {tie_dir} LIMIT %s) ties
UNION ALL
SELECT * FROM (SELECT s.credited_referrals, s.user_id, u.display_name FROM {scores} s JOIN {users} u ON u.id = s.user_id
               WHERE s.credited_referrals {beyond_op} %s AND s.credited_referrals > 0
               ORDER BY s.credited_referrals {beyond_dir}, s.user_id {tie_dir} LIMIT %s) beyond
"""


_ABOVE_ALL_SCORES = 2**31 - 1  # credited_referrals is a PositiveIntegerField


def _seek(after, score, user_id, limit):
    sql = _SEEK_SQL.format(
        scores=connection.ops.quote_name(ReferrerScore._meta.db_table),
        users=connection.ops.quote_name(get_user_model()._meta.db_table),
        tie_op=">" if after else "<",
        tie_dir="ASC" if after else "DESC",
        beyond_op="<" if after else ">",
        beyond_dir="DESC" if after else "ASC",
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [score, user_id, limit, score, limit])
        return sorted(cursor.fetchall(), key=lambda row: (-row[0], row[1]))


def _rows_after(score, user_id, limit):
    """Up to `limit` rows after (score, user_id), in board order."""
    return _seek(True, score, user_id, limit)[:limit]


def _rows_before(score, user_id, limit):
    """Up to `limit` rows before (score, user_id), in board order."""
    return _seek(False, score, user_id, limit)[-limit:]


def _row(rank, position, values):
    score, user_id, display_name = values
    return LeaderboardRow(rank, user_id, display_name or f"Member {user_id}", score, position)


def _page_from_top(per_page):
    return _page_after(None, None, 1, 0, per_page)


def _page_after(score, user_id, rank, ahead, per_page):
    if score is None:  # the top: nothing ties with a score above any real one, so only the "beyond" seek reads
        fetched = _rows_after(_ABOVE_ALL_SCORES, 0, per_page + 1)
    else:
        fetched = _rows_after(score, user_id, per_page + 1)
    rows, previous_score = [], score
    for offset, values in enumerate(fetched[:per_page]):
        position = ahead + offset + 1
        if values[0] != previous_score:
            rank = position
        previous_score = values[0]
        rows.append(_row(rank, position, values))
    return rows, len(fetched) > per_page


def _page_before(score, user_id, rank, ahead, per_page):
    """The page ending just before (score, user_id); None when it would reach the top (show the top page instead)."""
    fetched = _rows_before(score, user_id, per_page + 1)
    if len(fetched) <= per_page or ahead <= per_page:
        return None
    above, fetched = fetched[0], fetched[1:]
    first_position = ahead - per_page + 1
    # Ranks bottom-up: the boundary's tie group keeps its rank; a group starting inside the page ranks at its first
    # row; the top group, when it goes on above the page, ranks where it starts: count its rows above the page.
    ranks = [0] * len(fetched)
    for index in range(len(fetched) - 1, -1, -1):
        values_score = fetched[index][0]
        starts_here = index == 0 or fetched[index - 1][0] != values_score
        if values_score == score:
            ranks[index] = rank
        elif not starts_here:
            continue
        elif index > 0 or above[0] != values_score:
            ranks[index] = first_position + index
        else:
            tied_above = _ranked().filter(credited_referrals=values_score, user_id__lt=fetched[0][1]).count()
            ranks[index] = first_position - tied_above
    current = 0
    rows = []
    for index, values in enumerate(fetched):
        current = ranks[index] or current
        rows.append(_row(current, first_position + index, values))
    return rows


def leaderboard_page_uncached(cursor=None, per_page=LEADERBOARD_PAGE_SIZE, version=None):
    """One page of the board, straight from the database: rows, and cursors to the next and previous pages.

    No total count: counting every ranked member would cost more than the page itself at a million members.
    Raises InvalidLeaderboardCursor for a cursor this site did not sign.
    """
    rows, has_next, at_top = None, False, True
    if cursor:
        direction, score, user_id, rank, ahead = _read_cursor(cursor, version)
        if direction == _BEFORE:
            rows = _page_before(score, user_id, rank, ahead, per_page)
            has_next, at_top = True, False
        else:
            rows, has_next = _page_after(score, user_id, rank, ahead, per_page)
            at_top = ahead == 0
    if rows is None:
        (rows, has_next), at_top = _page_from_top(per_page), True
    at_top = at_top or not rows or rows[0].position == 1
    first, last = (rows[0], rows[-1]) if rows else (None, None)
    return {
        "rows": rows,
        "per_page": per_page,
        "has_next": has_next,
        "next": _sign_cursor(_AFTER, last.referrals, last.user_id, last.rank, last.position, version)
        if has_next
        else None,
        "previous": None
        if at_top
        else _sign_cursor(_BEFORE, first.referrals, first.user_id, first.rank, first.position - 1, version),
    }


def leaderboard_page(cursor=None, per_page=LEADERBOARD_PAGE_SIZE):
    """leaderboard_page_uncached, cached per cursor until the next referral credit or LEADERBOARD_CACHE_SECONDS."""
    versions = cache_versions(LEADERBOARD_CACHE_GROUP)
    version = versions[LEADERBOARD_CACHE_GROUP] if versions else None
    return cached_versioned(
        "leaderboard",
        [LEADERBOARD_CACHE_GROUP],
        (per_page, cursor),
        lambda: leaderboard_page_uncached(cursor, per_page, version),
        settings.LEADERBOARD_CACHE_SECONDS,
        versions,
    )


def own_rank_uncached(user):
    """(rank, credited referrals); rank is None for a user with no credited referral yet."""
    score = ReferrerScore.objects.filter(pk=user.pk).values_list("credited_referrals", flat=True).first() or 0
    if score == 0:
        return None, 0
    return _rank_of_score(score), score


def own_rank(user):
    return cached_versioned(
        "leaderboard-rank",
        [LEADERBOARD_CACHE_GROUP],
        (user.pk,),
        lambda: own_rank_uncached(user),
        settings.LEADERBOARD_CACHE_SECONDS,
    )


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
