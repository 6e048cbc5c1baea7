"""Settings shared by every environment.

Everything has an embedded default so a fresh checkout runs with no environment at all:
SQLite, local-memory cache, eager Celery, console SMS and email, media on local disk.
Production reads DATABASE_URL, REDIS_URL, SECRET_KEY, ALLOWED_HOSTS and TWILIO_* (see production.py).
"""

import os
from decimal import Decimal
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name, default=False):
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# A tunable read from the environment: the default is written as the value it stands for (60, 60 * 60, 0.5), and the
# environment's string, when set, is converted to that type.
def env_int(name, default):
    return int(os.environ.get(name, default))


def env_float(name, default):
    return float(os.environ.get(name, default))


def env_decimal(name, default):
    return Decimal(os.environ.get(name, default))


SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-secret-key-never-used-in-production-7d1f0a")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    # Project apps, in dependency order: each imports only from apps above it.
    "backoffice",
    "catalog",
    "moderation",
    "growth",
    "commerce",
    "stores",
    "landing",
    "reporting",
    "integrations",
    # Wagtail admin
    "backoffice.apps.WagtailUsersConfig",  # wagtail.users with the privilege policy
    "wagtail.snippets",
    "wagtail.contrib.settings",
    "wagtail.images",
    "wagtail.documents",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_filters",
    # Libraries
    "import_export",
    "simple_history",
    "django_celery_beat",
    "django_otp",
    "rest_framework",
    "rest_framework.authtoken",
    "oauth2_provider",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    # Django
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
]

MIDDLEWARE = [
    "backoffice.middleware.RequestIdMiddleware",
    # Load balancer probes are answered here, before any HTTPS redirect or host check.
    "backoffice.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "backoffice.middleware.RejectNullCharactersMiddleware",
    "backoffice.request_guards.RequestGuardsMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "backoffice.csp.ContentSecurityPolicyMiddleware",
    "backoffice.login_policy.LoginLockedMiddleware",  # inside CSP: the lockout page gets the policy too
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "backoffice.urls"
WSGI_APPLICATION = "backoffice.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Without the pool (DB_POOL_MAX_SIZE=0, below): seconds a process keeps its database connection between
# requests/tasks (0: a new connection each time, ~4 ms here), checked before reuse. One per process and thread.
DB_CONN_MAX_AGE = env_int("DB_CONN_MAX_AGE", 60)
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=DB_CONN_MAX_AGE,
        conn_health_checks=True,
    )
}
# Seconds to wait for PostgreSQL to accept a connection before a request (or /readyz) gives up.
DB_CONNECT_TIMEOUT = env_int("DB_CONNECT_TIMEOUT", 5)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = DB_CONNECT_TIMEOUT
# PostgreSQL connections per process from psycopg 3's pool (Django's OPTIONS["pool"]) when above 0: the web runs
# under ASGI, where Django's persistent connections belong to a thread and must be off (Django's docs); the pool
# checks a connection out per request or task and takes it back. Size per process (README, Production): the
# pool's max_size; 0 uses DB_CONN_MAX_AGE instead. Tests use neither (test.py).
DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", 4)
DB_POOL_MIN_SIZE = env_int("DB_POOL_MIN_SIZE", 1)  # connections each process opens and keeps
DB_POOL_TIMEOUT = env_float("DB_POOL_TIMEOUT", 5)  # seconds a request waits for a free connection
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DB_POOL_MAX_SIZE > 0:
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": min(DB_POOL_MIN_SIZE, DB_POOL_MAX_SIZE),
        "max_size": DB_POOL_MAX_SIZE,
        "timeout": DB_POOL_TIMEOUT,
        "max_lifetime": 3600,  # seconds: connections are renewed, so PostgreSQL-side memory growth is bounded
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps the connections; Django returns them per request
    # CONN_HEALTH_CHECKS (on) makes Django give the pool ConnectionPool.check_connection: checked at each checkout.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers wait for each other instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "backoffice.User"
# Every login form goes through the one login policy (backoffice/login_policy.py).
AUTHENTICATION_BACKENDS = ["backoffice.login_policy.LoginPolicyBackend"]
LOGIN_FAILURES_PER_IDENTIFIER = env_int("LOGIN_FAILURES_PER_IDENTIFIER", 5)  # per window
LOGIN_FAILURES_PER_IP = env_int("LOGIN_FAILURES_PER_IP", 30)  # per window
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 15 * 60)  # the window
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))  # where collectstatic writes
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
# Where uploads live: "local" (disk: MEDIA_ROOT public, PRIVATE_MEDIA_ROOT private; one machine, or a shared
# volume) or "s3" (any S3-compatible object storage: AWS_* below, keys from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).
MEDIA_STORAGE = os.environ.get("MEDIA_STORAGE", "local")
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))  # public media on local disk (app images)
# Private files on local disk (proof screenshots, product upload files): never under MEDIA_ROOT.
PRIVATE_MEDIA_ROOT = Path(os.environ.get("PRIVATE_MEDIA_ROOT", BASE_DIR / "private_media"))
PRIVATE_MEDIA_URL_SECONDS = env_int("PRIVATE_MEDIA_URL_SECONDS", 60)  # life of a signed S3 link
AWS_STORAGE_BUCKET_NAME = os.environ.get("AWS_STORAGE_BUCKET_NAME", "")  # one bucket: public/ and private/ prefixes
AWS_S3_ENDPOINT_URL = os.environ.get("AWS_S3_ENDPOINT_URL") or None  # non-AWS S3 (MinIO, R2...); None: AWS
AWS_S3_REGION_NAME = os.environ.get("AWS_S3_REGION_NAME") or None
AWS_S3_CUSTOM_DOMAIN = os.environ.get("AWS_S3_CUSTOM_DOMAIN") or None  # a CDN in front of the public media
AWS_S3_SIGNATURE_VERSION = "s3v4"  # signed links for private files; the older v2 is refused by newer regions
AWS_S3_FILE_OVERWRITE = False  # stored names are random; never replace an existing object


def media_storages(kind):
    """The `default` (public) and `private` storages for MEDIA_STORAGE `kind`."""
    if kind == "s3":
        return {
            "default": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {"location": "public", "default_acl": "public-read", "querystring_auth": False},
            },
            "private": {
                "BACKEND": "backoffice.storage.PrivateS3Storage",
                "OPTIONS": {
                    "location": "private",
                    "default_acl": "private",
                    "querystring_auth": True,
                    "custom_domain": None,
                },
            },
        }
    if kind == "local":
        return {
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "private": {"BACKEND": "backoffice.storage.PrivateFileSystemStorage"},
        }
    raise ValueError(f"MEDIA_STORAGE must be 'local' or 's3', not {kind!r}")


STORAGES = {
    **media_storages(MEDIA_STORAGE),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Uploads larger than this are streamed to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

REDIS_URL = os.environ.get("REDIS_URL", "")
# A cache outage is not an outage: Redis gets this long to connect / to answer, then the cache call is skipped
# (a miss; the page is computed uncached) with one warning from the `backoffice.cache` logger. /readyz reports it.
CACHE_CONNECT_TIMEOUT = env_float("CACHE_CONNECT_TIMEOUT", 0.5)
CACHE_READ_TIMEOUT = env_float("CACHE_READ_TIMEOUT", 0.5)
# After a Redis failure the cache is skipped (every call a miss, at once) this long before Redis is tried again.
CACHE_DOWN_SECONDS = env_float("CACHE_DOWN_SECONDS", 10)


def redis_cache(location):
    """django-redis with short timeouts, no retries, and errors turned into misses (logged)."""
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": location,
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": CACHE_CONNECT_TIMEOUT,
            "SOCKET_TIMEOUT": CACHE_READ_TIMEOUT,
            "CONNECTION_POOL_CLASS": "backoffice.cache.FailFastConnectionPool",
            "IGNORE_EXCEPTIONS": True,
        },
    }


if REDIS_URL:
    CACHES = {"default": redis_cache(REDIS_URL)}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Sessions live in the database (a cache outage must not sign everybody out or fail every request); with a shared
# cache they are read through it, a cached copy living SESSION_CACHE_SECONDS at most (backoffice/sessions.py): the
# longest a logout the cache missed (Redis unreachable) could leave a session usable. 0: always read the database.
SESSION_CACHE_SECONDS = env_int("SESSION_CACHE_SECONDS", 60)
if REDIS_URL and SESSION_CACHE_SECONDS > 0:
    SESSION_ENGINE = "backoffice.sessions"
else:
    SESSION_ENGINE = "django.contrib.sessions.backends.db"

# Celery: a real broker when REDIS_URL is set, otherwise tasks run inline.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL or "memory://")
# `make run` without Redis: the filesystem broker (works across processes, needs no server) keeps messages here.
CELERY_FILESYSTEM_BROKER_DIR = Path(os.environ.get("CELERY_FILESYSTEM_BROKER_DIR", BASE_DIR / ".celery-broker"))
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_FILESYSTEM_BROKER_DIR),
        "data_folder_out": str(CELERY_FILESYSTEM_BROKER_DIR),
        "control_folder": str(CELERY_FILESYSTEM_BROKER_DIR / "control"),
    }
# Seconds /readyz (and a request enqueuing a task) waits for the broker before calling it unreachable.
CELERY_BROKER_CONNECTION_TIMEOUT = env_float("CELERY_BROKER_CONNECTION_TIMEOUT", 2)
# A Redis broker that accepts but never answers fails a publish (a request queuing an email) after this many
# seconds instead of hanging it for good (redis-py's default: no timeout). Must exceed kombu's 1 s BRPOP poll.
CELERY_BROKER_SOCKET_TIMEOUT = env_float("CELERY_BROKER_SOCKET_TIMEOUT", 5)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_timeout": CELERY_BROKER_SOCKET_TIMEOUT,
        "socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
    }
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
# The database scheduler, sending only while it holds a PostgreSQL advisory lock: a second beat stands by.
CELERY_BEAT_SCHEDULER = "backoffice.beat:SingleBeatScheduler"
BEAT_LOCK_RETRY_SECONDS = 5  # how often a standby beat tries to take the lock
CELERY_BEAT_SYNC_EVERY = 1  # beat saves a schedule's last run as it sends it (Schedules' "Last run"), not 3 min later
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # workers and beat log through LOGGING (JSON lines in production)

# SMS: console unless Twilio credentials are present.
TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
TWILIO_FROM = os.environ.get("TWILIO_FROM", "")
TWILIO_API_BASE_URL = os.environ.get("TWILIO_API_BASE_URL", "")  # another Twilio-compatible host, e.g. a test fake
SMS_TIMEOUT_SECONDS = env_int("SMS_TIMEOUT_SECONDS", 10)  # seconds a Twilio API call may take
SMS_BACKEND = os.environ.get(
    "SMS_BACKEND",
    "growth.sms.TwilioSMSBackend" if TWILIO_ACCOUNT_SID else "growth.sms.ConsoleSMSBackend",
)

# Every email is recorded as a Delivery and sent by a task (backoffice/delivery.py) with the backend below.
EMAIL_BACKEND = "backoffice.delivery.QueuedEmailBackend"
# The backend that really sends (SMTP in production); EMAIL_BACKEND in the environment is read as this.
EMAIL_DELIVERY_BACKEND = os.environ.get(
    "EMAIL_DELIVERY_BACKEND", os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)  # seconds an SMTP connect/read may take
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Rewards <no-reply@rewards.local>")
# Deliveries (email, SMS): a failed send is retried after this many seconds, doubling each time (at most an hour),
DELIVERY_RETRY_SECONDS = env_int("DELIVERY_RETRY_SECONDS", 60)
# ...and marked failed after this many attempts (staff can still send it again from Deliveries).
DELIVERY_MAX_ATTEMPTS = env_int("DELIVERY_MAX_ATTEMPTS", 5)
DELIVERY_STUCK_SECONDS = 15 * 60  # a send still "sending" after this long was lost with its worker: retried
DELIVERY_SWEEP_BATCH = 500  # deliveries queued again per run of the retry sweep (and sent per wake-up)
DELIVERY_WAKE_SECONDS = 10  # a queued wake-up of the sender is trusted this long before another is queued

# Job runs (TaskRun rows) older than this are deleted by the scheduled backoffice.tasks.prune_task_runs.
TASK_RUN_RETENTION_DAYS = env_int("TASK_RUN_RETENTION_DAYS", 30)
# Sent and failed deliveries older than this are deleted by the scheduled backoffice.tasks.prune_deliveries
# (their message bodies hold codes and personal data; the ones still waiting are never deleted).
DELIVERY_RETENTION_DAYS = env_int("DELIVERY_RETENTION_DAYS", 90)

SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")
# A staff alert with the same kind and subject as one raised this recently only counts a repeat (no new email).
ALERT_REPEAT_SECONDS = env_int("ALERT_REPEAT_SECONDS", 60 * 60)
# True only under backoffice.settings.production: demo-only commands (load_demo_data) refuse to run there.
PRODUCTION = False
# /readyz: seconds each dependency (database, cache, broker) gets to answer before it is reported down.
READINESS_TIMEOUT = env_float("READINESS_TIMEOUT", 2)
# Optional error reporting (sentry-sdk): off unless set. Initialised in settings/production.py.
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
SENTRY_TRACES_SAMPLE_RATE = env_float("SENTRY_TRACES_SAMPLE_RATE", 0)
# The list `reporting.tasks.download_daily_list` fetches each day (CSV with a header row, or a JSON array).
DAILY_LIST_URL = os.environ.get("DAILY_LIST_URL", "")
# The dashboard counts today live from the raw tables; viewers within this many seconds share one count (0: off).
REPORTING_LIVE_CACHE_SECONDS = env_int("REPORTING_LIVE_CACHE_SECONDS", 60)
# Public pages (home, apps, leaderboard) and the public API lists are cached for anonymous visitors this long;
# a write to what they show also invalidates them at once (versioned keys, backoffice/cache.py).
PUBLIC_PAGE_CACHE_SECONDS = env_int("PUBLIC_PAGE_CACHE_SECONDS", 60)
# Each process keeps its last read of those versions, and the pages themselves, this long in memory: a cached page
# then costs no round trip to Redis; another process's write shows within this time (0: ask Redis every time).
PUBLIC_CACHE_LOCAL_SECONDS = env_float("PUBLIC_CACHE_LOCAL_SECONDS", 1)
# Leaderboard pages and own ranks are cached this long (a referral credit also invalidates them at once); a page
# cursor older than this, or minted before the last credit, has its rank recounted instead of trusted.
LEADERBOARD_CACHE_SECONDS = env_int("LEADERBOARD_CACHE_SECONDS", 300)
# The moderation queue's "done today" team count (it reads every proof reviewed today) is shared this long (0: off).
MODERATION_TEAM_COUNT_CACHE_SECONDS = env_int("MODERATION_TEAM_COUNT_CACHE_SECONDS", 30)
# Which active webhook endpoints subscribe to each event is cached this long (dropped at once on any endpoint change).
WEBHOOK_SUBSCRIBERS_CACHE_SECONDS = env_int("WEBHOOK_SUBSCRIBERS_CACHE_SECONDS", 60 * 60)
# The plans' points multipliers (read on every approval) are cached this long (dropped at once on any plan change).
PLAN_MULTIPLIER_CACHE_SECONDS = env_int("PLAN_MULTIPLIER_CACHE_SECONDS", 60 * 60)
# A member's available campaigns per cart are cached this long (seconds; 0: off); writes invalidate them at once.
AVAILABLE_CAMPAIGNS_CACHE_SECONDS = env_int("AVAILABLE_CAMPAIGNS_CACHE_SECONDS", 60)

# Numbers that can't be gamed (issue 12): see README "Policies".
# A declared cart (no app priced by us) is discounted as if it were at most this much, unless a campaign says otherwise.
CAMPAIGN_DEFAULT_MAX_CART_TOTAL = env_decimal("CAMPAIGN_DEFAULT_MAX_CART_TOTAL", Decimal("100.00"))
# A campaign's uses and budget are split over this many counter rows, so concurrent redemptions lock different rows:
# at least the number of processes redeeming at once (bench/redeem.py, 32 clients: 16 rows 340/s, 32 rows 475/s).
CAMPAIGN_COUNTER_SHARDS = env_int("CAMPAIGN_COUNTER_SHARDS", 32)
# A redemption that finds no free shard with room waits for one with room up to this many times (each a new attempt)
# before it gathers room from every shard, which locks them all: gathering whenever one wait lost its shard's last
# use to another redemption made the others miss too; through a 1 ms link the rate fell by half (bench/redeem.py).
CAMPAIGN_CLAIM_WAITS = env_int("CAMPAIGN_CLAIM_WAITS", 3)
# A member whose proof for an app was rejected may send a new one this many times; approved/invalidated closes the app.
PROOF_MAX_REJECTED_RETRIES = env_int("PROOF_MAX_REJECTED_RETRIES", 2)
# Perceptual-hash (pHash, 64 bits) distance at or below which two proofs are flagged as near duplicates.
PROOF_NEAR_DUPLICATE_DISTANCE = env_int("PROOF_NEAR_DUPLICATE_DISTANCE", 6)
# How long the product upload's confirm step waits for rows another upload holds before giving up (milliseconds).
PRODUCT_UPLOAD_LOCK_TIMEOUT_MS = env_int("PRODUCT_UPLOAD_LOCK_TIMEOUT_MS", 30000)
# Product files up to this size are previewed and imported in the request; larger ones by a background job (about
# 25,000 rows per MB, previewed in a few seconds), with a progress bar and a notification when done.
PRODUCT_UPLOAD_INLINE_MAX_BYTES = env_int("PRODUCT_UPLOAD_INLINE_MAX_BYTES", 1024 * 1024)
# PostgreSQL work_mem for the upload's write statements (MB): room to sort 100k checked rows and hold the written
# products for their history and price changes in memory instead of temporary files (about 15% of the writes).
PRODUCT_UPLOAD_WORK_MEM_MB = env_int("PRODUCT_UPLOAD_WORK_MEM_MB", 32)
# The rows a preview checked are kept this long for its confirm (about 1.2 MB per 100,000 rows); the scheduled
# catalog.tasks.prune_upload_checks deletes older ones, and a later confirm checks the stored file again.
PRODUCT_UPLOAD_CHECK_RETENTION_DAYS = env_int("PRODUCT_UPLOAD_CHECK_RETENTION_DAYS", 7)

# Phone numbers typed without a country code are read in this region (ISO code, "" = always international).
PHONE_DEFAULT_REGION = os.environ.get("PHONE_DEFAULT_REGION", "US")

# Phone verification (growth/otp.py) and referrals (growth/referrals.py).
OTP_VALID_SECONDS = env_int("OTP_VALID_SECONDS", 300)  # life of a texted code
OTP_MAX_ATTEMPTS = env_int("OTP_MAX_ATTEMPTS", 5)  # wrong codes before the code is burned
OTP_RESEND_INTERVAL_SECONDS = env_int("OTP_RESEND_INTERVAL_SECONDS", 60)  # pause between two sends
OTP_MAX_SENDS_PER_HOUR = env_int("OTP_MAX_SENDS_PER_HOUR", 5)  # codes texted to one member an hour
# Back-off after a wrong code: factor * 2**(failures - 1) seconds (django-otp ThrottlingMixin; 0 turns it off).
OTP_PHONE_THROTTLE_FACTOR = env_int("OTP_PHONE_THROTTLE_FACTOR", 1)
# Points the referrer gets, once, when the referred member (and the referrer) verified a phone.
REFERRAL_BONUS_POINTS = env_int("REFERRAL_BONUS_POINTS", 50)

# Rate limits of the public site (growth/ratelimit.py), "N/second|minute|hour|day". Cache down: SMS sends
# are refused (they cost money); the others are allowed with a warning (README "Security").
SIGNUP_RATE_PER_IP = os.environ.get("SIGNUP_RATE_PER_IP", "10/hour")  # sign-up form posts
SMS_RATE_PER_IP = os.environ.get("SMS_RATE_PER_IP", "10/hour")  # verification SMS sent for one address
SMS_RATE_PER_NUMBER = os.environ.get("SMS_RATE_PER_NUMBER", "5/hour")  # verification SMS sent to one number
PASSWORD_RESET_RATE_PER_IP = os.environ.get("PASSWORD_RESET_RATE_PER_IP", "20/hour")  # reset requests
PASSWORD_RESET_RATE_PER_EMAIL = os.environ.get("PASSWORD_RESET_RATE_PER_EMAIL", "3/hour")  # reset emails sent
OTP_CHECK_RATE_PER_IP = os.environ.get("OTP_CHECK_RATE_PER_IP", "30/hour")  # OTP codes tried from one address

# Product uploads (catalog/product_files.py) are refused beyond these, before the sheet is parsed.
PRODUCT_FILE_MAX_ROWS = env_int("PRODUCT_FILE_MAX_ROWS", 200000)  # products per file
PRODUCT_FILE_MAX_COLUMNS = 50  # the format has 7; room for a few extra columns, not 16,384
PRODUCT_FILE_MAX_UNPACKED_BYTES = 200 * 1024 * 1024  # an .xlsx's total uncompressed size (zip bombs)

# Outbound HTTP (backoffice/outbound.py): feeds, downloads and webhooks.
# Networks that outbound requests may reach although private/loopback (comma-separated CIDRs, e.g. an
# on-premise feed at 10.0.0.5/32). Empty: only global addresses.
OUTBOUND_ALLOWED_NETWORKS = env_list("OUTBOUND_ALLOWED_NETWORKS")
OUTBOUND_TIMEOUT_SECONDS = env_int("OUTBOUND_TIMEOUT_SECONDS", 30)  # whole request, redirects included
OUTBOUND_CONNECT_TIMEOUT_SECONDS = 10  # one TCP/TLS connection
OUTBOUND_MAX_BYTES = env_int("OUTBOUND_MAX_BYTES", 20 * 1024 * 1024)  # largest answer body read
OUTBOUND_MAX_REDIRECTS = 5  # redirects followed, each re-checked

# How many reverse proxies (load balancer, CDN) stand in front of the app and append to X-Forwarded-For;
# backoffice.net.client_ip believes that many entries from the right. 0: use REMOTE_ADDR only.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# Exports: django-import-export escapes formulas too, should a resource ever be exported (backoffice/exports.py
# escapes every export the product writes).
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True

# Store operations (stores app)
# Competitor offers not seen for this many hours are ignored by the repricer and shown as a stale feed.
REPRICING_STALE_OFFER_HOURS = env_int("REPRICING_STALE_OFFER_HOURS", 48)
# A competitor price below this fraction of ours is flagged as suspicious (a typo, a bait) and never followed.
REPRICING_SUSPICIOUS_FRACTION = env_decimal("REPRICING_SUSPICIOUS_FRACTION", Decimal("0.5"))
# PostgreSQL work_mem for a repricing run's statement (MB): its per-product aggregate stays in memory (no spill).
REPRICING_WORK_MEM_MB = env_int("REPRICING_WORK_MEM_MB", 64)
# Store price lists with at most this many products are cached whole; larger ones are streamed each time.
PRICE_LIST_CACHE_MAX_PRODUCTS = env_int("PRICE_LIST_CACHE_MAX_PRODUCTS", 20000)
# How long a cached price list lives (its key also changes with every price or stock change).
PRICE_LIST_CACHE_SECONDS = env_int("PRICE_LIST_CACHE_SECONDS", 60 * 60)

# Landing page (landing app): how many published reviews the home page shows, newest first.
LANDING_HOME_REVIEWS = env_int("LANDING_HOME_REVIEWS", 6)

# Staff alerts: the live stream polls for new alerts this often, and each stream ends after this long
# (the browser's EventSource reconnects at once, resuming after the last alert it saw).
ALERTS_STREAM_POLL_SECONDS = env_float("ALERTS_STREAM_POLL_SECONDS", 3)
ALERTS_STREAM_MAX_SECONDS = env_float("ALERTS_STREAM_MAX_SECONDS", 55)
# Telegram: without a bot token alerts meant for Telegram are written to the log.
TELEGRAM_BOT_TOKEN = os.environ.get("TELEGRAM_BOT_TOKEN", "")
TELEGRAM_API_BASE_URL = os.environ.get("TELEGRAM_API_BASE_URL", "https://api.telegram.org")  # a fake in tests
TELEGRAM_TIMEOUT_SECONDS = env_float("TELEGRAM_TIMEOUT_SECONDS", 5)
TELEGRAM_SENDER = os.environ.get(
    "TELEGRAM_SENDER",
    "stores.telegram.BotApiTelegramSender" if TELEGRAM_BOT_TOKEN else "stores.telegram.ConsoleTelegramSender",
)
# Content-Security-Policy (django-csp 4; backoffice/csp.py). Nothing is loaded from another origin.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],  # style attributes in templates and Wagtail
        "img-src": ["'self'", "data:", "blob:"],  # blob: previews an image before upload
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'self'"],
        "form-action": ["'self'"],
    }
}
# Wagtail's admin templates still carry inline scripts: these prefixes also allow 'unsafe-inline' scripts.
CSP_RELAXED_SCRIPT_PREFIXES = ["/admin/", "/django-admin/"]

# Wagtail
WAGTAIL_SITE_NAME = "Rewards Back-office"
WAGTAILADMIN_BASE_URL = SITE_URL
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAIL_USER_CUSTOM_FIELDS = ["phone"]
WAGTAIL_GRAVATAR_PROVIDER_URL = None  # no avatars fetched from another origin
WAGTAIL_ENABLE_UPDATE_CHECK = False  # no calls to releases.wagtail.org from staff browsers
# One password reset flow, rate-limited: staff use /accounts/password_reset/ too (README "Security").
WAGTAIL_PASSWORD_RESET_ENABLED = False

# REST framework
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PARSER_CLASSES": [
        "backoffice.api_input.JSONParser",  # deeply nested JSON is a 400, not a 500
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    "EXCEPTION_HANDLER": "backoffice.api.exception_handler",
    # Every endpoint: anonymous callers per IP, members per account (backoffice/throttling.py: fail open).
    "DEFAULT_THROTTLE_CLASSES": [
        "backoffice.throttling.AnonRateThrottle",
        "backoffice.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("API_ANON_THROTTLE_RATE", "100/minute"),
        "user": os.environ.get("API_USER_THROTTLE_RATE", "600/minute"),
        "redeem": os.environ.get("REDEEM_THROTTLE_RATE", "30/minute"),
        # App purchases per member (POST /api/apps/{slug}/purchase/).
        "purchase": os.environ.get("PURCHASE_THROTTLE_RATE", "30/minute"),
        # Data API v1 requests per OAuth2 client.
        "data_api": os.environ.get("DATA_API_THROTTLE_RATE", "1200/minute"),
    },
}
# OAuth2 (django-oauth-toolkit) for services reading the data API v1 with client credentials.
OAUTH2_PROVIDER = {
    "SCOPES_BACKEND_CLASS": "integrations.oauth.ClientScopes",
    "OAUTH2_VALIDATOR_CLASS": "integrations.oauth.ClientValidator",
    # Lifetime of a client's access token; a client asks for a new one with its credentials.
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("OAUTH2_ACCESS_TOKEN_SECONDS", 60 * 60),
    # RFC 9700 (OAuth 2.0 Security BCP): only client credentials are used; every legacy allowance is off.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
}
# Named so migrations can refer to it (django-oauth-toolkit's model is swappable); not swapped here.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
# Incremental sync serves only rows last written at least this long ago, so a row whose transaction
# commits a little after its timestamp is not skipped by a client that already read past that time.
DATA_API_SYNC_LAG_SECONDS = env_float("DATA_API_SYNC_LAG_SECONDS", 5)
# Webhooks: each delivery's whole request time, its attempts in all, and the first retry's delay (then doubled).
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 6)
WEBHOOK_BACKOFF_SECONDS = env_int("WEBHOOK_BACKOFF_SECONDS", 30)
# Rows per page of the data API v1 (a client may ask for fewer or up to DATA_API_MAX_PAGE_SIZE with ?page_size=).
DATA_API_PAGE_SIZE = 100
DATA_API_MAX_PAGE_SIZE = 1000

SPECTACULAR_SETTINGS = {
    "TITLE": "Rewards API",
    "DESCRIPTION": "Public catalog, campaigns and redemption, and staff reports.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "PREPROCESSING_HOOKS": ["backoffice.api.public_api_endpoints"],
    # Swagger UI served from our own static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The data API v1 (integrations) documents its OAuth2 client-credentials flow.
    "OAUTH2_FLOWS": ["clientCredentials"],
    "OAUTH2_TOKEN_URL": "/oauth/token/",
}

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOG_FORMAT = os.environ.get("LOG_FORMAT", "")  # "json" or "plain"; unset: JSON under production settings, else plain


def logging_config(log_format):
    """Console logging; every record carries the request id (X-Request-ID) of the request it was logged in."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "backoffice.middleware.RequestIdLogFilter"}},
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            },
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": log_format, "filters": ["request_id"]}},
        "root": {"handlers": ["console"], "level": LOG_LEVEL},
        "loggers": {"django.db.backends": {"level": "WARNING"}, "django_tasks": {"level": "WARNING"}},
    }


LOGGING = logging_config(LOG_FORMAT or "plain")
WAGTAILDOCS_EXTENSIONS = ["csv", "pdf", "txt", "xlsx"]
