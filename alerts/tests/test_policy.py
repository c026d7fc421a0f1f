"""Walking an escalation chain (pure) and quiet hours across midnight."""

from __future__ import annotations

from datetime import UTC, datetime, time

from accounts.models import User
from alerts.policy import chain_problems, snapshot_default, step_normalise, walk


def chain(*steps: dict) -> list[dict]:
    return [step_normalise(s, i + 1) for i, s in enumerate(steps)]


STEPS = chain(
    {"action": "notify_next_caregiver"},
    {"action": "wait", "wait_minutes": 5},
    {"action": "notify_all_caregivers"},
    {"action": "notify_emergency_contacts"},
    {"action": "wait", "wait_minutes": 10},
    {"action": "repeat", "repeat_times": 1},
)


def test_a_walk_runs_notify_steps_up_to_the_next_wait():
    first = walk(STEPS, 0, 0)
    assert [s["action"] for s in first.notify] == ["notify_next_caregiver"]
    assert (first.wait_minutes, first.step_index) == (5, 2)
    second = walk(STEPS, first.step_index, 0)
    assert [s["action"] for s in second.notify] == ["notify_all_caregivers", "notify_emergency_contacts"]
    assert second.wait_minutes == 10


def test_repeat_jumps_back_the_given_number_of_times_then_the_chain_ends():
    again = walk(STEPS, 5, 0)
    assert again.repeats_done == 1 and [s["action"] for s in again.notify] == ["notify_next_caregiver"]
    assert again.wait_minutes == 5
    done = walk(STEPS, 5, 1)
    assert done.finished and done.notify == []


def test_a_repeat_right_after_notify_steps_waits_a_minute_instead_of_looping():
    tight = chain({"action": "wait", "wait_minutes": 1}, {"action": "notify_all_caregivers"},
                  {"action": "repeat", "repeat_times": 3})  # fmt: skip
    step = walk(tight, 1, 0)
    assert [s["action"] for s in step.notify] == ["notify_all_caregivers"] and step.wait_minutes == 1


def test_chain_problems():
    assert chain_problems(chain({"action": "wait", "wait_minutes": 3})) == [
        "A chain needs at least one step that notifies someone."
    ]
    loop = chain({"action": "notify_all_caregivers"}, {"action": "repeat", "repeat_times": 2})
    assert "tight loop" in chain_problems(loop)[0]
    assert chain_problems(snapshot_default("distress", None)["steps"]) == []
    assert chain_problems(snapshot_default("no_data", None)["steps"]) == []


def test_quiet_hours_span_midnight_in_the_persons_time_zone():
    user = User(time_zone="Europe/Madrid", quiet_hours_start=time(22), quiet_hours_end=time(7))
    assert user.in_quiet_hours(datetime(2026, 11, 23, 22, 30, tzinfo=UTC))  # 23:30 in Madrid
    assert user.in_quiet_hours(datetime(2026, 11, 24, 5, 0, tzinfo=UTC))  # 06:00
    assert not user.in_quiet_hours(datetime(2026, 11, 24, 6, 30, tzinfo=UTC))  # 07:30
    assert not User(time_zone="UTC").in_quiet_hours(datetime(2026, 11, 24, 3, 0, tzinfo=UTC))
