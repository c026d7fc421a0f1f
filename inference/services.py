"""Live detection: the streaming pipeline over freshly stored samples, batched across wearers.

The Celery task on the `detection` queue calls `wearers_detect_run` after an ingest commit that may
complete a wearer's minute (vitals/detection_gate.py). Each wearer's detector state (baseline, alarms, the minute it got to) lives in WearerDetectorState; every
minute is judged once, in order, and only once it is complete (a later sample has arrived), exactly
as `pulsenet_detect` judges a CSV. One forward pass scores every window of the batch. Detections
open or update episodes through the episodes service.

If the checkpoint is missing or broken, detection carries on with the rule floor and the personal
baselines; `manage.py check` and /api/v1/health/ say so.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from episodes.models import Episode
from episodes.services import episode_report_detection
from pulsera.lib.db_functions import EpochSeconds
from vitals.models import VitalSample

from .detectors.pipeline import Detector, Job, WearerState
from .detectors.pulsenet import CheckpointError, LoadedModel, load_checkpoint
from .detectors.rules import RuleThresholds
from .detectors.schema import LOOKBACK_MINUTES, METRICS, Detection
from .detectors.series import resample
from .models import DetectionSettings, ModelVersion, WearerDetectorState

logger = logging.getLogger(__name__)
NEW_WEARER_HISTORY = timedelta(hours=2)  # a wearer without state starts from this much history
SOURCES = {"model": Episode.Source.MODEL, "rule": Episode.Source.RULE, "baseline": Episode.Source.BASELINE}


@dataclass
class _Loaded:
    model: LoadedModel | None
    error: str
    path: Path
    version: ModelVersion | None = None


_lock = threading.Lock()
_loaded: _Loaded | None = None


def pulsenet(*, reload: bool = False) -> _Loaded:
    """The process's PulseNet, loaded once (after fork: call it from the worker, not at import)."""
    global _loaded
    with _lock:
        path = Path(settings.PULSENET_CHECKPOINT_PATH)
        if _loaded is None or reload or _loaded.path != path:
            try:
                model, error = load_checkpoint(path), ""
            except CheckpointError as exc:
                model, error = None, str(exc)
                logger.error("PulseNet unavailable, detecting with the rule floor and baselines: %s", exc)
            _loaded = _Loaded(model=model, error=error, path=path)
        return _loaded


def pulsenet_status() -> dict[str, Any]:
    loaded = pulsenet()
    if loaded.model is None:
        return {"status": "degraded", "checkpoint": str(loaded.path), "error": loaded.error,
                "detecting_with": "rule floor + personal baselines"}  # fmt: skip
    return {
        "status": "ok",
        "checkpoint": str(loaded.path),
        "version": loaded.model.version,
        "detecting_with": "rule floor + PulseNet",
    }


def model_version_register(*, path: Path, model: LoadedModel) -> ModelVersion:
    """Record a checkpoint (idempotent, keyed by its SHA-256) so it shows in admin."""
    data = Path(path).read_bytes()
    meta = model.meta
    version, _ = ModelVersion.objects.update_or_create(
        sha256=hashlib.sha256(data).hexdigest(),
        defaults={
            "version": str(meta.get("version", "unknown")),
            "path": str(path),
            "size_bytes": len(data),
            "seed": meta.get("seed"),
            "data_description": str(meta.get("data", "")),
            "metrics": meta.get("metrics", {}),
            "thresholds": model.thresholds,
            "trained_seconds": meta.get("training_seconds"),
            "last_loaded_at": timezone.now(),
        },
    )
    return version


def _model_version() -> ModelVersion | None:
    loaded = pulsenet()
    if loaded.model is None:
        return None
    if loaded.version is None:
        loaded.version = model_version_register(path=loaded.path, model=loaded.model)
    return loaded.version


def rule_thresholds_for(wearer_ids: list[int]) -> dict[int, RuleThresholds]:
    out = {}
    for row in DetectionSettings.objects.filter(wearer_id__in=wearer_ids):
        out[row.wearer_id] = RuleThresholds(
            spo2_low=row.spo2_low,
            heart_rate_high_at_rest=row.heart_rate_high_at_rest,
            heart_rate_low=row.heart_rate_low,
            sustained_minutes=row.sustained_minutes,
            high_sustained_minutes=row.high_sustained_minutes,
        )
    return out


def _wall_clock(epoch: np.ndarray, tz: zoneinfo.ZoneInfo) -> np.ndarray:
    """Epoch seconds (UTC) -> epoch seconds of the wearer's local wall clock (hour-of-day baselines
    follow their day). The UTC offset is looked up once per distinct minute (offsets change on
    minute boundaries), not per sample."""
    if len(epoch) == 0:
        return epoch
    minutes, at = np.unique(np.floor(epoch / 60.0), return_inverse=True)
    offsets = np.array([datetime.fromtimestamp(m * 60.0, tz).utcoffset().total_seconds() for m in minutes])  # type: ignore[union-attr]
    return epoch + offsets[at]


def _from_wall_clock(seconds: float, tz: zoneinfo.ZoneInfo) -> datetime:
    naive = datetime.fromtimestamp(seconds, tz=UTC).replace(tzinfo=None)
    return naive.replace(tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True)
class DetectRun:
    found: int  # detections
    busy: list[int]  # wearers another run was judging: judge them again shortly


def wearers_detect_run(*, wearer_ids: list[int]) -> DetectRun:
    """Judge every complete, not yet judged minute of these wearers; open or update an episode per
    detection. Safe to run twice or concurrently: a wearer whose state another run holds is skipped
    and reported as busy (that run may have read the samples before this run's newest ones were
    committed, so the caller judges busy wearers again shortly), and a detection on an active
    episode of the same kind is new evidence, not a new page."""
    loaded = pulsenet()
    version = _model_version()
    detector = Detector(loaded.model)
    now = timezone.now()
    found = 0
    with transaction.atomic():
        WearerDetectorState.objects.bulk_create(
            [WearerDetectorState(wearer_id=wid) for wid in wearer_ids], ignore_conflicts=True
        )
        rows = {
            row.wearer_id: row
            for row in WearerDetectorState.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(wearer_id__in=wearer_ids, wearer__is_active=True)
            .select_related("wearer")
            .defer("state")  # a few KB of JSON per wearer: loaded below only for those with work
        }
        busy = _busy(set(wearer_ids) - set(rows))
        rows = _with_minutes_to_judge(rows)
        if not rows:
            return DetectRun(found=0, busy=busy)
        states = dict(WearerDetectorState.objects.filter(wearer_id__in=list(rows)).values_list("wearer_id", "state"))
        thresholds = rule_thresholds_for(list(rows))
        since = {
            wid: (row.processed_until - timedelta(minutes=LOOKBACK_MINUTES))
            if row.processed_until
            else now - NEW_WEARER_HISTORY
            for wid, row in rows.items()
        }
        samples: dict[int, list[tuple[Any, ...]]] = {wid: [] for wid in rows}
        for sample in _samples_fetch(since):
            samples[sample[0]].append(sample)
        jobs, job_rows = [], []
        for wid, row in rows.items():
            if not samples[wid]:
                continue
            tz = zoneinfo.ZoneInfo(row.wearer.time_zone or "UTC")
            table = np.array([s[1:] for s in samples[wid]], dtype=np.float64)  # None -> NaN
            ts = _wall_clock(table[:, 0], tz)
            columns = {m: table[:, i + 1] for i, m in enumerate(METRICS)}
            series = resample(ts, columns)
            state = WearerState.from_dict(states[wid])
            jobs.append(Job(state, series, thresholds.get(wid, RuleThresholds()), until=series.end - 1))
            job_rows.append((row, tz))
        results = detector.run(jobs)
        for job, (row, tz) in zip(jobs, job_rows, strict=True):
            if job.state.next_minute is None:
                # No complete minute yet (a new wearer): remember the first minute to judge, so the
                # next runs can tell cheaply that there is nothing to do until it completes.
                job.state.next_minute = job.series.start
            row.state = job.state.to_dict()
            row.model_version = version
            row.updated_at = now
            if job.state.next_minute is not None:
                row.processed_until = _from_wall_clock(job.state.next_minute * 60.0, tz)
        _states_save([row for row, _ in job_rows])
        for (row, _), detections in zip(job_rows, results, strict=True):
            for detection in detections:
                _episode_from(row.wearer, detection)
                found += 1
    return DetectRun(found=found, busy=busy)


def _states_save(rows: list[WearerDetectorState]) -> None:
    """Write the rows' state, model version, processed_until and updated_at: one prepared UPDATE run
    for every row (psycopg 3 pipelines them). `bulk_update` builds a CASE per column and row, which
    cost more than the detection itself (2-3 ms a wearer)."""
    if not rows:
        return
    fields = [
        WearerDetectorState._meta.get_field(name)
        for name in ("state", "model_version", "processed_until", "updated_at")
    ]
    qn = connection.ops.quote_name
    sql = (
        f"UPDATE {qn(WearerDetectorState._meta.db_table)} SET "
        + ", ".join(f"{qn(f.column)} = %s" for f in fields)
        + f" WHERE {qn(WearerDetectorState._meta.pk.column)} = %s"
    )
    params = [[f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields] + [row.pk] for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _busy(skipped: set[int]) -> list[int]:
    """Of the wearers whose state row was not locked, those another run holds (not the inactive)."""
    if not skipped:
        return []
    return sorted(
        WearerDetectorState.objects.filter(wearer_id__in=skipped, wearer__is_active=True).values_list(
            "wearer_id", flat=True
        )
    )


def _samples_fetch(since: dict[int, datetime]) -> list[tuple[Any, ...]]:
    """(wearer id, epoch seconds, *METRICS) of each wearer's samples from their cutoff, oldest
    first. Plain numbers straight from the cursor: a wearer's look-back is ~1,000 samples a run, and
    Django's per-row iteration (and its pure-Python aware-datetime loader) cost more than judging them."""
    query = (
        VitalSample.objects.filter(_per_wearer_since(since))
        .annotate(epoch=EpochSeconds("recorded_at"))
        .values_list("wearer_id", "epoch", *METRICS)
        .order_by("recorded_at")
    )
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _per_wearer_since(since: dict[int, datetime]) -> Q:
    """Each wearer's samples from their own cutoff (one query; the (wearer, recorded_at) index)."""
    condition = Q(pk__in=[])
    for wearer_id, cutoff in since.items():
        condition |= Q(wearer_id=wearer_id, recorded_at__gte=cutoff)
    return condition


def _with_minutes_to_judge(rows: dict[int, WearerDetectorState]) -> dict[int, WearerDetectorState]:
    """Drop the wearers with no complete minute to judge yet. A watch sends a frame every few
    seconds, so most runs arrive while the wearer's newest minute is still filling: a minute is
    judged once a later sample exists, so there is work only if a sample is at least one minute past
    `processed_until` (the start of the next minute to judge). One small index query instead of
    loading and resampling the wearer's whole look-back window on every frame."""
    waiting = {wid: row.processed_until + timedelta(minutes=1) for wid, row in rows.items() if row.processed_until}
    if not waiting:
        return rows
    due = set(VitalSample.objects.filter(_per_wearer_since(waiting)).values_list("wearer_id", flat=True).distinct())
    return {wid: row for wid, row in rows.items() if wid not in waiting or wid in due}


def _episode_from(wearer: User, detection: Detection) -> None:
    text = detection.explanation
    if detection.source != "rule":
        text = f"{text} (score {detection.score:.2f}, confidence {detection.confidence:.2f})"
    episode_report_detection(
        wearer=wearer,
        kind=detection.kind,
        source=SOURCES[detection.source],
        severity=detection.severity,
        score=detection.score,
        explanation=text,
    )
