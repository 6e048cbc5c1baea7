"""Commerce in the Wagtail admin (purchases, plans, subscriptions) and its answers to other apps' hooks."""

import django_filters
from django.template.loader import render_to_string
from django.urls import path
from wagtail import hooks
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.generic.models import IndexView, InspectView
from wagtail.admin.viewsets.model import ModelViewSet

from backoffice import viewsets
from catalog.models import App

from . import admin_views, plans, purchases, selectors
from .models import Plan, Purchase, Subscription


class PurchaseFilterSet(WagtailFilterSet):
    app = django_filters.ModelChoiceFilter(queryset=App.objects.order_by("name"))
    member = django_filters.CharFilter(field_name="member__email", lookup_expr="iexact", label="Member email")
    created_at = django_filters.DateFromToRangeFilter(label="Bought", widget=DateRangePickerWidget)
    refunded = django_filters.BooleanFilter(field_name="refunded_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = Purchase
        fields = ["app", "member", "created_at", "refunded"]


class PurchaseIndexView(IndexView):
    def get_base_queryset(self):
        return selectors.staff_purchases()


class PurchaseInspectView(InspectView):
    template_name = "commerce/admin/purchase_inspect.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_refund"] = self.request.user.has_perm(purchases.REFUND_PERM)
        return context


class PurchaseViewSet(viewsets.ModelViewSet):
    """Read-only listing: purchases are made by members and refunded through the refund form."""

    model = Purchase
    name = "purchases"
    index_view_class = PurchaseIndexView
    inspect_view_class = PurchaseInspectView
    icon = "pick"
    menu_label = "Purchases"
    menu_order = 330
    add_to_admin_menu = True
    inspect_view_enabled = True
    list_display = ["app", "member", "price_paid", Column("created_at", label="When"), "refunded_at"]
    filterset_class = PurchaseFilterSet
    search_fields = ["member__email", "app__name"]
    form_fields = []
    list_export = ["id", "member", "app", "price_paid", "created_at", "refunded_at", "refunded_by", "refund_reason"]
    export_filename = "purchases"
    inspect_view_fields = [
        "member",
        "app",
        "price_paid",
        "created_at",
        "idempotency_key",
        "entry",
        "refunded_at",
        "refunded_by",
        "refund_reason",
        "refund_entry",
    ]


class PlanViewSet(viewsets.ModelViewSet):
    model = Plan
    name = "plans"
    icon = "list-ul"
    menu_label = "Plans"
    menu_order = 340
    add_to_admin_menu = True
    list_display = ["name", "price", "duration_days", "points_multiplier", "member_campaigns", "active"]
    list_filter = ["active", "member_campaigns"]
    form_fields = ["name", "description", "price", "duration_days", "points_multiplier", "member_campaigns", "active"]


class SubscriptionViewSet(ModelViewSet):
    model = Subscription
    name = "subscriptions"
    icon = "date"
    menu_label = "Subscriptions"
    menu_order = 350
    add_to_admin_menu = True
    inspect_view_enabled = True
    list_display = ["member", "plan", "price_paid", "starts_at", "ends_at", "status"]
    list_filter = ["plan", "status", "starts_at"]
    search_fields = ["member__email"]
    form_fields = []
    list_export = ["member", "plan", "price_paid", "starts_at", "ends_at", "status"]


@hooks.register("register_admin_viewset")
def register_commerce_viewsets():
    return [PurchaseViewSet(), PlanViewSet(), SubscriptionViewSet()]


@hooks.register("register_admin_urls")
def refund_urls():
    return [path("commerce/purchases/<int:pk>/refund/", admin_views.refund, name="commerce_refund")]


# --- answers to other apps' hooks ----------------------------------------------------------------------------


@hooks.register("growth_app_page_sections")
def buy_section(request, app):
    """The buy button (or "you own this app") on growth's public app page."""
    context = {"app": app, "owned": selectors.owned_purchase(request.user, app)}
    return render_to_string("commerce/app_section.html", context, request=request)


@hooks.register("growth_home_sections")
def plans_section(request):
    """The plans on the public home page."""
    context = {"plans": selectors.offered_plans(), "current": selectors.current_subscription(request.user)}
    return render_to_string("commerce/home_plans.html", context, request=request)


@hooks.register("moderation_reward_multiplier")
def plan_multiplier(member, app):
    """A running plan multiplies the points of an approved proof."""
    return plans.running_multiplier(member)


@hooks.register("growth_member_audience")
def plan_member_audience(now):
    """Member-only campaigns are open to members whose running plan includes them."""
    return plans.member_campaign_audience(now)
