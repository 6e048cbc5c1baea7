"""Demo downloads and screenshot proofs, most of them waiting in the moderation queue."""

import random

from django.contrib.auth import get_user_model

from backoffice.images import placeholder_png
from catalog.models import App

from .models import Download, ScreenshotProof


def load(out):
    if Download.objects.exists():
        out(f"moderation: {Download.objects.count()} downloads already there")
        return
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
    out(f"moderation: {len(downloads)} downloads, {ScreenshotProof.objects.count()} proofs pending")
