"""Plan changes invalidate cached multipliers and the home page through backoffice.cache.bump_on_change."""

import pytest

from backoffice.cache import cache_versions
from commerce.apps import PLANS_CACHE_GROUP
from commerce.tests.factories import PlanFactory

pytestmark = pytest.mark.django_db


def plans_version():
    return cache_versions(PLANS_CACHE_GROUP)[PLANS_CACHE_GROUP]


def test_a_save_bumps_the_version_at_once_and_again_when_it_commits(django_capture_on_commit_callbacks):
    before = plans_version()
    with django_capture_on_commit_callbacks(execute=True):
        plan = PlanFactory()
        during = plans_version()
    assert before < during < plans_version()
    assert plan.pk


def test_a_delete_bumps_the_version_too(django_capture_on_commit_callbacks):
    plan = PlanFactory()
    before = plans_version()
    with django_capture_on_commit_callbacks(execute=True):
        plan.delete()
    assert plans_version() > before
