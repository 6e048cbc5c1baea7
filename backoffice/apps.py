from django.apps import AppConfig
from wagtail.users.apps import WagtailUsersAppConfig


class BackofficeConfig(AppConfig):
    default = True  # apps.py holds a second AppConfig (WagtailUsersConfig): say which one "backoffice" means
    name = "backoffice"
    verbose_name = "Accounts"

    def ready(self):
        from .admin_denied import use_for_wagtail_refusals
        from .exports import install_wagtail_export_escaping

        install_wagtail_export_escaping()
        use_for_wagtail_refusals()


class WagtailUsersConfig(WagtailUsersAppConfig):
    """wagtail.users with the privilege policy on its user and group screens (backoffice/users_admin.py)."""

    user_viewset = "backoffice.users_admin.UserViewSet"
    group_viewset = "backoffice.users_admin.GroupViewSet"
