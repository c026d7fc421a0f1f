"""Writes about devices and samples. `samples_ingest` is the one ingest path (REST and socket)."""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from groups.selectors import group_ids_of_wearer
from inference.detectors.schema import (  # pure constants
    ATTENTION_HEART_RATE_ABOVE,
    ATTENTION_HEART_RATE_BELOW,
    ATTENTION_SPO2_BELOW,
    CRITICAL_HEART_RATE_BELOW,
    CRITICAL_SPO2_BELOW,
)
from pulsera.realtime import broadcast_on_commit, group_feed_name, socket_send_on_commit

from .detection_gate import DetectionGate
from .models import METRICS, Device, LatestVitals, VitalSample, token_hash
from .validation import ParsedBatch, SampleInput, SampleRejection, batch_parse

logger = logging.getLogger(__name__)
TOKEN_PREFIX = "pd_"
MAX_SAMPLE_AGE = timedelta(days=7)  # an offline watch may backfill up to a week
detection_gate = DetectionGate()  # this process's


def device_token_assign(device: Device) -> str:
    """Give an (unsaved) device a fresh token and return it; only its hash is kept on the device."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    device.token_hash = token_hash(token)
    device.token_prefix = token[:10]
    return token


@transaction.atomic
def device_register(*, wearer: User, name: str, kind: str = Device.Kind.WATCH) -> tuple[Device, str]:
    """Register a device for `wearer`. Returns (device, token); the token is never retrievable again."""
    device = Device(wearer=wearer, name=name, kind=kind)
    token = device_token_assign(device)
    device.full_clean()
    device.save()
    return device, token


def device_token_rotate(*, device: Device) -> str:
    """Issue a new token; the old one stops working at once. A revoked device becomes active again."""
    token = device_token_assign(device)
    device.token_rotated_at = timezone.now()
    device.revoked_at = None
    device.save(update_fields=["token_hash", "token_prefix", "token_rotated_at", "revoked_at"])
    return token


def device_revoke(*, device: Device) -> None:
    Device.objects.filter(id=device.id, revoked_at__isnull=True).update(revoked_at=timezone.now())
    device.refresh_from_db(fields=["revoked_at"])


def presence_payload(device: Device) -> dict[str, Any]:
    return {
        "device_id": device.id,
        "wearer_id": device.wearer_id,
        "presence": device.presence,
        "battery_pct": device.battery_pct,
        "last_seen_at": device.last_seen_at.isoformat() if device.last_seen_at else None,
        "last_sample_at": device.last_sample_at.isoformat() if device.last_sample_at else None,
    }


def _presence_broadcast(device: Device, group_ids: list[int] | None = None) -> None:
    payload = {"kind": "presence", "devices": [presence_payload(device)]}
    for group_id in group_ids if group_ids is not None else group_ids_of_wearer(device.wearer_id):
        broadcast_on_commit(group_feed_name(group_id), payload)


@dataclass
class DeviceSession:
    device: Device | None
    group_ids: list[int] = field(default_factory=list)
    previous_channel: str = ""  # a socket that was still streaming for this device, to be closed


def device_session_open(*, token: str, channel_name: str) -> DeviceSession:
    """A socket opened with `token`. For an active device: it is online and this socket is the one
    streaming for it (server-to-watch messages go to `channel_name`). A revoked device is returned
    unchanged (the caller refuses it). Three queries, autocommitted.

    The caller (an async consumer) announces the presence change itself, on its event loop: this is
    the hot path when thousands of watches reconnect at once.
    """
    device = device_by_token(token)
    if device is None or not device.is_active():
        return DeviceSession(device)
    previous = device.channel_name
    now = timezone.now()
    Device.objects.filter(id=device.id).update(
        presence=Device.Presence.ONLINE, presence_changed_at=now, channel_name=channel_name, last_seen_at=now
    )
    device.presence, device.presence_changed_at, device.channel_name, device.last_seen_at = (
        Device.Presence.ONLINE, now, channel_name, now,
    )  # fmt: skip
    return DeviceSession(device, group_ids_of_wearer(device.wearer_id), previous if previous != channel_name else "")


def device_session_close(*, device: Device, channel_name: str) -> bool:
    """The socket `channel_name` closed. The device goes offline unless a newer socket took over.
    Returns whether it changed; the caller announces it, as for `device_session_open`."""
    now = timezone.now()
    changed = Device.objects.filter(id=device.id, channel_name=channel_name).update(
        presence=Device.Presence.OFFLINE, presence_changed_at=now, channel_name=""
    )
    if changed:
        device.presence, device.presence_changed_at, device.channel_name = Device.Presence.OFFLINE, now, ""
    return bool(changed)


def watch_message_send(*, device_id: int, message: dict[str, Any]) -> bool:
    """Send a server-to-watch message (a check-in, an instruction) to the device's open socket after
    commit. Returns False if the device has no open socket. At-most-once: the caller keeps the
    durable record (the episode) and retries by its own rules."""
    channel = Device.objects.filter(id=device_id).values_list("channel_name", flat=True).first()
    if not channel:
        return False
    socket_send_on_commit(channel, {"type": "watch.message", "message": message})
    return True


def devices_mark_stale(*, now: datetime | None = None) -> int:
    """Mark devices silent for longer than PULSERA_DEVICE_STALE_AFTER_SECONDS as stale, and tell their
    groups. Returns how many changed. (The "no data" alarm is the escalation work's.)"""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.PULSERA_DEVICE_STALE_AFTER_SECONDS)
    candidates = Device.objects.filter(revoked_at__isnull=True, last_seen_at__lt=cutoff).exclude(
        presence=Device.Presence.STALE
    )
    changed = 0
    for device in candidates:
        with transaction.atomic():
            won = Device.objects.filter(id=device.id, last_seen_at__lt=cutoff).exclude(presence=Device.Presence.STALE)
            if won.update(presence=Device.Presence.STALE, presence_changed_at=now):
                device.refresh_from_db()
                _presence_broadcast(device)
                changed += 1
    return changed


def device_by_token(token: str) -> Device | None:
    return Device.objects.select_related("wearer").filter(token_hash=token_hash(token)).first()


@dataclass
class IngestResult:
    accepted: list[int] = field(default_factory=list)  # sequences stored by this call
    duplicates: list[int] = field(default_factory=list)  # sequences already stored: acknowledged again
    rejected: list[SampleRejection] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "accepted": len(self.accepted),
            "duplicates": len(self.duplicates),
            "rejected": [r.to_dict() for r in self.rejected],
            # What the watch may drop from its buffer: stored now or before.
            "acked": sorted(self.accepted + self.duplicates),
        }


def batch_from_payload(payload: Any) -> ParsedBatch:
    """Validate a raw batch with the server's limits. Raises validation.BatchError."""
    return batch_parse(
        payload,
        now=timezone.now(),
        max_samples=settings.PULSERA_INGEST_MAX_SAMPLES,
        max_future=timedelta(seconds=settings.PULSERA_INGEST_MAX_FUTURE_SECONDS),
        max_age=MAX_SAMPLE_AGE,
    )


def samples_ingest(*, device: Device, batch: ParsedBatch) -> IngestResult:
    """Store one validated batch from `device` (the REST path). See `samples_store`."""
    return samples_store([(device, batch)]).results[0]


@dataclass
class StoreOutcome:
    results: list[IngestResult]  # one per frame, in order
    latest: dict[int, dict[str, Any]]  # wearer id -> their latest values after this store, if changed
    wearer_ids: list[int]  # wearers with new samples (for detection)


def samples_store(frames: list[tuple[Device, ParsedBatch]]) -> StoreOutcome:
    """Store many validated batches in one transaction, exactly once per (device, sequence).

    The wearer comes from each device, never from a payload. Samples, the wearers' latest vitals and
    the devices' last-seen are committed together; the outcome is returned only after commit, so an
    acknowledged sample is durable. A sample stored earlier (or by a concurrent request: the INSERT's
    ON CONFLICT DO NOTHING RETURNING tells exactly which rows this call inserted) is reported as a
    duplicate. After commit, detection is told which wearers have new samples.
    """
    results = [IngestResult(rejected=list(batch.rejected)) for _, batch in frames]
    first: dict[tuple[int, int], tuple[int, Device, SampleInput]] = {}
    for index, (device, batch) in enumerate(frames):
        for sample in batch.samples:
            key = (device.id, sample.sequence)
            if key in first:
                results[index].duplicates.append(sample.sequence)
            else:
                first[key] = (index, device, sample)
    now = timezone.now()
    with transaction.atomic():
        # Rows and locks in key order: flushes running at once never wait on each other in a cycle.
        ordered = [first[key] for key in sorted(first)]
        inserted = _samples_insert(ordered, received_at=now) if first else set()
        new_by_wearer: dict[int, list[SampleInput]] = {}
        newest_by_device: dict[int, datetime] = {}
        newest_by_wearer: dict[int, datetime] = {}
        for key, (index, device, sample) in first.items():
            if key in inserted:
                results[index].accepted.append(sample.sequence)
                new_by_wearer.setdefault(device.wearer_id, []).append(sample)
                at = sample.recorded_at
                newest = newest_by_device.get(device.id)
                newest_by_device[device.id] = at if newest is None else max(newest, at)
                newest = newest_by_wearer.get(device.wearer_id)
                newest_by_wearer[device.wearer_id] = at if newest is None else max(newest, at)
            else:
                results[index].duplicates.append(sample.sequence)
        latest = latest_vitals_merge_many(new_by_wearer, newest_by_wearer) if new_by_wearer else {}
        _devices_touch(frames, now=now, newest_by_device=newest_by_device)
        if new_by_wearer:
            urgent, attention = [], []
            triage = settings.PULSERA_DETECTION_TRIAGE
            for wearer_id in sorted(new_by_wearer):
                if any(red_flag_range(s) for s in new_by_wearer[wearer_id]):
                    urgent.append(wearer_id)
                elif triage and any(attention_range(s) for s in new_by_wearer[wearer_id]):
                    attention.append(wearer_id)
            transaction.on_commit(lambda: samples_stored_notify(newest_by_wearer, urgent=urgent, attention=attention))
    return StoreOutcome(results=results, latest=latest, wearer_ids=sorted(new_by_wearer))


SAMPLE_COLUMNS = ("wearer_id", "device_id", "sequence", "recorded_at", "received_at", *METRICS)
_INSERT_CHUNK = 1000  # rows per statement: 12 columns x 1000 stays under PostgreSQL's and SQLite's limits


_PG_ARRAY_TYPES = (
    "bigint",
    "bigint",
    "bigint",
    "timestamptz",
    "timestamptz",
    *("double precision",) * 5,
    "integer",
    "double precision",
)


def _samples_insert(rows: list[tuple[int, Device, SampleInput]], *, received_at: datetime) -> set[tuple[int, int]]:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING, in one round trip. Returns the (device_id,
    sequence) pairs this statement inserted.

    PostgreSQL gets one array per column through unnest(): a constant statement (parsed once) with
    12 parameters, whatever the number of rows. SQLite gets multi-row VALUES in chunks.
    """
    table = connection.ops.quote_name(VitalSample._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in SAMPLE_COLUMNS)
    if connection.vendor == "postgresql":
        received = str(received_at)
        arrays = [
            _pg_array_literal(d.wearer_id for _, d, _ in rows),
            _pg_array_literal(d.id for _, d, _ in rows),
            _pg_array_literal(s.sequence for _, _, s in rows),
            _pg_array_literal(s.recorded_at for _, _, s in rows),
            "{" + ",".join([received] * len(rows)) + "}",
            *(_pg_array_literal(getattr(s, m) for _, _, s in rows) for m in METRICS),
        ]
        unnest = ", ".join(f"%s::text::{kind}[]" for kind in _PG_ARRAY_TYPES)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({unnest}) "
                f"ON CONFLICT (device_id, sequence) DO NOTHING RETURNING device_id, sequence",
                arrays,
            )
            return {(row[0], row[1]) for row in cursor.fetchall()}
    adapt = connection.ops.adapt_datetimefield_value
    received = adapt(received_at)
    inserted: set[tuple[int, int]] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _INSERT_CHUNK):
            chunk = rows[start : start + _INSERT_CHUNK]
            placeholders = ", ".join(["(" + ", ".join(["%s"] * len(SAMPLE_COLUMNS)) + ")"] * len(chunk))
            params: list[Any] = []
            for _, device, s in chunk:
                params += [device.wearer_id, device.id, s.sequence, adapt(s.recorded_at), received]
                params += [getattr(s, name) for name in METRICS]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {placeholders} "
                f"ON CONFLICT (device_id, sequence) DO NOTHING RETURNING device_id, sequence",
                params,
            )
            inserted.update((row[0], row[1]) for row in cursor.fetchall())
    return inserted


def _pg_array_literal(values: Iterable[int | float | datetime | None]) -> str:
    """A PostgreSQL array literal ('{1,2.5,NULL}') of validated numbers and aware datetimes.

    Twice as fast as letting psycopg adapt Python lists element by element, which was a tenth of a
    Daphne process at full ingest load. Safe only for these types: str() of an int, a finite float
    (validation rejects NaN and infinities; str() round-trips exactly) or an aware datetime is
    never quoted or escaped."""
    return "{" + ",".join(["NULL" if v is None else str(v) for v in values]) + "}"


# last_seen_at is written at most this often per device: presence needs seconds, not every frame.
DEVICE_TOUCH_INTERVAL = timedelta(seconds=10)


def _devices_touch(
    frames: list[tuple[Device, ParsedBatch]], *, now: datetime, newest_by_device: dict[int, datetime]
) -> None:
    """Write last-seen, newest sample and battery for the devices due (every DEVICE_TOUCH_INTERVAL,
    or at once when the battery changes), and bring stale devices back online."""
    due: dict[int, Device] = {}
    for device, batch in frames:
        newest = newest_by_device.get(device.id)
        if newest is not None and (device.last_sample_at is None or newest > device.last_sample_at):
            device.last_sample_at = newest
        battery_changed = batch.battery_pct is not None and batch.battery_pct != device.battery_pct
        if battery_changed:
            device.battery_pct = batch.battery_pct
        if battery_changed or device.last_seen_at is None or now - device.last_seen_at >= DEVICE_TOUCH_INTERVAL:
            device.last_seen_at = now
            due[device.id] = device
    if not due:
        return
    if connection.vendor == "postgresql":
        revived = _devices_touch_pg([due[device_id] for device_id in sorted(due)], now=now)
    else:
        Device.objects.bulk_update(list(due.values()), ["last_seen_at", "last_sample_at", "battery_pct"])
        revived = list(
            Device.objects.filter(id__in=list(due), presence=Device.Presence.STALE).values_list("id", flat=True)
        )
        Device.objects.filter(id__in=revived).update(presence=Device.Presence.ONLINE, presence_changed_at=now)
    for device_id in revived:  # data is flowing again from devices that had gone stale
        device = due[device_id]
        device.presence, device.presence_changed_at = Device.Presence.ONLINE, now
        _presence_broadcast(device)


def _devices_touch_pg(devices: list[Device], *, now: datetime) -> list[int]:
    """One UPDATE ... FROM unnest() for all due devices; returns the ids that were stale."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE vitals_device AS d SET
                last_seen_at = v.seen,
                last_sample_at = GREATEST(d.last_sample_at, v.newest),
                battery_pct = COALESCE(v.battery, d.battery_pct),
                presence = CASE WHEN d.presence = 'stale' THEN 'online' ELSE d.presence END,
                presence_changed_at = CASE WHEN d.presence = 'stale' THEN v.seen ELSE d.presence_changed_at END
            FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[], %s::integer[]) AS v(id, seen, newest, battery)
            WHERE d.id = v.id
            RETURNING d.id, d.presence = 'online' AND d.presence_changed_at = v.seen
            """,
            [
                [d.id for d in devices],
                [now] * len(devices),
                [d.last_sample_at for d in devices],
                [d.battery_pct for d in devices],
            ],
        )
        return [device_id for device_id, revived in cursor.fetchall() if revived]


def red_flag_range(sample: SampleInput) -> bool:
    """A reading in a critical rule's range (the rule floor's own limits). Its wearer is judged on the
    `urgent` queue, which workers serve before everything else, so a red flag never waits behind the
    routine detection backlog; the watch socket also stores such a frame at once."""
    return (sample.spo2 is not None and sample.spo2 < CRITICAL_SPO2_BELOW) or (
        sample.heart_rate is not None and sample.heart_rate < CRITICAL_HEART_RATE_BELOW
    )


def attention_range(sample: SampleInput) -> bool:
    """A reading that deserves a prompt look though it is no red flag (SpO2 below 92 %, heart rate
    below 45, or above 120 with no steps): when the gate lets its wearer's run go, the run goes on the
    `urgent` queue instead of waiting behind every wearer's routine minute (at each minute's turn,
    the routine queue holds a run for nearly every wearer)."""
    hr, spo2 = sample.heart_rate, sample.spo2
    return (
        (spo2 is not None and spo2 < ATTENTION_SPO2_BELOW)
        or (hr is not None and hr < ATTENTION_HEART_RATE_BELOW)
        or (hr is not None and hr > ATTENTION_HEART_RATE_ABOVE and not sample.steps)
    )


def samples_stored_notify(
    newest_by_wearer: dict[int, datetime], *, urgent: list[int] | None = None, attention: list[int] | None = None
) -> None:
    """After commit: tell detection which wearers have new samples (`newest_by_wearer`: each one's
    newest sample just stored). One task per store and queue, never per sample. Wearers with
    red-flag-range readings always, on the `urgent` queue; the others only when the gate says their
    samples may complete a minute (vitals/detection_gate.py): `attention` wearers (readings worth a
    prompt look, when PULSERA_DETECTION_TRIAGE is on) on `urgent` too, the rest on `detection`.
    A broker outage must not fail ingest: the samples are stored; detection catches up on the next
    store for that wearer."""
    from inference.tasks import wearers_detect as wearers_detect_task

    if not settings.PULSERA_DETECTION_ON_INGEST:
        return
    urgent = urgent or []
    urgent_set = set(urgent)
    now = time.monotonic()
    due = detection_gate.due(
        {w: t for w, t in newest_by_wearer.items() if w not in urgent_set},
        now=now,
        requeue_seconds=settings.PULSERA_DETECTION_REQUEUE_SECONDS,
    )
    prompt = set(attention or [])
    if prompt:
        urgent = urgent + [w for w in due if w in prompt]
        due = [w for w in due if w not in prompt]
    for queue, ids in (("urgent", urgent), ("detection", due)):
        if not ids:
            continue
        try:
            wearers_detect_task.apply_async(args=[ids], queue=queue)
        except Exception:
            logger.exception("could not enqueue detection for %d wearers", len(ids))
        else:
            detection_gate.enqueued(newest_by_wearer, ids, now=now)


def latest_vitals_merge_many(
    new_by_wearer: dict[int, list[SampleInput]], newest_by_wearer: dict[int, datetime]
) -> dict[int, dict[str, Any]]:
    """Fold new samples into each wearer's latest values: per metric, the newest reading wins, so a
    late backlog never overwrites fresher values (`newest_by_wearer`: each wearer's newest new
    sample, the row's `recorded_at`). Returns wearer id -> values of the rows written.

    Each wearer's newest reading per metric is picked here; the merge with the stored row happens in
    the database, in one statement on PostgreSQL (rows are written in wearer order, so flushes
    running at once never wait on each other in a cycle)."""
    newest: dict[int, dict[str, dict[str, Any]]] = {}
    for wearer_id in sorted(new_by_wearer):
        picked: dict[str, tuple[datetime, float | int]] = {}
        for sample in new_by_wearer[wearer_id]:
            at = sample.recorded_at
            for name, value in sample.metrics().items():
                current = picked.get(name)
                if current is None or current[0] <= at:
                    picked[name] = (at, value)
        newest[wearer_id] = {
            name: {"value": picked[name][1], "at": picked[name][0].astimezone(UTC).isoformat()}
            for name in METRICS
            if name in picked
        }
    if connection.vendor == "postgresql":
        return _latest_vitals_merge_pg(newest, newest_by_wearer)
    return _latest_vitals_merge_orm(newest, newest_by_wearer)


def _latest_vitals_merge_pg(
    newest: dict[int, dict[str, dict[str, Any]]], recorded: dict[int, datetime]
) -> dict[int, dict[str, Any]]:
    rows = [{"wearer_id": w, "values": values, "recorded_at": recorded[w].isoformat()} for w, values in newest.items()]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO vitals_latestvitals AS lv (wearer_id, "values", recorded_at, updated_at)
            SELECT n.wearer_id, n."values", n.recorded_at, %s
            FROM jsonb_to_recordset(%s::text::jsonb) AS n(wearer_id bigint, "values" jsonb, recorded_at timestamptz)
            ORDER BY n.wearer_id
            ON CONFLICT (wearer_id) DO UPDATE SET
                "values" = (
                    SELECT coalesce(jsonb_object_agg(
                        coalesce(x.key, o.key),
                        CASE WHEN o.value IS NULL THEN x.value
                             WHEN x.value IS NULL THEN o.value
                             WHEN (x.value->>'at')::timestamptz >= (o.value->>'at')::timestamptz THEN x.value
                             ELSE o.value END
                    ), '{}'::jsonb)
                    FROM jsonb_each(lv."values") AS o FULL JOIN jsonb_each(EXCLUDED."values") AS x ON o.key = x.key
                ),
                recorded_at = GREATEST(lv.recorded_at, EXCLUDED.recorded_at),
                updated_at = EXCLUDED.updated_at
            RETURNING lv.wearer_id, lv."values"
            """,
            [timezone.now(), json.dumps(rows)],
        )
        return {
            wearer_id: values if isinstance(values, dict) else json.loads(values)
            for wearer_id, values in cursor.fetchall()
        }


def _latest_vitals_merge_orm(
    newest: dict[int, dict[str, dict[str, Any]]], recorded: dict[int, datetime]
) -> dict[int, dict[str, Any]]:
    """The same merge through the ORM (SQLite), rows locked in wearer order."""
    rows = {
        row.wearer_id: row
        for row in LatestVitals.objects.select_for_update().filter(wearer_id__in=list(newest)).order_by("wearer_id")
    }
    now = timezone.now()
    changed: list[LatestVitals] = []
    for wearer_id, new in newest.items():
        row = rows.get(wearer_id)
        values: dict[str, dict[str, Any]] = dict(row.values) if row else {}
        for name, reading in new.items():
            current = values.get(name)
            if current is None or datetime.fromisoformat(current["at"]) <= datetime.fromisoformat(reading["at"]):
                values[name] = reading
        recorded_at = max(row.recorded_at, recorded[wearer_id]) if row else recorded[wearer_id]
        ordered = {name: values[name] for name in METRICS if name in values}
        changed.append(LatestVitals(wearer_id=wearer_id, values=ordered, recorded_at=recorded_at, updated_at=now))
    LatestVitals.objects.bulk_create(
        changed,
        update_conflicts=True,
        unique_fields=["wearer"],
        update_fields=["values", "recorded_at", "updated_at"],
    )
    return {row.wearer_id: row.values for row in changed}


def wearer_watch_send(*, wearer_id: int, message: dict[str, Any]) -> int:
    """`watch_message_send` to every connected watch of a wearer. Returns how many sockets."""
    channels = Device.objects.filter(wearer_id=wearer_id, revoked_at__isnull=True).exclude(channel_name="")
    sent = 0
    for channel in channels.values_list("channel_name", flat=True):
        socket_send_on_commit(channel, {"type": "watch.message", "message": message})
        sent += 1
    return sent
