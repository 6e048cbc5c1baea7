from django.apps import AppConfig


class GrowthConfig(AppConfig):
    name = "growth"

    def ready(self):
        from . import campaigns  # noqa: F401  (connects the campaign links' cache invalidation)
