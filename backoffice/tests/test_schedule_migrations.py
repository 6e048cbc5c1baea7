"""backoffice.schedule_migrations: what every schedule-registering data migration does."""

import pytest
from django.apps import apps
from django_celery_beat.models import PeriodicTask, PeriodicTasks

from backoffice.schedule_migrations import Schedule, register_schedules

pytestmark = pytest.mark.django_db

EVERY_TEN = Schedule("test: every ten", "backoffice.tasks.noop", "Every ten minutes.", interval=(10, "minutes"))
NIGHTLY = Schedule("test: nightly", "backoffice.tasks.noop", "At 04:45.", crontab={"minute": "45", "hour": "4"})


def run(operation, backwards=False):
    code = operation.reverse_code if backwards else operation.code
    code(apps, None)


def test_it_creates_the_missing_schedules_with_their_interval_or_crontab():
    run(register_schedules(EVERY_TEN, NIGHTLY))
    every_ten = PeriodicTask.objects.get(name=EVERY_TEN.name)
    nightly = PeriodicTask.objects.get(name=NIGHTLY.name)
    assert (every_ten.interval.every, every_ten.interval.period, every_ten.enabled) == (10, "minutes", True)
    assert (nightly.crontab.minute, nightly.crontab.hour, nightly.crontab.day_of_week) == ("45", "4", "*")
    assert (every_ten.args, every_ten.kwargs, every_ten.description) == ("[]", "{}", "Every ten minutes.")
    assert PeriodicTasks.objects.filter(ident=1).exists()


def test_it_never_overwrites_a_schedule_an_admin_changed():
    run(register_schedules(EVERY_TEN))
    PeriodicTask.objects.filter(name=EVERY_TEN.name).update(enabled=False, description="Paused by an Admin.")
    run(register_schedules(EVERY_TEN))
    task = PeriodicTask.objects.get(name=EVERY_TEN.name)
    assert (task.enabled, task.description) == (False, "Paused by an Admin.")


def test_a_disabled_schedule_is_created_disabled():
    run(
        register_schedules(Schedule("test: off", "backoffice.tasks.noop", "Off.", interval=(1, "hours"), enabled=False))
    )
    assert PeriodicTask.objects.get(name="test: off").enabled is False


def test_reversing_deletes_only_its_schedules():
    run(register_schedules(EVERY_TEN))
    others = PeriodicTask.objects.exclude(name=EVERY_TEN.name).count()
    run(register_schedules(EVERY_TEN), backwards=True)
    assert not PeriodicTask.objects.filter(name=EVERY_TEN.name).exists()
    assert PeriodicTask.objects.count() == others


@pytest.mark.parametrize("when", [{}, {"interval": (1, "hours"), "crontab": {"minute": "0", "hour": "1"}}])
def test_a_schedule_has_an_interval_or_a_crontab(when):
    with pytest.raises(ValueError):
        Schedule("test: bad", "backoffice.tasks.noop", "Bad.", **when)
