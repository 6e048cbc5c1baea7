"""Two Celery beats against one PostgreSQL database: only one sends, and the other takes over when it stops.

Real `celery beat` processes, a 1-second schedule, and kombu's filesystem broker in a temporary folder, so
every message a beat sends is a file the test counts.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection
from django_celery_beat.models import IntervalSchedule, PeriodicTask

TASK = "moderation.tasks.expire_claims"
STARTUP_SECONDS = 30


def beat_settings(folder):
    db = connection.settings_dict
    database = {key: db[key] for key in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT")}
    return f"""
from backoffice.settings.test import *  # noqa
DATABASES = {{"default": {database!r}}}
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_URL = "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS = {{
    "data_folder_in": {str(folder)!r},
    "data_folder_out": {str(folder)!r},
    "control_folder": {str(folder / "control")!r},
}}
BEAT_LOCK_RETRY_SECONDS = 1
"""


class Beats:
    def __init__(self, tmp_path):
        self.messages = tmp_path / "broker"
        self.messages.mkdir()
        (tmp_path / "beat_test_settings.py").write_text(beat_settings(self.messages))
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(tmp_path), str(settings.BASE_DIR)]),
            "DJANGO_SETTINGS_MODULE": "beat_test_settings",
        }
        self.tmp_path, self.processes = tmp_path, []

    def start(self, name):
        log = open(self.tmp_path / f"{name}.log", "w")  # noqa: SIM115 (closed with the process)
        command = [sys.executable, "-m", "celery", "-A", "backoffice", "beat", "--loglevel=info", "--pidfile="]
        process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        process.log_path = self.tmp_path / f"{name}.log"
        self.processes.append(process)
        return process

    def sent_times(self):
        """When each message for TASK was written by a beat."""
        times = []
        for path in self.messages.glob("*.msg"):
            if TASK in path.read_text(errors="replace"):
                times.append(path.stat().st_mtime)
        return sorted(times)

    def wait_for(self, condition, what, timeout=STARTUP_SECONDS):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.2)
        logs = "\n".join(p.log_path.read_text()[-2000:] for p in self.processes)
        raise AssertionError(f"timed out waiting for {what}\n{logs}")

    def stop(self, process):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop_all(self):
        for process in self.processes:
            self.stop(process)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_second_beat_does_not_double_the_runs_and_takes_over_when_the_first_stops(on_postgres, tmp_path):
    PeriodicTask.objects.update(enabled=False)
    every_second = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="every second", task=TASK, interval=every_second, kwargs=json.dumps({}))
    beats = Beats(tmp_path)
    try:
        first = beats.start("first")
        beats.wait_for(lambda: beats.sent_times(), "the first beat to send")
        second = beats.start("second")
        beats.wait_for(lambda: "stands by" in second.log_path.read_text(), "the second beat to stand by")

        window_start = time.time()
        time.sleep(6)
        window_end = time.time()
        both_running = [t for t in beats.sent_times() if window_start <= t < window_end]
        # One beat sends once a second: 6 (give or take one at each edge); two would send about 12.
        assert 4 <= len(both_running) <= 7, both_running

        beats.stop(first)
        stopped_at = time.time()
        beats.wait_for(lambda: any(t > stopped_at for t in beats.sent_times()), "the second beat to take over", 15)
        assert "took the lock" in second.log_path.read_text()
    finally:
        beats.stop_all()
