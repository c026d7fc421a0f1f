"""A real Celery worker, on the real Redis broker, runs a task against the real PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from groups.models import Invitation
from groups.tasks import invitations_expire as invitations_expire_task
from tests.conftest import child_env, worker_database_url
from tests.factories import InvitationFactory

BASE_DIR = Path(__file__).resolve().parent.parent


def start_worker(queue: str, redis_url: str, *pool: str) -> subprocess.Popen:
    """A real Celery worker on its own queue (nothing else consumes it), against the test database."""
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "pulsera", "worker", "-Q", queue, *pool,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info"],
        cwd=BASE_DIR,
        env=child_env(DATABASE_URL=worker_database_url(), REDIS_URL=redis_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip


def episode_wait(wearer, timeout: float = 60) -> None:
    """Until the wearer has an episode (a worker process opens it) or `timeout` seconds pass."""
    from episodes.models import Episode

    deadline = time.monotonic() + timeout
    while not Episode.objects.filter(wearer=wearer).exists() and time.monotonic() < deadline:
        time.sleep(0.5)


def worker_stop(worker: subprocess.Popen) -> str:
    """Stop a worker from `start_worker`; returns its log."""
    worker.terminate()
    return worker.communicate(timeout=30)[0].decode(errors="replace")


@pytest.mark.services
@pytest.mark.django_db(transaction=True)  # the worker must see committed rows
def test_a_real_worker_runs_a_task_against_the_database(on_postgres, real_redis_url):
    InvitationFactory(expires_at=timezone.now() - timedelta(days=40))
    kept = InvitationFactory(expires_at=timezone.now() + timedelta(days=1))
    queue = f"pulsera-test-{uuid.uuid4().hex[:8]}"  # nothing else consumes it
    worker = start_worker(queue, real_redis_url, "-P", "solo")
    try:
        result = invitations_expire_task.apply_async(queue=queue)
        assert result.get(timeout=60) == 1
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0].decode(errors="replace")
    assert "groups.tasks.invitations_expire" in output
    assert list(Invitation.objects.all()) == [kept]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_detects_on_the_detection_queue_for_a_batch_of_wearers(on_postgres, real_redis_url):
    """Ingest -> one detection task for several wearers -> one forward pass -> episodes, on a real
    worker: a low SpO2 (the rule floor), a heart racing at rest under any rule's line (PulseNet) and a
    wearer whose vitals are normal."""
    from episodes.models import Episode
    from inference.models import WearerDetectorState
    from inference.tasks import wearers_detect as wearers_detect_task
    from inference.tests.test_wearers_detect import RACING_AT_REST, ingest, ingest_trace
    from tests.factories import DeviceFactory

    low, racing, normal = DeviceFactory(), DeviceFactory(), DeviceFactory()
    ingest(low, spo2=84)
    ingest_trace(racing, RACING_AT_REST)
    ingest(normal, spo2=97)
    wearers = [low.wearer_id, racing.wearer_id, normal.wearer_id]
    queue = f"pulsera-detection-test-{uuid.uuid4().hex[:8]}"
    worker = start_worker(queue, real_redis_url, "-P", "prefork", "-c", "1")  # as in production
    try:
        result = wearers_detect_task.apply_async(args=[wearers], queue=queue)
        assert result.get(timeout=90) == 2
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0].decode(errors="replace")
    assert "inference.tasks.wearers_detect" in output
    episodes = {e.wearer_id: e for e in Episode.objects.all()}
    assert set(episodes) == {low.wearer_id, racing.wearer_id}
    assert (episodes[low.wearer_id].kind, episodes[low.wearer_id].source) == ("desaturation", Episode.Source.RULE)
    assert episodes[racing.wearer_id].kind in ("tachycardia", "hr_spike")
    assert episodes[racing.wearer_id].source == Episode.Source.MODEL
    states = WearerDetectorState.objects.filter(wearer_id__in=wearers)
    assert states.count() == 3 and all(s.model_version_id for s in states)  # the worker loaded PulseNet


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_wearer_another_run_holds_is_judged_again_by_a_real_worker(on_postgres, real_redis_url):
    """The first run finds the wearer's detector state locked (another run is judging it), so it
    re-enqueues the wearer on the same queue; once the lock is gone, the second run opens the episode."""

    from episodes.models import Episode
    from inference.models import WearerDetectorState
    from inference.tasks import wearers_detect as wearers_detect_task
    from inference.tests.test_wearers_detect import ingest
    from tests.db_locks import detector_state_locked
    from tests.factories import DeviceFactory

    low = DeviceFactory()
    ingest(low, spo2=84)
    WearerDetectorState.objects.create(wearer=low.wearer)
    queue = f"pulsera-detection-test-{uuid.uuid4().hex[:8]}"
    worker = start_worker(queue, real_redis_url, "-P", "solo")
    try:
        with detector_state_locked(low.wearer_id) as release:
            first = wearers_detect_task.apply_async(args=[[low.wearer_id]], queue=queue)
            assert first.get(timeout=90) == 0  # busy: nothing judged, judged again in a second
            release.set()
        episode_wait(low.wearer)
    finally:
        output = worker_stop(worker)
    assert Episode.objects.get(wearer=low.wearer).kind == "desaturation"
    assert output.count("inference.tasks.wearers_detect") >= 2, output[-2000:]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_triage_takes_a_worrying_reading_past_the_routine_queue_to_a_real_urgent_worker(
    on_postgres, real_redis_url, settings
):
    """SpO2 86 % is no red flag (85 %) but worth a prompt look (< 92 %): ingest puts the wearer's run on
    `urgent`, and a worker serving only `urgent` opens the episode. Without triage the run would wait
    on `detection`, which this worker does not serve."""
    from episodes.models import Episode
    from inference.tests.test_wearers_detect import ingest
    from tests.factories import DeviceFactory

    settings.PULSERA_DETECTION_ON_INGEST = True
    device = DeviceFactory()
    worker = start_worker("urgent", real_redis_url, "-P", "solo")
    try:
        ingest(device, spo2=86)  # after commit: the detection gate, triage, the broker
        episode_wait(device.wearer)
    finally:
        output = worker_stop(worker)
    episode = Episode.objects.get(wearer=device.wearer)
    assert (episode.kind, episode.severity) == ("desaturation", "high"), episode.explanation
    assert "inference.tasks.wearers_detect" in output
