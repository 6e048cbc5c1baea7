"""Read paths of the catalog app."""

from .models import App


def active_apps():
    return App.objects.filter(active=True).select_related("category", "subcategory").order_by("name")
