"""The simulated wearer answers "are you OK?" like a person: "I'm OK" when well, nothing when an
injected anomaly is active (so `make run` shows both false alarms and escalations)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

from vitals.simulator.physiology import Anomaly, Person, Physiology
from vitals.simulator.watch import SimulatedWatch


class FakeSocket:
    def __init__(self) -> None:
        self.sent: list[dict] = []

    async def send(self, text: str) -> None:
        self.sent.append(json.loads(text))


def simulated(anomalies: list[Anomaly]) -> SimulatedWatch:
    rng = random.Random(1)
    watch = SimulatedWatch(url="ws://unused", token="t", physiology=Physiology(Person.random(rng), rng, anomalies))
    watch.answer_delay_s = 0
    return watch


async def test_a_well_wearer_answers_im_ok():
    ws, watch = FakeSocket(), simulated([])
    await watch._answer(ws, {"type": "checkin", "episode_id": 12})
    assert ws.sent == [{"type": "answer", "episode_id": 12, "answer": "ok"}]
    assert watch.stats.answered_ok == 1


async def test_an_unwell_wearer_does_not_answer():
    now = datetime.now(UTC)
    ws, watch = FakeSocket(), simulated([Anomaly("desaturation", now - timedelta(minutes=1), timedelta(minutes=10))])
    await watch._answer(ws, {"type": "checkin", "episode_id": 12})
    assert ws.sent == []
