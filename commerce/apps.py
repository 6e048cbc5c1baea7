from django.apps import AppConfig

PLANS_CACHE_GROUP = "plans"  # backoffice.cache versions: the plans on the public home page


class CommerceConfig(AppConfig):
    name = "commerce"

    def ready(self):
        from backoffice.cache import bump_on_change

        from .models import Plan

        bump_on_change(PLANS_CACHE_GROUP, Plan, at_once=True)
