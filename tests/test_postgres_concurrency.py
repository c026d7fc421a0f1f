"""Races that only a real database with real concurrent connections can show."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from episodes.models import Episode, EpisodeEvent
from episodes.services import episode_acknowledge, episode_open
from vitals.models import VitalSample
from vitals.services import samples_ingest
from vitals.validation import ParsedBatch, SampleInput

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
RACERS = 4


def race(target: Callable[[int], Any]) -> list[Any]:
    """Run target(i) in RACERS threads released at the same instant; return their results."""
    barrier = threading.Barrier(RACERS)
    results: list[Any] = [None] * RACERS

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = target(i)
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_racing_acknowledgements_have_one_winner(on_postgres, wearer, caregiver, clinician, admin_member):
    episode, _ = episode_open(wearer=wearer, kind=Episode.Kind.FALL, source=Episode.Source.RULE)
    people = [caregiver, clinician, admin_member, caregiver]
    results = race(lambda i: episode_acknowledge(episode=Episode.objects.get(id=episode.id), by=people[i]))
    assert sorted(results, key=str) == [False, False, False, True]
    assert episode.events.filter(kind=EpisodeEvent.Kind.ACKNOWLEDGED).count() == 1


def test_racing_detections_open_one_episode(on_postgres, wearer):
    results = race(
        lambda i: episode_open(wearer=wearer, kind=Episode.Kind.DESATURATION, source=Episode.Source.RULE, score=i / 10)
    )
    assert all(not isinstance(r, Exception) for r in results), results
    assert len({episode.id for episode, _ in results}) == 1
    assert [created for _, created in results].count(True) == 1
    episode = Episode.objects.get(wearer=wearer)
    # Evidence is recorded when it raises the score (or is the first): between 1 and RACERS - 1 events.
    assert 1 <= episode.events.filter(kind=EpisodeEvent.Kind.EVIDENCE).count() <= RACERS - 1
    assert episode.score == 0.3  # the highest score of all the evidence


def test_racing_resends_store_each_sample_once(on_postgres, device):
    now = timezone.now()
    samples = [SampleInput(sequence=s, recorded_at=now - timedelta(seconds=60 - s), heart_rate=70.0) for s in range(50)]
    results = race(
        lambda i: samples_ingest(device=device, batch=ParsedBatch(samples=samples, rejected=[], battery_pct=None))
    )
    assert all(not isinstance(r, Exception) for r in results), results
    assert VitalSample.objects.filter(device=device).count() == 50
    assert all(sorted(r.accepted + r.duplicates) == list(range(50)) for r in results)


def test_racing_first_stores_of_a_wearer_merge_into_one_latest_vitals_row(on_postgres, device):
    """Concurrent flushes (the batcher runs several) creating a new wearer's row: nobody's reading is
    overwritten by an older one, whoever commits last."""
    from vitals.models import LatestVitals

    now = timezone.now()
    metrics = ["heart_rate", "spo2", "hrv_ms", "heart_rate"]

    def store(i: int):
        sample = SampleInput(sequence=i, recorded_at=now - timedelta(seconds=10 - i), **{metrics[i]: 60.0 + i})
        return samples_ingest(device=device, batch=ParsedBatch(samples=[sample], rejected=[], battery_pct=None))

    results = race(store)
    assert all(not isinstance(r, Exception) for r in results), results
    values = LatestVitals.objects.get(wearer=device.wearer).values
    assert values["heart_rate"]["value"] == 63.0  # the newest heart rate (racer 3), not racer 0's
    assert values["spo2"]["value"] == 61.0
    assert values["hrv_ms"]["value"] == 62.0
    assert LatestVitals.objects.get(wearer=device.wearer).recorded_at == now - timedelta(seconds=7)


def test_acknowledge_and_resolve_racing_end_in_one_consistent_state(on_postgres, wearer, caregiver, clinician):
    from alerts.escalation import episode_close, episode_take
    from alerts.models import Alert

    episode, _ = episode_open(wearer=wearer, kind=Episode.Kind.SOS, source=Episode.Source.SOS, severity="critical")
    moves = [
        lambda: episode_take(episode=Episode.objects.get(id=episode.id), by=caregiver, response="on_my_way"),
        lambda: episode_close(episode=Episode.objects.get(id=episode.id), by=clinician, resolution="false_alarm"),
        lambda: episode_take(episode=Episode.objects.get(id=episode.id), by=clinician, response="called_them"),
        lambda: episode_close(episode=Episode.objects.get(id=episode.id), by=caregiver, resolution="recovered"),
    ]
    results = race(lambda i: moves[i]())
    assert all(isinstance(r, bool) or type(r).__name__ == "IllegalTransition" for r in results), results
    episode.refresh_from_db()
    assert episode.state == "resolved"
    assert [results[1], results[3]].count(True) == 1  # one resolution wins
    assert episode.events.filter(kind=EpisodeEvent.Kind.RESOLVED).count() == 1
    assert episode.events.filter(kind=EpisodeEvent.Kind.ACKNOWLEDGED).count() <= 1
    assert episode.escalation.all_clear_sent_at is not None
    # one all-clear per person who was paged or took it, whichever order the racers ran in
    paged = set(Alert.objects.filter(episode=episode, purpose="page").values_list("recipient", flat=True))
    cleared = list(Alert.objects.filter(episode=episode, purpose="all_clear").values_list("recipient", flat=True))
    assert sorted(cleared) == sorted(paged) and caregiver.id in paged


def test_racing_ticks_run_each_due_step_once(on_postgres, wearer, caregiver):
    from alerts.escalation import escalations_tick
    from alerts.models import Alert, Escalation

    episode, _ = episode_open(wearer=wearer, kind=Episode.Kind.TACHYCARDIA, source=Episode.Source.RULE)
    Escalation.objects.filter(episode=episode).update(next_step_at=timezone.now() - timedelta(seconds=1))
    Episode.objects.filter(id=episode.id).update(checkin_deadline=timezone.now() - timedelta(seconds=1))
    results = race(lambda i: escalations_tick())
    assert all(isinstance(r, dict) for r in results), results
    assert sum(r["escalations"] for r in results) == 1
    assert list(Alert.objects.filter(episode=episode).values_list("recipient", flat=True)) == [caregiver.id]


def test_a_wearer_another_run_is_judging_is_reported_busy(on_postgres, device):
    """While one run holds a wearer's detector state, another run skips the wearer and says so (the
    task judges it again a second later); an inactive wearer is never busy."""
    from inference.services import wearers_detect_run
    from tests.db_locks import detector_state_locked
    from tests.factories import DeviceFactory

    other = DeviceFactory()
    gone = DeviceFactory()
    gone.wearer.is_active = False
    gone.wearer.save()
    ids = [device.wearer_id, other.wearer_id, gone.wearer_id]
    wearers_detect_run(wearer_ids=ids)  # creates the state rows
    with detector_state_locked(device.wearer_id):
        run = wearers_detect_run(wearer_ids=ids)
    assert run.busy == [device.wearer_id]
    assert wearers_detect_run(wearer_ids=ids).busy == []
