import pytest
from django.apps import apps
from django.contrib.auth.models import Group

from backoffice.roles import ADMINS, MARKETERS, MODERATORS, ROLE_PERMISSIONS, sync_roles
from backoffice.tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", [MODERATORS, ADMINS, MARKETERS])
def test_each_role_group_exists_with_admin_access(role):
    user = StaffFactory(role=role)
    assert user.has_perm("wagtailadmin.access_admin")


def test_every_listed_permission_exists_in_the_database():
    for role, perms in ROLE_PERMISSIONS.items():
        granted = {f"{p.content_type.app_label}.{p.codename}" for p in Group.objects.get(name=role).permissions.all()}
        assert granted == set(perms), role


def test_a_moderator_can_moderate_but_not_edit_campaigns_or_apps():
    user = StaffFactory(role=MODERATORS)
    assert user.has_perm("moderation.moderate_screenshotproof")
    assert not user.has_perm("growth.change_campaign")
    assert not user.has_perm("catalog.change_app")
    assert not user.has_perm("moderation.invalidate_reward")


def test_a_marketer_edits_campaigns_but_cannot_moderate():
    user = StaffFactory(role=MARKETERS)
    assert user.has_perm("growth.change_campaign")
    assert not user.has_perm("moderation.moderate_screenshotproof")
    assert not user.has_perm("catalog.change_app")


def test_an_admin_manages_apps_and_invalidates_rewards_but_does_not_edit_campaigns():
    user = StaffFactory(role=ADMINS)
    assert user.has_perm("catalog.change_app")
    assert user.has_perm("moderation.invalidate_reward")
    assert not user.has_perm("growth.change_campaign")


def test_syncing_roles_again_changes_nothing():
    before = {g.name: set(g.permissions.values_list("pk", flat=True)) for g in Group.objects.all()}
    sync_roles(apps)
    after = {g.name: set(g.permissions.values_list("pk", flat=True)) for g in Group.objects.all()}
    assert before == after
