from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "backoffice"
    verbose_name = "Accounts"

    def ready(self):
        from .admin_denied import use_for_wagtail_refusals

        use_for_wagtail_refusals()
