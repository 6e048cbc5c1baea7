from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "backoffice"
    verbose_name = "Accounts"

    def ready(self):
        from .exports import install_wagtail_export_escaping

        install_wagtail_export_escaping()
