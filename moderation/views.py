"""Staff pages of the moderation app, served inside the Wagtail admin. Thin: the rules live in the services."""

import itertools
from dataclasses import dataclass
from functools import partial, wraps

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from wagtail import hooks

from backoffice import exports
from backoffice.admin_denied import not_allowed
from backoffice.pagination import page_of
from catalog.models import App

from . import claims, ledger, proofs, selectors
from .forms import BulkForm, InvalidateForm, ProofFilterForm, QueueFilterForm, ReasonForm
from .models import ScreenshotProof

QUEUE_PAGE_SIZE = 50
VIEW_DOWNLOADS_PERM = "moderation.view_download"


def staff_only(perm):
    """Answer the admin's one "not allowed" page (403) when the user lacks `perm` or a service refuses them."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            try:
                if not request.user.has_perm(perm):
                    raise PermissionDenied
                return view(request, *args, **kwargs)
            except PermissionDenied:
                return not_allowed(request)

        return wrapper

    return decorate


def _back_to_queue(request):
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect("moderation_queue")


def _error_text(exc):
    return " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)


REFUSALS = (proofs.ModerationRefused, ledger.InsufficientPoints, ValidationError)


@staff_only(proofs.MODERATE_PERM)
def queue(request):
    """The oldest pending proof nobody else holds (claimed for this moderator), and the page of pending proofs."""
    filter_form = QueueFilterForm(request.GET or None)
    lookups = filter_form.lookups()
    current = claims.claim_next_proof(moderator=request.user, filters=selectors.queue_filters(**lookups))
    counts = selectors.queue_counts(request.user)
    known_count = None if any(lookups.values()) else counts["pending"]
    pending = page_of(request, selectors.pending_proofs(**lookups), QUEUE_PAGE_SIZE, count=known_count)
    return TemplateResponse(
        request,
        "moderation/queue.html",
        {
            "page_title": "Moderation queue",
            "header_icon": "image",
            "filter_form": filter_form,
            "filter_fields": [filter_form[name] for name in ("app", "user", "age")],
            "current": current,
            "context": selectors.proof_context(current) if current else None,
            "pending": pending,
            "counts": counts,
            "claim_minutes": claims.CLAIM_MINUTES,
            "here": request.get_full_path(),
            "can_invalidate": request.user.has_perm(proofs.INVALIDATE_PERM),
            # The pending table links each row; one prefix each instead of two URL reversals a row.
            "proof_path": reverse("moderation_proof", args=[0]).removesuffix("0/"),
            "user_history_path": reverse("moderation_user_history", args=[0]).removesuffix("0/"),
        },
    )


REASON_REQUIRED = "Give a reason to reject (the user reads it)."


@dataclass(frozen=True)
class Verdict:
    """One approve/reject request's outcome, for the page path (a message and a redirect) and the fetch path (JSON)."""

    proof: ScreenshotProof
    ok: bool
    message: str
    changed: bool = False
    reason_missing: bool = False


def _decide(request, pk, *, reject):
    """Approve or reject one proof: the reason form (reject), the service call, and the moderator's message."""
    proof = get_object_or_404(ScreenshotProof, pk=pk)
    if reject:
        form = ReasonForm(request.POST)
        if not form.is_valid():
            return Verdict(proof, ok=False, message=REASON_REQUIRED, reason_missing=True)
        decide, done, state = partial(proofs.reject_proof, reason=form.cleaned_data["reason"]), "Rejected", "rejected"
    else:
        decide, done, state = proofs.approve_proof, "Approved", "approved"
    try:
        _, changed = decide(proof=proof, moderator=request.user)
    except REFUSALS as exc:
        return Verdict(proof, ok=False, message=_error_text(exc))
    message = f"{done} {proof}." if changed else f"{proof} was already {state}."
    return Verdict(proof, ok=True, message=message, changed=changed)


def _flash_and_return(request, verdict):
    """The page path: the outcome as a flash message, then back to the queue."""
    (messages.success if verdict.ok else messages.error)(request, verdict.message)
    return _back_to_queue(request)


def _next_proof_answer(request, *, decided, message, ok, changed=False, status=200):
    """The fetch path's answer: the outcome, and the next proof's section claimed for this moderator and rendered
    alone (no admin page around it, no redirect), for the queue's script to swap in. Filters come from the query."""
    lookups = QueueFilterForm(request.GET).lookups() if request.GET else {}
    current = claims.claim_next_proof(moderator=request.user, filters=selectors.queue_filters(**lookups))
    query = request.GET.urlencode()
    here = reverse("moderation_queue") + (f"?{query}" if query else "")
    html = render_to_string(
        "moderation/includes/current_proof.html",
        {
            "current": current,
            "context": selectors.proof_context(current) if current else None,
            "claim_minutes": claims.CLAIM_MINUTES,
            "here": here,
            "filtered": bool(lookups and any(lookups.values())),
        },
        request=request,
    )
    answer = {"ok": ok, "message": message, "decided": decided, "changed": changed, "url": here}
    return JsonResponse({**answer, "current": current.pk if current else None, "html": html}, status=status)


def _answer_with_next_proof(request, verdict):
    """The fetch path (the queue's script): the outcome with the next proof's section; a missing reason keeps the
    same proof (400, no new claim)."""
    if verdict.reason_missing:
        answer = {
            "ok": False,
            "message": verdict.message,
            "decided": None,
            "changed": False,
            "current": verdict.proof.pk,
        }
        return JsonResponse(answer, status=400)
    decided = verdict.proof.pk if verdict.ok else None
    return _next_proof_answer(request, decided=decided, message=verdict.message, ok=verdict.ok, changed=verdict.changed)


def _verdict_view(*, reject, answer):
    """One moderator's verdict on one proof, answered as a page (`_flash_and_return`) or for the queue's script."""

    @staff_only(proofs.MODERATE_PERM)
    @require_POST
    def view(request, pk):
        return answer(request, _decide(request, pk, reject=reject))

    return view


approve = _verdict_view(reject=False, answer=_flash_and_return)
reject = _verdict_view(reject=True, answer=_flash_and_return)
approve_next = _verdict_view(reject=False, answer=_answer_with_next_proof)
reject_next = _verdict_view(reject=True, answer=_answer_with_next_proof)


@staff_only(proofs.MODERATE_PERM)
@require_POST
def skip(request, pk):
    """Give the proof back to the queue and claim the next one."""
    proof = get_object_or_404(ScreenshotProof, pk=pk)
    claims.release_claim(proof=proof, moderator=request.user)
    claims.claim_next_proof(moderator=request.user, exclude_ids=[proof.pk])
    return _back_to_queue(request)


@staff_only(proofs.MODERATE_PERM)
@require_POST
def bulk(request):
    form = BulkForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return _back_to_queue(request)
    ids = form.cleaned_data["proofs"]
    if form.cleaned_data["action"] == "approve":
        done, skipped = proofs.bulk_approve(proof_ids=ids, moderator=request.user)
        verb = "Approved"
    else:
        done, skipped = proofs.bulk_reject(proof_ids=ids, moderator=request.user, reason=form.cleaned_data["reason"])
        verb = "Rejected"
    messages.success(request, f"{verb} {len(done)} proof(s); {len(skipped)} left unchanged.")
    return _back_to_queue(request)


@staff_only("moderation.view_screenshotproof")
def proof_list(request):
    filter_form = ProofFilterForm(request.GET or None)
    page = page_of(request, selectors.all_proofs(**filter_form.lookups()), 100)
    return TemplateResponse(
        request,
        "moderation/proof_list.html",
        {
            "page_title": "All proofs",
            "header_icon": "image",
            "filter_form": filter_form,
            "filter_fields": [filter_form[name] for name in ("status", "app", "user")],
            "page": page,
        },
    )


@staff_only("moderation.view_screenshotproof")
def proof_detail(request, pk):
    proof, history, ledger = selectors.proof_with_history(pk)
    return TemplateResponse(
        request,
        "moderation/proof_detail.html",
        {
            "page_title": str(proof),
            "header_icon": "image",
            "proof": proof,
            "history": history,
            "ledger": ledger,
            "context": selectors.proof_context(proof),
            "can_moderate": request.user.has_perm(proofs.MODERATE_PERM),
            "can_invalidate": request.user.has_perm(proofs.INVALIDATE_PERM),
            "invalidate_form": InvalidateForm(),
            "here": request.get_full_path(),
        },
    )


@staff_only(proofs.INVALIDATE_PERM)
@require_POST
def invalidate(request, pk):
    proof = get_object_or_404(ScreenshotProof, pk=pk)
    form = InvalidateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a reason to invalidate (it is kept in the audit report).")
        return redirect("moderation_proof", pk=pk)
    try:
        proofs.invalidate_reward(
            proof=proof,
            actor=request.user,
            reason=form.cleaned_data["reason"],
            allow_negative=form.cleaned_data["allow_negative"],
        )
    except ledger.InsufficientPoints as exc:
        messages.error(request, f"{exc} Tick “Allow a negative balance” to invalidate anyway.")
    except REFUSALS as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, f"Invalidated the reward of {proof}.")
    return redirect("moderation_proof", pk=pk)


@staff_only(VIEW_DOWNLOADS_PERM)
def user_history(request, pk):
    """A user's downloads, proofs, ledger, and whatever other apps add through the
    `moderation_user_history_sections` hook (growth adds referrals: moderation may not import growth)."""
    member = get_object_or_404(get_user_model(), pk=pk)
    extra_sections = [section for fn in hooks.get_hooks("moderation_user_history_sections") if (section := fn(member))]
    return TemplateResponse(
        request,
        "moderation/user_history.html",
        {
            "page_title": f"History of {member}",
            "header_icon": "user",
            "member": member,
            **selectors.user_history(member),
            "extra_sections": extra_sections,
        },
    )


class _Echo:
    def write(self, value):
        return value


@staff_only(VIEW_DOWNLOADS_PERM)
def app_downloads(request):
    """All users who downloaded one app, as a page or a CSV file (?format=csv)."""
    apps = App.objects.order_by("name").only("id", "name")
    app = get_object_or_404(App, pk=request.GET["app"]) if request.GET.get("app", "").isdigit() else None
    downloads = selectors.downloaders_of_app(app) if app else None
    if app and request.GET.get("format") == "csv":
        writer = exports.csv_writer(_Echo())
        header = ["user_id", "email", "name", "downloaded_at", "proofs", "latest_proof_status"]
        rows = (
            [d.user_id, d.user.email, d.user.get_full_name(), d.created_at.isoformat(), d.proof_count, d.proof_status]
            for d in downloads.iterator(chunk_size=2000)
        )
        lines = (writer.writerow(row) for row in itertools.chain([header], rows))
        response = StreamingHttpResponse(lines, content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="downloads-{app.slug}.csv"'
        return response
    page = page_of(request, downloads, 100) if app else None
    return TemplateResponse(
        request,
        "moderation/app_downloads.html",
        {"page_title": "Downloads by app", "header_icon": "download", "apps": apps, "app": app, "page": page},
    )


@staff_only(proofs.INVALIDATE_PERM)
def invalidations(request):
    """Audit report: every reward taken back — who, when, why, how much."""
    page = page_of(request, selectors.invalidations(), 100)
    return TemplateResponse(
        request,
        "moderation/invalidations.html",
        {"page_title": "Invalidations", "header_icon": "warning", "page": page},
    )
