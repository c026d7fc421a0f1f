"""Pulsera settings: one file for every environment, everything read from the environment.

Every variable read here is documented in `.env.example`. A local `.env` file is read for
convenience; real environment variables win over it.
"""

from __future__ import annotations

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"  # local state for the embedded defaults (SQLite, embedded Redis); gitignored

env = environ.Env()
if (BASE_DIR / ".env").exists():
    env.read_env(BASE_DIR / ".env", overwrite=False)


def _is_set(name: str) -> bool:
    """An empty value (`NAME=` copied from .env.example) means "use the default"."""
    return bool(env.str(name, default="").strip())


# ---------------------------------------------------------------------------------------------------
# CORE
# ---------------------------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)

# Only a debug (developer) process may fall back to a throwaway key; anything else refuses to start.
_DEV_SECRET_KEY = "django-insecure-pulsera-development-only-key-never-use-in-production"
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Production settings refuse to start without a secret key: "
            "set DJANGO_SECRET_KEY (50+ random characters), or set DJANGO_DEBUG=true for local development."
        )
    SECRET_KEY = _DEV_SECRET_KEY

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])

INSTALLED_APPS = [
    "daphne",  # must precede staticfiles: `runserver` becomes the ASGI server
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_celery_beat",
    "accounts",
    "groups",
    "vitals",
    "inference",
    "episodes",
    "alerts",
    "zones",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "pulsera.urls"
ASGI_APPLICATION = "pulsera.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------------------------------------------
# DATABASES
# ---------------------------------------------------------------------------------------------------
# Unset DATABASE_URL means the embedded default: SQLite under var/. PostgreSQL is production.
DATABASES = {
    "default": env.db("DATABASE_URL")
    if _is_set("DATABASE_URL")
    else env.db_url_config(f"sqlite:///{VAR_DIR / 'pulsera.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(exist_ok=True)
    # Daphne, the worker and beat write concurrently in `make run`: WAL + IMMEDIATE transactions
    # + a generous busy timeout keep SQLite from answering "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    # Under ASGI, per-thread persistent connections leak; Django's recommendation is a connection
    # pool (psycopg_pool): each request or consumer call borrows a connection and returns it.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Parameters travel separately from the SQL (no client-side quoting of ingest's big arrays).
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
    if env.bool("DATABASE_POOL", default=True):
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN", default=2),
            "max_size": env.int("DATABASE_POOL_MAX", default=20),
            "timeout": 10,
        }

# ---------------------------------------------------------------------------------------------------
# REDIS: Celery broker, channel layer, cache
# ---------------------------------------------------------------------------------------------------
# `make run` starts an embedded Redis and sets REDIS_URL for its processes when it is unset.
REDIS_URL = env.str("REDIS_URL") if _is_set("REDIS_URL") else "redis://127.0.0.1:6379/0"

# core (RedisChannelLayer) holds 2,000 watches on one process; pubsub collapsed into reconnects at
# that load (each socket's subscribe queues on one connection per process), though it keeps sockets
# through a Redis restart, where core closes them (1011) and clients reconnect. docs/benchmarks.md.
_CHANNEL_LAYER = env.str("PULSERA_CHANNEL_LAYER", default="core")
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": {
            "core": "channels_redis.core.RedisChannelLayer",
            "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
        }[_CHANNEL_LAYER],
        "CONFIG": {"hosts": [REDIS_URL]},
    }
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "pulsera",
    }
}

# ---------------------------------------------------------------------------------------------------
# CELERY
# ---------------------------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL") if _is_set("CELERY_BROKER_URL") else REDIS_URL
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND") if _is_set("CELERY_RESULT_BACKEND") else REDIS_URL
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# A task is acknowledged only once it has run, so a worker that dies mid-task loses nothing.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Enqueueing runs inside ingest's commit hook: with the broker down it must fail fast, not stall acks.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
# Workers consume their queues in the order given (-Q urgent,celery,detection): red-flag detection
# first, then alerting (escalation steps, sends), then routine detection.
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 5, "queue_order_strategy": "priority"}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "vitals-devices-mark-stale": {
        "task": "vitals.tasks.devices_mark_stale",
        "schedule": 30.0,
    },
    # the alerting loop's durable path: due escalation steps, delivery retries, channel fallbacks,
    # recoveries. Every few seconds (https://crontab.guru can't express sub-minute schedules).
    "alerts-escalations-tick": {
        "task": "alerts.tasks.escalations_tick",
        "schedule": env.float("PULSERA_ESCALATION_TICK_SECONDS", default=5.0),
        # a tick queued while workers were down is worthless once the next one is due
        "options": {"expires": max(2.0, env.float("PULSERA_ESCALATION_TICK_SECONDS", default=5.0) * 2)},
    },
    "alerts-wearers-check-silent": {
        "task": "alerts.tasks.wearers_check_silent",
        "schedule": 60.0,
    },
    # hourly: expired invitations are kept 30 days, then deleted
    "groups-invitations-expire": {
        "task": "groups.tasks.invitations_expire",
        "schedule": 3600.0,
    },
}

# ---------------------------------------------------------------------------------------------------
# HTTP API
# ---------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "pulsera.lib.pagination.DefaultPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "pulsera.lib.api_errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"login": env.str("PULSERA_LOGIN_RATE", default="20/min")},
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Pulsera API",
    "DESCRIPTION": (
        "Real-time health-safety network. People authenticate with `Authorization: Bearer <token>` "
        "(from `POST /api/v1/auth/token/`); watches with `Authorization: Device <device token>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "CareGroupKindEnum": "groups.models.CareGroup.Kind",
        "DeviceKindEnum": "vitals.models.Device.Kind",
        "EpisodeKindEnum": "episodes.models.Episode.Kind",
        "ZoneKindEnum": "zones.models.Zone.Kind",
        "ZoneStatusEnum": "zones.models.Zone.Status",
        "EpisodeStateEnum": "episodes.models.Episode.State",
        "AlertStateEnum": "alerts.models.Alert.State",
        "MembershipRoleEnum": "groups.models.Membership.Role",
        "ChannelEnum": "alerts.models.Channel",
        "EpisodeAnswerEnum": "episodes.models.Episode.Answer",
    },
}

# The largest request body Django will read (bulk ingest included); larger ones answer 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("PULSERA_MAX_REQUEST_BYTES", default=1_048_576)

CORS_ALLOWED_ORIGINS = env.list("ALLOWED_ORIGINS", default=[])
CSRF_TRUSTED_ORIGINS = CORS_ALLOWED_ORIGINS

# ---------------------------------------------------------------------------------------------------
# STATIC FILES (served by WhiteNoise from Daphne; no separate web server needed)
# ---------------------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# ---------------------------------------------------------------------------------------------------
# SECURITY (production values unless DEBUG; `manage.py check --deploy` is clean with them)
# ---------------------------------------------------------------------------------------------------
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if env.bool("DJANGO_BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# ---------------------------------------------------------------------------------------------------
# EMAIL
# ---------------------------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
if env.str("EMAIL_URL", default="").startswith("filemail:///"):
    # django-environ drops the leading "/" of filemail:///an/absolute/path: keep it absolute.
    EMAIL_CONFIG["EMAIL_FILE_PATH"] = "/" + EMAIL_CONFIG["EMAIL_FILE_PATH"].lstrip("/")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Pulsera <alerts@pulsera.localhost>")

# ---------------------------------------------------------------------------------------------------
# PULSERA
# ---------------------------------------------------------------------------------------------------
GEMINI_API_KEY = env.str("GEMINI_API_KEY", default="")  # empty: summaries use the offline fallback
PULSENET_CHECKPOINT_PATH = (
    Path(env.str("PULSENET_CHECKPOINT_PATH"))
    if _is_set("PULSENET_CHECKPOINT_PATH")
    else BASE_DIR / "inference" / "checkpoints" / "pulsenet.pt"
)
# Real wearable data for training calibration, evaluation and benchmarks (never copied into the repo).
PULSERA_SHARED_DATA_DIR = (
    Path(env.str("PULSERA_SHARED_DATA_DIR"))
    if _is_set("PULSERA_SHARED_DATA_DIR")
    else BASE_DIR.parent / "shared" / "data"
)
ENABLE_COMMUNITY_DETECTION = env.bool("ENABLE_COMMUNITY_DETECTION", default=True)
PULSERA_DETECTION_ON_INGEST = env.bool("PULSERA_DETECTION_ON_INGEST", default=True)
# A wearer's routine detection run is enqueued when a store may complete a minute, or at least this
# often while samples flow (vitals/detection_gate.py).
PULSERA_DETECTION_REQUEUE_SECONDS = env.float("PULSERA_DETECTION_REQUEUE_SECONDS", default=60)
# Wearers with readings that deserve a prompt look (vitals.services.attention_range) are judged on the
# `urgent` queue, past the routine backlog.
PULSERA_DETECTION_TRIAGE = env.bool("PULSERA_DETECTION_TRIAGE", default=True)
PULSERA_INGEST_MAX_SAMPLES = env.int("PULSERA_INGEST_MAX_SAMPLES", default=500)
# The watch socket (docs/protocol.md)
PULSERA_WS_MAX_FRAME_BYTES = env.int("PULSERA_WS_MAX_FRAME_BYTES", default=262_144)
PULSERA_WS_SAMPLES_PER_SECOND = env.float("PULSERA_WS_SAMPLES_PER_SECOND", default=20.0)
PULSERA_WS_BURST_SAMPLES = env.int("PULSERA_WS_BURST_SAMPLES", default=2000)
PULSERA_WS_MAX_INFLIGHT_FRAMES = env.int("PULSERA_WS_MAX_INFLIGHT_FRAMES", default=8)
# The ingest batcher: one transaction per flush, on a timer or when enough samples wait.
PULSERA_INGEST_FLUSH_MS = env.int("PULSERA_INGEST_FLUSH_MS", default=50)
PULSERA_INGEST_FLUSH_SAMPLES = env.int("PULSERA_INGEST_FLUSH_SAMPLES", default=2000)
PULSERA_INGEST_HIGH_WATER = env.int("PULSERA_INGEST_HIGH_WATER", default=20_000)
PULSERA_INGEST_FLUSH_CONCURRENCY = env.int("PULSERA_INGEST_FLUSH_CONCURRENCY", default=2)  # 1 on SQLite
# Presence and the caregiver feed
PULSERA_DEVICE_STALE_AFTER_SECONDS = env.int("PULSERA_DEVICE_STALE_AFTER_SECONDS", default=180)
PULSERA_FEED_VITALS_INTERVAL_MS = env.int("PULSERA_FEED_VITALS_INTERVAL_MS", default=1000)
# Garbage collector thresholds of socket processes and Celery worker children (pulsera/gc_tuning.py);
# empty: Python's defaults.
PULSERA_GC_THRESHOLDS = tuple(int(v) for v in env.list("PULSERA_GC_THRESHOLDS", default=["50000", "20", "100"]))
PULSERA_BENCH_ECHO = env.bool("PULSERA_BENCH_ECHO", default=False)  # benchmark only: /ws/bench/echo/
PULSERA_INGEST_MAX_FUTURE_SECONDS = env.int("PULSERA_INGEST_MAX_FUTURE_SECONDS", default=300)
PULSERA_INVITATION_TTL_HOURS = env.int("PULSERA_INVITATION_TTL_HOURS", default=72)

# Episodes and escalation; docs/escalation.md explains each of these.
PULSERA_CHECKIN_SECONDS = env.int("PULSERA_CHECKIN_SECONDS", default=60)  # "are you OK?" countdown
PULSERA_RECHECK_SECONDS = env.int("PULSERA_RECHECK_SECONDS", default=90)  # calming window after "I'm OK"
PULSERA_RECOVERY_MINUTES = env.float("PULSERA_RECOVERY_MINUTES", default=5.0)  # no new evidence this long: judge
PULSERA_CHANNEL_FALLBACK_MINUTES = env.float("PULSERA_CHANNEL_FALLBACK_MINUTES", default=3.0)
PULSERA_NO_DATA_AFTER_MINUTES = env.int("PULSERA_NO_DATA_AFTER_MINUTES", default=60)  # 0: off
# Length of an escalation "minute" in seconds (waits, ETAs, reminders, fallbacks). 60 in production;
# shorter only for demos and end-to-end tests.
PULSERA_ESCALATION_MINUTE_SECONDS = env.float("PULSERA_ESCALATION_MINUTE_SECONDS", default=60.0)
# celery: escalation steps and sends run on workers; inline: in the calling process (tests, tools).
PULSERA_ALERT_TASKS = env.str("PULSERA_ALERT_TASKS", default="celery")
PULSERA_DELIVERY_MAX_ATTEMPTS = env.int("PULSERA_DELIVERY_MAX_ATTEMPTS", default=5)
PULSERA_DELIVERY_RETRY_SECONDS = env.float("PULSERA_DELIVERY_RETRY_SECONDS", default=10.0)  # doubles each try
PULSERA_PROVIDER_TIMEOUT_SECONDS = env.float("PULSERA_PROVIDER_TIMEOUT_SECONDS", default=10.0)
# SMS through Twilio's Messages API (unset: SMS fails over to the person's next channel)
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
PULSERA_SMS_FROM = env.str("PULSERA_SMS_FROM", default="")
PULSERA_SMS_API_BASE = env.str("PULSERA_SMS_API_BASE", default="https://api.twilio.com")
# Push through FCM HTTP v1 (unset: push fails over to the person's next channel)
PULSERA_FCM_PROJECT_ID = env.str("PULSERA_FCM_PROJECT_ID", default="")
PULSERA_FCM_CREDENTIALS_FILE = env.str("PULSERA_FCM_CREDENTIALS_FILE", default="")
PULSERA_FCM_API_BASE = env.str("PULSERA_FCM_API_BASE", default="https://fcm.googleapis.com")
PULSERA_PUBLIC_URL = env.str("PULSERA_PUBLIC_URL", default="http://127.0.0.1:8000")

# ---------------------------------------------------------------------------------------------------
# LOGGING
# ---------------------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
