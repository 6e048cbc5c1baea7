"""Staff pages of the moderation app, served inside the Wagtail admin. Thin: the rules live in the services."""

import itertools
from functools import wraps

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
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
    paginator = Paginator(selectors.pending_proofs(**lookups), QUEUE_PAGE_SIZE)
    if not any(lookups.values()):
        paginator.count = counts["pending"]
    pending = paginator.get_page(request.GET.get("page"))
    return TemplateResponse(
        request,
        "moderation/queue.html",
        {
            "page_title": "Moderation queue",
            "header_icon": "image",
            "filter_form": filter_form,
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


@staff_only(proofs.MODERATE_PERM)
@require_POST
def approve(request, pk):
    proof = get_object_or_404(ScreenshotProof, pk=pk)
    try:
        _, changed = proofs.approve_proof(proof=proof, moderator=request.user)
    except REFUSALS as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, f"Approved {proof}." if changed else f"{proof} was already approved.")
    return _back_to_queue(request)


@staff_only(proofs.MODERATE_PERM)
@require_POST
def reject(request, pk):
    proof = get_object_or_404(ScreenshotProof, pk=pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a reason to reject (the user reads it).")
        return _back_to_queue(request)
    try:
        _, changed = proofs.reject_proof(proof=proof, moderator=request.user, reason=form.cleaned_data["reason"])
    except REFUSALS as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, f"Rejected {proof}." if changed else f"{proof} was already rejected.")
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


@staff_only(proofs.MODERATE_PERM)
@require_POST
def approve_next(request, pk):
    """approve, for the queue's script: the same service call, answered with the next proof's section."""
    proof = get_object_or_404(ScreenshotProof, pk=pk)
    try:
        _, changed = proofs.approve_proof(proof=proof, moderator=request.user)
    except REFUSALS as exc:
        return _next_proof_answer(request, decided=None, message=_error_text(exc), ok=False)
    message = f"Approved {proof}." if changed else f"{proof} was already approved."
    return _next_proof_answer(request, decided=proof.pk, message=message, ok=True, changed=changed)


@staff_only(proofs.MODERATE_PERM)
@require_POST
def reject_next(request, pk):
    """reject, for the queue's script: the same form and service call, answered with the next proof's section."""
    proof = get_object_or_404(ScreenshotProof, pk=pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        message = "Give a reason to reject (the user reads it)."
        answer = {"ok": False, "message": message, "decided": None, "changed": False, "current": proof.pk}
        return JsonResponse(answer, status=400)
    try:
        _, changed = proofs.reject_proof(proof=proof, moderator=request.user, reason=form.cleaned_data["reason"])
    except REFUSALS as exc:
        return _next_proof_answer(request, decided=None, message=_error_text(exc), ok=False)
    message = f"Rejected {proof}." if changed else f"{proof} was already rejected."
    return _next_proof_answer(request, decided=proof.pk, message=message, ok=True, changed=changed)


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
    page = Paginator(selectors.all_proofs(**filter_form.lookups()), 100).get_page(request.GET.get("page"))
    return TemplateResponse(
        request,
        "moderation/proof_list.html",
        {"page_title": "All proofs", "header_icon": "image", "filter_form": filter_form, "page": page},
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
    page = Paginator(downloads, 100).get_page(request.GET.get("page")) if app else None
    return TemplateResponse(
        request,
        "moderation/app_downloads.html",
        {"page_title": "Downloads by app", "header_icon": "download", "apps": apps, "app": app, "page": page},
    )


@staff_only(proofs.INVALIDATE_PERM)
def invalidations(request):
    """Audit report: every reward taken back — who, when, why, how much."""
    page = Paginator(selectors.invalidations(), 100).get_page(request.GET.get("page"))
    return TemplateResponse(
        request,
        "moderation/invalidations.html",
        {"page_title": "Invalidations", "header_icon": "warning", "page": page},
    )
