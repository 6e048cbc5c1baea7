"""The "Store operations" menu of the Wagtail admin (Admins): sales points and stock, clients and orders,
competitor shops and listings, repricing rules, suggestions and the price monitoring page, marketplace accounts.

Listings search with the ORM (search_backend_name = None), filter, and export CSV/XLSX through Wagtail's
`list_export`. Each object's History page (backoffice.history) lists the admin edits and, field by field, the
service-side changes of its django-simple-history (order status, stock); the order page links to it.
"""

from django import forms
from django.db.models import Q
from django.templatetags.static import static
from django.urls import path, reverse_lazy
from django.utils.html import format_html
from wagtail import hooks
from wagtail.admin.forms.choosers import BaseFilterForm
from wagtail.admin.menu import MenuItem
from wagtail.admin.panels import FieldPanel
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.views.generic import chooser as chooser_views
from wagtail.admin.viewsets.chooser import ChooserViewSet
from wagtail.admin.viewsets.model import ModelViewSetGroup

from backoffice import viewsets
from backoffice.history import ObjectHistoryView
from backoffice.viewsets import PermissionRequiredMixin
from catalog.models import Product

from . import admin_views, alerts, live
from .models import (
    Client,
    CompetitorListing,
    CompetitorStore,
    MarketplaceAccount,
    Order,
    ProductStock,
    RepricingDecision,
    RepricingRule,
    SalesPoint,
)


class ProductSearchForm(BaseFilterForm):
    q = forms.CharField(label="SKU or name", required=False)

    def filter(self, objects):
        query = self.cleaned_data.get("q") if self.is_valid() else ""
        if query:
            self.is_searching, self.search_query = True, query
            objects = objects.filter(Q(sku__icontains=query) | Q(name__icontains=query))
        return objects


def _product_viewers_only(view_class):
    return type(view_class.__name__, (PermissionRequiredMixin, view_class), {"permission": "catalog.view_product"})


class ProductChooserViewSet(ChooserViewSet):
    """Pick one product among many (100,000+) by SKU or name, for repricing rules (who may see products)."""

    model = Product
    name = "stores_product_chooser"
    choose_view_class = _product_viewers_only(chooser_views.ChooseView)
    choose_results_view_class = _product_viewers_only(chooser_views.ChooseResultsView)
    chosen_view_class = _product_viewers_only(chooser_views.ChosenView)
    chosen_multiple_view_class = _product_viewers_only(chooser_views.ChosenMultipleView)
    create_view_class = _product_viewers_only(chooser_views.CreateView)
    icon = "tag"
    choose_one_text = "Choose a product"
    choose_another_text = "Choose another product"
    register_widget = False
    per_page = 20

    def get_common_view_kwargs(self, **kwargs):
        return super().get_common_view_kwargs(filter_form_class=ProductSearchForm, **kwargs)


product_chooser = ProductChooserViewSet()


class StoresViewSet(viewsets.ModelViewSet):
    copy_view_enabled = False
    # Every store listing's History page has the field-changes section, even for the two untracked models.
    history_view_class = ObjectHistoryView
    search_backend_name = None  # plain ORM search over search_fields
    list_per_page = 50


class SalesPointViewSet(StoresViewSet):
    """Where each store sells and keeps stock. Deactivate one rather than delete it: its orders and stock keep
    pointing at it."""

    model = SalesPoint
    name = "sales_points"
    icon = "home"
    form_fields = ["store", "name", "address", "active"]
    list_display = ["name", "store", "address", "active"]
    list_filter = ["store", "active"]
    list_export = ["store", "name", "address", "active"]
    search_fields = ["name", "address"]


class ProductStockViewSet(StoresViewSet):
    """Stock per sales point; counts change only through stores.orders (orders, and stock takes here).
    Available is the quantity less what open orders have reserved: what a new order may still take."""

    model = ProductStock
    name = "stock"
    icon = "clipboard-list"
    menu_label = "Stock"
    inspect_view_enabled = True
    add_view_class = admin_views.StockCreateView
    edit_view_class = admin_views.StockEditView
    form_fields = ["product", "sales_point"]
    list_display = ["product", "sales_point", "quantity", "reserved", Column("available", label="Available")]
    list_filter = ["sales_point"]
    list_export = ["product", "sales_point", "quantity", "reserved", "available"]
    search_fields = ["product__sku", "product__name", "sales_point__name"]
    list_select_related = ("product", "sales_point__store")


class ClientViewSet(StoresViewSet):
    model = Client
    name = "clients"
    icon = "user"
    inspect_view_enabled = True
    form_fields = ["store", "name", "phone", "email", "city"]
    list_display = ["name", "phone", "email", "city", "store"]
    list_filter = ["store", "city"]
    list_export = ["store", "name", "phone", "email", "city", "created_at"]
    search_fields = ["name", "phone", "email", "city"]


class OrderViewSet(StoresViewSet):
    """Orders arrive from the marketplace feed; staff read them and move their status (stores.orders)."""

    model = Order
    name = "stores_orders"
    url_prefix = "orders"
    icon = "list-ul"
    inspect_view_enabled = True
    edit_opens_inspect = True
    inspect_view_class = admin_views.OrderInspectView
    form_fields = ["store", "code", "client", "sales_point", "placed_at"]
    inspect_view_fields = [
        "code",
        "store",
        "client",
        "sales_point",
        "status",
        "total",
        "placed_at",
        "status_changed_at",
    ]
    list_display = [
        "code",
        "status",
        "client",
        "sales_point",
        "total",
        DateColumn("placed_at", label="Placed", sort_key="placed_at"),
    ]
    list_filter = ["store", "status", "sales_point"]
    list_export = ["store", "code", "status", "client", "sales_point", "total", "placed_at", "status_changed_at"]
    search_fields = ["code", "client__name", "client__phone"]
    list_select_related = ("client", "sales_point")
    ordering = ["-placed_at"]


class CompetitorStoreViewSet(StoresViewSet):
    model = CompetitorStore
    name = "competitor_shops"
    icon = "globe"
    menu_label = "Competitor shops"
    form_fields = ["competitor", "store", "name", "shop_url", "feed_url", "feed_format", "active"]
    list_display = ["name", "competitor", "store", "feed_format", "active", "last_import_at"]
    list_filter = ["competitor", "store", "active"]
    list_export = ["competitor", "store", "name", "shop_url", "feed_url", "feed_format", "active", "last_import_at"]
    search_fields = ["name", "competitor__name"]


class CompetitorListingViewSet(StoresViewSet):
    """Everything the competitors' shops sell (matched to our products or not), as their feeds last said."""

    model = CompetitorListing
    name = "competitor_listings"
    icon = "list-ol"
    menu_label = "Competitor listings"
    inspect_view_enabled = True
    form_fields = ["competitor_store", "external_id"]
    list_display = ["sku", "name", "competitor_store", "product", "price", "in_stock", "seen_at"]
    list_filter = ["competitor_store", "in_stock"]
    list_export = ["competitor_store", "external_id", "sku", "name", "product", "price", "in_stock", "seen_at"]
    search_fields = ["sku", "name", "external_id"]
    list_select_related = ("competitor_store__competitor", "product")


class RepricingRuleViewSet(StoresViewSet):
    """How each product's price follows its competitors, between a floor and a ceiling (a rule without a product is
    the store's default). In suggest mode the repricer proposes prices for an Admin to accept; in live mode it sets
    them."""

    model = RepricingRule
    name = "repricing_rules"
    icon = "cogs"
    panels = [
        FieldPanel("store"),
        FieldPanel("product", widget=product_chooser.widget_class()),
        FieldPanel("floor"),
        FieldPanel("ceiling"),
        FieldPanel("strategy"),
        FieldPanel("beat_by"),
        FieldPanel("ceiling_when_alone"),
        FieldPanel("excluded_competitors", widget=forms.CheckboxSelectMultiple),
        FieldPanel("step"),
        FieldPanel("mode"),
        FieldPanel("active"),
    ]
    list_display = ["__str__", "store", "strategy", "floor", "ceiling", "mode", "active"]
    list_filter = ["store", "mode", "strategy", "active"]
    list_export = ["store", "product", "floor", "ceiling", "strategy", "beat_by", "step", "mode", "active"]
    search_fields = ["product__sku", "product__name"]
    list_select_related = ("store", "product")


class RepricingDecisionViewSet(StoresViewSet):
    """Every repricing decision: open suggestions (accepted on the monitoring page) and applied prices."""

    model = RepricingDecision
    name = "repricing_decisions"
    icon = "resubmit"
    menu_label = "Repricing decisions"
    inspect_view_enabled = True
    edit_opens_inspect = True
    form_fields = ["status"]
    list_display = ["product", "old_price", "new_price", "status", "at_floor", "suspicious_offers", "decided_at"]
    list_filter = ["status", "at_floor"]
    list_export = [
        "product",
        "old_price",
        "new_price",
        "lowest_listing",
        "status",
        "at_floor",
        "suspicious_offers",
        "decided_at",
        "accepted_by",
    ]
    search_fields = ["product__sku", "product__name"]
    ordering = ["-decided_at"]
    list_select_related = ("product",)


class MarketplaceAccountViewSet(StoresViewSet):
    model = MarketplaceAccount
    name = "stores_marketplace_accounts"
    url_prefix = "marketplace_accounts"
    icon = "link"
    inspect_view_enabled = True
    inspect_view_class = admin_views.MarketplaceAccountInspectView
    form_fields = ["store", "orders_feed_url"]
    inspect_view_fields = [
        "store",
        "orders_feed_url",
        "token_rotated_at",
        "last_orders_import_at",
        "last_orders_import_error",
    ]
    list_display = ["store", "orders_feed_url", "last_orders_import_at", "token_rotated_at"]
    list_export = ["store", "orders_feed_url", "last_orders_import_at", "token_rotated_at"]
    search_fields = ["store__name"]


class MonitoringMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.has_perm(admin_views.MONITORING_PERMISSION)


class StoreOperationsGroup(ModelViewSetGroup):
    menu_label = "Store operations"
    menu_icon = "site"
    menu_order = 250
    items = (
        SalesPointViewSet,
        ProductStockViewSet,
        ClientViewSet,
        OrderViewSet,
        CompetitorStoreViewSet,
        CompetitorListingViewSet,
        RepricingRuleViewSet,
        RepricingDecisionViewSet,
        MarketplaceAccountViewSet,
    )

    def get_submenu_items(self):
        monitoring = MonitoringMenuItem(
            "Price monitoring", reverse_lazy("stores_price_monitoring"), name="price-monitoring", icon_name="view"
        )
        return [monitoring, *super().get_submenu_items()]


@hooks.register("register_admin_viewset")
def register_store_operations():
    return [product_chooser, StoreOperationsGroup()]


class AlertsMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.is_staff


@hooks.register("register_admin_menu_item")
def register_alerts_menu_item():
    return AlertsMenuItem("Alerts", reverse_lazy("stores_alert_centre"), name="alerts", icon_name="warning", order=900)


@hooks.register("insert_global_admin_js")
def live_alerts_js():
    return format_html(
        '<script src="{}" data-stream-url="{}" defer></script>',
        static("stores/alerts.js"),
        live.stream_url(),
    )


@hooks.register("insert_global_admin_css")
def live_alerts_css():
    return format_html('<link rel="stylesheet" href="{}">', static("stores/alerts.css"))


@hooks.register("register_admin_urls")
def register_store_operations_urls():
    return [
        path("alerts/", admin_views.AlertCentreView.as_view(), name="stores_alert_centre"),
        path("alerts/preferences/", admin_views.AlertPreferencesView.as_view(), name="stores_alert_preferences"),
        path("price-monitoring/", admin_views.PriceMonitoringView.as_view(), name="stores_price_monitoring"),
        path("price-monitoring/accept/", admin_views.AcceptSuggestionsView.as_view(), name="stores_accept_suggestions"),
        path("orders/<int:pk>/status/", admin_views.OrderStatusView.as_view(), name="stores_order_status"),
        path(
            "marketplace_accounts/<int:pk>/rotate/",
            admin_views.RotatePriceListTokenView.as_view(),
            name="stores_rotate_price_list_token",
        ),
    ]


# Every staff alert raised through backoffice.alerts also goes to each user's notification centre, live
# stream and Telegram, as their alert settings say.
hooks.register("staff_alert_raised", alerts.route)
