"""Production: configured entirely by the environment; refuses to start without a real secret."""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import (
    LOG_FORMAT,
    MEDIA_STORAGE,
    REDIS_URL,
    SENTRY_DSN,
    SENTRY_TRACES_SAMPLE_RATE,
    STORAGES,
    env_bool,
    env_int,
    logging_config,
)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be set to at least 50 random characters in production.")
if not os.environ.get("DATABASE_URL"):
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL in production.")
if not REDIS_URL:
    raise ImproperlyConfigured("REDIS_URL must be set in production (cache and Celery broker).")
if MEDIA_STORAGE == "s3" and not os.environ.get("AWS_STORAGE_BUCKET_NAME"):
    raise ImproperlyConfigured("MEDIA_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME.")

PRODUCTION = True
DEBUG = env_bool("DJANGO_DEBUG", False)
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
# Load balancer probes speak plain HTTP to the instance (they are answered before this, by HealthCheckMiddleware).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
LOGGING = logging_config(LOG_FORMAT or "json")

if SENTRY_DSN:
    import sentry_sdk

    # The Django and Celery integrations switch themselves on; no personal data is sent.
    sentry_sdk.init(dsn=SENTRY_DSN, traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE, send_default_pii=False)
