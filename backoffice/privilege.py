"""Who may change who holds power: the one privilege policy, used by the Wagtail admin and the Django admin.

Rules (README "Security"):
- Only an active superuser grants or takes away superuser status ("Administrator" in Wagtail).
- Only an active superuser creates, edits or deletes role groups and their permissions.
- Only an active superuser edits, deletes or (de)activates a superuser account.
- Only an active superuser changes ANOTHER staff account's email or password (a member's, or one's own,
  stays open to whoever may edit users), so an Admin cannot take over a colleague or a superuser.
- The Django admin (/django-admin/) is a superuser-only fallback: every staff job has a Wagtail screen,
  and Django's admin has views (password change, taggit merge, group permissions) outside this policy.
"""

from wagtail.permission_policies.base import BasePermissionPolicy

CREDENTIAL_FIELDS = ("email", "password1", "password2", "password")


def is_privileged(user):
    return bool(user and user.is_authenticated and user.is_active and user.is_superuser)


def may_grant_superuser(actor):
    return is_privileged(actor)


def may_edit_groups(actor):
    return is_privileged(actor)


def may_use_django_admin(actor):
    return is_privileged(actor)


def may_edit_account(actor, target):
    """Open the edit/delete screens of `target`, or act on it in bulk."""
    return is_privileged(actor) or not target.is_superuser


def may_change_credentials(actor, target):
    """Change `target`'s email or password."""
    if is_privileged(actor) or target.pk == actor.pk:
        return True
    return not (target.is_staff or target.is_superuser)


def restrict_user_form(form, *, actor, target=None):
    """Freeze the fields of a user form that `actor` may not change (disabled fields ignore posted values)."""
    if not may_grant_superuser(actor):
        for name in ("is_superuser", "user_permissions"):
            if name in form.fields:
                form.fields[name].disabled = True
    if target is not None and target.pk and not may_change_credentials(actor, target):
        for name in CREDENTIAL_FIELDS:
            if name in form.fields:
                form.fields[name].disabled = True
                form.fields[name].required = False
                form.fields[name].help_text = "Only a superuser can change another staff account's sign-in details."
    return form


class SuperuserOnlyPermissionPolicy(BasePermissionPolicy):
    """A Wagtail permission policy that lets only active superusers do anything with the model."""

    def user_has_permission(self, user, action):
        return is_privileged(user)

    def user_has_any_permission(self, user, actions):
        return is_privileged(user)

    def users_with_any_permission(self, actions):
        from django.contrib.auth import get_user_model

        return get_user_model().objects.filter(is_active=True, is_superuser=True)

    def users_with_permission(self, action):
        return self.users_with_any_permission([action])
