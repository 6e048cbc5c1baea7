"""Test settings: the embedded defaults, made fast and isolated."""

import tempfile

from .base import *  # noqa: F403
from .base import media_storages

# Threads in the concurrency tests each open a connection: close them at once, as before (the production
# smoke test runs the persistent connections of the real processes).
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
DATABASES["default"].get("OPTIONS", {}).pop("pool", None)  # noqa: F405  (no pool either: a connection per test thread)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # The test database is a throwaway file (conftest.py): no fsync at each commit.
    DATABASES["default"]["OPTIONS"]["init_command"] = "PRAGMA synchronous = OFF"  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="rewards-test-media-"))  # noqa: F405
PRIVATE_MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="rewards-test-private-media-"))  # noqa: F405
# Emails go through the Delivery queue (see conftest.py) and end in Django's test outbox.
EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SMS_BACKEND = "growth.sms.ConsoleSMSBackend"
STORAGES = {
    **media_storages("local"),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Tests serve feeds from 127.0.0.1; tests of the address checks override this.
OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
