"""Database functions Django lacks (pulsera/lib/db_functions.py), on SQLite and PostgreSQL alike."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from pulsera.lib.db_functions import EpochSeconds
from vitals.models import VitalSample


def test_epoch_seconds_are_the_stored_instants_and_keep_whole_seconds_in_their_minute(device):
    # A minute on which SQLite's julianday arithmetic, unrounded, gives 11:05:59.99995 (about half do).
    minute = datetime.fromtimestamp(1_794_999_960, UTC)
    instants = [
        minute,  # exactly on a minute: must not come back in the minute before
        minute + timedelta(minutes=1),
        minute - timedelta(microseconds=1000),
        minute + timedelta(seconds=59, microseconds=999_000),
        minute + timedelta(hours=5, seconds=7, microseconds=250_000),
    ]
    VitalSample.objects.bulk_create(
        [VitalSample(wearer=device.wearer, device=device, recorded_at=at, sequence=i) for i, at in enumerate(instants)]
    )
    got = list(
        VitalSample.objects.annotate(epoch=EpochSeconds("recorded_at"))
        .order_by("sequence")
        .values_list("epoch", flat=True)
    )
    assert all(isinstance(v, float) for v in got)
    assert [round(v, 3) for v in got] == [at.timestamp() for at in instants]
    assert [math.floor(v / 60) for v in got] == [math.floor(at.timestamp() / 60) for at in instants]
