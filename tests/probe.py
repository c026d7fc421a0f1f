"""`python -m tests.probe [DATABASE_URL]`: are the real PostgreSQL and Redis reachable? Exit 0 if both are.

Used by `make test` to decide whether the PostgreSQL pass can run, and by the services fixtures.
"""

from __future__ import annotations

import os
import sys

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/pulsera"
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"
HOW_TO = (
    "To run these tests, start PostgreSQL (user postgres, trust auth) and Redis on 127.0.0.1, or point "
    "PG_TEST_URL / PULSERA_TEST_REDIS_URL at yours, then run `make test` again."
)


def postgres_problem(url: str) -> str | None:
    import psycopg

    # Connect to the maintenance database: pytest-django creates test_<name> itself.
    base = url.rsplit("/", 1)[0] + "/postgres"
    try:
        psycopg.connect(base, connect_timeout=3).close()
    except Exception as exc:
        return f"PostgreSQL is not reachable at {base}: {str(exc).strip()}"
    return None


def redis_problem(url: str) -> str | None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except Exception as exc:
        return f"Redis is not reachable at {url}: {exc}"
    return None


def main() -> int:
    pg_url = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_PG
    redis_url = os.environ.get("PULSERA_TEST_REDIS_URL", DEFAULT_REDIS)
    problems = [p for p in (postgres_problem(pg_url), redis_problem(redis_url)) if p]
    for problem in problems:
        print(problem)
    if problems:
        print(HOW_TO)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
