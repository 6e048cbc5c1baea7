"""Staff views of commerce that are not plain listings: the refund form on a purchase."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse

from . import purchases
from .errors import PurchaseRefused
from .models import Purchase


class RefundForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=purchases.REASON_MAX_LENGTH)


def refund(request, pk):
    """Admins only: refund a purchase with a reason (one reversing ledger entry; the member is told)."""
    if not request.user.has_perm(purchases.REFUND_PERM):
        raise PermissionDenied
    purchase = get_object_or_404(Purchase.objects.select_related("app", "member"), pk=pk)
    form = RefundForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            purchases.refund_purchase(purchase=purchase, actor=request.user, reason=form.cleaned_data["reason"])
        except PurchaseRefused as refused:
            messages.error(request, refused.message)
        else:
            messages.success(request, f"Refunded {purchase.price_paid} credits to {purchase.member.email}.")
        return redirect("purchases:inspect", pk)
    return TemplateResponse(request, "commerce/admin/refund.html", {"purchase": purchase, "form": form})
