"""The Catalog menu of the Wagtail admin: apps, categories, stores, products, competitors, bulk uploads."""

from django.urls import path, reverse
from wagtail import hooks
from wagtail.admin.panels import FieldPanel
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup

from backoffice import viewsets
from backoffice.viewsets import home_panel

from . import admin_views, selectors, services
from .models import App, Category, Competitor, Product, ProductUpload, Store
from .product_files import PRODUCT_COLUMNS


class ThumbnailColumn(Column):
    cell_template_name = "catalog/admin/thumbnail_cell.html"


class CatalogViewSet(viewsets.ModelViewSet):
    """Apps and products: listing with History links and Wagtail's CSV/XLSX export, the one history page; saved
    through their catalog service (`save_service`)."""

    index_view_class = admin_views.CatalogIndexView
    add_view_class = admin_views.ServiceCreateView
    edit_view_class = admin_views.ServiceEditView
    copy_view_enabled = False
    list_per_page = 50
    save_service = None  # a services.save_* function taking (instance, user=...)

    def get_common_view_kwargs(self, **kwargs):
        # Read from the class: a function read from the instance would be bound to the viewset.
        return super().get_common_view_kwargs(save_service=type(self).save_service, **kwargs)


class AppViewSet(CatalogViewSet):
    model = App
    name = "apps"
    icon = "pick"
    save_service = services.save_app
    delete_view_class = admin_views.AppDeleteView
    list_select_related = ("category", "subcategory")
    # The export is the listing (filters applied) in the columns an app is described by, categories by slug.
    list_export = ["name", "slug", "category", "subcategory", "points_reward", "credit_price", "active", "created_at"]
    export_headings = {field: field for field in list_export}
    export_filename = "apps"
    panels = [
        FieldPanel("name"),
        FieldPanel("slug"),
        FieldPanel("category"),
        FieldPanel("subcategory"),
        FieldPanel("image", widget=admin_views.ImagePreviewInput),
        FieldPanel("description"),
        FieldPanel("points_reward"),
        FieldPanel("credit_price"),
        FieldPanel("active"),
    ]
    list_display = [
        "name",
        ThumbnailColumn("thumbnail", label=""),
        "category",
        "subcategory",
        "points_reward",
        "credit_price",
        "active",
        DateColumn("created_at", label="Created", sort_key="created_at"),
    ]
    list_filter = ["category", "active"]
    search_fields = ["name", "slug", "description"]
    ordering = ["name"]


class ReferenceListViewSet(ModelViewSet):
    """Categories, stores and competitors: short lists Admins edit in place (50 a page, no Copy)."""

    copy_view_enabled = False
    list_per_page = 50


class CategoryViewSet(ReferenceListViewSet):
    model = Category
    name = "categories"
    icon = "folder-open-inverse"
    form_fields = ["name", "slug", "parent"]
    list_display = ["name", "slug", "parent"]
    search_fields = ["name", "slug"]


class StoreViewSet(ReferenceListViewSet):
    model = Store
    name = "stores"
    icon = "site"
    form_fields = ["name", "slug"]
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]


class ProductViewSet(CatalogViewSet):
    """Each store's products, edited one by one here (every price change recorded with its source), or many at a
    time through Product uploads; the export is the upload format, so it can be edited and uploaded back."""

    model = Product
    name = "products"
    icon = "tag"
    save_service = services.save_product
    history_view_class = admin_views.ProductHistoryView
    list_select_related = ("store",)
    # The export is the listing (filters applied) in the upload format, so it can be edited and uploaded back.
    list_export = list(PRODUCT_COLUMNS)
    export_headings = {field: field for field in list_export}
    export_filename = "products"
    form_fields = ["store", "sku", "name", "price", "stock", "active"]
    list_display = ["sku", "name", "store", "price", "stock", "active", DateColumn("updated_at", label="Updated")]
    list_filter = ["store", "active"]
    search_fields = ["sku", "name"]
    ordering = ["store", "sku"]


class CompetitorViewSet(ReferenceListViewSet):
    """Competitors whose CSV or JSON price feed `catalog.feeds` reads on schedule; what they charge is shown to
    staff beside our price, never applied to it."""

    model = Competitor
    name = "competitors"
    icon = "globe"
    form_fields = ["name", "feed_url", "feed_format", "active"]
    list_display = ["name", "feed_url", "feed_format", "active"]
    search_fields = ["name"]


class ProductUploadViewSet(viewsets.ModelViewSet):
    """Bulk product uploads: upload → dry-run preview → confirm; the listing shows every upload's status."""

    model = ProductUpload
    name = "product_uploads"
    icon = "upload"
    menu_label = "Product uploads"
    index_view_class = admin_views.ProductUploadIndexView
    inspect_view_enabled = True
    edit_opens_inspect = True
    copy_view_enabled = False
    form_fields = ["original_name"]
    list_display = [
        "original_name",
        "status",
        "uploaded_by",
        DateColumn("created_at", label="Uploaded", sort_key="created_at"),
        "total_rows",
        "created_rows",
        "updated_rows",
        "error_rows",
    ]
    list_filter = ["status"]
    ordering = ["-created_at"]
    list_per_page = 50

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("confirm/<int:pk>/", self.confirm_view, name="confirm"),
            path("status/<int:pk>/", self.status_view, name="status"),
        ]

    @property
    def add_view(self):
        return self.construct_view(admin_views.ProductUploadCreateView, inspect_url_name=self.get_url_name("inspect"))

    @property
    def inspect_view(self):
        return self.construct_view(
            admin_views.ProductUploadDetailView,
            confirm_url_name=self.get_url_name("confirm"),
            status_url_name=self.get_url_name("status"),
        )

    @property
    def status_view(self):
        return self.construct_view(admin_views.ProductUploadStatusView)

    @property
    def confirm_view(self):
        return self.construct_view(admin_views.ProductUploadConfirmView, inspect_url_name=self.get_url_name("inspect"))


class CatalogGroup(ModelViewSetGroup):
    menu_label = "Catalog"
    menu_icon = "folder-inverse"
    menu_order = 200
    items = (AppViewSet, CategoryViewSet, StoreViewSet, ProductViewSet, ProductUploadViewSet, CompetitorViewSet)


@hooks.register("register_admin_viewset")
def register_catalog():
    return CatalogGroup()


@hooks.register("authorize_private_media")
def authorize_product_upload_file(user, name):
    return selectors.may_see_product_upload_file(user, name)


@home_panel(order=40, permission="catalog.add_productupload")
def pending_uploads(parent_context):
    """The admin's home: product uploads left at the preview step, or failed."""
    uploads = selectors.uploads_awaiting_confirmation()
    return {"count": uploads.count(), "uploads": uploads[:5], "uploads_url": reverse("product_uploads:index")}
