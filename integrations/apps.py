from django.apps import AppConfig

WEBHOOKS_CACHE_GROUP = "webhooks"  # backoffice.cache versions: the event → subscribed endpoints map


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self):
        from backoffice.cache import bump_on_change

        from .models import WebhookEndpoint

        bump_on_change(WEBHOOKS_CACHE_GROUP, WebhookEndpoint, at_once=True)
