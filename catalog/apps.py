from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save

CATALOG_CACHE_GROUP = "catalog"  # backoffice.cache versions: public pages and API lists showing apps or categories


class CatalogConfig(AppConfig):
    name = "catalog"

    def ready(self):
        from backoffice.cache import bump_on_change

        from .models import App, Category

        bump = bump_on_change(CATALOG_CACHE_GROUP)
        self.bump_catalog_cache = bump  # signals hold receivers weakly
        for model in (App, Category):
            post_save.connect(bump, sender=model, dispatch_uid=f"catalog-cache-{model.__name__}-save")
            post_delete.connect(bump, sender=model, dispatch_uid=f"catalog-cache-{model.__name__}-delete")
