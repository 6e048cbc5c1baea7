"""Public pages of commerce: buy an app (confirm, then pay), my apps, plans and my plan. Thin over the services."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from backoffice.pagination import page_of
from catalog.selectors import active_apps
from growth import campaigns
from growth.campaigns import RedemptionRefused
from growth.models import Campaign

from . import plans, purchases, selectors
from .errors import PurchaseRefused, SubscriptionRefused
from .models import Plan


@login_required
def confirm_purchase(request, slug):
    """The confirmation page: the price and the balance after, one button that buys, and one per campaign the
    member may apply (each with the price after its discount)."""
    app = get_object_or_404(active_apps(), slug=slug)
    owned = selectors.owned_purchase(request.user, app)
    if owned is not None:
        messages.info(request, f"You already own {app.name}.")
        return redirect("my-apps")
    context = {
        "app": app,
        "balance": request.user.points_balance,
        "balance_after": request.user.points_balance - app.credit_price,
        "idempotency_key": uuid.uuid4().hex,
        "offers": [
            {"offer": offer, "balance_after": request.user.points_balance - offer.price - offer.campaign.points_cost}
            for offer in campaigns.purchase_offers(request.user, app)
        ],
    }
    return render(request, "commerce/confirm_purchase.html", context)


@login_required
@require_POST
def buy(request, slug):
    app = get_object_or_404(active_apps(), slug=slug)
    try:
        expected_price = int(request.POST.get("expected_price", ""))
        campaign_id = request.POST.get("campaign", "")
        campaign = get_object_or_404(Campaign, pk=int(campaign_id)) if campaign_id else None
        expected_points_cost = int(request.POST.get("expected_points_cost", "0"))
    except ValueError:
        messages.error(request, "The purchase form was incomplete; please confirm again.")
        return redirect("buy-app", slug=slug)
    try:
        result = purchases.buy_app(
            member=request.user,
            app=app,
            idempotency_key=request.POST.get("idempotency_key", ""),
            expected_price=expected_price,
            campaign=campaign,
            expected_points_cost=expected_points_cost,
        )
    except (PurchaseRefused, RedemptionRefused) as refused:
        messages.error(request, refused.message)
        return redirect("buy-app" if campaign else "app-detail", slug=slug)
    if result.created:
        purchase = result.purchase
        discounted = f" with {campaign.name}" if purchase.redemption_id else ""
        messages.success(request, f"You bought {app.name} for {purchase.price_paid} credits{discounted}.")
    return redirect("my-apps")


@login_required
def my_apps(request):
    page = page_of(request, selectors.purchases_of(request.user), 25)
    return render(request, "commerce/my_apps.html", {"page": page})


def plan_list(request):
    return render(
        request,
        "commerce/plans.html",
        {
            "plans": selectors.offered_plans(),
            "current": selectors.current_subscription(request.user),
            "history": selectors.subscriptions_of(request.user)[:20] if request.user.is_authenticated else [],
        },
    )


@login_required
@require_POST
def subscribe(request, pk):
    plan = get_object_or_404(Plan, pk=pk, active=True)
    try:
        subscription = plans.subscribe(member=request.user, plan=plan)
    except SubscriptionRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, f"You are on {plan.name} until {subscription.ends_at:%Y-%m-%d}.")
    return redirect("plans")
