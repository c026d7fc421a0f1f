"""The episode lifecycle after detection: check-in, re-measure, the chain, acknowledgements,
reminders, recovery and all-clears, quiet hours and snoozes. Escalation runs and sends happen
inline (PULSERA_ALERT_TASKS=inline) after each commit; time moves with time_machine."""

from __future__ import annotations

from datetime import time, timedelta
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from alerts import escalation as esc
from alerts.models import Alert, ContactMethod, Delivery, Escalation, EscalationPolicy, EscalationStep, Snooze
from episodes.models import Episode, EpisodeEvent, ExplainedCause
from episodes.services import episode_open, episode_report_detection
from groups.models import Membership
from groups.services import member_add
from tests.factories import UserFactory
from vitals.models import VitalSample


@pytest.fixture
def second(care_group, wearer):
    """The wearer's son: the second caregiver in escalation order."""
    user = UserFactory(email="marco@example.com", display_name="Marco Garcia")
    member_add(group=care_group, user=user, role=Membership.Role.CAREGIVER, escalation_order=2)
    return user


@pytest.fixture
def chain(care_group, caregiver, second):
    """Caregiver 1, wait 5, caregiver 2, wait 5, everyone; reminders every 10 minutes."""
    policy = EscalationPolicy.objects.create(group=care_group, name="Family", reminder_minutes=10)
    steps = [
        ("notify_next_caregiver", {"channel": "email"}),
        ("wait", {"wait_minutes": 5}),
        ("notify_next_caregiver", {"channel": "email"}),
        ("wait", {"wait_minutes": 5}),
        ("notify_all_caregivers", {}),
    ]
    for position, (action, extra) in enumerate(steps, start=1):
        EscalationStep.objects.create(policy=policy, position=position, action=action, **extra)
    return policy


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Call a service and run what it queued after commit (escalation runs, sends), as workers would."""

    def call(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return call


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def tick(run, clock, *, seconds: float = 0):
    if seconds:
        clock.shift(timedelta(seconds=seconds))
    return run(esc.escalations_tick)


def open_tachy(run, wearer, **kw):
    defaults = {"kind": "tachycardia", "source": "rule", "severity": "high", "explanation": "Heart rate 150 at rest."}
    return run(episode_open, wearer=wearer, **{**defaults, **kw})[0]


def pages(episode):
    return list(
        Alert.objects.filter(episode=episode, purpose="page").order_by("id").values_list("recipient__email", flat=True)
    )


def vitals(wearer, device, *, heart_rate=None, spo2=None, minutes=2, at=None):
    at = at or timezone.now()
    VitalSample.objects.bulk_create(
        VitalSample(wearer=wearer, device=device, sequence=int(at.timestamp()) + i,
                    recorded_at=at - timedelta(seconds=10 * i), heart_rate=heart_rate, spo2=spo2)
        for i in range(minutes * 6)
    )  # fmt: skip


def test_a_new_episode_asks_the_wearer_first_and_pages_nobody(run, clock, wearer, chain):
    with mock.patch("alerts.escalation.wearer_watch_send", return_value=1) as watch:
        episode = open_tachy(run, wearer)
    message = watch.call_args.kwargs["message"]
    assert message["type"] == "checkin" and message["episode_id"] == episode.id
    assert message["answers"] == ["ok", "help", "sos"] and message["countdown_s"] == 60
    assert episode.escalation.phase == Escalation.Phase.CHECKIN
    assert episode.escalation.next_step_at == episode.checkin_deadline
    assert tick(run, clock, seconds=30)["escalations"] == 0  # not due yet
    assert pages(episode) == []


def test_no_answer_pages_caregiver_one_then_two_and_an_acknowledgement_stops_the_chain(
    run, clock, wearer, caregiver, second, chain
):
    episode = open_tachy(run, wearer)
    tick(run, clock, seconds=61)
    episode.refresh_from_db()
    assert episode.state == "escalating"
    assert pages(episode) == [caregiver.email]
    page = Alert.objects.get(episode=episode)
    assert sorted(page.deliveries.values_list("channel", "state")) == [("email", "sent"), ("in_app", "sent")]
    assert [m.to for m in mail.outbox] == [[caregiver.email]]
    assert "did not answer" in mail.outbox[0].body

    tick(run, clock, seconds=4 * 60)  # still inside the 5-minute wait
    assert pages(episode) == [caregiver.email]
    tick(run, clock, seconds=61)
    assert pages(episode) == [caregiver.email, second.email]

    assert run(esc.episode_take, episode=episode, by=second, response="on_my_way", eta_minutes=15) is True
    tick(run, clock, seconds=6 * 60)  # past the next wait: nobody else is paged
    assert pages(episode) == [caregiver.email, second.email]
    episode.refresh_from_db()
    assert (episode.state, episode.acknowledged_by) == ("acknowledged", second)
    kinds = list(episode.events.values_list("kind", flat=True))
    assert kinds[:3] == ["opened", "checkin_sent", "escalated"] and "delivery" in kinds


def test_red_flags_page_at_once_without_a_check_in(run, wearer, caregiver, chain):
    with mock.patch("alerts.escalation.wearer_watch_send") as watch:
        episode, _ = run(episode_open, wearer=wearer, kind="sos", source="sos", severity="critical")
    assert not any(c.kwargs["message"]["type"] == "checkin" for c in watch.call_args_list)
    episode.refresh_from_db()
    assert episode.state == "escalating"
    assert pages(episode) == [caregiver.email]
    assert Alert.objects.get(episode=episode).level == "critical"


def test_im_ok_resolves_as_a_false_alarm_only_if_the_vitals_agree(run, clock, wearer, device, caregiver, chain):
    episode = open_tachy(run, wearer)
    with mock.patch("alerts.escalation.wearer_watch_send") as watch:
        assert run(esc.episode_respond, episode=episode, answer="ok", by=wearer) is True
    assert watch.call_args.kwargs["message"]["type"] == "instruction"
    clock.shift(timedelta(seconds=90))
    vitals(wearer, device, heart_rate=72)
    tick(run, clock)
    episode.refresh_from_db()
    assert (episode.state, episode.resolution) == ("resolved", "false_alarm")
    assert pages(episode) == []
    assert "Heart rate back to 72" in episode.events.get(kind="rechecked").message


def test_im_ok_with_vitals_still_high_escalates(run, clock, wearer, device, caregiver, chain):
    episode = open_tachy(run, wearer)
    run(esc.episode_respond, episode=episode, answer="ok", by=wearer)
    clock.shift(timedelta(seconds=90))
    vitals(wearer, device, heart_rate=148)
    tick(run, clock)
    episode.refresh_from_db()
    assert episode.state == "escalating"
    assert pages(episode) == [caregiver.email]
    assert "still 148" in episode.events.get(kind="escalated").message
    assert "They answered: I'm OK" in Alert.objects.get(episode=episode).message


def test_help_after_im_ok_pages_now_and_is_never_a_false_alarm(run, clock, wearer, device, caregiver, chain):
    episode = open_tachy(run, wearer)
    run(esc.episode_respond, episode=episode, answer="ok", by=wearer)
    vitals(wearer, device, heart_rate=72)  # the vitals look fine, but the wearer changed their mind
    run(esc.episode_respond, episode=episode, answer="help", by=wearer)
    episode.refresh_from_db()
    assert episode.state == "escalating" and pages(episode) == [caregiver.email]
    tick(run, clock, seconds=120)
    episode.refresh_from_db()
    assert episode.state == "escalating"


def test_i_need_help_pages_now(run, wearer, caregiver, chain):
    episode = open_tachy(run, wearer)
    run(esc.episode_respond, episode=episode, answer="help", by=wearer)
    assert pages(episode) == [caregiver.email]


def test_only_the_wearer_answers_the_check_in(run, wearer, caregiver, chain):
    episode = open_tachy(run, wearer)
    with pytest.raises(ValidationError, match="Only the wearer"):
        esc.episode_respond(episode=episode, answer="ok", by=caregiver)


def test_recovery_before_anyone_acknowledged_resolves_and_sends_the_all_clear_to_everyone_paged(
    run, clock, wearer, device, caregiver, second, chain
):
    episode = open_tachy(run, wearer)
    tick(run, clock, seconds=61)
    tick(run, clock, seconds=5 * 60)
    assert pages(episode) == [caregiver.email, second.email]
    mail.outbox.clear()
    vitals(wearer, device, heart_rate=70, minutes=4)
    with mock.patch("alerts.escalation.wearer_watch_send") as watch:
        assert tick(run, clock, seconds=10)["recovered"] == 1
    episode.refresh_from_db()
    assert (episode.state, episode.resolution) == ("resolved", "recovered")
    clears = Alert.objects.filter(episode=episode, purpose="all_clear")
    assert sorted(clears.values_list("recipient__email", flat=True)) == sorted([caregiver.email, second.email])
    assert sorted(m.to[0] for m in mail.outbox) == sorted([caregiver.email, second.email])
    assert all("All clear" in m.body for m in mail.outbox)
    assert watch.call_args.kwargs["message"]["type"] == "episode_resolved"
    assert episode.escalation.next_step_at is None
    tick(run, clock, seconds=3600)
    assert clears.count() == 2  # once


def test_the_all_clear_also_goes_where_a_page_may_have_arrived_before_its_worker_died(
    run, clock, wearer, device, caregiver, second, chain
):
    """A worker killed after the provider took the page's email but before recording it leaves the
    delivery "sending": the caregiver may have read that page, so the all-clear goes there too."""
    episode = open_tachy(run, wearer)
    tick(run, clock, seconds=61)
    tick(run, clock, seconds=5 * 60)
    Delivery.objects.filter(alert__episode=episode, alert__recipient=caregiver, channel="email").update(
        state=Delivery.State.SENDING,
        lease_until=timezone.now() + timedelta(minutes=5),  # its lease still runs
    )
    mail.outbox.clear()
    vitals(wearer, device, heart_rate=70, minutes=4)
    with mock.patch("alerts.escalation.wearer_watch_send"):
        assert tick(run, clock, seconds=10)["recovered"] == 1
    assert sorted(m.to[0] for m in mail.outbox) == sorted([caregiver.email, second.email])


def test_no_recovery_is_judged_without_readings(run, clock, wearer, caregiver, chain):
    episode = open_tachy(run, wearer)
    tick(run, clock, seconds=61)
    assert tick(run, clock, seconds=10 * 60)["recovered"] == 0
    episode.refresh_from_db()
    assert episode.state == "escalating"


def test_an_eta_that_passes_without_resolution_resumes_the_chain(run, clock, wearer, caregiver, second, chain):
    episode = open_tachy(run, wearer)
    tick(run, clock, seconds=61)
    run(esc.episode_take, episode=episode, by=caregiver, response="on_my_way", eta_minutes=3)
    tick(run, clock, seconds=2 * 60)
    assert pages(episode) == [caregiver.email]
    tick(run, clock, seconds=61)
    episode.refresh_from_db()
    assert episode.state == "escalating"
    assert pages(episode) == [caregiver.email, second.email]
    assert "ETA passed" in episode.events.filter(kind="escalated").last().message


def test_cant_respond_moves_to_the_next_step_now(run, clock, wearer, caregiver, second, chain):
    episode = open_tachy(run, wearer)
    tick(run, clock, seconds=61)
    assert run(esc.episode_take, episode=episode, by=caregiver, response="cant_respond") is False
    assert pages(episode) == [caregiver.email, second.email]


def test_reminders_while_acknowledged_but_unresolved(run, clock, wearer, caregiver, chain):
    episode = open_tachy(run, wearer)
    tick(run, clock, seconds=61)
    run(esc.episode_take, episode=episode, by=caregiver, response="called_them")
    tick(run, clock, seconds=9 * 60)
    assert not Alert.objects.filter(episode=episode, purpose="reminder").exists()
    tick(run, clock, seconds=61)
    reminder = Alert.objects.get(episode=episode, purpose="reminder")
    assert reminder.recipient == caregiver and "still open" in reminder.message
    run(esc.episode_close, episode=episode, by=caregiver, resolution="handled_by_caregiver")
    tick(run, clock, seconds=20 * 60)
    assert Alert.objects.filter(episode=episode, purpose="reminder").count() == 1


def test_quiet_hours_skip_a_caregiver_but_not_for_red_flags(run, clock, wearer, caregiver, second, chain):
    now_local = timezone.now().astimezone(timezone.get_fixed_timezone(0)).time()
    caregiver.quiet_hours_start = time((now_local.hour - 1) % 24)
    caregiver.quiet_hours_end = time((now_local.hour + 2) % 24)
    caregiver.save()
    episode = open_tachy(run, wearer)
    tick(run, clock, seconds=61)
    assert pages(episode) == [second.email]  # nobody to wait for at step 1: step 3 at once
    assert "quiet hours" in episode.events.filter(kind="step").first().message
    sos, _ = run(episode_open, wearer=wearer, kind="sos", source="sos", severity="critical")
    assert pages(sos)[0] == caregiver.email


def test_a_snooze_holds_across_new_readings_but_never_silences_red_flags(run, clock, wearer, caregiver, second, chain):
    run(esc.snooze_set, user=caregiver, wearer=wearer, kind="tachycardia", minutes_=60)
    episode = open_tachy(run, wearer)
    tick(run, clock, seconds=61)
    run(episode_open, wearer=wearer, kind="tachycardia", source="rule", severity="high")  # new evidence
    assert caregiver.email not in pages(episode)
    assert pages(episode) == [second.email]
    critical, _ = run(episode_open, wearer=wearer, kind="desaturation", source="rule", severity="critical")
    assert pages(critical) == [caregiver.email]
    with pytest.raises(ValidationError, match="can't be snoozed"):
        esc.snooze_set(user=caregiver, wearer=wearer, kind="sos", minutes_=60)
    assert Snooze.objects.count() == 1


def test_a_running_escalation_keeps_the_chain_it_started_with(run, clock, wearer, caregiver, second, chain):
    episode = open_tachy(run, wearer)
    chain.steps.all().delete()
    EscalationStep.objects.create(policy=chain, position=1, action="notify_person", person=second)
    tick(run, clock, seconds=61)
    assert pages(episode) == [caregiver.email]
    assert episode.escalation.policy_snapshot["steps"][0]["action"] == "notify_next_caregiver"


def test_a_claim_is_held_by_one_worker_and_an_expired_lease_is_retried_once(run, clock, wearer, caregiver, chain):
    episode = open_tachy(run, wearer)
    clock.shift(timedelta(seconds=61))
    claimed = esc.escalations_claim_due()
    assert [c[0] for c in claimed] == [episode.escalation.id]
    assert esc.escalations_claim_due() == []  # leased: nobody else takes it
    # The worker that claimed it died before running it; the lease expires and another takes over.
    clock.shift(esc.LEASE + timedelta(seconds=1))
    again = esc.escalations_claim_due()
    assert [c[0] for c in again] == [episode.escalation.id]
    assert run(esc.escalation_run, escalation_id=claimed[0][0], token=claimed[0][1]) == "not_mine"
    assert run(esc.escalation_run, escalation_id=again[0][0], token=again[0][1]) == "escalated"
    assert pages(episode) == [caregiver.email]


def test_a_failing_channel_falls_back_to_the_next(run, clock, wearer, caregiver, chain):
    # SMS is not configured on this server: it fails at once and email takes over.
    ContactMethod.objects.create(user=caregiver, channel="sms", address="+34600111222", position=1)
    ContactMethod.objects.create(user=caregiver, channel="email", address="elena@work.example", position=2)
    chain.steps.filter(position=1).update(channel="sms")
    episode = open_tachy(run, wearer)
    tick(run, clock, seconds=61)
    page = Alert.objects.get(episode=episode)
    rows = list(page.deliveries.order_by("id").values_list("channel", "state"))
    assert rows == [("in_app", "sent"), ("sms", "failed"), ("email", "sent")]
    assert "not configured" in page.deliveries.get(channel="sms").error
    assert [m.to for m in mail.outbox] == [["elena@work.example"]]


def test_an_unacknowledged_channel_hands_over_after_the_fallback_time(run, clock, wearer, caregiver, chain, settings):
    settings.PULSERA_CHANNEL_FALLBACK_MINUTES = 2
    ContactMethod.objects.create(user=caregiver, channel="email", address="elena@home.example", position=1)
    ContactMethod.objects.create(user=caregiver, channel="email", address="elena@work.example", position=2)
    episode = open_tachy(run, wearer)
    tick(run, clock, seconds=61)
    assert [m.to for m in mail.outbox] == [["elena@home.example"]]
    assert tick(run, clock, seconds=121)["fallbacks"] == 1
    assert [m.to for m in mail.outbox] == [["elena@home.example"], ["elena@work.example"]]
    assert tick(run, clock, seconds=121)["fallbacks"] == 0  # no channel left
    assert "No acknowledgement: trying" in episode.events.filter(kind="step").last().message


def test_a_transient_failure_is_retried_with_backoff_under_the_same_key(run, clock, wearer, caregiver, chain):
    import httpx

    from alerts.channels import http

    ContactMethod.objects.create(user=caregiver, channel="webhook", address="https://hooks.example/p", secret="s3cret")
    chain.steps.filter(position=1).update(channel="webhook")
    seen = []

    def handler(request):
        seen.append(request.headers["Idempotency-Key"])
        return httpx.Response(503 if len(seen) == 1 else 200)

    http.set_transport(httpx.MockTransport(handler))
    try:
        episode = open_tachy(run, wearer)
        tick(run, clock, seconds=61)
        delivery = Delivery.objects.get(alert__episode=episode, channel="webhook")
        assert (delivery.state, delivery.attempts) == ("queued", 1)
        assert tick(run, clock, seconds=5)["deliveries"] == 0  # backoff: not yet
        assert tick(run, clock, seconds=10)["deliveries"] == 1
        delivery.refresh_from_db()
        assert (delivery.state, delivery.attempts) == ("delivered", 2)
        assert seen == [str(delivery.idempotency_key)] * 2
        receipts = episode.events.filter(kind=EpisodeEvent.Kind.DELIVERY).values_list("message", flat=True)
        assert any("retrying" in m for m in receipts) and any("delivered" in m for m in receipts)
    finally:
        http.set_transport(None)


def test_an_explained_cause_holds_heart_rate_alarms_but_not_critical_or_oxygen_ones(run, wearer, caregiver, chain):
    ExplainedCause.objects.create(wearer=wearer, reason="exercise", ends_at=timezone.now() + timedelta(minutes=30))
    held = run(episode_report_detection, wearer=wearer, kind="tachycardia", source="model", severity="high",
               score=0.9, explanation="HR 160")  # fmt: skip
    assert held is None and not Episode.objects.exists()
    oxygen = run(episode_report_detection, wearer=wearer, kind="desaturation", source="rule", severity="high",
                 score=None, explanation="SpO2 86")  # fmt: skip
    assert oxygen is not None


def test_nobody_is_paged_twice_for_one_step_when_two_ticks_race(run, clock, wearer, caregiver, chain):
    episode = open_tachy(run, wearer)
    clock.shift(timedelta(seconds=61))
    first = esc.escalations_claim_due()
    second_claim = esc.escalations_claim_due()
    for escalation_id, token in first + second_claim:
        run(esc.escalation_run, escalation_id=escalation_id, token=token)
    assert pages(episode) == [caregiver.email]


def test_recovery_while_acknowledged_also_resolves_and_clears(run, clock, wearer, device, caregiver, chain):
    episode = open_tachy(run, wearer)
    tick(run, clock, seconds=61)
    run(esc.episode_take, episode=episode, by=caregiver, response="on_my_way", eta_minutes=60)
    clock.shift(timedelta(minutes=6))
    vitals(wearer, device, heart_rate=70, minutes=4)
    assert tick(run, clock)["recovered"] == 1
    episode.refresh_from_db()
    assert (episode.state, episode.resolution) == ("resolved", "recovered")
    assert Alert.objects.filter(episode=episode, purpose="all_clear", recipient=caregiver).count() == 1


def test_escalating_by_hand_runs_the_chain_now_not_after_the_countdown(run, wearer, caregiver, chain):
    from episodes.admin import _escalate_now

    episode = open_tachy(run, wearer)
    run(_escalate_now, episode, caregiver)
    assert pages(episode) == [caregiver.email]
