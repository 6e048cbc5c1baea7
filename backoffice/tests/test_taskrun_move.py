"""The TaskRun table moved from reporting to backoffice: existing runs and their permissions survive the move."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from backoffice.roles import sync_roles

BEFORE = [
    ("reporting", "0005_weekly_app_stats_and_covering_indexes"),
    ("backoffice", "0004_user_signup_and_verification_indexes"),
]
AFTER = [("reporting", "0006_move_taskrun_to_backoffice"), ("backoffice", "0005_taskrun_and_staff_alerts")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.slow  # migrates backwards and forwards: half a minute
@pytest.mark.django_db(transaction=True)
def test_moving_taskrun_keeps_every_run_and_the_admins_permission():
    old_apps = migrate(BEFORE)
    sync_roles(old_apps)  # an earlier transactional test may have flushed the groups
    OldTaskRun = old_apps.get_model("reporting", "TaskRun")
    OldTaskRun.objects.create(task_name="reporting.tasks.rollup_daily", status="succeeded", rows=7)
    OldTaskRun.objects.create(task_name="catalog.tasks.import_competitor_prices", status="failed", error="boom")
    Group = old_apps.get_model("auth", "Group")
    # get_or_create: another transactional test may have flushed the rows the data migrations wrote.
    admins, _ = Group.objects.get_or_create(name="Admins")
    admins_perms_before = set(admins.permissions.values_list("pk", flat=True))

    new_apps = migrate(AFTER)
    try:
        TaskRun = new_apps.get_model("backoffice", "TaskRun")
        assert sorted(TaskRun.objects.values_list("task_name", "status", "rows", "error")) == [
            ("catalog.tasks.import_competitor_prices", "failed", 0, "boom"),
            ("reporting.tasks.rollup_daily", "succeeded", 7, ""),
        ]
        created = TaskRun.objects.create(task_name="growth.tasks.credit_waiting_referrals")
        assert created.pk > max(TaskRun.objects.exclude(pk=created.pk).values_list("pk", flat=True))
        Group = new_apps.get_model("auth", "Group")
        admins = Group.objects.get(name="Admins")
        assert admins.permissions.filter(content_type__app_label="backoffice", codename="view_taskrun").exists()
        assert admins_perms_before <= set(admins.permissions.values_list("pk", flat=True))
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
