from django.apps import AppConfig

CATALOG_CACHE_GROUP = "catalog"  # backoffice.cache versions: public pages and API lists showing apps or categories


class CatalogConfig(AppConfig):
    name = "catalog"

    def ready(self):
        from backoffice.cache import bump_on_change

        from .models import App, Category

        bump_on_change(CATALOG_CACHE_GROUP, App, Category)
