"""Wagtail's user and group screens with the privilege policy (backoffice.privilege) applied.

Installed through `backoffice.apps.WagtailUsersConfig`, which replaces `wagtail.users` in INSTALLED_APPS
and points Wagtail at these viewsets (Wagtail's documented way to customise them).
"""

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from wagtail.users.views import groups, users

from . import privilege


class _RestrictedUserFormMixin:
    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        return privilege.restrict_user_form(form, actor=self.request.user, target=getattr(self, "object", None))


class _TargetUserMixin:
    def dispatch(self, request, *args, **kwargs):
        if not privilege.may_edit_account(request.user, self.object):
            raise PermissionDenied("Only a superuser can change a superuser account.")
        return super().dispatch(request, *args, **kwargs)


class UserCreateView(_RestrictedUserFormMixin, users.CreateView):
    pass


class UserEditView(_TargetUserMixin, _RestrictedUserFormMixin, users.EditView):
    pass


class UserDeleteView(users.DeleteView):
    def dispatch(self, request, *args, **kwargs):
        target = self.get_object()
        if not privilege.may_edit_account(request.user, target):
            raise PermissionDenied("Only a superuser can delete a superuser account.")
        return super().dispatch(request, *args, **kwargs)


class UserViewSet(users.UserViewSet):
    add_view_class = UserCreateView
    edit_view_class = UserEditView
    delete_view_class = UserDeleteView


class GroupViewSet(groups.GroupViewSet):
    """Role groups and their permissions: superusers only (backoffice.privilege.may_edit_groups)."""

    permission_policy = privilege.SuperuserOnlyPermissionPolicy(Group)
