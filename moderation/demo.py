"""Demo downloads and screenshot proofs over the last 90 days, reviewed through the services as moderators would.

Members download a few apps after joining (popular apps more often); verified members upload a proof for most of
them; moderators review each within the day, so most are approved, some rejected, a few later invalidated by an
admin, and the latest ones wait in the queue. The services run in the order things happened; the timestamps are then
set to when they happened (the services stamp "now").
"""

import datetime
import random
from collections import defaultdict

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from backoffice.demo import after, moment
from backoffice.demo_images import phone_screenshot
from backoffice.models import Notification
from catalog.demo import app_color, screenshot_style
from catalog.models import App

from .models import Download, RewardEntry, ScreenshotProof
from .proofs import approve_proof, invalidate_reward, reject_proof

REVIEWER_EMAIL = "moderator@example.com"
ADMIN_EMAIL = "admin@example.com"
DOWNLOADS_PER_MEMBER = ([0, 1, 2, 3, 4, 5], [8, 30, 27, 18, 10, 7])
PROOF_SHARE = 0.75
REJECT_SHARE = 0.14
INVALIDATE_COUNT = 4
QUEUE_DAYS = 2  # proofs newer than this mostly still wait for review
SCREENSHOTS_PER_APP = 3
REJECT_REASONS = [
    "The screenshot does not show the app installed.",
    "This is a store page, not the installed app.",
    "The screenshot is cropped: the app's name is not visible.",
    "Same screenshot as another account's proof.",
]


def load(out):
    if Download.objects.exists():
        out(f"moderation: {Download.objects.count()} downloads already there")
        return
    User = get_user_model()
    moderator = User.objects.filter(email=REVIEWER_EMAIL).first()
    admin = User.objects.filter(email=ADMIN_EMAIL).first()
    rng = random.Random(42)
    downloads = _create_downloads(rng)
    proofs = _create_proofs(rng, downloads)
    if moderator is None or admin is None:
        out("moderation: no demo moderator or admin, proofs left pending")
        return
    reviewed = _review(rng, proofs, moderator, admin)
    out(
        f"moderation: {len(downloads)} downloads, {len(proofs)} proofs "
        f"({reviewed['approved']} approved, {reviewed['rejected']} rejected, {reviewed['invalidated']} invalidated)"
    )


def _create_downloads(rng):
    apps = list(App.objects.filter(active=True).select_related("category").order_by("pk"))
    if not apps:
        return []
    popularity = [1 / (rank + 1) ** 0.8 for rank in range(len(apps))]
    rng.shuffle(popularity)
    members = list(get_user_model().objects.filter(is_staff=False).order_by("pk"))
    rows, times = [], []
    for member in members:
        count = 5 if member.email == "user1@example.com" else rng.choices(*DOWNLOADS_PER_MEMBER)[0]
        chosen = set()
        while len(chosen) < min(count, len(apps)):
            chosen.add(rng.choices(range(len(apps)), popularity)[0])
        for index in sorted(chosen):
            rows.append(Download(user=member, app=apps[index]))
            times.append(moment(rng, not_before=member.date_joined))
    downloads = Download.objects.bulk_create(rows)
    for download, when in zip(downloads, times, strict=True):
        download.created_at = when
    Download.objects.bulk_update(downloads, ["created_at"], batch_size=500)
    return downloads


def _screenshots():
    """A few stored screenshots per app, shared by its proofs (drawing one per proof would slow `make run`)."""
    apps = list(App.objects.filter(active=True).select_related("category").order_by("pk"))
    field = ScreenshotProof._meta.get_field("image")
    names = {}
    for index, app in enumerate(apps):
        for variant in range(SCREENSHOTS_PER_APP):
            image = phone_screenshot(
                app.name, app_color(index, len(apps)), screenshot_style(app), seed=index * 10 + variant
            )
            # The field's own storage: proofs are private files, not public media.
            names.setdefault(app.pk, []).append(field.storage.save(field.generate_filename(None, "proof.png"), image))
    return names


def _create_proofs(rng, downloads):
    screenshots = _screenshots()
    rows, times = [], []
    for download in downloads:
        member = download.user
        if member.phone_verified_at is None or rng.random() > PROOF_SHARE:
            continue
        start = max(download.created_at, member.phone_verified_at)
        submitted = after(rng, start, min_minutes=3, max_minutes=240)
        if submitted is None:
            continue
        rows.append(ScreenshotProof(download=download, image=rng.choice(screenshots[download.app_id])))
        times.append(submitted)
    proofs = ScreenshotProof.objects.bulk_create(rows)
    for proof, when in zip(proofs, times, strict=True):
        proof.submitted_at = when
    ScreenshotProof.objects.bulk_update(proofs, ["submitted_at"], batch_size=500)
    return proofs


def _review(rng, proofs, moderator, admin):
    """Approve, reject and invalidate through the services in the order it happened, then date each change."""
    recent = timezone.now() - datetime.timedelta(days=QUEUE_DAYS)
    events = []
    for proof in proofs:
        if proof.submitted_at > recent and rng.random() < 0.7:
            continue  # still in the queue
        reviewed_at = after(rng, proof.submitted_at, min_minutes=15, max_minutes=20 * 60)
        if reviewed_at is None:
            continue
        events.append((reviewed_at, "reject" if rng.random() < REJECT_SHARE else "approve", proof))
    approvals = [event for event in events if event[1] == "approve"]
    for reviewed_at, _, proof in rng.sample(approvals, k=min(INVALIDATE_COUNT, len(approvals))):
        invalidated_at = after(rng, reviewed_at, min_minutes=600, max_minutes=5 * 24 * 60)
        if invalidated_at is not None:
            events.append((invalidated_at, "invalidate", proof))
    events.sort(key=lambda event: event[0])

    counts = defaultdict(int)
    dated_proofs = {}
    dated_entries = {}  # (kind, proof pk) -> when
    dated_notices = {}  # (member pk, subject) -> when
    for when, action, proof in events:
        app, member_id = proof.download.app, proof.download.user_id
        if action == "approve":
            approve_proof(proof=proof, moderator=moderator)
            dated_entries[RewardEntry.Kind.EARN, proof.pk] = when
            dated_notices[member_id, f"Your proof for {app.name} was approved"] = when
        elif action == "reject":
            reject_proof(proof=proof, moderator=moderator, reason=rng.choice(REJECT_REASONS))
            dated_notices[member_id, f"Your proof for {app.name} was rejected"] = when
        else:
            dated_notices[member_id, f"Your reward for {app.name} was withdrawn"] = when
            invalidate_reward(
                proof=proof, actor=admin, reason="Duplicate account found by the phone check.", allow_negative=True
            )
            dated_entries[RewardEntry.Kind.INVALIDATE, proof.pk] = when
            counts["invalidated"] += 1
            continue
        dated_proofs[proof.pk] = when
        counts["approved" if action == "approve" else "rejected"] += 1

    _date_reviews(dated_proofs, dated_entries)
    notices = list(Notification.objects.filter(user_id__in={user for user, _ in dated_notices}))
    read_before = timezone.now() - datetime.timedelta(days=2)
    for notice in notices:
        notice.created_at = dated_notices.get((notice.user_id, notice.subject), notice.created_at)
        if notice.created_at < read_before:  # members read their inbox: only recent news is unread
            notice.read_at = notice.created_at + datetime.timedelta(hours=3)
    Notification.objects.bulk_update(notices, ["created_at", "read_at"], batch_size=500)
    return counts


def backdate_with_entries(model, field, dates, *, entry_date):
    """Demo history: set `field` of each `model` row to dates[pk], and the created_at of the ledger entries those
    rows caused to entry_date(entry), as if it all happened then (the services stamp "now"); returns the rows."""
    rows = list(model.objects.filter(pk__in=dates))
    for row in rows:
        setattr(row, field, dates[row.pk])
    model.objects.bulk_update(rows, [field], batch_size=500)
    source_type = ContentType.objects.get_for_model(model)
    entries = list(RewardEntry.objects.filter(source_type=source_type, source_id__in=dates))
    for entry in entries:
        entry.created_at = entry_date(entry)
    RewardEntry.objects.bulk_update(entries, ["created_at"], batch_size=500)
    return rows


def _date_reviews(dated_proofs, dated_entries):
    backdate_with_entries(
        ScreenshotProof,
        "reviewed_at",
        dated_proofs,
        entry_date=lambda entry: dated_entries.get((entry.kind, entry.source_id), entry.created_at),
    )
    history = list(ScreenshotProof.history.filter(id__in=dated_proofs).select_related(None))
    submitted = dict(ScreenshotProof.objects.filter(pk__in=dated_proofs).values_list("pk", "submitted_at"))
    for record in history:
        if record.status == ScreenshotProof.Status.PENDING:
            record.history_date = submitted[record.id]
        elif record.status == ScreenshotProof.Status.INVALIDATED:
            record.history_date = dated_entries.get((RewardEntry.Kind.INVALIDATE, record.id), record.history_date)
        else:
            record.history_date = dated_proofs[record.id]
    ScreenshotProof.history.model.objects.bulk_update(history, ["history_date"], batch_size=500)


def after_all(out):
    """Every app's demo has dated its ledger entries; restate each entry's running balance in date order.

    The services posted entries in each app's own order (proofs, then referrals, then redemptions), so the
    `balance_after` a member sees beside an entry would otherwise jump about. Amounts and balances are untouched:
    the balance still equals the sum of the entries.
    """
    running = defaultdict(int)
    changed = []
    for entry in RewardEntry.objects.order_by("user_id", "created_at", "pk").only("user_id", "amount", "balance_after"):
        running[entry.user_id] += entry.amount
        if entry.balance_after != running[entry.user_id]:
            entry.balance_after = running[entry.user_id]
            changed.append(entry)
    RewardEntry.objects.bulk_update(changed, ["balance_after"], batch_size=500)
    out(f"moderation: {len(changed)} running balances restated in date order")


def summary():
    pending = ScreenshotProof.objects.filter(status=ScreenshotProof.Status.PENDING).count()
    proofs = ScreenshotProof.objects.count()
    return f"{Download.objects.count()} downloads, {proofs} proofs ({pending} waiting for review)"
