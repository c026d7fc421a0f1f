"""Plausible physiology for simulated wearers, with optional injected anomalies. Pure, seeded.

A person has a resting heart rate, HRV, SpO2 and skin temperature, a circadian rhythm, a night's
sleep, and moves between rest, walking and exercise (a Markov chain). Heart rate follows its target
with a lag, so it ramps up and settles like a real one. Now and then the watch is off the wrist (no
samples). Anomalies override parts of this for a time window:

    tachycardia    heart rate ~60 above resting while at rest
    bradycardia    heart rate falls to ~36
    hrv_collapse   HRV drops to a fifth
    desaturation   SpO2 falls to ~84%
    fall           a 4-5 g impact, then stillness
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

ANOMALY_KINDS = ("tachycardia", "bradycardia", "hrv_collapse", "desaturation", "fall")
REST, WALK, EXERCISE, SLEEP = "rest", "walk", "exercise", "sleep"
# Per-second transition probabilities of the activity chain while awake.
TRANSITIONS = {
    REST: {WALK: 1 / 1500, EXERCISE: 1 / 14_400},
    WALK: {REST: 1 / 400},
    EXERCISE: {REST: 1 / 1800},
}
ACTIVITY = {
    # state: (heart rate above resting, steps per second, motion g range)
    REST: (0.0, 0.0, (0.98, 1.05)),
    SLEEP: (-8.0, 0.0, (0.99, 1.01)),
    WALK: (25.0, 1.8, (1.15, 1.5)),
    EXERCISE: (65.0, 2.6, (1.6, 2.6)),
}


@dataclass(frozen=True)
class Anomaly:
    kind: str
    start: datetime
    duration: timedelta

    def active(self, at: datetime) -> bool:
        return self.start <= at < self.start + self.duration


@dataclass
class Person:
    resting_hr: float
    hrv_ms: float
    spo2: float
    skin_temp_c: float
    sleep_hour: float  # local hour falling asleep
    wake_hour: float

    @classmethod
    def random(cls, rng: random.Random) -> Person:
        return cls(
            resting_hr=rng.uniform(56, 78),
            hrv_ms=rng.uniform(25, 65),
            spo2=rng.uniform(95.5, 98.5),
            skin_temp_c=rng.uniform(32.6, 33.8),
            sleep_hour=rng.uniform(22, 24),
            wake_hour=rng.uniform(6, 8),
        )


@dataclass
class Physiology:
    person: Person
    rng: random.Random
    anomalies: list[Anomaly] = field(default_factory=list)
    off_wrist_per_hour: float = 0.3
    state: str = REST
    heart_rate: float = 0.0
    off_wrist_until: datetime | None = None
    _last: datetime | None = None
    _fell_at: datetime | None = None

    def __post_init__(self) -> None:
        self.heart_rate = self.person.resting_hr

    def _asleep(self, at: datetime) -> bool:
        hour = at.hour + at.minute / 60
        sleep, wake = self.person.sleep_hour % 24, self.person.wake_hour
        return hour >= sleep or hour < wake if sleep > wake else sleep <= hour < wake

    def _step_state(self, at: datetime, dt: float) -> None:
        if self._asleep(at):
            self.state = SLEEP
            return
        if self.state == SLEEP:
            self.state = REST
        for target, per_second in TRANSITIONS[self.state].items():
            if self.rng.random() < 1 - math.exp(-per_second * dt):
                self.state = target
                return

    def sample(self, at: datetime) -> dict[str, float | int] | None:
        """The watch's reading at `at` (call with increasing times), or None while off the wrist."""
        dt = 1.0 if self._last is None else max(0.001, (at - self._last).total_seconds())
        self._last = at
        if self.off_wrist_until and at < self.off_wrist_until:
            return None
        if self.rng.random() < 1 - math.exp(-self.off_wrist_per_hour / 3600 * dt):
            self.off_wrist_until = at + timedelta(minutes=self.rng.uniform(2, 10))
            return None
        active = {a.kind for a in self.anomalies if a.active(at)}
        self._step_state(at, dt)
        if active & {"tachycardia", "bradycardia", "desaturation", "fall"} and self.state in (WALK, EXERCISE):
            self.state = REST  # the anomalies are "at rest"
        extra_hr, steps_per_s, (motion_lo, motion_hi) = ACTIVITY[self.state]
        p = self.person
        hour = at.hour + at.minute / 60
        target = p.resting_hr + 4 * math.sin((hour - 15) / 24 * 2 * math.pi) + extra_hr
        if "tachycardia" in active:
            target = p.resting_hr + 60
        if "bradycardia" in active:
            target = 36
        # First-order lag towards the target (tau ~30 s), plus beat-to-beat noise.
        self.heart_rate += (target - self.heart_rate) * (1 - math.exp(-dt / 30))
        heart = self.heart_rate + self.rng.gauss(0, 1.5)

        hrv = p.hrv_ms * math.exp(-(heart - p.resting_hr) / 45) * (1.2 if self.state == SLEEP else 1.0)
        if "hrv_collapse" in active:
            hrv *= 0.2
        spo2 = p.spo2 + self.rng.gauss(0, 0.6) - (0.8 if self.state == SLEEP else 0.0)
        if "desaturation" in active:
            spo2 = 84 + self.rng.gauss(0, 1.0)
        motion = self.rng.uniform(motion_lo, motion_hi)
        steps = round(steps_per_s * dt * self.rng.uniform(0.8, 1.2))
        fall = next((a for a in self.anomalies if a.kind == "fall" and a.active(at)), None)
        if fall is not None:
            if self._fell_at != fall.start:
                self._fell_at = fall.start
                motion = self.rng.uniform(4.0, 5.0)  # the impact
            else:
                motion, steps = 1.0, 0  # lying still
        return {
            "heart_rate": round(min(249.0, max(21.0, heart)), 1),
            "hrv_ms": round(min(499.0, max(2.0, hrv + self.rng.gauss(0, 3))), 1),
            "spo2": round(min(100.0, max(51.0, spo2)), 1),
            "respiratory_rate": round(14 + extra_hr / 8 + self.rng.gauss(0, 1.0), 1),
            "skin_temp_c": round(p.skin_temp_c + (0.3 if self.state == SLEEP else 0.0) + self.rng.gauss(0, 0.15), 2),
            "steps": max(0, steps),
            "motion_g": round(motion, 3),
        }
