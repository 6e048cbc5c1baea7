"""Write paths of the moderation app. `post_entry` is the only way points change."""

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction

from .models import Download, RewardEntry, ScreenshotProof


class InsufficientPoints(Exception):
    """The entry would take the user's balance below zero."""

    def __init__(self, balance, amount):
        self.balance, self.amount = balance, amount
        super().__init__(f"The balance is {balance} points; {-amount} cannot be taken.")


def post_entry(*, user, amount, kind, source=None, actor=None, reason="", allow_negative=False):
    """Append one ledger entry and move the user's balance by the same amount, atomically.

    The user row is locked for the length of the transaction, so concurrent entries for one user
    serialize. For every kind but `adjust`, (kind, source) is unique: posting the same credit twice
    returns the existing entry instead of crediting again. Returns (entry, created).

    A balance never goes below zero unless the caller says `allow_negative` (an explicit admin decision).
    """
    if amount == 0:
        raise ValueError("A ledger entry must move the balance.")
    User = get_user_model()
    source_type = ContentType.objects.get_for_model(source) if source is not None else None
    source_id = source.pk if source is not None else None
    with transaction.atomic():
        locked = User.objects.select_for_update().only("id", "points_balance").get(pk=user.pk)
        if source is not None and kind != RewardEntry.Kind.ADJUST:
            existing = RewardEntry.objects.filter(kind=kind, source_type=source_type, source_id=source_id).first()
            if existing is not None:
                return existing, False
        balance = locked.points_balance + amount
        if balance < 0 and not allow_negative:
            raise InsufficientPoints(locked.points_balance, amount)
        try:
            with transaction.atomic():
                entry = RewardEntry.objects.create(
                    user_id=locked.pk,
                    amount=amount,
                    kind=kind,
                    source_type=source_type,
                    source_id=source_id,
                    actor=actor,
                    reason=reason,
                    balance_after=balance,
                )
        except IntegrityError:
            existing = RewardEntry.objects.filter(kind=kind, source_type=source_type, source_id=source_id).first()
            if existing is None:
                raise
            return existing, False
        User.objects.filter(pk=locked.pk).update(points_balance=balance)
    user.points_balance = balance
    return entry, True


class ProofRefused(Exception):
    """A proof that cannot be accepted; the message says why, in words a user understands."""


def record_download(*, user, app):
    """Mark that `user` installed `app`; marking it again returns the existing download. Returns (download, created)."""
    if not app.active:
        raise ProofRefused("This app is no longer available.")
    return Download.objects.get_or_create(user=user, app=app)


def submit_proof(*, user, app, image):
    """Accept a screenshot proving `user` installed `app`; it waits in the moderation queue.

    Refused when the phone is not verified (earning is locked until then), when the user never marked
    the app downloaded, and while an earlier proof for it is pending or already approved.
    """
    if not user.phone_verified:
        raise ProofRefused("Verify your phone number before submitting proofs.")
    download = Download.objects.filter(user=user, app=app).first()
    if download is None:
        raise ProofRefused("Mark the app as downloaded before uploading a proof.")
    with transaction.atomic():
        Download.objects.select_for_update().filter(pk=download.pk).get()
        statuses = set(download.proofs.values_list("status", flat=True))
        if ScreenshotProof.Status.PENDING in statuses:
            raise ProofRefused("A proof for this app is already waiting for review.")
        if ScreenshotProof.Status.APPROVED in statuses:
            raise ProofRefused("A proof for this app was already approved.")
        return ScreenshotProof.objects.create(download=download, image=image)
