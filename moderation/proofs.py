"""Screenshot proofs: a member submits one, a moderator approves or rejects it, an admin may invalidate its reward."""

import functools
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from wagtail import hooks

from backoffice.errors import DomainError
from backoffice.events import publish
from backoffice.prepared import commit_with_next_statement, prepared, redo_if_statements_lost, run
from backoffice.services import notify_user
from backoffice.uploads import validate_image
from catalog.models import App

from . import selectors
from .ledger import InsufficientPoints, entry_for, post_entry
from .models import Download, RewardEntry, ScreenshotProof
from .proof_images import clean_proof_image, hash_distance


class ProofRefused(DomainError):
    """A proof that cannot be accepted; the message says why, in words a user understands."""

    def __init__(self, message, code="proof_refused", details=None):
        super().__init__(code, message, details)


class DownloadMark(NamedTuple):
    """The member's download of the app, and whether this call recorded it."""

    download: Download
    created: bool


def record_download(*, user, app):
    """Mark that `user` installed `app`; marking it again returns the existing download. Returns a DownloadMark."""
    if not app.active:
        raise ProofRefused("This app is no longer available.")
    return DownloadMark(*Download.objects.get_or_create(user=user, app=app))


def submit_proof(*, user, app, image):
    """Accept a screenshot proving `user` installed `app`; it waits in the moderation queue.

    Refused when the phone is not verified (earning is locked until then), when the user never marked the app
    downloaded, when the re-earn policy closes the app for this member (`selectors.earning_closed_reason`), when the
    upload is not a real image of a sensible size, and when the same screenshot was already sent by another member.
    A near duplicate of another member's proof (pHash distance <= PROOF_NEAR_DUPLICATE_DISTANCE) is accepted and
    flagged for the moderator. The stored image has no EXIF/GPS and an extension true to its format.
    """
    try:
        validate_image(image)
    except ValidationError as exc:
        raise ProofRefused(" ".join(exc.messages), code="invalid_image") from exc
    if not user.phone_verified:
        raise ProofRefused("Verify your phone number before submitting proofs.", code="phone_not_verified")
    download = Download.objects.filter(user=user, app=app).first()
    if download is None:
        raise ProofRefused("Mark the app as downloaded before uploading a proof.", code="not_downloaded")
    clean = clean_proof_image(image)
    with transaction.atomic():
        Download.objects.select_for_update().filter(pk=download.pk).get()
        closed = selectors.earning_closed_reason(download)
        if closed is not None:
            raise ProofRefused(closed.message, code=closed.code)
        others = ScreenshotProof.objects.exclude(download__user=user)
        if others.filter(image_hash=clean.phash).exists():
            raise ProofRefused(
                "This screenshot was already sent by another member. Send a screenshot of your own phone.",
                code="duplicate_proof",
            )
        return ScreenshotProof.objects.create(
            download=download,
            image=clean.file,
            image_hash=clean.phash,
            near_duplicate_of=_near_duplicate(clean.phash, others.filter(download__app=app)),
        )


def _near_duplicate(phash, candidates):
    """The closest of `candidates` within PROOF_NEAR_DUPLICATE_DISTANCE, or None. Compared within one app's proofs:
    a screenshot reused for another app would not prove that app anyway."""
    best = None
    for pk, other in candidates.exclude(image_hash="").values_list("pk", "image_hash").iterator():
        distance = hash_distance(phash, other)
        if distance <= settings.PROOF_NEAR_DUPLICATE_DISTANCE and (best is None or distance < best[0]):
            best = (distance, pk)
    return ScreenshotProof.objects.get(pk=best[1]) if best else None


# --- Moderation -------------------------------------------------------------------------------------------------

REASON_MAX_LENGTH = 1000
MODERATE_PERM = "moderation.moderate_screenshotproof"
INVALIDATE_PERM = "moderation.invalidate_reward"


class ModerationRefused(Exception):
    """A moderation action that does not apply to the proof as it stands (e.g. approving a rejected proof)."""


class Decision(NamedTuple):
    """A moderation action's outcome: the proof as it now stands, and whether this call changed it."""

    proof: ScreenshotProof
    changed: bool


class BulkOutcome(NamedTuple):
    """Ids of the proofs a bulk action changed, and of those it left as they were."""

    done: list
    skipped: list


def require_perm(actor, perm):
    if actor is None or not actor.is_active or not actor.has_perm(perm):
        raise PermissionDenied(f"{actor} may not do this ({perm}).")


def _clean_reason(reason):
    reason = (reason or "").strip() if isinstance(reason, str) else None
    if not reason:
        raise ValidationError({"reason": "A reason is required."})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError({"reason": f"Keep the reason under {REASON_MAX_LENGTH} characters."})
    return reason


STATUS_FIELDS = ("status", "reason", "reviewer", "reviewed_at", "claimed_by", "claimed_until")


def _locked(proof):
    """The proof row locked, with just what a decision needs beside it: the member's id and email, the app's name
    and reward. Every column of the proof itself is read, because its history row copies them all."""
    return (
        ScreenshotProof.objects.select_for_update(of=("self",))
        .select_related("download__app", "download__user")
        .only(
            *(field.name for field in ScreenshotProof._meta.concrete_fields),
            "download__user__email",
            "download__app__name",
            "download__app__points_reward",
        )
        .get(pk=proof.pk)
    )


def _save_status(proof, *, actor, status, reason, review=True):
    """Change the proof's status, recording the actor in its history (rule 5)."""
    proof.status = status
    proof.reason = reason
    if review:
        proof.reviewer = actor
        proof.reviewed_at = timezone.now()
    proof.claimed_by = None
    proof.claimed_until = None
    proof._history_user = actor
    proof.save(update_fields=STATUS_FIELDS)


def _sync(target, source):
    for field in ("status", "reason", "reviewer_id", "reviewed_at", "claimed_by_id", "claimed_until"):
        setattr(target, field, getattr(source, field))
    return target


REWARD_MULTIPLIER_HOOK = "moderation_reward_multiplier"


def reward_for(*, member, app):
    """The points an approved proof of `app` earns `member`: the app's reward times the best multiplier.

    Apps to the left (commerce's plans) answer the Wagtail hook `moderation_reward_multiplier` with
    `fn(member, app) -> Decimal | None`; moderation never imports them. Rounded half up, at least 1 point.
    """
    multipliers = [m for fn in hooks.get_hooks(REWARD_MULTIPLIER_HOOK) if (m := fn(member, app)) is not None]
    best = max([Decimal(1), *(Decimal(m) for m in multipliers)])
    return max(1, int((app.points_reward * best).quantize(Decimal(1), rounding=ROUND_HALF_UP)))


@functools.cache
def _approve_sql():
    """The statement of `_approve_in_one_statement`, built once per process (the models do not change at run time)
    and prepared once per database session (backoffice.prepared: planning it cost more than running it)."""
    quote = connection.ops.quote_name
    history = ScreenshotProof.history.model
    tracked = [field.column for field in ScreenshotProof._meta.concrete_fields]
    columns = ", ".join(quote(column) for column in tracked)
    return prepared(
        "moderation_approve_proof",
        f"""
        WITH approved AS (
            UPDATE {quote(ScreenshotProof._meta.db_table)} AS p
            SET status = %(approved)s, reason = '', reviewer_id = %(moderator)s, reviewed_at = %(now)s,
                claimed_by_id = NULL, claimed_until = NULL
            FROM {quote(Download._meta.db_table)} d, {quote(App._meta.db_table)} a,
                {quote(get_user_model()._meta.db_table)} u
            WHERE p.id = %(pk)s AND p.status = %(pending)s AND d.id = p.download_id AND a.id = d.app_id
                AND u.id = d.user_id
            RETURNING {", ".join(f"p.{quote(column)}" for column in tracked)}, d.user_id, u.email, d.app_id, a.name,
                a.points_reward
        ), history AS (
            INSERT INTO {quote(history._meta.db_table)}
                ({columns}, history_date, history_change_reason, history_type, history_user_id)
            SELECT {columns}, %(now)s, NULL, '~', %(moderator)s FROM approved
        )
        SELECT * FROM approved
    """,
        {"approved": "text", "moderator": "bigint", "now": "timestamptz", "pk": "bigint", "pending": "text"},
    )


def _approve_in_one_statement(proof, moderator):
    """PostgreSQL: approve a pending proof, write its history row (rule 5) and read what the approval needs beside
    it, in one statement. The UPDATE locks the proof row as SELECT FOR UPDATE would, so of two moderators the second
    waits, then finds it no longer pending. Returns the approved proof with its download's user (id, email) and app
    (id, name, reward) attached, or None when the proof is not pending.
    """
    params = {
        "pk": proof.pk,
        "moderator": moderator.pk,
        "now": timezone.now(),
        "approved": ScreenshotProof.Status.APPROVED,
        "pending": ScreenshotProof.Status.PENDING,
    }
    with connection.cursor() as cursor:
        run(cursor, [_approve_sql()], params)
        row = cursor.fetchone()
    if row is None:
        return None
    *values, user_id, email, app_id, app_name, points_reward = row
    db = connection.alias
    approved = ScreenshotProof.from_db(db, [field.attname for field in ScreenshotProof._meta.concrete_fields], values)
    approved.download = Download.from_db(db, ["id", "user_id", "app_id"], [approved.download_id, user_id, app_id])
    approved.download.user = get_user_model().from_db(db, ["id", "email"], [user_id, email])
    approved.download.app = App.from_db(db, ["id", "name", "points_reward"], [app_id, app_name, points_reward])
    return approved


@redo_if_statements_lost
def approve_proof(*, proof, moderator):
    """Approve a pending proof and credit the app's points once. Returns a Decision.

    The proof row is locked first, so of two moderators approving at once the second sees it approved
    and changes nothing; the earn entry is also unique per proof in the ledger (belt and braces).
    Approving an approved proof is a no-op; approving a rejected or invalidated one is refused.
    """
    require_perm(moderator, MODERATE_PERM)
    with transaction.atomic():
        locked = _approve_in_one_statement(proof, moderator) if connection.vendor == "postgresql" else None
        if locked is None:  # not pending (PostgreSQL), or another database
            locked = _locked(proof)
            if locked.status == ScreenshotProof.Status.APPROVED:
                return Decision(_sync(proof, locked), False)
            if locked.status != ScreenshotProof.Status.PENDING:
                raise ModerationRefused(
                    f"This proof is {locked.get_status_display().lower()}; only pending proofs can be approved."
                )
            _save_status(locked, actor=moderator, status=ScreenshotProof.Status.APPROVED, reason="")
        app, member = locked.download.app, locked.download.user
        points = reward_for(member=member, app=app)
        post_entry(user=member, amount=points, kind=RewardEntry.Kind.EARN, source=locked, actor=moderator)
        publish(
            "proof.approved",
            {"id": locked.pk, "user_id": member.pk, "app_id": app.pk, "points": points, "reviewer_id": moderator.pk},
        )
        with commit_with_next_statement():  # the approval's last write: nothing follows it in the transaction
            notify_user(
                member,
                f"Your proof for {app.name} was approved",
                f"{points} points were added to your balance.",
            )
    return Decision(_sync(proof, locked), True)


def _reverse_reward(locked, *, actor, reason, allow_negative):
    earn = entry_for(kind=RewardEntry.Kind.EARN, source=locked)
    if earn is None:
        return None
    entry, _ = post_entry(
        user=locked.download.user,
        amount=-earn.amount,
        kind=RewardEntry.Kind.INVALIDATE,
        source=locked,
        actor=actor,
        reason=reason,
        allow_negative=allow_negative,
    )
    return entry


def _decide_with_reason(proof, actor, perm, reason, target, decide):
    """What rejecting and invalidating share: the permission, a cleaned reason, the proof row locked; a proof already
    at `target` is a no-op, else `decide(locked, reason)` changes it in the same transaction. Returns a Decision."""
    require_perm(actor, perm)
    reason = _clean_reason(reason)
    with transaction.atomic():
        locked = _locked(proof)
        if locked.status == target:
            return Decision(_sync(proof, locked), False)
        decide(locked, reason)
    return Decision(_sync(proof, locked), True)


def reject_proof(*, proof, moderator, reason, allow_negative=False):
    """Reject a proof with a reason the user will read. Returns a Decision.

    Rejecting a pending proof credits nothing. Rejecting an approved proof takes its points back with one
    reversing entry, which needs the invalidate permission (taking points away is an admin's call).
    Rejecting a rejected proof is a no-op.
    """

    def reject(locked, reason):
        if locked.status == ScreenshotProof.Status.INVALIDATED:
            raise ModerationRefused("This proof's reward was already invalidated.")
        if locked.status == ScreenshotProof.Status.APPROVED:
            require_perm(moderator, INVALIDATE_PERM)
            _reverse_reward(locked, actor=moderator, reason=reason, allow_negative=allow_negative)
        app, member = locked.download.app, locked.download.user
        _save_status(locked, actor=moderator, status=ScreenshotProof.Status.REJECTED, reason=reason)
        notify_user(member, f"Your proof for {app.name} was rejected", f"Reason: {reason}")

    return _decide_with_reason(proof, moderator, MODERATE_PERM, reason, ScreenshotProof.Status.REJECTED, reject)


def invalidate_reward(*, proof, actor, reason, allow_negative=False):
    """Take back an approved proof's reward (admins only): one reversing ledger entry with actor and reason.

    Nothing is deleted: the earn entry stays, the reversing `invalidate` entry sits beside it, the proof is
    marked invalidated and the change is in its history. If the user already spent the points, the
    invalidation is refused (InsufficientPoints) unless the admin explicitly allows a negative balance.
    Invalidating an invalidated proof is a no-op. Returns a Decision.
    """

    def invalidate(locked, reason):
        if locked.status != ScreenshotProof.Status.APPROVED:
            raise ModerationRefused("Only an approved proof's reward can be invalidated.")
        entry = _reverse_reward(locked, actor=actor, reason=reason, allow_negative=allow_negative)
        _save_status(locked, actor=actor, status=ScreenshotProof.Status.INVALIDATED, reason=reason, review=False)
        app, member = locked.download.app, locked.download.user
        points = -entry.amount if entry else 0
        notify_user(
            member,
            f"Your reward for {app.name} was withdrawn",
            f"{points} points were taken back. Reason: {reason}",
        )

    return _decide_with_reason(proof, actor, INVALIDATE_PERM, reason, ScreenshotProof.Status.INVALIDATED, invalidate)


def _bulk(action, proof_ids, **kwargs):
    """Apply `action` to each proof in its own transaction; one refused proof doesn't undo the others."""
    outcome = BulkOutcome(done=[], skipped=[])
    for proof in ScreenshotProof.objects.filter(pk__in=list(proof_ids)).order_by("submitted_at", "pk"):
        try:
            changed = action(proof=proof, **kwargs).changed
        except (ModerationRefused, InsufficientPoints):
            changed = False
        (outcome.done if changed else outcome.skipped).append(proof.pk)
    return outcome


def bulk_approve(*, proof_ids, moderator):
    """Approve a selection of proofs. Returns a BulkOutcome."""
    require_perm(moderator, MODERATE_PERM)
    return _bulk(approve_proof, proof_ids, moderator=moderator)


def bulk_reject(*, proof_ids, moderator, reason):
    """Reject a selection of proofs with one reason. Returns a BulkOutcome."""
    require_perm(moderator, MODERATE_PERM)
    reason = _clean_reason(reason)
    return _bulk(reject_proof, proof_ids, moderator=moderator, reason=reason)
