"""Database functions Django lacks, for PostgreSQL and SQLite alike."""

from __future__ import annotations

from typing import Any

from django.db.models import FloatField, Func


class EpochSeconds(Func):
    """A timestamp as float seconds since 1970-01-01 UTC (to the millisecond on SQLite).

    For reading many timestamps into numpy: Django's timezone-aware datetime loader for psycopg 3 is
    pure Python (~10-35 µs a value), a float is parsed in C.
    """

    output_field = FloatField()
    arity = 1

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="EXTRACT(EPOCH FROM %(expressions)s)::float8", **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Django stores aware datetimes in UTC as text. julianday keeps the fraction of a second but,
        # as a double of ~2.46 million days, only to ~50 µs: rounded to the millisecond so that
        # 12:00:00 does not come back as 11:59:59.99995 (unixepoch(..., 'subsec') needs SQLite 3.42).
        template = "ROUND((julianday(%(expressions)s) - 2440587.5) * 86400.0, 3)"
        return self.as_sql(compiler, connection, template=template, **extra)
