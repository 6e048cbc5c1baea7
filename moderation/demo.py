"""Demo downloads and screenshot proofs: most wait in the moderation queue, some reviewed through the services."""

import random

from django.contrib.auth import get_user_model

from backoffice.images import placeholder_png
from catalog.models import App

from . import services
from .models import Download, ScreenshotProof

REVIEWER_EMAIL = "moderator@example.com"
ADMIN_EMAIL = "admin@example.com"
APPROVE, REJECT, INVALIDATE = 30, 10, 2


def load(out):
    if Download.objects.exists():
        out(f"moderation: {Download.objects.count()} downloads already there")
    else:
        _create_proofs(out)
    _review_some(out)


def _create_proofs(out):
    rng = random.Random(42)
    apps = list(App.objects.filter(active=True))
    members = list(get_user_model().objects.filter(is_staff=False).order_by("pk")[:200])
    downloads = Download.objects.bulk_create(
        Download(user=user, app=app) for user in members for app in rng.sample(apps, k=min(3, len(apps)))
    )
    for download in downloads[:150]:
        proof = ScreenshotProof(download=download)
        proof.image.save("proof.png", placeholder_png(download.app.name, size=(360, 640), name="proof.png"), save=False)
        proof.save()
    out(f"moderation: {len(downloads)} downloads, {ScreenshotProof.objects.count()} proofs")


def _review_some(out):
    """Approve, reject and invalidate a few proofs once, as the demo moderator and admin would."""
    User = get_user_model()
    moderator = User.objects.filter(email=REVIEWER_EMAIL).first()
    admin = User.objects.filter(email=ADMIN_EMAIL).first()
    if moderator is None or admin is None or ScreenshotProof.objects.exclude(status="pending").exists():
        return
    pending = list(ScreenshotProof.objects.filter(status="pending").order_by("submitted_at", "pk")[: APPROVE + REJECT])
    approved = [p for p in pending[:APPROVE] if services.approve_proof(p, moderator=moderator)[1]]
    for proof in pending[APPROVE:]:
        services.reject_proof(proof, moderator=moderator, reason="The screenshot does not show the app installed.")
    for proof in approved[:INVALIDATE]:
        services.invalidate_reward(proof, actor=admin, reason="Demo: duplicate account found.", allow_negative=True)
    out(f"moderation: {len(approved)} approved, {len(pending) - APPROVE} rejected, {INVALIDATE} invalidated")
