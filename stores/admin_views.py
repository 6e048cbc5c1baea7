"""Wagtail admin views of store operations; thin: they read selectors and call the services."""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.generic import View
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.views import generic

from backoffice.history import HistoryLinkMixin
from backoffice.viewsets import AdminPageView, PermissionRequiredMixin
from catalog.models import Store

from . import alerts, orders, repricing, selectors, services
from .models import AlertKind, MarketplaceAccount, Order, ProductStock, RepricingDecision, UserAlert

MONITORING_PERMISSION = "stores.view_repricingdecision"
ACCEPT_PERMISSION = "stores.change_repricingdecision"
MONITORING_PAGE_SIZE = 50


class PriceMonitoringView(AdminPageView):
    """Our price against the competition, product by product, with the repricer's open suggestions."""

    permission = MONITORING_PERMISSION
    template_name = "stores/admin/price_monitoring.html"
    page_title = "Price monitoring"
    header_icon = "view"

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
            changed = repricing.accept_suggestions(decision_ids=ids, actor=request.user)
        except repricing.RepricingRefused as refusal:
            messages.error(request, refusal.message)
        else:
            messages.success(request, f"{changed} price(s) changed.")
        back = request.POST.get("next", "")
        return redirect(back if back.startswith("/admin/") else reverse("stores_price_monitoring"))


class OrderInspectView(HistoryLinkMixin, generic.InspectView):
    """The order, its items and its next statuses; its status changes are on its History page (the header's link)."""

    template_name = "stores/admin/order_inspect.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        order = self.object
        context.update(
            items=order.items.select_related("product"),
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
            orders.change_status(order=order, new_status=request.POST.get("status", ""), actor=request.user)
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


class AlertCentreView(AdminPageView):
    """The signed-in staff member's alerts, newest first; opening the page marks them read."""

    template_name = "stores/admin/alert_centre.html"
    page_title = "Alerts"
    header_icon = "warning"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        mine = UserAlert.objects.filter(user=self.request.user, in_app=True)
        page = Paginator(mine, 50).get_page(self.request.GET.get("p"))
        rows = list(page.object_list)
        unread = [alert.pk for alert in rows if alert.read_at is None]
        if unread:
            UserAlert.objects.filter(pk__in=unread).update(read_at=timezone.now())
        context.update(page=page, rows=rows, unread=set(unread), preferences_url=reverse("stores_alert_preferences"))
        return context


class AlertPreferencesForm(forms.Form):
    telegram_chat_id = forms.RegexField(
        regex=r"^-?\d{1,20}$",
        required=False,
        label="Telegram chat id",
        help_text="Your numeric chat id (message the bot first). Leave empty to unlink Telegram.",
        error_messages={"invalid": "A chat id is a number, like 123456789 (groups start with -)."},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for kind, label in AlertKind.choices:
            self.fields[f"{kind}__in_app"] = forms.BooleanField(required=False, label=f"{label}: in the admin")
            self.fields[f"{kind}__telegram"] = forms.BooleanField(required=False, label=f"{label}: by Telegram")


class AlertPreferencesView(AdminPageView):
    template_name = "stores/admin/alert_preferences.html"
    page_title = "Alert settings"
    header_icon = "cog"

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data(form=AlertPreferencesForm(initial=self._initial())))

    def post(self, request, *args, **kwargs):
        form = AlertPreferencesForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        services.save_alert_preferences(user=request.user, data=form.cleaned_data)
        messages.success(request, "Alert settings saved.")
        return redirect("stores_alert_preferences")

    def _initial(self):
        user = self.request.user
        initial = {}
        chosen = {pref.kind: pref for pref in user.alert_preferences.all()}
        for kind, _label in AlertKind.choices:
            pref = chosen.get(kind)
            channels = {"in_app": pref.in_app, "telegram": pref.telegram} if pref else alerts.DEFAULT_CHANNELS
            initial[f"{kind}__in_app"], initial[f"{kind}__telegram"] = channels["in_app"], channels["telegram"]
        chat = getattr(user, "telegram_chat", None)
        initial["telegram_chat_id"] = chat.chat_id if chat else ""
        return initial

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = kwargs["form"]
        context["kinds"] = [
            (label, form[f"{kind}__in_app"], form[f"{kind}__telegram"]) for kind, label in AlertKind.choices
        ]
        return context


class StockCountForm(WagtailAdminModelForm):
    """A stock take: how many are on the shelf. Saved through stores.orders.set_stock, never as a field."""

    counted = forms.IntegerField(min_value=0, label="Quantity counted")

    class Meta:
        model = ProductStock
        fields = ["product", "sales_point"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for name in ("product", "sales_point"):
                self.fields[name].disabled = True
            self.fields["counted"].initial = self.instance.quantity
            self.fields["counted"].help_text = f"{self.instance.reserved} reserved by open orders."

    def clean(self):
        cleaned = super().clean()
        product, point = cleaned.get("product"), cleaned.get("sales_point")
        if product and point and product.store_id != point.store_id:
            self.add_error("sales_point", "The sales point belongs to another store than the product.")
        return cleaned


class StockCountMixin:
    def get_form_class(self):
        return StockCountForm

    def save_instance(self):
        data = self.form.cleaned_data
        return orders.set_stock(
            sales_point=data["sales_point"], product=data["product"], quantity=data["counted"], actor=self.request.user
        )

    def form_valid(self, form):
        try:
            return super().form_valid(form)
        except orders.OrderRefused as refusal:
            form.add_error("counted", refusal.message)
            self.produced_error_message = "The stock count was not saved."
            return self.form_invalid(form)


class StockCreateView(StockCountMixin, generic.CreateView):
    pass


class StockEditView(StockCountMixin, generic.EditView):
    pass
