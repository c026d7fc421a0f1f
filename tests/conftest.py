"""Fixtures for tests against the real services on 127.0.0.1 (PostgreSQL, Redis, Celery, Daphne).

When a service is missing they skip with instructions, except in CI (CI=true), where a missing
service is a failure: CI must prove the real thing.
"""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.db import connection

from tests.probe import HOW_TO, redis_problem


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run this test). {HOW_TO}")
    pytest.skip(f"{reason}. {HOW_TO}")


@pytest.fixture
def real_redis_url() -> str:
    url = settings.TEST_REDIS_URL
    problem = redis_problem(url)
    if problem:
        _unavailable(problem)
    return url


@pytest.fixture
def on_postgres(db) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL-only behaviour: runs in `make test`'s PostgreSQL pass.")


def worker_database_url() -> str:
    """The test database as a URL, for processes the test starts (a Celery worker, the dev stack)."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def child_env(**overrides: str) -> dict[str, str]:
    """A clean environment for a child process running the real settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_", "PULSERA_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="pulsera.settings",
        DJANGO_DEBUG="true",
        DJANGO_SECRET_KEY="pulsera-test-child-process-secret-key-0123456789",
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env
