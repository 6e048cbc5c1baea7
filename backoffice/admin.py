from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied

from . import privilege
from .models import Notification, User


def _django_admin_has_permission(request):
    """The Django admin is a superuser-only fallback (backoffice.privilege)."""
    return privilege.may_use_django_admin(request.user)


admin.site.has_permission = _django_admin_has_permission

# taggit's Tag admin has a merge view with no permission check that fails on a bare POST; tags are edited
# where they are used (Wagtail). Importing it first registers it, so it can be taken out here.
import taggit.admin  # noqa: E402, F401
from taggit.models import Tag  # noqa: E402

admin.site.unregister(Tag)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "phone", "points_balance", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "phone", "first_name", "last_name"]
    readonly_fields = ["points_balance", "referral_code", "last_login", "date_joined"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("first_name", "last_name", "phone", "phone_verified_at", "referral_code")}),
        ("Points", {"fields": ("points_balance",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        actor = request.user

        class RestrictedForm(form):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                privilege.restrict_user_form(self, actor=actor, target=obj)

        return RestrictedForm

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or privilege.may_edit_account(request.user, obj))

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or privilege.may_edit_account(request.user, obj))

    def user_change_password(self, request, id, form_url=""):
        target = self.get_object(request, id)
        if target is not None and not privilege.may_change_credentials(request.user, target):
            raise PermissionDenied("Only a superuser can change another staff account's password.")
        return super().user_change_password(request, id, form_url)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["user", "subject", "created_at", "read_at"]
    list_select_related = ["user"]
