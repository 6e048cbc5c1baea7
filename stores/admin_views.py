"""Wagtail admin views of store operations; thin: they read selectors and call the services."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.generic import TemplateView, View
from wagtail.admin.views import generic
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from catalog.models import Store

from . import orders, repricing, selectors, services
from .models import MarketplaceAccount, Order, RepricingDecision

MONITORING_PERMISSION = "stores.view_repricingdecision"
ACCEPT_PERMISSION = "stores.change_repricingdecision"
MONITORING_PAGE_SIZE = 50


class PermissionRequiredMixin:
    permission = None

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm(self.permission):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class PriceMonitoringView(PermissionRequiredMixin, WagtailAdminTemplateMixin, TemplateView):
    """Our price against the competition, product by product, with the repricer's open suggestions."""

    permission = MONITORING_PERMISSION
    template_name = "stores/admin/price_monitoring.html"
    page_title = "Price monitoring"
    header_icon = "view"

    def get_breadcrumbs_items(self):
        return [*super().get_breadcrumbs_items(), {"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        stores = list(Store.objects.order_by("name"))
        store = next((s for s in stores if str(s.pk) == self.request.GET.get("store")), None)
        show = self.request.GET.get("show") if self.request.GET.get("show") in selectors.MONITORING_FILTERS else None
        page = Paginator(selectors.monitoring_products(store=store, show=show), MONITORING_PAGE_SIZE).get_page(
            self.request.GET.get("p")
        )
        query = {"store": store.pk if store else "", "show": show or ""}
        context.update(
            page=page,
            rows=list(page.object_list),
            stores=stores,
            store=store,
            show=show,
            filters=None,
            show_choices=selectors.MONITORING_FILTERS.items(),
            query="&".join(f"{key}={value}" for key, value in query.items() if value),
            can_accept=self.request.user.has_perm(ACCEPT_PERMISSION),
            accept_url=reverse("stores_accept_suggestions"),
            stale_hours=repricing.settings.REPRICING_STALE_OFFER_HOURS,
        )
        return context


class AcceptSuggestionsView(PermissionRequiredMixin, View):
    """POST: accept the ticked suggestions (or every open one of a store) in one go."""

    permission = ACCEPT_PERMISSION

    def post(self, request):
        if request.POST.get("all"):
            open_ones = RepricingDecision.objects.filter(status=RepricingDecision.Status.SUGGESTED)
            if request.POST.get("store"):
                open_ones = open_ones.filter(product__store_id=request.POST["store"])
            ids = list(open_ones.values_list("pk", flat=True))
        else:
            ids = [value for value in request.POST.getlist("decision") if value.isdigit()]
        try:
            changed = repricing.accept_suggestions(ids, actor=request.user)
        except repricing.RepricingRefused as refusal:
            messages.error(request, refusal.message)
        else:
            messages.success(request, f"{changed} price(s) changed.")
        back = request.POST.get("next", "")
        return redirect(back if back.startswith("/admin/") else reverse("stores_price_monitoring"))


class OrderInspectView(generic.InspectView):
    template_name = "stores/admin/order_inspect.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        order = self.object
        context.update(
            items=order.items.select_related("product"),
            history=order.history.select_related("history_user").order_by("-history_date")[:50],
            next_statuses=[
                (status, Order.Status(status).label) for status in sorted(orders.ALLOWED_TRANSITIONS[order.status])
            ],
            can_change=self.request.user.has_perm("stores.change_order"),
            status_url=reverse("stores_order_status", args=[order.pk]),
        )
        return context


class OrderStatusView(PermissionRequiredMixin, View):
    """POST: move an order to another status through stores.orders (which keeps the stock right)."""

    permission = "stores.change_order"

    def post(self, request, pk):
        order = get_object_or_404(Order, pk=pk)
        try:
            orders.change_status(order, request.POST.get("status", ""), actor=request.user)
        except orders.OrderRefused as refusal:
            messages.error(request, refusal.message)
        except (KeyError, ValueError):
            messages.error(request, "Unknown status.")
        else:
            messages.success(request, f"Order {order.code} updated.")
        return redirect("stores_orders:inspect", order.pk)


class MarketplaceAccountInspectView(generic.InspectView):
    template_name = "stores/admin/marketplace_account_inspect.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            price_list_url=self.request.build_absolute_uri(
                reverse("stores_public:price_list", args=[self.object.price_list_token])
            ),
            can_rotate=self.request.user.has_perm("stores.change_marketplaceaccount"),
            rotate_url=reverse("stores_rotate_price_list_token", args=[self.object.pk]),
        )
        return context


class RotatePriceListTokenView(PermissionRequiredMixin, View):
    permission = "stores.change_marketplaceaccount"

    def post(self, request, pk):
        account = get_object_or_404(MarketplaceAccount, pk=pk)
        services.rotate_price_list_token(account, actor=request.user)
        messages.success(request, "A new price-list URL is active; the old one no longer works.")
        return redirect("stores_marketplace_accounts:inspect", account.pk)
