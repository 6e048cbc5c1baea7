from django.urls import include, path, reverse
from wagtail import hooks
from wagtail.admin.menu import Menu, MenuItem, SubmenuMenuItem

from backoffice.viewsets import home_panel

from . import proofs, selectors, urls
from .views import VIEW_DOWNLOADS_PERM


class PermissionMenuItem(MenuItem):
    def __init__(self, label, url_name, perm, **kwargs):
        self.perm = perm
        super().__init__(label, reverse(url_name), **kwargs)

    def is_shown(self, request):
        return request.user.has_perm(self.perm)


@hooks.register("register_admin_urls")
def register_moderation_urls():
    return [path("moderation/", include(urls))]


moderation_menu = Menu(
    register_hook_name="register_moderation_menu_item",
    construct_hook_name="construct_moderation_menu",
)


@hooks.register("register_moderation_menu_item")
def queue_menu_item():
    return PermissionMenuItem("Queue", "moderation_queue", proofs.MODERATE_PERM, icon_name="tasks", order=100)


@hooks.register("register_moderation_menu_item")
def proofs_menu_item():
    return PermissionMenuItem(
        "All proofs", "moderation_proofs", "moderation.view_screenshotproof", icon_name="image", order=150
    )


@hooks.register("register_moderation_menu_item")
def downloads_menu_item():
    return PermissionMenuItem(
        "Downloads by app", "moderation_app_downloads", VIEW_DOWNLOADS_PERM, icon_name="download", order=200
    )


@hooks.register("register_moderation_menu_item")
def invalidations_menu_item():
    return PermissionMenuItem(
        "Invalidations", "moderation_invalidations", proofs.INVALIDATE_PERM, icon_name="warning", order=300
    )


@hooks.register("register_admin_menu_item")
def moderation_menu_item():
    return SubmenuMenuItem("Moderation", moderation_menu, icon_name="image", name="moderation", order=100)


@hooks.register("authorize_private_media")
def authorize_proof_image(user, name):
    return selectors.may_see_proof_image(user, name)


@home_panel(order=10, permission=proofs.MODERATE_PERM)
def queue(parent_context):
    """The moderator's home: how many proofs wait, how long the oldest has waited, and a way in."""
    return {**selectors.queue_summary(), "queue_url": reverse("moderation_queue")}
