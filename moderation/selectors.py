"""Read paths of the moderation app."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db.models import Count, F, IntegerField, Min, OuterRef, Prefetch, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from backoffice.queries import sum_per_row

from .models import Download, RewardEntry, ScreenshotProof


@dataclass(frozen=True)
class EarningClosed:
    code: str
    message: str


def earning_closed_reason(download):
    """The re-earn policy: why this member can send no (more) proof for this app, or None while they can.

    An approved proof or an invalidated reward closes the app for good; a pending one must be reviewed first; after
    a rejection the member may try again, PROOF_MAX_REJECTED_RETRIES times.
    """
    if download is None:
        return None
    counts = dict(download.proofs.values_list("status").annotate(n=Count("pk")))
    Status = ScreenshotProof.Status
    if counts.get(Status.PENDING):
        return EarningClosed("proof_pending", "A proof for this app is already waiting for review.")
    if counts.get(Status.APPROVED):
        return EarningClosed("already_earned", "A proof for this app was already approved: it earns once.")
    if counts.get(Status.INVALIDATED):
        return EarningClosed(
            "reward_invalidated", "Your reward for this app was invalidated, so this app cannot earn points again."
        )
    retries = settings.PROOF_MAX_REJECTED_RETRIES
    if counts.get(Status.REJECTED, 0) > retries:
        return EarningClosed(
            "retries_exhausted", f"Your proofs for this app were rejected {retries + 1} times; no more can be sent."
        )
    return None


def users_with_unbalanced_ledger():
    """Users whose stored balance differs from the sum of their ledger entries (should always be empty)."""
    entries_total = sum_per_row(RewardEntry.objects.all(), "amount", per="user")
    return (
        get_user_model()
        .objects.annotate(ledger_total=Coalesce(Subquery(entries_total, output_field=IntegerField()), Value(0)))
        .exclude(points_balance=F("ledger_total"))
        .order_by("pk")
    )


def pending_proofs(*, app_id=None, user_query="", older_than=None):
    """Pending proofs, oldest first, with just the columns the queue's table shows of each (one query)."""
    proofs = ScreenshotProof.objects.filter(
        status=ScreenshotProof.Status.PENDING,
        **queue_filters(app_id=app_id, user_query=user_query, older_than=older_than),
    )
    return (
        proofs.select_related("download__app", "download__user", "claimed_by")
        .only(
            "status",
            "submitted_at",
            "download__user__email",
            "download__app__name",
            "claimed_by__email",
        )
        .order_by("submitted_at", "pk")
    )


def all_proofs(*, status="", app_id=None, user_query="", older_than=None):
    """Every proof, newest first, for finding one to inspect or invalidate (one query per page)."""
    proofs = ScreenshotProof.objects.filter(
        **queue_filters(app_id=app_id, user_query=user_query, older_than=older_than)
    )
    if status:
        proofs = proofs.filter(status=status)
    return proofs.select_related("download__app", "download__user", "reviewer").order_by("-submitted_at", "-pk")


def queue_filters(*, app_id=None, user_query="", older_than=None):
    """Queryset lookups for the queue's filters: app, user (email or id), minimum age."""
    lookups = {}
    if app_id:
        lookups["download__app_id"] = app_id
    if user_query:
        if str(user_query).isdigit():
            lookups["download__user_id"] = int(user_query)
        else:
            lookups["download__user__email__icontains"] = user_query
    if older_than:
        lookups["submitted_at__lte"] = timezone.now() - older_than
    return lookups


def queue_counts(moderator):
    """Pending proofs and the proofs this moderator reviewed today, exact (index-backed: the pending partial index,
    (reviewer, reviewed_at)); and the proofs the whole team reviewed today, which reads every one of them, so viewers
    share it for MODERATION_TEAM_COUNT_CACHE_SECONDS: a team figure may lag that long, the moderator's own never."""
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    reviewed_today = ScreenshotProof.objects.filter(reviewed_at__gte=today)
    key = f"moderation:done-today:{today.isoformat()}"
    done_today = cache.get(key)
    if done_today is None:
        done_today = reviewed_today.count()
        if settings.MODERATION_TEAM_COUNT_CACHE_SECONDS:
            cache.set(key, done_today, settings.MODERATION_TEAM_COUNT_CACHE_SECONDS)
    return {
        "pending": ScreenshotProof.objects.filter(status=ScreenshotProof.Status.PENDING).count(),
        "done_today": done_today,
        "done_today_by_me": reviewed_today.filter(reviewer=moderator).count(),
    }


def queue_summary(now=None):
    """What a moderator's home panel shows: how many proofs wait and how long the oldest has waited."""
    pending = ScreenshotProof.objects.filter(status=ScreenshotProof.Status.PENDING)
    summary = pending.aggregate(pending=Count("pk"), oldest_submitted_at=Min("submitted_at"))
    oldest = summary["oldest_submitted_at"]
    summary["oldest_wait"] = (now or timezone.now()) - oldest if oldest else None
    return summary


def proof_context(proof):
    """What a moderator needs beside a proof: the user's other proofs (same app first) and their ledger summary."""
    member = proof.download.user
    others = list(
        ScreenshotProof.objects.filter(download__user=member)
        .exclude(pk=proof.pk)
        .select_related("download__app")
        .only("download_id", "status", "submitted_at", "reason", "download__app__name")
        .order_by("-submitted_at")[:20]
    )
    totals = member.downloads.aggregate(
        downloads=Count("pk", distinct=True),
        approved=Count("proofs", filter=Q(proofs__status=ScreenshotProof.Status.APPROVED)),
        rejected=Count("proofs", filter=Q(proofs__status=ScreenshotProof.Status.REJECTED)),
        invalidated=Count("proofs", filter=Q(proofs__status=ScreenshotProof.Status.INVALIDATED)),
    )
    return {
        "same_app": [p for p in others if p.download_id == proof.download_id],
        "other_apps": [p for p in others if p.download_id != proof.download_id],
        "totals": totals,
    }


def proof_with_history(pk):
    proof = get_object_or_404(
        ScreenshotProof.objects.select_related("download__app", "download__user", "reviewer", "claimed_by"), pk=pk
    )
    history = proof.history.select_related("history_user").order_by("-history_date", "-history_id")
    ledger = RewardEntry.objects.filter(
        source_type=ContentType.objects.get_for_model(ScreenshotProof), source_id=proof.pk
    ).select_related("actor")
    return proof, list(history), list(ledger)


def proof_for_user(user, pk):
    """A user's own proof; another user's proof (or none) is a 404, never a 403 that confirms it exists."""
    return get_object_or_404(
        ScreenshotProof.objects.select_related("download__app"), pk=pk, download__user_id=getattr(user, "pk", None)
    )


def user_history(member):
    """A user's downloads (with their proofs), and ledger, newest first."""
    downloads = (
        Download.objects.filter(user=member)
        .select_related("app")
        .prefetch_related(
            Prefetch("proofs", queryset=ScreenshotProof.objects.select_related("reviewer").order_by("-submitted_at"))
        )
        .order_by("-created_at")
    )
    ledger = (
        RewardEntry.objects.filter(user=member).select_related("actor", "source_type").order_by("-created_at", "-id")
    )
    return {"downloads": list(downloads), "ledger": list(ledger[:500])}


def downloaders_of_app(app):
    """Every user who marked `app` downloaded, with their latest proof's status."""
    latest = ScreenshotProof.objects.filter(download=OuterRef("pk")).order_by("-submitted_at", "-pk")
    return (
        Download.objects.filter(app=app)
        .select_related("user")
        .annotate(proof_status=Subquery(latest.values("status")[:1]), proof_count=Count("proofs"))
        .order_by("created_at", "pk")
    )


def invalidations():
    """Every reversed reward (invalidation, or rejection after approval): who, when, why, how much."""
    return (
        RewardEntry.objects.filter(kind=RewardEntry.Kind.INVALIDATE)
        .select_related("user", "actor")
        .order_by("-created_at", "-id")
    )


def may_see_proof_image(user, name):
    """The proof's owner, and staff who may view proofs, may see a stored screenshot; None when `name` is no proof's."""
    proof = ScreenshotProof.objects.filter(image=name).select_related("download").first()
    if proof is None:
        return None
    return proof.download.user_id == user.pk or user.has_perm("moderation.view_screenshotproof")
