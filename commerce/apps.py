from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save

PLANS_CACHE_GROUP = "plans"  # backoffice.cache versions: the plans on the public home page


class CommerceConfig(AppConfig):
    name = "commerce"

    def ready(self):
        from backoffice.cache import bump_on_change

        from .models import Plan

        self.bump_plans_cache = bump_on_change(PLANS_CACHE_GROUP)  # signals hold receivers weakly
        post_save.connect(self.bump_plans_cache, sender=Plan, dispatch_uid="commerce-plans-cache-save")
        post_delete.connect(self.bump_plans_cache, sender=Plan, dispatch_uid="commerce-plans-cache-delete")
