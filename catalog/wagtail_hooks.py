from wagtail import hooks
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup

from .models import App, Category


class AppViewSet(ModelViewSet):
    model = App
    icon = "pick"
    form_fields = [
        "name",
        "slug",
        "category",
        "subcategory",
        "image",
        "description",
        "points_reward",
        "credit_price",
        "active",
    ]
    list_display = ["name", "category", "points_reward", "credit_price", "active"]
    list_filter = ["category", "active"]
    search_fields = ["name", "slug"]


class CategoryViewSet(ModelViewSet):
    model = Category
    icon = "folder-open-inverse"
    form_fields = ["name", "slug", "parent"]
    list_display = ["name", "parent"]


class CatalogGroup(ModelViewSetGroup):
    menu_label = "Catalog"
    menu_icon = "folder-inverse"
    menu_order = 200
    items = (AppViewSet("apps"), CategoryViewSet("categories"))


@hooks.register("register_admin_viewset")
def register_catalog():
    return CatalogGroup()
