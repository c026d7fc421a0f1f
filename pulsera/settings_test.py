"""Test settings: the real settings plus a few overrides.

SQLite by default; `PULSERA_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/pulsera` runs the same
suite on PostgreSQL (pytest-django creates and drops `test_pulsera`). Tests marked `services` use the
real Redis at `PULSERA_TEST_REDIS_URL` (database 15 by default, so a developer's data is untouched).
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "pulsera-test-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("DJANGO_DEBUG", "false")

import environ

from .settings import *  # noqa: F403
from .settings import REST_FRAMEWORK

_env = environ.Env()
DATABASES = {"default": _env.db("PULSERA_TEST_DATABASE_URL", default="sqlite:///:memory:")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": ""}  # in-memory
TEST_REDIS_URL = _env.str("PULSERA_TEST_REDIS_URL", default="redis://127.0.0.1:6379/15")
REDIS_URL = TEST_REDIS_URL
CELERY_BROKER_URL = CELERY_RESULT_BACKEND = TEST_REDIS_URL

PULSERA_DETECTION_ON_INGEST = False  # the tests that need detection turn it on (no broker in unit tests)
PULSERA_ALERT_TASKS = "inline"  # escalation runs and sends happen in the test process (after commit)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
SECURE_SSL_REDIRECT = False
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"login": "1000/min"}}
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
# The test process imports pulsera.asgi: keep Python's collector as is (freezing it would keep the
# garbage of later tests, database connections included, out of reach of the cyclic collector).
PULSERA_GC_THRESHOLDS: tuple[int, ...] = ()
