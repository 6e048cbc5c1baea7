from django.contrib import messages
from django.shortcuts import redirect
from wagtail import hooks

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
    return DeliveryViewSet("deliveries")
