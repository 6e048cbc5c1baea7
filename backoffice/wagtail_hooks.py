from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.templatetags.static import static
from django.utils.html import format_html
from wagtail import hooks

from . import privilege
from .admin_views import DeliveryViewSet
from .selectors import records_blocking_deletion


@hooks.register("construct_main_menu")
def hide_page_tools(request, menu_items):
    """This back-office has no Wagtail pages: hide the page explorer and the page reports."""
    menu_items[:] = [item for item in menu_items if item.name not in {"explorer", "reports"}]


@hooks.register("before_delete_user")
def refuse_to_delete_users_with_history(request, user):
    """Deleting an account with proofs, points or referrals would erase audited history: deactivate it instead."""
    if records_blocking_deletion(user):
        messages.error(
            request,
            f"{user.email} has downloads, proofs, points or referrals on record and cannot be deleted. "
            "Deactivate the account instead (untick 'active' on its edit page): its history stays intact.",
        )
        return redirect("wagtailusers_users:edit", user.pk)
    return None


@hooks.register("register_admin_viewset")
def register_deliveries():
    return DeliveryViewSet()


@hooks.register("before_bulk_action")
def keep_bulk_user_actions_off_superusers(request, action_type, objects, action_class_instance):
    """Bulk deactivate/delete/assign-role on the users listing: the same privilege policy as the edit form."""
    User = get_user_model()
    if any(isinstance(obj, User) and not privilege.may_edit_account(request.user, obj) for obj in objects):
        raise PermissionDenied("Only a superuser can change a superuser account.")


@hooks.register("insert_global_admin_css")
def project_admin_css():
    """static/css/admin.css: the project's fixes to Wagtail's own admin styles (listings on phones)."""
    return format_html('<link rel="stylesheet" href="{}">', static("css/admin.css"))
